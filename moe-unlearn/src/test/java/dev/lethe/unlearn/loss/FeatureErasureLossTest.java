package dev.lethe.unlearn.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class FeatureErasureLossTest {

    /** Classes 0 and 1 retained (centroids (-2, 0) and (2, 0)), class 2 forgotten. */
    private static final float[][] CENTROIDS = {{-2f, 0f}, {2f, 0f}, null};

    /**
     * Rows 0-3: retain images, class 0 at (-2, 0), (-2, 0.1) and class 1 at (2, 0), (2, 0.1); row 4:
     * a forget image at (-1.5, 3), on class 0's side.
     */
    private static NDList labels(NDManager m) {
        return UnlearningBatch.labels(m.create(new float[] {0, 0, 1, 1, 2}), new boolean[] {false, false, false, false, true});
    }

    private static NDArray embeddings(NDManager m) {
        return m.create(new float[][] {{-2f, 0f}, {-2f, 0.1f}, {2f, 0f}, {2f, 0.1f}, {-1.5f, 3f}});
    }

    private static NDList predictions(NDManager m, NDArray z) {
        return UnlearningBatch.predictions(m.zeros(new ai.djl.ndarray.types.Shape(5, 3)), z);
    }

    @Test
    void collapse_pullsForgetImagesOntoTheClosestRetainedClass_andAnchorsTheRetainImages_handComputed() {
        try (NDManager m = NDManager.newBaseManager()) {
            FeatureErasureLoss loss = new FeatureErasureLoss(1f, 0f, CENTROIDS, new float[] {0f, 0f}, new float[] {1f, 1f});
            NDArray z = embeddings(m);
            z.setRequiresGradient(true);
            float value;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = loss.evaluate(labels(m), predictions(m, z));
                value = l.getFloat();
                gc.backward(l);
            }
            // pull: the forget image's target is class 0 (the adversary's closest retained class):
            // mean_d ((0.5)^2 + 3^2) = 4.625; anchor: mean over 4 rows and 2 dims of 0, 0.01, 0, 0.01
            assertThat(value).isCloseTo(4.625f + 0.0025f, offset(1e-5f));
            float[] grad = z.getGradient().toFloatArray();
            // d pull / d z_4 = 2 (z - mu) / (1 forget row * 2 dims) = (0.5, 3)
            assertThat(new float[] {grad[8], grad[9]}).containsExactly(new float[] {0.5f, 3f}, offset(1e-5f));
            // d anchor / d z_1 = 2 (0, 0.1) / (4 rows * 2 dims)
            assertThat(grad[3]).isCloseTo(0.025f, offset(1e-6f));
        }
    }

    @Test
    void adversary_isALinearProbeRefittedEveryStep_thatLearnsToFindTheClass() {
        try (NDManager m = NDManager.newBaseManager()) {
            FeatureErasureLoss loss = new FeatureErasureLoss(0f, 1f, CENTROIDS, new float[] {0f, 0f}, new float[] {1f, 1f});
            float first = loss.evaluate(labels(m), predictions(m, embeddings(m))).getFloat();
            for (int i = 0; i < 20; i++) {
                loss.evaluate(labels(m), predictions(m, embeddings(m)));
            }
            // refitted on the batches, the probe now tells the forget image apart ...
            assertThat(loss.adversaryPrediction(new float[] {-1.5f, 3f})).isEqualTo(2);
            assertThat(loss.adversaryPrediction(new float[] {-2f, 0f})).isEqualTo(0);
            assertThat(loss.adversaryPrediction(new float[] {2f, 0f})).isEqualTo(1);
            // ... so the term (its cross-entropy toward class 0) has grown: the model is told to move it
            float later = loss.evaluate(labels(m), predictions(m, embeddings(m))).getFloat();
            assertThat(later).isGreaterThan(first).isGreaterThan(1f);
        }
    }

    @Test
    void constructor_checksItsArguments() {
        float[] two = {0f, 0f};
        assertThatThrownBy(() -> new FeatureErasureLoss(0f, 0f, CENTROIDS, two, two))
                .hasMessage("collapseWeight and adversaryWeight are both 0: nothing to do");
        assertThatThrownBy(() -> new FeatureErasureLoss(1f, 0f, new float[][] {null, null}, two, two))
                .hasMessage("no class has a centroid to collapse onto");
        assertThatThrownBy(() -> new FeatureErasureLoss(1f, -1f, CENTROIDS, two, two))
                .hasMessage("adversaryWeight (-1.0) must be finite and >= 0");
        assertThatThrownBy(() -> new FeatureErasureLoss(1f, 0f, new float[][] {{1f, 2f, 3f}}, two, two))
                .hasMessage("the centroid of class 0 has 3 dimensions but std has 2");
    }
}

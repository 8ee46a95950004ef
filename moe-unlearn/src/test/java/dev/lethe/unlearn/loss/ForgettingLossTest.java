package dev.lethe.unlearn.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ForgettingLossTest {

    private NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    private NDList labels(float[] y, float[] forget) {
        return new NDList(m.create(y), m.create(forget));
    }

    @Test
    void correctPenalty_plusRetainCrossEntropy_handComputed() {
        // forget image (class 1): p1 = 0.75; retain image (class 0): p0 = 0.8
        NDArray logits = m.create(new float[][] {{0f, (float) Math.log(3)}, {(float) Math.log(4), 0f}});
        float v = ForgettingLoss.correctPenalty().forClass(1)
                .evaluate(labels(new float[] {1, 0}, new float[] {1, 0}), new NDList(logits)).getFloat();
        assertThat(v).isCloseTo((float) (-Math.log(0.25 + 1e-6) - Math.log(0.8)), offset(1e-5f));
    }

    @Test
    void distillation_dropsTheForgottenClassFromTheTeacher() {
        // retain image of class 0; student = teacher = (1/4, 3/4); forgotten class 1 is removed from
        // the teacher, which becomes (1, 0): KL((1, 0) || (1/4, 3/4)) = ln 4 at T = 1
        NDArray logits = m.create(new float[][] {{0f, (float) Math.log(3)}});
        ForgettingLoss loss = ForgettingLoss.correctPenalty().withRetainWeight(0f).withDistillation(1f, 1f).forClass(1);
        assertThat(loss.needsTeacher()).isTrue();
        float v = loss.evaluate(labels(new float[] {0}, new float[] {0}), new NDList(logits, logits, logits.duplicate())).getFloat();
        assertThat(v).isCloseTo((float) Math.log(4), offset(1e-4f));
        // without mass on the forgotten class, a student equal to its teacher costs nothing
        NDArray certain = m.create(new float[][] {{0f, -30f}});
        float zero = loss.evaluate(labels(new float[] {0}, new float[] {0}), new NDList(certain, certain, certain.duplicate())).getFloat();
        assertThat(zero).isCloseTo(0f, offset(1e-4f));
    }

    @Test
    void uniformKl_handComputed() {
        NDArray logits = m.create(new float[][] {{0f, 0f, 0f}});
        float v = ForgettingLoss.uniformKl().withRetainWeight(0f).forClass(2)
                .evaluate(labels(new float[] {2}, new float[] {1}), new NDList(logits)).getFloat();
        // KL(U{0,1} || (1/3, 1/3, 1/3)) = ln 1.5
        assertThat(v).isCloseTo((float) Math.log(1.5), offset(1e-5f));
    }

    @Test
    void gradientAscent_isNegativeCrossEntropy() {
        NDArray logits = m.create(new float[][] {{0f, (float) Math.log(3)}, {5f, 0f}});
        float v = ForgettingLoss.gradientAscent().forClass(1)
                .evaluate(labels(new float[] {1, 0}, new float[] {1, 0}), new NDList(logits)).getFloat();
        assertThat(v).isCloseTo((float) Math.log(0.75), offset(1e-5f));
    }

    @Test
    void contrastive_handComputed_andPullsForgetTowardRetain() {
        // anchors f1 = f2 = (1, 0), retain r = (0, 1), tau = 1: each anchor scores -log(e^0 / (e^1 + e^0))
        NDArray emb = m.create(new float[][] {{1, 0}, {1, 0}, {0, 1}});
        NDArray logits = m.zeros(new ai.djl.ndarray.types.Shape(3, 2));
        ForgettingLoss loss = ForgettingLoss.contrastive().withTemperature(1f).withOutputWeight(0f).withRetainWeight(0f).forClass(1);
        float v = loss.evaluate(labels(new float[] {1, 1, 0}, new float[] {1, 1, 0}), new NDList(logits, emb)).getFloat();
        assertThat(v).isCloseTo((float) Math.log(1 + Math.E), offset(1e-4f));

        // moving the anchors toward the retain embedding lowers the loss
        NDArray closer = m.create(new float[][] {{0.6f, 0.8f}, {0.6f, 0.8f}, {0, 1}});
        float w = loss.evaluate(labels(new float[] {1, 1, 0}, new float[] {1, 1, 0}), new NDList(logits, closer)).getFloat();
        assertThat(w).isLessThan(v);
    }

    @Test
    void retainOnly_ignoresForgetImages() {
        NDArray logits = m.create(new float[][] {{9f, -9f}, {(float) Math.log(4), 0f}});
        float v = ForgettingLoss.retainOnly().forClass(0)
                .evaluate(labels(new float[] {0, 0}, new float[] {1, 0}), new NDList(logits)).getFloat();
        assertThat(v).isCloseTo((float) -Math.log(0.8), offset(1e-5f));
    }

    @Test
    void randomLabels_seeded_reproducible() {
        NDArray logits = m.create(new float[][] {{1f, 2f, 3f}, {3f, 2f, 1f}, {0f, 1f, 0f}});
        NDList y = labels(new float[] {0, 0, 0}, new float[] {1, 1, 1});
        float a = ForgettingLoss.randomLabels(5).forClass(0).evaluate(y, new NDList(logits)).getFloat();
        float b = ForgettingLoss.randomLabels(5).forClass(0).evaluate(y, new NDList(logits)).getFloat();
        assertThat(a).isEqualTo(b);
    }

    @Test
    void misuse_clearErrors() {
        assertThatThrownBy(() -> ForgettingLoss.contrastive().evaluate(labels(new float[] {0}, new float[] {1}), new NDList(m.zeros(new ai.djl.ndarray.types.Shape(1, 2)))))
                .hasMessageContaining("forClass");
        assertThatThrownBy(() -> ForgettingLoss.contrastive().withTemperature(0f)).hasMessage("temperature (0.0) must be finite and > 0");
        assertThatThrownBy(() -> ForgettingLoss.uniformKl().withRetainWeight(-1f)).hasMessage("retainWeight (-1.0) must be finite and >= 0");
    }
}

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
        boolean[] isForget = new boolean[forget.length];
        for (int i = 0; i < forget.length; i++) {
            isForget[i] = forget[i] > 0;
        }
        return UnlearningBatch.labels(m.create(y), isForget);
    }

    private static NDList predictions(NDArray logits) {
        return UnlearningBatch.predictions(logits, null);
    }

    private NDList withTeacher(NDList labels, NDArray teacher) {
        labels.add(UnlearningBatch.named(teacher, UnlearningBatch.TEACHER_LOGITS));
        return labels;
    }

    @Test
    void correctPenalty_plusRetainCrossEntropy_handComputed() {
        // forget image (class 1): p1 = 0.75; retain image (class 0): p0 = 0.8
        NDArray logits = m.create(new float[][] {{0f, (float) Math.log(3)}, {(float) Math.log(4), 0f}});
        float v = ForgettingLoss.correctPenalty().forClass(1)
                .evaluate(labels(new float[] {1, 0}, new float[] {1, 0}), predictions(logits)).getFloat();
        assertThat(v).isCloseTo((float) (-Math.log(0.25 + 1e-6) - Math.log(0.8)), offset(1e-5f));
    }

    @Test
    void distillation_dropsTheForgottenClassFromTheTeacher() {
        // retain image of class 0; student = teacher = (1/4, 3/4); forgotten class 1 is removed from
        // the teacher, which becomes (1, 0): KL((1, 0) || (1/4, 3/4)) = ln 4 at T = 1
        NDArray logits = m.create(new float[][] {{0f, (float) Math.log(3)}});
        ForgettingLoss loss = ForgettingLoss.correctPenalty().withRetainWeight(0f).withDistillation(1f, 1f).forClass(1);
        assertThat(loss.needsTeacher()).isTrue();
        float v = loss.evaluate(withTeacher(labels(new float[] {0}, new float[] {0}), logits.duplicate()), predictions(logits)).getFloat();
        assertThat(v).isCloseTo((float) Math.log(4), offset(1e-4f));
        // without mass on the forgotten class, a student equal to its teacher costs nothing
        NDArray certain = m.create(new float[][] {{0f, -30f}});
        float zero = loss.evaluate(withTeacher(labels(new float[] {0}, new float[] {0}), certain.duplicate()), predictions(certain)).getFloat();
        assertThat(zero).isCloseTo(0f, offset(1e-4f));
    }

    @Test
    void uniformKl_handComputed() {
        NDArray logits = m.create(new float[][] {{0f, 0f, 0f}});
        float v = ForgettingLoss.uniformKl().withRetainWeight(0f).forClass(2)
                .evaluate(labels(new float[] {2}, new float[] {1}), predictions(logits)).getFloat();
        // KL(U{0,1} || (1/3, 1/3, 1/3)) = ln 1.5
        assertThat(v).isCloseTo((float) Math.log(1.5), offset(1e-5f));
    }

    @Test
    void gradientAscent_isNegativeCrossEntropy() {
        NDArray logits = m.create(new float[][] {{0f, (float) Math.log(3)}, {5f, 0f}});
        float v = ForgettingLoss.gradientAscent().forClass(1)
                .evaluate(labels(new float[] {1, 0}, new float[] {1, 0}), predictions(logits)).getFloat();
        assertThat(v).isCloseTo((float) Math.log(0.75), offset(1e-5f));
    }

    @Test
    void contrastive_handComputed_andPullsForgetTowardRetain() {
        // anchors f1 = f2 = (1, 0), retain r = (0, 1), tau = 1: each anchor scores -log(e^0 / (e^1 + e^0))
        NDArray emb = m.create(new float[][] {{1, 0}, {1, 0}, {0, 1}});
        NDArray logits = m.zeros(new ai.djl.ndarray.types.Shape(3, 2));
        ForgettingLoss loss = ForgettingLoss.contrastive().withTemperature(1f).withOutputWeight(0f).withRetainWeight(0f).forClass(1);
        float v = loss.evaluate(labels(new float[] {1, 1, 0}, new float[] {1, 1, 0}), UnlearningBatch.predictions(logits, emb)).getFloat();
        assertThat(v).isCloseTo((float) Math.log(1 + Math.E), offset(1e-4f));

        // moving the anchors toward the retain embedding lowers the loss
        NDArray closer = m.create(new float[][] {{0.6f, 0.8f}, {0.6f, 0.8f}, {0, 1}});
        float w = loss.evaluate(labels(new float[] {1, 1, 0}, new float[] {1, 1, 0}), UnlearningBatch.predictions(logits, closer)).getFloat();
        assertThat(w).isLessThan(v);
    }

    @Test
    void retainOnly_ignoresForgetImages() {
        NDArray logits = m.create(new float[][] {{9f, -9f}, {(float) Math.log(4), 0f}});
        float v = ForgettingLoss.retainOnly().forClass(0)
                .evaluate(labels(new float[] {0, 0}, new float[] {1, 0}), predictions(logits)).getFloat();
        assertThat(v).isCloseTo((float) -Math.log(0.8), offset(1e-5f));
    }

    @Test
    void randomLabels_seeded_reproducible() {
        NDArray logits = m.create(new float[][] {{1f, 2f, 3f}, {3f, 2f, 1f}, {0f, 1f, 0f}});
        NDList y = labels(new float[] {0, 0, 0}, new float[] {1, 1, 1});
        float a = ForgettingLoss.randomLabels(5).forClass(0).evaluate(y, predictions(logits)).getFloat();
        float b = ForgettingLoss.randomLabels(5).forClass(0).evaluate(y, predictions(logits)).getFloat();
        assertThat(a).isEqualTo(b);
    }

    @Test
    void misuse_clearErrors() {
        assertThatThrownBy(() -> ForgettingLoss.contrastive().evaluate(labels(new float[] {0}, new float[] {1}), predictions(m.zeros(new ai.djl.ndarray.types.Shape(1, 2)))))
                .hasMessageContaining("forClass");
        assertThatThrownBy(() -> ForgettingLoss.contrastive().withTemperature(0f)).hasMessage("temperature (0.0) must be finite and > 0");
        assertThatThrownBy(() -> ForgettingLoss.uniformKl().withRetainWeight(-1f)).hasMessage("retainWeight (-1.0) must be finite and >= 0");
    }

    @Test
    void evaluate_forgetRowsAnywhere_sameAsForgetFirst() {
        // the split is a per-row flag, not "the first n rows": the same images in another order cost the same
        NDArray first = m.create(new float[][] {{0f, (float) Math.log(3)}, {(float) Math.log(4), 0f}});
        NDArray swapped = m.create(new float[][] {{(float) Math.log(4), 0f}, {0f, (float) Math.log(3)}});
        ForgettingLoss loss = ForgettingLoss.correctPenalty().forClass(1);
        float a = loss.evaluate(labels(new float[] {1, 0}, new float[] {1, 0}), predictions(first)).getFloat();
        float b = loss.evaluate(labels(new float[] {0, 1}, new float[] {0, 1}), predictions(swapped)).getFloat();
        assertThat(b).isCloseTo(a, offset(1e-6f));
    }

    @Test
    void evaluate_unnamedOrMissingEntries_clearErrors() {
        NDArray logits = m.create(new float[][] {{0f, 1f}});
        // the positional contract of earlier versions is refused with the names it needs
        assertThatThrownBy(() -> ForgettingLoss.correctPenalty().forClass(1)
                        .evaluate(new NDList(m.create(new float[] {1}), m.create(new float[] {1})), predictions(logits)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no entry named 'labels'");
        assertThatThrownBy(() -> ForgettingLoss.correctPenalty().withDistillation(1f, 2f).forClass(1)
                        .evaluate(labels(new float[] {0}, new float[] {0}), predictions(logits)))
                .hasMessageContaining("a label named 'teacherLogits'");
        NDArray two = m.create(new float[][] {{0f, 1f}, {1f, 0f}});
        assertThatThrownBy(() -> ForgettingLoss.contrastive().forClass(1)
                        .evaluate(labels(new float[] {1, 0}, new float[] {1, 0}), predictions(two)))
                .hasMessageContaining("a prediction named 'embeddings'");
    }
}

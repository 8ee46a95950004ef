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

class ScrubLossTest {

    private NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** Row 0: a forget image (class 1); row 1: a retain image (class 0). */
    private NDList labels() {
        NDList labels = UnlearningBatch.labels(m.create(new float[] {1, 0}), new boolean[] {true, false});
        // teacher: forget row (1/4, 3/4), retain row (0.8, 0.2)
        NDArray teacher = m.create(new float[][] {{0f, (float) Math.log(3)}, {(float) Math.log(4), 0f}});
        labels.add(UnlearningBatch.named(teacher, UnlearningBatch.TEACHER_LOGITS));
        return labels;
    }

    /** Student: forget row (3/4, 1/4), retain row (1/2, 1/2). */
    private NDList predictions() {
        return UnlearningBatch.predictions(m.create(new float[][] {{(float) Math.log(3), 0f}, {0f, 0f}}), null);
    }

    @Test
    void maxStep_isMinusTSquaredKlOnTheForgetImages_handComputed() {
        // T = 1: KL((1/4, 3/4) || (3/4, 1/4)) = (3/4 - 1/4) ln 3 = ln(3) / 2; the retain row is ignored
        assertThat(ScrubLoss.maxStep(1f).evaluate(labels(), predictions()).getFloat())
                .isCloseTo((float) (-Math.log(3) / 2), offset(1e-5f));
        // T = 2: p = (a, b) = (1, sqrt 3) / (1 + sqrt 3) and the student's mirror: KL = (b - a) ln(b / a),
        // times T^2 = 4
        double a = 1 / (1 + Math.sqrt(3));
        double b = Math.sqrt(3) / (1 + Math.sqrt(3));
        assertThat(ScrubLoss.maxStep(2f).evaluate(labels(), predictions()).getFloat())
                .isCloseTo((float) (-4 * (b - a) * Math.log(b / a)), offset(1e-5f));
        assertThat(ScrubLoss.maxStep(2f).isMaxStep()).isTrue();
    }

    @Test
    void minStep_isWeightedCrossEntropyPlusKlOnTheRetainImages_handComputed() {
        // KL((0.8, 0.2) || (0.5, 0.5)) = 0.8 ln 1.6 + 0.2 ln 0.4; CE = ln 2; the forget row is ignored
        double kl = 0.8 * Math.log(1.6) + 0.2 * Math.log(0.4);
        assertThat(ScrubLoss.minStep(1f, 0.5f, 2f).evaluate(labels(), predictions()).getFloat())
                .isCloseTo((float) (0.5 * kl + 2 * Math.log(2)), offset(1e-5f));
        assertThat(ScrubLoss.minStep(1f, 1f, 0f).evaluate(labels(), predictions()).getFloat())
                .isCloseTo((float) kl, offset(1e-5f));
    }

    @Test
    void evaluate_withoutTheTeacher_orWithNoRowOfItsKind() {
        NDList noTeacher = UnlearningBatch.labels(m.create(new float[] {1, 0}), new boolean[] {true, false});
        assertThatThrownBy(() -> ScrubLoss.maxStep(4f).evaluate(noTeacher, predictions()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("SCRUB needs the original model's logits: a label named 'teacherLogits'");
        NDList retainOnly = UnlearningBatch.labels(m.create(new float[] {0, 0}), new boolean[] {false, false});
        assertThat(ScrubLoss.maxStep(4f).evaluate(retainOnly, predictions()).getFloat()).isZero();
        assertThatThrownBy(() -> ScrubLoss.minStep(0f, 1f, 1f)).hasMessage("temperature (0.0) must be finite and > 0");
        assertThatThrownBy(() -> ScrubLoss.minStep(4f, -1f, 1f)).hasMessage("klWeight (-1.0) must be finite and >= 0");
    }
}

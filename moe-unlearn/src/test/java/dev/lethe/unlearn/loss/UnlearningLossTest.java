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

class UnlearningLossTest {

    private NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** Row 0 forget, rows 1-2 retain; one layer "s1/moe" with student and teacher routing. */
    private NDList[] batch(float[][] student, float[][] teacher) {
        NDList labels = UnlearningBatch.labels(m.create(new float[] {1, 0, 0}), new boolean[] {true, false, false});
        labels.add(UnlearningBatch.named(m.create(teacher), UnlearningBatch.TEACHER_ROUTING + "s1/moe"));
        NDList predictions = UnlearningBatch.predictions(m.create(new float[][] {{0f, 0f}, {0f, 0f}, {0f, 0f}}), null);
        predictions.add(UnlearningBatch.named(m.create(student), UnlearningBatch.ROUTING + "s1/moe"));
        return new NDList[] {labels, predictions};
    }

    @Test
    void routerAnchor_handComputed_onRetainRowsOnly() {
        // retain rows: (0.5, 0.5) vs (1, 0) -> 0.25 + 0.25 = 0.5; (1, 0) vs (1, 0) -> 0; mean 0.25;
        // the forget row's large change does not count; weight 2 -> 0.5
        NDList[] b = batch(new float[][] {{0f, 1f}, {0.5f, 0.5f}, {1f, 0f}}, new float[][] {{1f, 0f}, {1f, 0f}, {1f, 0f}});
        float v = new RouterAnchorLoss(2f).evaluate(b[0], b[1]).getFloat();
        assertThat(v).isCloseTo(0.5f, offset(1e-6f));
    }

    @Test
    void routerAnchor_averagesOverLayers_andNeedsTheTeachersRouting() {
        NDList[] b = batch(new float[][] {{0f, 1f}, {0.5f, 0.5f}, {1f, 0f}}, new float[][] {{1f, 0f}, {1f, 0f}, {1f, 0f}});
        // a second layer that did not move halves the mean
        b[1].add(UnlearningBatch.named(m.create(new float[][] {{1f, 0f}, {1f, 0f}, {1f, 0f}}), UnlearningBatch.ROUTING + "s2/moe"));
        NDList labelsWithout = new NDList(b[0].get(0), b[0].get(1), b[0].get(2));
        assertThatThrownBy(() -> new RouterAnchorLoss(1f).evaluate(labelsWithout, b[1]))
                .hasMessageContaining("routing of layer 's2/moe'")
                .hasMessageContaining("teacherRouting:s2/moe");
        b[0].add(UnlearningBatch.named(m.create(new float[][] {{1f, 0f}, {1f, 0f}, {1f, 0f}}), UnlearningBatch.TEACHER_ROUTING + "s2/moe"));
        assertThat(new RouterAnchorLoss(1f).evaluate(b[0], b[1]).getFloat()).isCloseTo(0.125f, offset(1e-6f));
        assertThatThrownBy(() -> new RouterAnchorLoss(0f)).hasMessage("router anchor weight (0.0) must be finite and > 0");
    }

    @Test
    void unlearningLoss_isTheSumOfItsComponents() {
        NDList[] b = batch(new float[][] {{0f, 1f}, {0.5f, 0.5f}, {1f, 0f}}, new float[][] {{1f, 0f}, {1f, 0f}, {1f, 0f}});
        ForgettingLoss forgetting = ForgettingLoss.correctPenalty().forClass(1);
        float alone = forgetting.evaluate(b[0], b[1]).getFloat();
        UnlearningLoss plain = UnlearningLoss.of(forgetting).withRouterAnchor(0f);
        assertThat(plain.getComponents()).hasSize(1);
        assertThat(plain.needsTeacher()).isFalse();
        assertThat(plain.evaluate(b[0], b[1]).getFloat()).isEqualTo(alone);

        UnlearningLoss anchored = UnlearningLoss.of(forgetting).withRouterAnchor(2f);
        assertThat(anchored.getComponents()).hasSize(2);
        assertThat(anchored.needsTeacher()).isTrue();
        assertThat(anchored.routerAnchor().orElseThrow().weight()).isEqualTo(2f);
        NDArray total = anchored.evaluate(b[0], b[1]);
        assertThat(total.getFloat()).isCloseTo(alone + 0.5f, offset(1e-5f));
    }
}

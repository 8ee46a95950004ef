package dev.lethe.unlearn.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class GradientAscentToChanceTest {

    @Test
    void evaluate_ascendsOnlyOnForgetImagesStillAtOrAboveChance() {
        try (NDManager m = NDManager.newBaseManager()) {
            // 3 classes, forgotten class 2 (chance 1/3): row 0 has p_2 = 1/2 (still ascends), row 1 has
            // p_2 = 1/5 (below chance: stopped)
            NDArray logits = m.create(new float[][] {{0f, 0f, (float) Math.log(2)}, {(float) Math.log(2), (float) Math.log(2), 0f}});
            logits.setRequiresGradient(true);
            ForgettingLoss loss = ForgettingLoss.gradientAscentToChance().forClass(2);
            float value;
            float[] grad;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = loss.evaluate(UnlearningBatch.labels(m.create(new float[] {2, 2}), new boolean[] {true, true}),
                        UnlearningBatch.predictions(logits, null));
                value = l.getFloat();
                gc.backward(l);
            }
            grad = logits.getGradient().toFloatArray();
            // -(CE of row 0) / 2 forget images = -(-ln 1/2) / 2
            assertThat(value).isCloseTo((float) (-Math.log(2) / 2), offset(1e-6f));
            // the stopped row gets no gradient; the other one is pushed off the class
            assertThat(new float[] {grad[3], grad[4], grad[5]}).containsOnly(0f);
            assertThat(grad[2]).isCloseTo((1 - 0.5f) / 2, offset(1e-6f));
            // every forget image below chance: the loss is 0 and nothing moves
            NDArray gone = m.create(new float[][] {{1f, 0f, -3f}});
            assertThat(loss.evaluate(UnlearningBatch.labels(m.create(new float[] {2}), new boolean[] {true}),
                    UnlearningBatch.predictions(gone, null)).getFloat()).isZero();
            assertThat(loss.kind()).isEqualTo(ForgettingLoss.Kind.GRADIENT_ASCENT_TO_CHANCE);
        }
    }
}

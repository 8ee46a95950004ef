package dev.lethe.moe.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.Loss;
import org.junit.jupiter.api.Test;

class SmoothedCrossEntropyLossTest {

    @Test
    void evaluate_matchesHandComputation() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] logits = {{2f, 0f, -1f}, {0.5f, 0.5f, 3f}};
            int[] y = {0, 1};
            float eps = 0.2f;
            double expected = 0;
            for (int b = 0; b < 2; b++) {
                double z = 0;
                for (float l : logits[b]) {
                    z += Math.exp(l);
                }
                for (int c = 0; c < 3; c++) {
                    double logp = logits[b][c] - Math.log(z);
                    double target = (c == y[b] ? 1 - eps : 0) + eps / 3;
                    expected -= target * logp;
                }
            }
            expected /= 2;
            NDList pred = new NDList(m.create(new float[] {2f, 0f, -1f, 0.5f, 0.5f, 3f}, new Shape(2, 3)));
            NDList labels = new NDList(m.create(new float[] {0, 1}));
            float value = new SmoothedCrossEntropyLoss("t", eps).evaluate(labels, pred).getFloat();
            assertThat((double) value).isCloseTo(expected, within(1e-5));
            // with no smoothing it is DJL's softmax cross-entropy
            float plain = new SmoothedCrossEntropyLoss("t", 0f).evaluate(labels, pred).getFloat();
            float djl = Loss.softmaxCrossEntropyLoss().evaluate(labels, pred).getFloat();
            assertThat(plain).isCloseTo(djl, within(1e-5f));
        }
    }
}

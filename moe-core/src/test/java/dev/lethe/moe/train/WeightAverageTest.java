package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import org.junit.jupiter.api.Test;

class WeightAverageTest {

    @Test
    void average_tracksTheWeights_withTheWarmedUpDecay_andSwapsBack() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block linear = Linear.builder().setUnits(1).optBias(false).build();
            linear.initialize(m, DataType.FLOAT32, new Shape(1, 1));
            var w = linear.getParameters().get(0).getValue().getArray();
            w.set(new float[] {0f});
            double expected = 0;
            int updates = 0;
            try (WeightAverage avg = new WeightAverage(linear, 0.9f, 2)) {
                for (int step = 1; step <= 40; step++) {
                    w.set(new float[] {step});
                    avg.afterStep(step);
                    if (step % 2 == 0) {
                        updates++;
                        double d = Math.min(0.81, (1.0 + updates) / (10.0 + updates));
                        expected = d * expected + (1 - d) * step;
                    }
                }
                avg.swapIn();
                assertThat((double) w.getFloat()).isCloseTo(expected, within(1e-3));
                assertThat(expected).isBetween(30.0, 39.0); // behind the latest weight, ahead of the mean
                avg.swapOut();
                assertThat(w.getFloat()).isEqualTo(40f);
            }
        }
    }
}

package dev.lethe.moe;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

class ScalarOpsTest {

    /** d/dx of sum(op(x, v)) at x = (1, 2), with garbage collections between forward and backward. */
    private static float[] gradientAfterGc(BiFunction<NDArray, Float, NDArray> op, float value) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1f, 2f});
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = op.apply(x, value);
                byte[][] junk = new byte[64][];
                for (int i = 0; i < junk.length; i++) {
                    junk[i] = new byte[1 << 20];
                }
                System.gc();
                System.gc();
                gc.backward(y.sum());
            }
            return x.getGradient().toFloatArray();
        }
    }

    @Test
    void mulDivPow_keepTheirGradientThroughGarbageCollections() {
        for (int trial = 0; trial < 5; trial++) {
            assertThat(gradientAfterGc(ScalarOps::mul, 3f)).containsExactly(3f, 3f);
            assertThat(gradientAfterGc(ScalarOps::div, 4f)).containsExactly(0.25f, 0.25f);
            // d/dx x^2 = 2x
            assertThat(gradientAfterGc(ScalarOps::pow, 2f)).containsExactly(2f, 4f);
        }
    }
}

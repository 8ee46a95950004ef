package dev.lethe.moe.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.lethe.moe.MoeBlocks;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PatchWhiteningTest {

    /** Smooth, correlated images: neighbouring pixels and channels share most of their value. */
    private static NDArray correlatedImages(NDManager m, int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n * 3 * 8 * 8];
        for (int i = 0; i < n; i++) {
            double base = r.nextGaussian();
            for (int y = 0; y < 8; y++) {
                double row = base + 0.3 * r.nextGaussian();
                for (int x = 0; x < 8; x++) {
                    double pixel = row + 0.2 * r.nextGaussian();
                    for (int c = 0; c < 3; c++) {
                        v[((i * 3 + c) * 8 + y) * 8 + x] = (float) (pixel + 0.1 * r.nextGaussian());
                    }
                }
            }
        }
        return m.create(v, new Shape(n, 3, 8, 8));
    }

    @Test
    void fit_producesDecorrelatedUnitVariancePatches() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PatchWhitening w = new PatchWhitening(1e-4f);
            w.initialize(m, DataType.FLOAT32, new Shape(1, 3, 8, 8));
            NDArray images = correlatedImages(m, 400, 1);
            w.fit(images);
            assertThat(w.isFitted()).isTrue();
            NDArray out = w.forward(new ParameterStore(m, false), new NDList(images), false).singletonOrThrow();
            assertThat(out.getShape()).isEqualTo(new Shape(400, 24, 7, 7));
            // the first 12 channels are the whitened coordinates: covariance ≈ identity
            NDArray z = out.get(":, 0:12").transpose(1, 0, 2, 3).reshape(12, -1);
            NDArray centred = z.sub(z.mean(new int[] {1}, true));
            float[] cov = centred.matMul(centred.transpose()).div(z.getShape().get(1)).toFloatArray();
            for (int a = 0; a < 12; a++) {
                for (int b = 0; b < 12; b++) {
                    assertThat(cov[a * 12 + b]).as("cov[%s][%s]", a, b).isCloseTo(a == b ? 1f : 0f, within(0.05f));
                }
            }
            // the fitted state travels with the parameters (save/load, model copies)
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            w.saveParameters(new java.io.DataOutputStream(bytes));
            PatchWhitening loaded = new PatchWhitening(1e-4f);
            loaded.initialize(m, DataType.FLOAT32, new Shape(1, 3, 8, 8));
            assertThat(loaded.isFitted()).isFalse();
            loaded.loadParameters(m, new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray())));
            assertThat(loaded.isFitted()).isTrue();
            // the other 12 are their negatives (the bias starts at 0)
            assertThat(out.get(":, 12:24").add(out.get(":, 0:12")).abs().max().getFloat()).isLessThan(1e-5f);
        }
    }

    @Test
    void filters_areNeverTrainable_theBiasIs() {
        try (NDManager m = NDManager.newBaseManager()) {
            PatchWhitening w = new PatchWhitening(1e-4f);
            w.initialize(m, DataType.FLOAT32, new Shape(1, 3, 8, 8));
            MoeBlocks.setTrainable(w, true);
            assertThat(w.getParameters().get("fixedWeight").requiresGradient()).isFalse();
            assertThat(w.getParameters().get("bias").requiresGradient()).isTrue();
            assertThat(MoeBlocks.isFixed(w.getParameters().get("fixedWeight"))).isTrue();
        }
    }

    @Test
    void fit_wrongChannels_isRejected() {
        try (NDManager m = NDManager.newBaseManager()) {
            PatchWhitening w = new PatchWhitening(1e-4f);
            w.initialize(m, DataType.FLOAT32, new Shape(1, 3, 8, 8));
            assertThatThrownBy(() -> w.fit(m.zeros(new Shape(2, 1, 8, 8))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("images must be (N, 3, H >= 2, W >= 2) but are (2, 1, 8, 8)");
        }
    }
}

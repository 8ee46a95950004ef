package dev.lethe.moe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;
import com.google.common.base.Preconditions;

/**
 * Initialises a convolution (out, in, kh, kw) as the identity on its first {@code min(out, in)}
 * channels (a Dirac delta at the kernel centre) plus small noise N(0, std²) everywhere, so that a
 * freshly built deep stack starts close to passing its input through (as in Goyal et al. 2017's
 * and Jordan 2024's identity initialisation of residual-free convolution stacks).
 */
final class IdentityInitializer implements Initializer {

    private final float noise;

    IdentityInitializer() {
        this(0.01f);
    }

    IdentityInitializer(float noise) {
        this.noise = noise;
    }

    @Override
    public NDArray initialize(NDManager manager, Shape shape, DataType dataType) {
        Preconditions.checkArgument(shape.dimension() == 4, "identity init needs a 4-D conv weight, got %s", shape);
        int out = Math.toIntExact(shape.get(0));
        int in = Math.toIntExact(shape.get(1));
        int kh = Math.toIntExact(shape.get(2));
        int kw = Math.toIntExact(shape.get(3));
        NDArray w = manager.randomNormal(0f, noise, shape, DataType.FLOAT32);
        float[] values = w.toFloatArray();
        for (int c = 0; c < Math.min(out, in); c++) {
            values[((c * in + c) * kh + kh / 2) * kw + kw / 2] += 1f;
        }
        w.set(values);
        return w.toType(dataType, false);
    }
}

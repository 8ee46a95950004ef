package dev.lethe.moe;

import ai.djl.ndarray.NDArray;

/**
 * Multiplication, division and power by a Java number that are safe under autograd.
 *
 * <p>DJL 0.36's PyTorch engine implements {@code NDArray.mul(Number)}, {@code div(Number)} and
 * {@code pow(Number)} by wrapping the number in a temporary tensor over Java memory and closing it
 * at once; libtorch's autograd keeps a reference to that tensor for the backward pass, which then
 * reads freed memory as soon as a garbage collection has run in between. Measured here: {@code
 * x.mul(3f)}, a GC, then backward gives gradients such as 1.4E-45 or 1.7E34 instead of 3 in 20 of
 * 20 trials. These methods put the number in an array of {@code x}'s manager instead, which lives
 * until that manager closes (for a training step: after the backward pass). Use them wherever a
 * gradient flows through {@code x}; ops whose backward does not read the number ({@code add},
 * {@code sub}) and arrays without gradient are not affected. {@code maximum(Number)}, {@code
 * minimum(Number)} and {@code clip(Number, Number)} wrap their number the same way and their
 * backward compares against it: on an autograd path, compare with an array of {@code x}'s manager
 * ({@code x.maximum(x.getManager().create(v))}) or use {@code relu}.
 */
public final class ScalarOps {

    private ScalarOps() {}

    /**
     * @param x an array
     * @param value a number
     * @return {@code x * value}, in {@code x}'s manager
     */
    public static NDArray mul(NDArray x, float value) {
        return x.mul(x.getManager().create(value));
    }

    /**
     * @param x an array
     * @param value a number, not 0
     * @return {@code x / value}, in {@code x}'s manager
     */
    public static NDArray div(NDArray x, float value) {
        return x.div(x.getManager().create(value));
    }

    /**
     * @param x an array
     * @param exponent a number
     * @return {@code x ^ exponent}, in {@code x}'s manager
     */
    public static NDArray pow(NDArray x, float exponent) {
        return x.pow(x.getManager().create(exponent));
    }
}

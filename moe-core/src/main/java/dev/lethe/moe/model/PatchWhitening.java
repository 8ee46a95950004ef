package dev.lethe.moe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import com.google.common.base.Preconditions;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * A first convolution whose filters whiten the image's small patches: a 2×2 convolution (no
 * padding) from C channels to {@code 2 * C * 4} channels, whose filters are the eigenvectors of
 * the covariance of the training images' 2×2 patches, scaled by {@code 1 / sqrt(eigenvalue +
 * eps)}, each used with both signs (so a following GELU/ReLU keeps both halves of the signal).
 *
 * <p>Input (B, C, H, W); output (B, 8C, H - 1, W - 1). For CIFAR (C = 3): 24 channels, 31×31.
 * The filters are computed from data by {@link #fit(NDArray)} and then stay fixed: the weight
 * parameter is named {@code fixedWeight}, never requires a gradient, and is skipped by {@link
 * dev.lethe.moe.MoeBlocks#setTrainable}; only the bias trains. Whitening the input this way is
 * the first ingredient of the fast CIFAR-10 recipes (Coates &amp; Ng 2011 for patch whitening;
 * Jordan 2024, "94% on CIFAR-10 in 3.29 seconds on a single GPU", arXiv 2404.00498, for its use
 * as a frozen first layer).
 *
 * <p>Until {@link #fit} is called the filters are N(0, 0.1²): the block works, it just does not
 * whiten. {@link #isFitted()} tells which.
 */
public final class PatchWhitening extends AbstractBlock {

    /** Side of the patches. */
    public static final int PATCH = 2;

    private static final byte VERSION = 1;

    private final Parameter weight;
    private final Parameter bias;
    private final Parameter state;
    private final float eps;

    /**
     * @param eps added to each eigenvalue before the inverse square root, &gt; 0 (5e-4 for images
     *     in [0, 1] normalised per channel)
     */
    public PatchWhitening(float eps) {
        super(VERSION);
        Preconditions.checkArgument(eps > 0 && Float.isFinite(eps), "eps (%s) must be finite and > 0", eps);
        this.eps = eps;
        weight =
                addParameter(
                        Parameter.builder()
                                .setName("fixedWeight")
                                .setType(Parameter.Type.WEIGHT)
                                .optInitializer(new NormalInitializer(0.1f))
                                .optRequiresGrad(false)
                                .build());
        bias = addParameter(Parameter.builder().setName("bias").setType(Parameter.Type.BIAS).build());
        // 1 once fit() has run; a parameter, so that it travels with saved, loaded and copied models
        state =
                addParameter(
                        Parameter.builder()
                                .setName("fixedFitted")
                                .setType(Parameter.Type.OTHER)
                                .optInitializer(ai.djl.training.initializer.Initializer.ZEROS)
                                .optShape(new Shape(1))
                                .optRequiresGrad(false)
                                .build());
    }

    /**
     * @return whether {@link #fit} has set the filters from data (kept with the parameters, so a
     *     saved, loaded or copied block remembers it)
     */
    public boolean isFitted() {
        return isInitialized() && state.getArray().getFloat() == 1f;
    }

    /**
     * Sets the filters from the 2×2 patches of a sample of (normalised, un-augmented) training
     * images. Deterministic for the same images.
     *
     * @param images (N, C, H, W) images, N ≥ 1, in the layout the network sees
     * @throws IllegalArgumentException if the images do not match the block's input channels
     * @throws IllegalStateException if the block is not initialised
     */
    public void fit(NDArray images) {
        Preconditions.checkState(isInitialized(), "initialise the block before fit(images)");
        Shape s = images.getShape();
        long channels = weight.getArray().getShape().get(1);
        Preconditions.checkArgument(
                s.dimension() == 4 && s.get(1) == channels && s.get(2) >= PATCH && s.get(3) >= PATCH,
                "images must be (N, %s, H >= 2, W >= 2) but are %s",
                channels,
                s);
        int n = Math.toIntExact(s.get(0));
        int c = Math.toIntExact(s.get(1));
        int h = Math.toIntExact(s.get(2));
        int w = Math.toIntExact(s.get(3));
        int dim = c * PATCH * PATCH;
        float[] x = images.toType(DataType.FLOAT32, false).toFloatArray();
        double[] mean = new double[dim];
        double[][] second = new double[dim][dim];
        double[] patch = new double[dim];
        long count = 0;
        for (int img = 0; img < n; img++) {
            for (int i = 0; i + PATCH <= h; i++) {
                for (int j = 0; j + PATCH <= w; j++) {
                    int d = 0;
                    for (int ch = 0; ch < c; ch++) {
                        for (int di = 0; di < PATCH; di++) {
                            for (int dj = 0; dj < PATCH; dj++) {
                                patch[d++] = x[((img * c + ch) * h + i + di) * w + j + dj];
                            }
                        }
                    }
                    for (int a = 0; a < dim; a++) {
                        mean[a] += patch[a];
                        for (int b = a; b < dim; b++) {
                            second[a][b] += patch[a] * patch[b];
                        }
                    }
                    count++;
                }
            }
        }
        RealMatrix cov = new Array2DRowRealMatrix(dim, dim);
        for (int a = 0; a < dim; a++) {
            for (int b = a; b < dim; b++) {
                double v = second[a][b] / count - (mean[a] / count) * (mean[b] / count);
                cov.setEntry(a, b, v);
                cov.setEntry(b, a, v);
            }
        }
        EigenDecomposition eig = new EigenDecomposition(cov);
        int out = 2 * dim;
        float[] filters = new float[out * dim];
        for (int k = 0; k < dim; k++) {
            double scale = 1.0 / Math.sqrt(Math.max(eig.getRealEigenvalue(k), 0) + eps);
            double[] v = eig.getEigenvector(k).toArray();
            for (int d = 0; d < dim; d++) {
                filters[k * dim + d] = (float) (v[d] * scale);
                filters[(k + dim) * dim + d] = (float) (-v[d] * scale);
            }
        }
        weight.getArray().set(filters);
        state.getArray().set(new float[] {1f});
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        long channels = inputShapes[0].get(1);
        long out = 2 * channels * PATCH * PATCH;
        weight.setShape(new Shape(out, channels, PATCH, PATCH));
        bias.setShape(new Shape(out));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray w = parameterStore.getValue(weight, x.getDevice(), training).stopGradient();
        NDArray b = parameterStore.getValue(bias, x.getDevice(), training);
        return Conv2d.conv2d(x, w, b, new Shape(1, 1), new Shape(0, 0), new Shape(1, 1), 1);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        long channels = in.get(1);
        return new Shape[] {
            new Shape(in.get(0), 2 * channels * PATCH * PATCH, in.get(2) - PATCH + 1, in.get(3) - PATCH + 1)
        };
    }

    @Override
    public String toString() {
        return "PatchWhitening(2x2, eps=" + eps + (isFitted() ? ", fitted" : ", not fitted") + ")";
    }
}

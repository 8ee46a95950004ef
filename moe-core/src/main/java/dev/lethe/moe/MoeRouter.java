package dev.lethe.moe;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * The router of a {@link MoeBlock}: a cosine router {@code logits_e = s * cos(gap(x), w_e) + b_e}
 * (as in X-MoE, Chi et al., NeurIPS 2022), or with {@code cosine = false} the plain linear router
 * {@code logits = s * (W * gap(x) + b)}.
 *
 * <p>Input (B, C, H, W) or (B, C); output the router logits (B, E). {@code gap} is the global
 * average pool over the spatial axes, so the router reads pooled features of the layer input, not
 * pixels. {@code s} is a learnable scalar logit scale (initialised to {@code initialScale}): it lets
 * routing become decisive without large weights, which matters because the router is trained
 * without weight decay and its noise is relative to the logit spread (see {@code docs/moe.md}).
 *
 * <p>The cosine form bounds the logits by the scale: a linear router trained with a large learning
 * rate, a learnable scale and no weight decay can blow up multiplicatively (scale and weights grow
 * each other; measured here, the z-loss reached infinity within 5 SGD steps at lr 0.1), while the
 * cosine router's logits grow only as fast as the single scalar {@code s}.
 *
 * <p>By default the router reads its input with the gradient stopped: routing losses and gates then
 * train the router only, never the features below it. Without that, the learnable scale multiplies
 * every routing gradient that reaches the backbone; measured here on CIFAR-10, a loss spike from 1.2
 * to 5e7 in the third epoch at learning rate 0.1.
 *
 * <p>Parameters: {@code weight} (E, C), {@code bias} (E), {@code scale} (1). The weight is
 * initialised to N(0, initStd²) (linear router: 0 by default, all experts start tied and training
 * noise breaks the ties; cosine router: 0.01 when 0 is asked, since a zero vector has no direction).
 */
public final class MoeRouter extends AbstractBlock {

    private static final byte VERSION = 1;

    private final int numExperts;
    private final Parameter weight;
    private final Parameter bias;
    private final Parameter scale;
    private final boolean cosine;
    private final boolean detachInput;

    MoeRouter(int numExperts, float initStd, float initialScale, boolean cosine, boolean detachInput) {
        super(VERSION);
        this.numExperts = numExperts;
        this.cosine = cosine;
        this.detachInput = detachInput;
        float std = cosine && initStd == 0f ? 0.01f : initStd;
        Initializer weightInit = std == 0f ? Initializer.ZEROS : new NormalInitializer(std);
        weight =
                addParameter(
                        Parameter.builder()
                                .setName("weight")
                                .setType(Parameter.Type.WEIGHT)
                                .optInitializer(weightInit)
                                .build());
        bias =
                addParameter(
                        Parameter.builder()
                                .setName("bias")
                                .setType(Parameter.Type.BIAS)
                                .build());
        scale =
                addParameter(
                        Parameter.builder()
                                .setName("scale")
                                .setType(Parameter.Type.OTHER)
                                .optInitializer(new ConstantInitializer(initialScale))
                                .optShape(new Shape(1))
                                .build());
    }

    /**
     * Global average pooling over all axes after the second: (B, C, ...) to (B, C).
     *
     * @param x the input, at least 2-D
     * @return the pooled features (B, C)
     */
    public static NDArray globalAveragePool(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() == 2) {
            return x;
        }
        return x.reshape(s.get(0), s.get(1), -1).mean(new int[] {2});
    }

    /** @return whether routing gradients are kept out of the layer input */
    public boolean isInputDetached() {
        return detachInput;
    }

    /** @return whether this is a cosine router */
    public boolean isCosine() {
        return cosine;
    }

    /** @return the number of experts E (the width of the logits) */
    public int getNumExperts() {
        return numExperts;
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        long channels = inputShapes[0].get(1);
        weight.setShape(new Shape(numExperts, channels));
        bias.setShape(new Shape(numExperts));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray pooled = globalAveragePool(x);
        if (detachInput) {
            pooled = pooled.stopGradient();
        }
        NDArray w = parameterStore.getValue(weight, x.getDevice(), training);
        NDArray b = parameterStore.getValue(bias, x.getDevice(), training);
        NDArray s = parameterStore.getValue(scale, x.getDevice(), training);
        if (cosine) {
            // results join the manager of their first operand: keep every intermediate in the
            // batch's manager, never in the parameters' (that would leak arrays per forward pass)
            NDArray xn = pooled.div(pooled.norm(new int[] {1}, true).add(1e-6f));
            NDArray weightNorm = w.norm(new int[] {1}, true);
            weightNorm.attach(x.getManager());
            NDArray wn = ScalarOps.pow(weightNorm.add(1e-6f), -1f).mul(w);
            return new NDList(xn.matMul(wn.transpose()).mul(s).add(b));
        }
        NDArray logits = Linear.linear(pooled, w, b).singletonOrThrow();
        return new NDList(logits.mul(s));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numExperts)};
    }
}

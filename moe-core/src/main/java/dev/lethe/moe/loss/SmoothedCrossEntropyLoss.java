package dev.lethe.moe.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;

/**
 * Softmax cross-entropy against smoothed labels (Szegedy et al., CVPR 2016): the target puts
 * {@code 1 - ε + ε/C} on the true class and {@code ε/C} on each other one.
 *
 * <pre>
 *   L = mean_b [ -(1 - ε) log p_{b,y_b} - (ε / C) sum_c log p_{b,c} ]
 * </pre>
 *
 * <p>Labels (B) class ids of any numeric type; predictions: logits (B, C) first. With ε = 0 it is
 * the plain softmax cross-entropy.
 */
public final class SmoothedCrossEntropyLoss extends Loss {

    private final float smoothing;

    /**
     * @param name the loss name (for DJL's metrics)
     * @param smoothing ε in [0, 1)
     */
    public SmoothedCrossEntropyLoss(String name, float smoothing) {
        super(name);
        Preconditions.checkArgument(
                smoothing >= 0 && smoothing < 1, "smoothing (%s) must be in [0, 1)", smoothing);
        this.smoothing = smoothing;
    }

    /** @return ε */
    public float getSmoothing() {
        return smoothing;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDArray logits = predictions.head();
        long classes = logits.getShape().get(1);
        NDArray logp = logits.logSoftmax(1);
        NDArray y = labels.head().toType(DataType.INT64, false);
        NDArray target = y.oneHot(Math.toIntExact(classes)).toType(logp.getDataType(), false);
        if (smoothing > 0) {
            target = target.mul(1f - smoothing).add(smoothing / classes);
        }
        return target.mul(logp).sum(new int[] {1}).neg().mean();
    }
}

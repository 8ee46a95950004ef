package dev.lethe.unlearn.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import dev.lethe.moe.ScalarOps;
import com.google.common.collect.ImmutableList;
import java.util.List;
import java.util.Locale;

/**
 * Moves the edited weights away from the original ones until a target distance:
 *
 * <pre>
 *   d    = ||θ − θ0|| / ||θ0||                       over the given weights
 *   loss = weight · N · max(0, target − d)            N: their number of elements
 * </pre>
 *
 * <p>Why: Siddiqui et al. 2025 ("From Dormant to Deleted", arXiv 2505.22310) find that resistance
 * to relearning the forgotten class tracks the L2 distance between the unlearned and the original
 * weights (and the loss of linear mode connectivity between them); an edit that stays in the
 * original's basin can walk back in a few steps. The hinge makes the term a constraint rather than
 * a reward: it pushes along the current edit direction ({@code ∂d/∂θ = (θ − θ0) / (||θ − θ0||
 * ||θ0||)}) while {@code d < target} and is 0 beyond, so the other terms (distillation on retain
 * images, the forgetting terms) decide where the model settles at that distance. The factor N makes
 * the gradient per element about {@code weight / rms(θ0)} whatever the model's size (a mean over N
 * elements would scale it by 1/N), so one weight suits every model: a weight that dominates the
 * other terms' gradients (the default of the trunk edit) reaches the target within a few dozen
 * Adam steps. At θ = θ0 the gradient is 0 (no direction yet): the first steps of the other terms
 * give it one.
 *
 * <p>Reads no batch entry: the weights are the working model's parameters, whose arrays the
 * forward pass uses, so the gradient reaches them; θ0 are the original model's (no gradient).
 */
public final class WeightDistanceLoss extends Loss {

    private final float weight;
    private final float target;
    private final List<Parameter> edited;
    private final List<Parameter> original;
    private final double originalNorm;
    private final long elements;

    /**
     * @param weight the weight, finite and &gt; 0
     * @param target the relative distance to reach, finite and &gt; 0
     * @param edited the working model's weights
     * @param original the original model's weights, in the same order and shapes
     * @throws IllegalArgumentException if the lists differ in length or shapes, are empty, or the
     *     original weights are all zero
     */
    public WeightDistanceLoss(float weight, float target, List<Parameter> edited, List<Parameter> original) {
        super("WeightDistance");
        Preconditions.checkArgument(weight > 0 && Float.isFinite(weight), "distance weight (%s) must be finite and > 0", weight);
        Preconditions.checkArgument(target > 0 && Float.isFinite(target), "target distance (%s) must be finite and > 0", target);
        Preconditions.checkArgument(!edited.isEmpty(), "there is no weight to move");
        Preconditions.checkArgument(
                edited.size() == original.size(),
                "%s edited weights but %s original ones",
                edited.size(),
                original.size());
        double norm = 0;
        long n = 0;
        for (int i = 0; i < edited.size(); i++) {
            Shape a = edited.get(i).getArray().getShape();
            Shape b = original.get(i).getArray().getShape();
            Preconditions.checkArgument(
                    a.equals(b), "weight '%s' has shape %s but its original %s", edited.get(i).getName(), a, b);
            for (float v : original.get(i).getArray().toFloatArray()) {
                norm += (double) v * v;
            }
            n += a.size();
        }
        Preconditions.checkArgument(norm > 0, "the original weights are all zero: no relative distance");
        this.weight = weight;
        this.target = target;
        this.edited = ImmutableList.copyOf(edited);
        this.original = ImmutableList.copyOf(original);
        this.originalNorm = Math.sqrt(norm);
        this.elements = n;
    }

    /** @return the weight */
    public float weight() {
        return weight;
    }

    /** @return the target relative distance */
    public float target() {
        return target;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDManager step = predictions.head().getManager();
        NDArray sum = null;
        for (int i = 0; i < edited.size(); i++) {
            NDArray theta0 = original.get(i).getArray().stopGradient();
            theta0.attach(step);
            NDArray diff = edited.get(i).getArray().sub(theta0);
            diff.attach(step);
            NDArray squares = diff.square().sum();
            sum = sum == null ? squares : sum.add(squares);
        }
        NDArray distance = ScalarOps.div(sum.add(1e-20f).sqrt(), (float) originalNorm);
        NDArray hinge = ai.djl.nn.Activation.relu(distance.neg().add(target));
        return ScalarOps.mul(hinge, (float) (weight * (double) elements));
    }

    /**
     * @return the current relative distance {@code ||θ − θ0|| / ||θ0||} (read on the host)
     */
    public double distance() {
        double sum = 0;
        for (int i = 0; i < edited.size(); i++) {
            float[] a = edited.get(i).getArray().toFloatArray();
            float[] b = original.get(i).getArray().toFloatArray();
            for (int j = 0; j < a.length; j++) {
                double d = (double) a[j] - b[j];
                sum += d * d;
            }
        }
        return Math.sqrt(sum) / originalNorm;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "weightDistance(%.3g to %.3g)", weight, target);
    }
}

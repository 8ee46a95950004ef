package dev.lethe.unlearn;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlocks;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How far an unlearning run moved the model from the original weights, in L2: over every weight
 * ({@code ||θ − θ0|| / ||θ0||}, BatchNorm running statistics and fixed constants left out) and per
 * changed tensor. Siddiqui et al. 2025 ("From Dormant to Deleted", arXiv 2505.22310) find that a
 * model's resistance to relearning the forgotten class tracks this distance: a model that stays
 * close to the original (most fine-tuning-style methods, ours included) can walk back in a few
 * steps; the Retrain model is far. Reported by every {@link UnlearningResult}. Immutable.
 */
public final class WeightDistance {

    private final double l2;
    private final double originalNorm;
    private final Map<String, Double> tensors;

    private WeightDistance(double l2, double originalNorm, Map<String, Double> tensors) {
        this.l2 = l2;
        this.originalNorm = originalNorm;
        this.tensors = ImmutableMap.copyOf(tensors);
    }

    /**
     * Measures the distance between two models of the same architecture.
     *
     * @param original the original model (its values before the run)
     * @param after the model after the run
     * @return the distance
     * @throws IllegalArgumentException if a weight of {@code after} is missing from {@code
     *     original} or has another shape
     */
    public static WeightDistance between(Model original, Model after) {
        Preconditions.checkNotNull(original, "original must not be null");
        Preconditions.checkNotNull(after, "after must not be null");
        Map<String, Parameter> before = new HashMap<>();
        for (Pair<String, Parameter> p : original.getBlock().getParameters()) {
            before.put(p.getKey(), p.getValue());
        }
        double sumDiff = 0;
        double sumNorm = 0;
        Map<String, Double> tensors = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : after.getBlock().getParameters()) {
            if (MoeBlocks.isFixed(p.getValue())) {
                continue;
            }
            Parameter o = before.get(p.getKey());
            Preconditions.checkArgument(o != null, "weight '%s' of the new model is not in the original", p.getKey());
            float[] a = o.getArray().toFloatArray();
            float[] b = p.getValue().getArray().toFloatArray();
            Preconditions.checkArgument(
                    a.length == b.length,
                    "weight '%s' has %s values in the original but %s in the new model",
                    p.getKey(),
                    a.length,
                    b.length);
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < a.length; i++) {
                double d = (double) b[i] - a[i];
                diff += d * d;
                norm += (double) a[i] * a[i];
            }
            sumDiff += diff;
            sumNorm += norm;
            if (diff > 0) {
                tensors.put(p.getKey(), norm > 0 ? Math.sqrt(diff / norm) : Double.POSITIVE_INFINITY);
            }
        }
        return new WeightDistance(Math.sqrt(sumDiff), Math.sqrt(sumNorm), tensors);
    }

    /** @return {@code ||θ − θ0||} over every weight */
    public double l2() {
        return l2;
    }

    /** @return {@code ||θ − θ0|| / ||θ0||} over every weight (0 if nothing changed) */
    public double relativeL2() {
        return originalNorm > 0 ? l2 / originalNorm : 0;
    }

    /**
     * @return each changed weight's {@code ||θ_t − θ0_t|| / ||θ0_t||} (infinite for a tensor that
     *     was all zeros), in model order; unchanged weights are left out
     */
    public Map<String, Double> changedTensors() {
        return tensors;
    }

    /** @return the largest relative change of one tensor (0 if none changed) */
    public double maxTensorRelativeL2() {
        return tensors.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }

    /** @return {@code {"l2", "relativeL2", "tensors": {name: relativeL2}}} */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("l2", l2);
        o.addProperty("relativeL2", relativeL2());
        JsonObject t = new JsonObject();
        tensors.forEach((k, v) -> t.addProperty(k, Double.isFinite(v) ? v : null));
        o.add("tensors", t);
        return o;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "moved %.4f of the original weights' norm (L2 %.4g), %d tensors changed, at most %.4f of one tensor",
                relativeL2(),
                l2,
                tensors.size(),
                maxTensorRelativeL2());
    }
}

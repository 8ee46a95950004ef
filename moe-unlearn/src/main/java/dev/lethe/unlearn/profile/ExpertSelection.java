package dev.lethe.unlearn.profile;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which experts of each MoE layer an {@link ExpertSelector} chose for a class, and why: their
 * shares of the class's gate mass, how many parameters they hold, and the collateral — the share of
 * the other classes' gate mass that flows through them (0 = the experts are the class's alone, 1 =
 * they carry everything). Immutable.
 */
public final class ExpertSelection {

    /** Above this mean collateral a selection is reported as not class-specific: 0.5. */
    public static final double CLASS_SPECIFIC_MAX_COLLATERAL = 0.5;

    private final int forgetClass;
    private final String strategy;
    private final Map<String, List<Integer>> experts;
    private final Map<String, double[]> classShares;
    private final Map<String, Double> coverage;
    private final Map<String, Double> collateral;
    private final long parameters;
    private final long totalParameters;

    ExpertSelection(
            int forgetClass,
            String strategy,
            Map<String, List<Integer>> experts,
            Map<String, double[]> classShares,
            Map<String, Double> coverage,
            Map<String, Double> collateral,
            long parameters,
            long totalParameters) {
        this.forgetClass = forgetClass;
        this.strategy = strategy;
        ImmutableMap.Builder<String, List<Integer>> b = ImmutableMap.builder();
        for (Map.Entry<String, List<Integer>> e : experts.entrySet()) {
            b.put(e.getKey(), ImmutableList.copyOf(e.getValue()));
        }
        this.experts = b.build();
        ImmutableMap.Builder<String, double[]> s = ImmutableMap.builder();
        for (Map.Entry<String, double[]> e : classShares.entrySet()) {
            s.put(e.getKey(), e.getValue().clone());
        }
        this.classShares = s.build();
        this.coverage = ImmutableMap.copyOf(coverage);
        this.collateral = ImmutableMap.copyOf(collateral);
        this.parameters = parameters;
        this.totalParameters = totalParameters;
    }

    /** @return the class the experts were chosen for */
    public int forgetClass() {
        return forgetClass;
    }

    /** @return a description of the strategy, e.g. "coverage(0.90)" */
    public String strategy() {
        return strategy;
    }

    /** @return the selected experts per layer path (possibly empty for a layer) */
    public Map<String, List<Integer>> experts() {
        return experts;
    }

    /** @return the total number of selected experts over all layers */
    public int size() {
        int n = 0;
        for (List<Integer> l : experts.values()) {
            n += l.size();
        }
        return n;
    }

    /**
     * @param layer a layer path
     * @return the class's share of gate mass on every expert of the layer (the evidence)
     */
    public double[] classShares(String layer) {
        return classShares.get(layer).clone();
    }

    /** @return per layer, the share of the class's gate mass carried by the selected experts */
    public Map<String, Double> coverage() {
        return coverage;
    }

    /** @return per layer, the other classes' mean share of gate mass on the selected experts */
    public Map<String, Double> collateral() {
        return collateral;
    }

    /** @return the mean collateral over layers */
    public double meanCollateral() {
        return collateral.values().stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    /** @return trainable parameters of the selected experts */
    public long parameters() {
        return parameters;
    }

    /** @return trainable parameters of the whole model */
    public long totalParameters() {
        return totalParameters;
    }

    /**
     * @return false when the selected experts also carry most of the other classes' gate mass
     *     (mean collateral above {@link #CLASS_SPECIFIC_MAX_COLLATERAL}): retraining them then edits
     *     the network's shared trunk, not the class's own experts
     */
    public boolean isClassSpecific() {
        return meanCollateral() <= CLASS_SPECIFIC_MAX_COLLATERAL;
    }

    /** @return a plain-language warning when the selection is not class-specific, else "" */
    public String warning() {
        if (isClassSpecific()) {
            return "";
        }
        return String.format(
                Locale.ROOT,
                "NOT CLASS-SPECIFIC: the selected experts also carry %.0f%% of the other classes'"
                        + " gate mass, so routing does not follow this class and retraining them edits"
                        + " the shared trunk (whether class-aware routing would help depends on the"
                        + " recipe the model was trained with, which this selection does not know).",
                100 * meanCollateral());
    }

    /** @return a printable table */
    public String toTable() {
        StringBuilder sb =
                new StringBuilder(
                        String.format(
                                Locale.ROOT,
                                "experts selected for class %d by %s: %d experts, %d of %d parameters"
                                        + " (%.1f%%)%n",
                                forgetClass,
                                strategy,
                                size(),
                                parameters,
                                totalParameters,
                                100.0 * parameters / Math.max(1, totalParameters)));
        for (Map.Entry<String, List<Integer>> e : experts.entrySet()) {
            double[] shares = classShares.get(e.getKey());
            StringBuilder which = new StringBuilder();
            for (int x : e.getValue()) {
                which.append(String.format(Locale.ROOT, " E%d(%.2f)", x, shares[x]));
            }
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "  %-24s%s  coverage %.2f  collateral %.2f%n",
                            e.getKey(),
                            which,
                            coverage.get(e.getKey()),
                            collateral.get(e.getKey())));
        }
        String w = warning();
        if (!w.isEmpty()) {
            sb.append("  ").append(w).append('\n');
        }
        return sb.toString();
    }

    /** @return the selection as JSON */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("strategy", strategy);
        JsonObject layers = new JsonObject();
        for (Map.Entry<String, List<Integer>> e : experts.entrySet()) {
            JsonObject l = new JsonObject();
            JsonArray ids = new JsonArray();
            e.getValue().forEach(ids::add);
            l.add("experts", ids);
            JsonArray shares = new JsonArray();
            for (double v : classShares.get(e.getKey())) {
                shares.add(v);
            }
            l.add("classShares", shares);
            l.addProperty("coverage", coverage.get(e.getKey()));
            l.addProperty("collateral", collateral.get(e.getKey()));
            layers.add(e.getKey(), l);
        }
        o.add("layers", layers);
        o.addProperty("parameters", parameters);
        o.addProperty("totalParameters", totalParameters);
        o.addProperty("meanCollateral", meanCollateral());
        o.addProperty("classSpecific", isClassSpecific());
        return o;
    }

    @Override
    public String toString() {
        return toTable();
    }
}

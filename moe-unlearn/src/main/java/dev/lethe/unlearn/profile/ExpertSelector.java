package dev.lethe.unlearn.profile;

import ai.djl.nn.Block;
import com.google.common.base.Preconditions;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Chooses, in each MoE layer, the experts that hold a class. Strategies: {@link #topN(int)}, {@link
 * #coverage(double)} (the default, 0.9), {@link #specificity(double, int)}, and {@link
 * #onLayers(Set, ExpertSelector)} to restrict any of them to some layers.
 */
public interface ExpertSelector {

    /**
     * Chooses experts for one class, in every layer of the profile.
     *
     * @param profile the activation profile of the model
     * @param forgetClass the class
     * @param model the model's block (to count parameters)
     * @return the selection; may be empty in a layer but never in all layers
     * @throws IllegalArgumentException if the profile has no image of the class
     */
    ExpertSelection select(ActivationProfile profile, int forgetClass, Block model);

    /**
     * The n experts with the largest share of the class's gate mass, per layer.
     *
     * @param n experts per layer, &gt;= 1
     * @return the selector
     */
    static ExpertSelector topN(int n) {
        Preconditions.checkArgument(n >= 1, "n (%s) must be >= 1", n);
        return new Strategy("topN(" + n + ")") {
            @Override
            List<Integer> choose(ActivationProfile p, String layer, int c) {
                List<Integer> ranked = rankBy(p.share(layer, c));
                return ranked.subList(0, Math.min(n, ranked.size()));
            }
        };
    }

    /**
     * The smallest set of experts, per layer, whose shares cover the fraction of the class's gate
     * mass (greedy by share, which is optimal for this problem).
     *
     * @param fraction in (0, 1]; 0.9 by default in {@code Unlearner}
     * @return the selector
     */
    static ExpertSelector coverage(double fraction) {
        Preconditions.checkArgument(
                fraction > 0 && fraction <= 1, "fraction (%s) must be in (0, 1]", fraction);
        return new Strategy(String.format(Locale.ROOT, "coverage(%.2f)", fraction)) {
            @Override
            List<Integer> choose(ActivationProfile p, String layer, int c) {
                double[] share = p.share(layer, c);
                List<Integer> out = new ArrayList<>();
                double sum = 0;
                for (int e : rankBy(share)) {
                    if (sum >= fraction - 1e-12) {
                        break;
                    }
                    out.add(e);
                    sum += share[e];
                }
                return out;
            }
        };
    }

    /**
     * Experts ranked by specificity (the class's share over the other classes' mean share), keeping
     * those at or above {@code minRatio}, at most {@code maxN} per layer and at least the most
     * specific one.
     *
     * @param minRatio minimum specificity, &gt; 0 (e.g. 2)
     * @param maxN maximum experts per layer, &gt;= 1
     * @return the selector
     */
    static ExpertSelector specificity(double minRatio, int maxN) {
        Preconditions.checkArgument(minRatio > 0, "minRatio (%s) must be > 0", minRatio);
        Preconditions.checkArgument(maxN >= 1, "maxN (%s) must be >= 1", maxN);
        return new Strategy(String.format(Locale.ROOT, "specificity(%.2f, %d)", minRatio, maxN)) {
            @Override
            List<Integer> choose(ActivationProfile p, String layer, int c) {
                double[] spec = p.specificity(layer, c);
                List<Integer> out = new ArrayList<>();
                for (int e : rankBy(spec)) {
                    if (out.size() >= maxN || (!out.isEmpty() && spec[e] < minRatio)) {
                        break;
                    }
                    out.add(e);
                }
                return out;
            }
        };
    }

    /**
     * Restricts a selector to some layers; other layers get no expert.
     *
     * @param layers layer paths (see {@link ActivationProfile#layerNames()})
     * @param inner the selector applied to those layers
     * @return the selector
     */
    static ExpertSelector onLayers(Set<String> layers, ExpertSelector inner) {
        Preconditions.checkArgument(layers != null && !layers.isEmpty(), "layers must not be empty");
        Preconditions.checkNotNull(inner, "inner must not be null");
        return (profile, forgetClass, model) -> {
            for (String l : layers) {
                Preconditions.checkArgument(
                        profile.layerNames().contains(l),
                        "unknown MoE layer '%s'; layers: %s",
                        l,
                        profile.layerNames());
            }
            ExpertSelection all = inner.select(profile, forgetClass, model);
            Map<String, List<Integer>> experts = new LinkedHashMap<>();
            for (String l : profile.layerNames()) {
                experts.put(l, layers.contains(l) ? all.experts().get(l) : List.of());
            }
            return Strategy.build(
                    profile, forgetClass, model, experts, all.strategy() + " on " + layers);
        };
    }

    /** Shared machinery of the built-in strategies. */
    abstract class Strategy implements ExpertSelector {
        private final String name;

        Strategy(String name) {
            this.name = name;
        }

        abstract List<Integer> choose(ActivationProfile profile, String layer, int forgetClass);

        @Override
        public ExpertSelection select(ActivationProfile profile, int forgetClass, Block model) {
            Preconditions.checkElementIndex(forgetClass, profile.numClasses(), "forgetClass");
            Preconditions.checkArgument(
                    profile.images(forgetClass) > 0,
                    "the profile has no image of class %s (%s): nothing to select from",
                    forgetClass,
                    profile.classNames().get(forgetClass));
            Map<String, List<Integer>> experts = new LinkedHashMap<>();
            for (String layer : profile.layerNames()) {
                List<Integer> chosen = new ArrayList<>(choose(profile, layer, forgetClass));
                Collections.sort(chosen);
                experts.put(layer, chosen);
            }
            return build(profile, forgetClass, model, experts, name);
        }

        static ExpertSelection build(
                ActivationProfile profile,
                int forgetClass,
                Block model,
                Map<String, List<Integer>> experts,
                String name) {
            Map<String, MoeBlock> layers = MoeBlocks.find(model);
            Map<String, double[]> shares = new LinkedHashMap<>();
            Map<String, Double> coverage = new LinkedHashMap<>();
            Map<String, Double> collateral = new LinkedHashMap<>();
            long params = 0;
            int total = 0;
            for (Map.Entry<String, List<Integer>> e : experts.entrySet()) {
                String layer = e.getKey();
                double[] share = profile.share(layer, forgetClass);
                double[] others = profile.othersShare(layer, forgetClass);
                double cov = 0;
                double col = 0;
                MoeBlock moe = layers.get(layer);
                Preconditions.checkArgument(
                        moe != null, "the profile's layer '%s' is not in the model", layer);
                for (int x : e.getValue()) {
                    cov += share[x];
                    col += others[x];
                    params += MoeBlocks.countParameters(moe.expert(x));
                }
                total += e.getValue().size();
                shares.put(layer, share);
                coverage.put(layer, cov);
                collateral.put(layer, col);
            }
            Preconditions.checkArgument(total > 0, "the selection is empty in every layer");
            return new ExpertSelection(
                    forgetClass,
                    name,
                    experts,
                    shares,
                    coverage,
                    collateral,
                    params,
                    MoeBlocks.countParameters(model));
        }

        static List<Integer> rankBy(double[] score) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < score.length; i++) {
                ids.add(i);
            }
            ids.sort(Comparator.comparingDouble((Integer i) -> -score[i]).thenComparingInt(i -> i));
            return ids;
        }

        @Override
        public String toString() {
            return name;
        }
    }
}

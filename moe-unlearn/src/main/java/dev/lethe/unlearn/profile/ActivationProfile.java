package dev.lethe.unlearn.profile;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.lethe.moe.routing.RoutingStats;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which experts each class uses: per MoE layer, the class × expert routing histogram recorded by
 * an {@link ActivationProfiler} from the routing that actually happened. Immutable.
 *
 * <p>A class's <em>share</em> of an expert is the fraction of the class's gate mass (the sum of the
 * renormalised top-k gates of its images) that went to that expert; the shares of a class sum to 1
 * in each layer.
 */
public final class ActivationProfile {

    private final Map<String, RoutingStats> layers;
    private final List<String> classNames;

    ActivationProfile(Map<String, RoutingStats> layers, List<String> classNames) {
        this.layers = ImmutableMap.copyOf(layers);
        this.classNames = ImmutableList.copyOf(classNames);
    }

    /** @return the MoE layer paths, in forward order */
    public List<String> layerNames() {
        return ImmutableList.copyOf(layers.keySet());
    }

    /**
     * @param layer a layer path
     * @return its routing statistics
     */
    public RoutingStats layer(String layer) {
        RoutingStats s = layers.get(layer);
        Preconditions.checkArgument(s != null, "unknown MoE layer '%s'; layers: %s", layer, layers.keySet());
        return s;
    }

    /** @return the statistics of every layer */
    public Map<String, RoutingStats> layers() {
        return layers;
    }

    /** @return the number of classes */
    public int numClasses() {
        return classNames.size();
    }

    /** @return class names, in id order */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * @param layer a layer path
     * @param classId a class
     * @return the class's share of gate mass per expert, length E
     */
    public double[] share(String layer, int classId) {
        return layer(layer).classShares(classId);
    }

    /**
     * The share of gate mass of all the other classes per expert, each class weighted equally.
     *
     * @param layer a layer path
     * @param classId the class left out
     * @return length E, sums to 1 (over classes that were seen)
     */
    public double[] othersShare(String layer, int classId) {
        RoutingStats s = layer(layer);
        double[] out = new double[s.numExperts()];
        int seen = 0;
        for (int c = 0; c < s.numClasses(); c++) {
            if (c == classId || s.classImages(c) == 0) {
                continue;
            }
            seen++;
            double[] share = s.classShares(c);
            for (int e = 0; e < out.length; e++) {
                out[e] += share[e];
            }
        }
        for (int e = 0; e < out.length; e++) {
            out[e] = seen == 0 ? 0 : out[e] / seen;
        }
        return out;
    }

    /**
     * Specificity of each expert for a class: its share for the class over its mean share for the
     * other classes. Above 1 the expert is more the class's than the others'; infinite when no
     * other class uses it.
     *
     * @param layer a layer path
     * @param classId a class
     * @return length E
     */
    public double[] specificity(String layer, int classId) {
        double[] mine = share(layer, classId);
        double[] others = othersShare(layer, classId);
        double[] out = new double[mine.length];
        for (int e = 0; e < mine.length; e++) {
            out[e] = others[e] == 0 ? (mine[e] == 0 ? 0 : Double.POSITIVE_INFINITY) : mine[e] / others[e];
        }
        return out;
    }

    /**
     * @param layer a layer path
     * @param classId a class
     * @return the class's routing entropy H(expert | class) / ln E, in [0, 1]
     */
    public double entropy(String layer, int classId) {
        return layer(layer).classNormalizedEntropy(classId);
    }

    /**
     * @param classId a class
     * @return the number of images of the class that were profiled
     */
    public long images(int classId) {
        return layers.isEmpty() ? 0 : layers.values().iterator().next().classImages(classId);
    }

    /** @return one table per layer: class × expert shares, entropy and k80 */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, RoutingStats> e : layers.entrySet()) {
            sb.append(String.format(Locale.ROOT, "MoE layer %s%n", e.getKey()));
            sb.append(e.getValue().toTable(classNames));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable();
    }
}

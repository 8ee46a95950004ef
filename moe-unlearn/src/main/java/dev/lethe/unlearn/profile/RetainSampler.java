package dev.lethe.unlearn.profile;

import com.google.common.base.Preconditions;
import dev.lethe.unlearn.data.LabeledData;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Draws the retain images of an unlearning step. Two kinds:
 *
 * <ul>
 *   <li>{@link #uniform(int[])}: a uniform draw without replacement (all of them, shuffled, when
 *       more are asked for than there are);
 *   <li>{@link #byExposure}: class by class, with replacement, each retain class c drawn with
 *       probability {@code (1 - focus) * n_c / n + focus * x_c / sum(x)}, where {@code n_c} is its
 *       number of retain images and {@code x_c} its {@link #exposure exposure} to the selected
 *       experts: the classes whose features an expert edit can damage are rehearsed most. With no
 *       exposure at all the draw falls back to class sizes.
 * </ul>
 *
 * <p>Every draw takes the caller's {@link SplittableRandom}, so a run is reproducible from its seed.
 * Immutable.
 */
public final class RetainSampler {

    private final int[] pool;
    private final int[][] byClass;
    private final double[] probability;

    private RetainSampler(int[] pool, int[][] byClass, double[] probability) {
        this.pool = pool;
        this.byClass = byClass;
        this.probability = probability;
    }

    /**
     * @param retain the retain items
     * @return a sampler drawing uniformly among them, without replacement
     */
    public static RetainSampler uniform(int[] retain) {
        Preconditions.checkNotNull(retain, "retain must not be null");
        return new RetainSampler(retain.clone(), null, null);
    }

    /**
     * @param data the labelled data the items belong to
     * @param retain the retain items (none of the forgotten class)
     * @param exposure per class, its exposure to the edited experts ({@link #exposure}), length =
     *     number of classes
     * @param focus weight of the exposure against class sizes, in [0, 1]
     * @return a sampler drawing class by class, with replacement
     * @throws IllegalArgumentException if focus is out of range, the retain set is empty or the
     *     exposure has the wrong length
     */
    public static RetainSampler byExposure(LabeledData data, int[] retain, double[] exposure, float focus) {
        Preconditions.checkArgument(focus >= 0 && focus <= 1, "focus (%s) must be in [0, 1]", focus);
        Preconditions.checkArgument(retain.length > 0, "the retain set is empty");
        Preconditions.checkArgument(
                exposure.length == data.numClasses(),
                "exposure has %s entries but the data has %s classes",
                exposure.length,
                data.numClasses());
        int classes = exposure.length;
        int[] counts = new int[classes];
        for (int i : retain) {
            counts[data.label(i)]++;
        }
        int[][] byClass = new int[classes][];
        for (int c = 0; c < classes; c++) {
            byClass[c] = new int[counts[c]];
        }
        int[] fill = new int[classes];
        for (int i : retain) {
            int c = data.label(i);
            byClass[c][fill[c]++] = i;
        }
        double exposed = 0;
        for (int c = 0; c < classes; c++) {
            exposed += counts[c] > 0 ? exposure[c] : 0;
        }
        double[] probability = new double[classes];
        for (int c = 0; c < classes; c++) {
            if (counts[c] == 0) {
                continue;
            }
            double bySize = (double) counts[c] / retain.length;
            double byExposure = exposed > 0 ? exposure[c] / exposed : bySize;
            probability[c] = (1 - focus) * bySize + focus * byExposure;
        }
        return new RetainSampler(null, byClass, probability);
    }

    /**
     * Each class's exposure to an expert selection: the share of its gate mass on the selected
     * experts, summed over the experts of a layer and averaged over the layers with a selected
     * expert.
     *
     * @param profile the activation profile
     * @param selection the selected experts
     * @return per class, in [0, 1]; all 0 when nothing is selected
     */
    public static double[] exposure(ActivationProfile profile, ExpertSelection selection) {
        double[] x = new double[profile.numClasses()];
        int layers = 0;
        for (Map.Entry<String, List<Integer>> e : selection.experts().entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            layers++;
            for (int c = 0; c < x.length; c++) {
                double[] share = profile.share(e.getKey(), c);
                for (int expert : e.getValue()) {
                    x[c] += share[expert];
                }
            }
        }
        for (int c = 0; c < x.length; c++) {
            x[c] = layers == 0 || !Double.isFinite(x[c]) ? 0 : x[c] / layers;
        }
        return x;
    }

    /**
     * Draws retain items.
     *
     * @param n how many, &gt;= 0
     * @param random the run's random generator
     * @return n items ({@link #uniform}: at most all of them, without replacement)
     */
    public int[] draw(int n, SplittableRandom random) {
        Preconditions.checkArgument(n >= 0, "n (%s) must be >= 0", n);
        return probability == null ? sample(pool, n, random) : drawByClass(n, random);
    }

    /** @return the class probabilities of a {@link #byExposure} sampler; empty for {@link #uniform} */
    public Optional<double[]> classProbabilities() {
        return Optional.ofNullable(probability).map(double[]::clone);
    }

    /**
     * A uniform random permutation (Fisher–Yates, from the last position down).
     *
     * @param items the items
     * @param random the generator
     * @return a shuffled copy
     */
    public static int[] shuffled(int[] items, SplittableRandom random) {
        int[] copy = items.clone();
        for (int i = copy.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = copy[i];
            copy[i] = copy[j];
            copy[j] = t;
        }
        return copy;
    }

    private static int[] sample(int[] from, int n, SplittableRandom random) {
        if (n >= from.length) {
            return shuffled(from, random);
        }
        int[] copy = from.clone();
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(copy.length - i);
            int t = copy[i];
            copy[i] = copy[j];
            copy[j] = t;
        }
        return Arrays.copyOf(copy, n);
    }

    private int[] drawByClass(int n, SplittableRandom random) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            double u = random.nextDouble();
            int c = 0;
            while (c < probability.length - 1 && u >= probability[c]) {
                u -= probability[c];
                c++;
            }
            while (byClass[c].length == 0) {
                c--; // rounding ran past the last non-empty class
            }
            out[i] = byClass[c][random.nextInt(byClass[c].length)];
        }
        return out;
    }

    /** @return "uniform over N" or the class probabilities, e.g. "[0.250, 0.500, 0.250, 0.000]" */
    @Override
    public String toString() {
        if (probability == null) {
            return "uniform over " + pool.length;
        }
        StringBuilder sb = new StringBuilder("[");
        for (int c = 0; c < probability.length; c++) {
            sb.append(c == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", probability[c]));
        }
        return sb.append(']').toString();
    }
}

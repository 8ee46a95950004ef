package dev.lethe.moe.routing;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Utilisation statistics of one MoE layer over many images: per-expert load, balance measures and,
 * when labels were given, the class × expert routing histogram and the mutual information between
 * class and expert. An immutable snapshot; build one with {@link #accumulator(int, int)}.
 *
 * <p>Two bases: <em>assignments</em> count how often an expert was among an image's top-k (sum =
 * images × k); <em>gate mass</em> sums the renormalised gates (sum = images). Balance measures
 * (load/ideal, CV, max/mean) use assignments, as in the Switch Transformer; shares, dead experts,
 * entropy and mutual information use gate mass.
 */
public final class RoutingStats {

    /** Experts whose share of gate mass is below this are dead: 2 %. */
    public static final double DEFAULT_DEAD_THRESHOLD = 0.02;

    private final int numExperts;
    private final int topK;
    private final long images;
    private final long[] assignments;
    private final double[] gateMass;
    private final long[] classImages;
    private final double[][] classGateMass;

    private RoutingStats(Accumulator a) {
        numExperts = a.numExperts;
        topK = a.topK;
        images = a.images;
        assignments = a.assignments.clone();
        gateMass = a.gateMass.clone();
        classImages = a.classImages.clone();
        classGateMass = new double[a.classGateMass.length][];
        for (int c = 0; c < classGateMass.length; c++) {
            classGateMass[c] = a.classGateMass[c].clone();
        }
    }

    /**
     * @param numExperts E
     * @param numClasses the number of classes for the class histogram, or 0 for none
     * @return a new, empty accumulator
     */
    public static Accumulator accumulator(int numExperts, int numClasses) {
        return new Accumulator(numExperts, numClasses);
    }

    /** @return E */
    public int numExperts() {
        return numExperts;
    }

    /** @return the number of classes of the histogram (0 when no labels were given) */
    public int numClasses() {
        return classImages.length;
    }

    /** @return the number of images seen */
    public long images() {
        return images;
    }

    /** @return how often each expert was selected, length E */
    public long[] assignments() {
        return assignments.clone();
    }

    /** @return each expert's share of the assignments, length E, sums to 1 */
    public double[] assignmentFractions() {
        double total = 0;
        for (long a : assignments) {
            total += a;
        }
        double[] f = new double[numExperts];
        for (int e = 0; e < numExperts; e++) {
            f[e] = total == 0 ? 0 : assignments[e] / total;
        }
        return f;
    }

    /** @return each expert's share of the gate mass, length E, sums to 1 */
    public double[] gateMassFractions() {
        return normalise(gateMass);
    }

    /** @return assignments of each expert over the ideal (images × k / E), length E */
    public double[] loadOverIdeal() {
        double[] f = assignmentFractions();
        for (int e = 0; e < numExperts; e++) {
            f[e] *= numExperts;
        }
        return f;
    }

    /** @return the coefficient of variation (std / mean) of the assignments; 0 = balanced */
    public double coefficientOfVariation() {
        double mean = 0;
        for (long a : assignments) {
            mean += a;
        }
        mean /= numExperts;
        if (mean == 0) {
            return 0;
        }
        double var = 0;
        for (long a : assignments) {
            var += (a - mean) * (a - mean);
        }
        return Math.sqrt(var / numExperts) / mean;
    }

    /** @return the largest expert's assignments over the mean; 1 = balanced */
    public double maxOverMean() {
        double mean = 0;
        long max = 0;
        for (long a : assignments) {
            mean += a;
            max = Math.max(max, a);
        }
        mean /= numExperts;
        return mean == 0 ? 0 : max / mean;
    }

    /**
     * @param threshold a share of gate mass, e.g. {@link #DEFAULT_DEAD_THRESHOLD}
     * @return the experts whose gate-mass share is below the threshold, ascending
     */
    public List<Integer> deadExperts(double threshold) {
        double[] f = gateMassFractions();
        List<Integer> dead = new ArrayList<>();
        for (int e = 0; e < numExperts; e++) {
            if (f[e] < threshold) {
                dead.add(e);
            }
        }
        return Collections.unmodifiableList(dead);
    }

    /** @return H(expert) of the gate-mass shares, in nats */
    public double expertEntropy() {
        return entropy(gateMassFractions());
    }

    /** @return H(expert) / ln E: 1 = perfectly balanced, 0 = one expert takes everything */
    public double normalizedEntropy() {
        return numExperts == 1 ? 0 : expertEntropy() / Math.log(numExperts);
    }

    /**
     * @param classId the class
     * @return the class's share of gate mass per expert, length E, sums to 1 (zeros if unseen)
     */
    public double[] classShares(int classId) {
        checkClass(classId);
        return normalise(classGateMass[classId]);
    }

    /**
     * @param classId the class
     * @return the number of images of the class seen
     */
    public long classImages(int classId) {
        checkClass(classId);
        return classImages[classId];
    }

    /**
     * @param classId the class
     * @return H(expert | class) / ln E for this class: low = the class uses few experts
     */
    public double classNormalizedEntropy(int classId) {
        return numExperts == 1 ? 0 : entropy(classShares(classId)) / Math.log(numExperts);
    }

    /**
     * The smallest number of experts whose gate mass covers the fraction of the class's gate mass
     * ("k80" for 0.8).
     *
     * @param classId the class
     * @param fraction in (0, 1]
     * @return the number of experts
     */
    public int expertsCovering(int classId, double fraction) {
        Preconditions.checkArgument(
                fraction > 0 && fraction <= 1, "fraction (%s) must be in (0, 1]", fraction);
        double[] shares = classShares(classId);
        double[] sorted = shares.clone();
        Arrays.sort(sorted);
        double sum = 0;
        for (int i = sorted.length - 1, n = 1; i >= 0; i--, n++) {
            sum += sorted[i];
            if (sum >= fraction - 1e-12) {
                return n;
            }
        }
        return numExperts;
    }

    /**
     * The mutual information between class and expert, in nats, from the joint distribution of
     * gate mass: {@code H(expert) - sum_c p(c) H(expert | c)}.
     *
     * @return MI(class; expert), 0 without labels
     */
    public double mutualInformation() {
        if (numClasses() == 0) {
            return 0;
        }
        double total = 0;
        for (double[] row : classGateMass) {
            for (double v : row) {
                total += v;
            }
        }
        if (total == 0) {
            return 0;
        }
        double[] marginal = new double[numExperts];
        double conditional = 0;
        for (double[] row : classGateMass) {
            double rowSum = 0;
            for (int e = 0; e < numExperts; e++) {
                rowSum += row[e];
                marginal[e] += row[e];
            }
            if (rowSum > 0) {
                conditional += rowSum / total * entropy(normalise(row));
            }
        }
        return entropy(normalise(marginal)) - conditional;
    }

    /** @return MI(class; expert) / H(expert), the share of routing entropy the class explains */
    public double mutualInformationShare() {
        double h = 0;
        if (numClasses() > 0) {
            double[] marginal = new double[numExperts];
            for (double[] row : classGateMass) {
                for (int e = 0; e < numExperts; e++) {
                    marginal[e] += row[e];
                }
            }
            h = entropy(normalise(marginal));
        }
        return h == 0 ? 0 : mutualInformation() / h;
    }

    /**
     * A printable table: per-expert load, then (with labels) the class × expert shares.
     *
     * @param classNames names of the classes, or null to print ids
     * @return the table, one row per line
     */
    public String toTable(List<String> classNames) {
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "images=%d  E=%d  k=%d  CV=%.3f  max/mean=%.2f  entropy=%.3f  dead=%s",
                        images,
                        numExperts,
                        topK,
                        coefficientOfVariation(),
                        maxOverMean(),
                        normalizedEntropy(),
                        deadExperts(DEFAULT_DEAD_THRESHOLD)));
        if (numClasses() > 0) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "  MI=%.3f nats (%.1f%% of H)",
                            mutualInformation(),
                            100 * mutualInformationShare()));
        }
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "%-12s", "expert"));
        for (int e = 0; e < numExperts; e++) {
            sb.append(String.format(Locale.ROOT, "%7s", "E" + e));
        }
        sb.append(String.format(Locale.ROOT, "%8s%6s%n", "H/lnE", "k80"));
        sb.append(String.format(Locale.ROOT, "%-12s", "load/ideal"));
        for (double v : loadOverIdeal()) {
            sb.append(String.format(Locale.ROOT, "%7.2f", v));
        }
        sb.append('\n');
        for (int c = 0; c < numClasses(); c++) {
            String name = classNames != null && c < classNames.size() ? classNames.get(c) : "class " + c;
            sb.append(String.format(Locale.ROOT, "%-12.12s", name));
            for (double v : classShares(c)) {
                sb.append(String.format(Locale.ROOT, "%7.3f", v));
            }
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "%8.3f%6d%n",
                            classNormalizedEntropy(c),
                            expertsCovering(c, 0.8)));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable(null);
    }

    private void checkClass(int classId) {
        Preconditions.checkElementIndex(classId, classImages.length, "classId");
    }

    static double[] normalise(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = sum == 0 ? 0 : v[i] / sum;
        }
        return out;
    }

    static double entropy(double[] p) {
        double h = 0;
        for (double x : p) {
            if (x > 0) {
                h -= x * Math.log(x);
            }
        }
        return h;
    }

    /** Adds up routings; mutable, not thread-safe. {@link #snapshot()} gives immutable stats. */
    public static final class Accumulator {
        private final int numExperts;
        private int topK;
        private long images;
        private final long[] assignments;
        private final double[] gateMass;
        private final long[] classImages;
        private final double[][] classGateMass;

        Accumulator(int numExperts, int numClasses) {
            Preconditions.checkArgument(numExperts >= 1, "numExperts (%s) must be >= 1", numExperts);
            Preconditions.checkArgument(numClasses >= 0, "numClasses (%s) must be >= 0", numClasses);
            this.numExperts = numExperts;
            assignments = new long[numExperts];
            gateMass = new double[numExperts];
            classImages = new long[numClasses];
            classGateMass = new double[numClasses][numExperts];
        }

        /**
         * Adds one routing without labels.
         *
         * @param routing the routing
         * @return this accumulator
         */
        public Accumulator add(Routing routing) {
            return add(routing, null);
        }

        /**
         * Adds one routing with the class of each image.
         *
         * @param routing the routing
         * @param labels the class of each image (length B), or null
         * @return this accumulator
         */
        public Accumulator add(Routing routing, int[] labels) {
            Preconditions.checkArgument(
                    routing.numExperts() == numExperts,
                    "routing has %s experts but the accumulator %s",
                    routing.numExperts(),
                    numExperts);
            if (labels != null) {
                Preconditions.checkArgument(
                        labels.length == routing.batchSize(),
                        "labels has %s entries but the routing has %s images",
                        labels.length,
                        routing.batchSize());
                Preconditions.checkArgument(
                        classImages.length > 0,
                        "labels were given to an accumulator created with numClasses = 0");
            }
            topK = routing.topK();
            for (int b = 0; b < routing.batchSize(); b++) {
                int label = -1;
                if (labels != null) {
                    label = labels[b];
                    Preconditions.checkElementIndex(label, classImages.length, "label");
                    classImages[label]++;
                }
                for (int s = 0; s < routing.topK(); s++) {
                    int e = routing.expertIndex(b, s);
                    float g = routing.gate(b, s);
                    assignments[e]++;
                    gateMass[e] += g;
                    if (label >= 0) {
                        classGateMass[label][e] += g;
                    }
                }
            }
            images += routing.batchSize();
            return this;
        }

        /** @return an immutable snapshot of what was added so far */
        public RoutingStats snapshot() {
            return new RoutingStats(this);
        }
    }
}

package dev.lethe.eval.probe;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.Random;

/**
 * A linear probe: multinomial logistic regression refitted on frozen features, the standard test
 * of what a representation still encodes (Alain and Bengio, 2016, "Understanding intermediate
 * layers using linear classifier probes"). For unlearning it measures removal in the
 * representation rather than at the output: a model whose head no longer predicts the forgotten
 * class, but whose penultimate features still separate it, has suppressed the class, not erased it.
 *
 * <p>Fitting: each feature is standardised with the training mean and standard deviation (a
 * constant feature is only centred); then weights (numClasses, D) and biases (numClasses) minimise
 * the mean softmax cross-entropy plus {@value #L2} / 2 · ||W||², by {@value #STEPS} full-batch Adam
 * steps (learning rate {@value #LEARNING_RATE}, betas 0.9 / 0.999) from weights drawn from N(0,
 * 0.01²) with the seed and zero biases. Plain Java, single-threaded, deterministic for a seed:
 * about 4 · n · D · numClasses · {@value #STEPS} flops (a few seconds for 5,000 × 256 features and
 * 10 classes). Immutable.
 */
public final class LinearProbe {

    /** Full-batch Adam steps. */
    public static final int STEPS = 300;

    /** Adam's learning rate. */
    public static final double LEARNING_RATE = 0.05;

    /** The L2 penalty on the weights. */
    public static final double L2 = 1e-4;

    private final double[] mean;
    private final double[] scale;
    private final double[][] weights;
    private final double[] bias;
    private final long seed;

    private LinearProbe(double[] mean, double[] scale, double[][] weights, double[] bias, long seed) {
        this.mean = mean;
        this.scale = scale;
        this.weights = weights;
        this.bias = bias;
        this.seed = seed;
    }

    /**
     * Fits a probe.
     *
     * @param features the training features, (n, D), finite
     * @param labels the class of each row, (n), each in [0, numClasses)
     * @param numClasses the number of classes, >= 2
     * @param seed the seed of the initial weights
     * @return the fitted probe
     * @throws IllegalArgumentException if the shapes disagree, a label is out of range or a
     *     feature is not finite
     */
    public static LinearProbe fit(float[][] features, int[] labels, int numClasses, long seed) {
        int d = checkFeatures(features, -1);
        Preconditions.checkArgument(numClasses >= 2, "numClasses (%s) must be >= 2", numClasses);
        Preconditions.checkArgument(
                labels != null && labels.length == features.length,
                "labels has %s entries but features has %s rows",
                labels == null ? 0 : labels.length,
                features.length);
        for (int i = 0; i < labels.length; i++) {
            Preconditions.checkArgument(
                    labels[i] >= 0 && labels[i] < numClasses,
                    "labels[%s] (%s) must be in [0, %s)",
                    i,
                    labels[i],
                    numClasses);
        }
        int n = features.length;
        double[] mean = new double[d];
        double[] scale = new double[d];
        for (float[] row : features) {
            for (int j = 0; j < d; j++) {
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        for (float[] row : features) {
            for (int j = 0; j < d; j++) {
                double c = row[j] - mean[j];
                scale[j] += c * c;
            }
        }
        for (int j = 0; j < d; j++) {
            double std = Math.sqrt(scale[j] / n);
            scale[j] = std > 1e-12 ? 1.0 / std : 1.0;
        }
        double[][] x = new double[n][];
        for (int i = 0; i < n; i++) {
            x[i] = standardise(features[i], mean, scale);
        }

        Random random = new Random(seed);
        double[][] w = new double[numClasses][d];
        for (double[] row : w) {
            for (int j = 0; j < d; j++) {
                row[j] = 0.01 * random.nextGaussian();
            }
        }
        double[] b = new double[numClasses];
        Adam adamW = new Adam(numClasses * d);
        Adam adamB = new Adam(numClasses);
        double[][] gw = new double[numClasses][d];
        double[] gb = new double[numClasses];
        double[] p = new double[numClasses];
        for (int step = 1; step <= STEPS; step++) {
            for (int k = 0; k < numClasses; k++) {
                Arrays.fill(gw[k], 0);
            }
            Arrays.fill(gb, 0);
            for (int i = 0; i < n; i++) {
                softmax(w, b, x[i], p);
                p[labels[i]] -= 1;
                for (int k = 0; k < numClasses; k++) {
                    double g = p[k] / n;
                    gb[k] += g;
                    double[] gk = gw[k];
                    double[] xi = x[i];
                    for (int j = 0; j < d; j++) {
                        gk[j] += g * xi[j];
                    }
                }
            }
            for (int k = 0; k < numClasses; k++) {
                for (int j = 0; j < d; j++) {
                    gw[k][j] += L2 * w[k][j];
                }
            }
            adamW.step(w, gw, step);
            adamB.step(new double[][] {b}, new double[][] {gb}, step);
        }
        return new LinearProbe(mean, scale, w, b, seed);
    }

    /**
     * @param features features, (m, D), D as in training
     * @return the most probable class of each row, (m)
     */
    public int[] predict(float[][] features) {
        checkFeatures(features, mean.length);
        int[] out = new int[features.length];
        double[] p = new double[bias.length];
        for (int i = 0; i < features.length; i++) {
            softmax(weights, bias, standardise(features[i], mean, scale), p);
            int best = 0;
            for (int k = 1; k < p.length; k++) {
                if (p[k] > p[best]) {
                    best = k;
                }
            }
            out[i] = best;
        }
        return out;
    }

    /**
     * The probe's accuracy on one class: for unlearning, on the forgotten class's held-out images
     * ("probe recovery").
     *
     * @param features features, (m, D)
     * @param labels the class of each row, (m)
     * @param classId the class
     * @return the percentage (0–100) of that class's rows predicted as it; NaN if it has none
     */
    public double accuracyOf(float[][] features, int[] labels, int classId) {
        Preconditions.checkArgument(
                labels != null && labels.length == features.length,
                "labels has %s entries but features has %s rows",
                labels == null ? 0 : labels.length,
                features.length);
        int[] predicted = predict(features);
        int correct = 0;
        int total = 0;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] == classId) {
                total++;
                correct += predicted[i] == classId ? 1 : 0;
            }
        }
        return total == 0 ? Double.NaN : 100.0 * correct / total;
    }

    /** @return D, the number of features */
    public int numFeatures() {
        return mean.length;
    }

    /** @return the number of classes */
    public int numClasses() {
        return bias.length;
    }

    /** @return the seed the probe was fitted with */
    public long seed() {
        return seed;
    }

    @Override
    public String toString() {
        return String.format(
                "LinearProbe{features=%d, classes=%d, steps=%d, lr=%s, l2=%s, seed=%d}",
                mean.length, bias.length, STEPS, LEARNING_RATE, L2, seed);
    }

    private static double[] standardise(float[] row, double[] mean, double[] scale) {
        double[] out = new double[row.length];
        for (int j = 0; j < row.length; j++) {
            out[j] = (row[j] - mean[j]) * scale[j];
        }
        return out;
    }

    /** Writes softmax(W x + b) into p. */
    private static void softmax(double[][] w, double[] b, double[] x, double[] p) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < b.length; k++) {
            double z = b[k];
            double[] wk = w[k];
            for (int j = 0; j < x.length; j++) {
                z += wk[j] * x[j];
            }
            p[k] = z;
            max = Math.max(max, z);
        }
        double sum = 0;
        for (int k = 0; k < b.length; k++) {
            p[k] = Math.exp(p[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < b.length; k++) {
            p[k] /= sum;
        }
    }

    private static int checkFeatures(float[][] features, int expectedWidth) {
        Preconditions.checkArgument(
                features != null && features.length > 0, "features must have at least one row");
        int d = expectedWidth < 0 ? features[0].length : expectedWidth;
        Preconditions.checkArgument(d >= 1, "features must have at least one column");
        for (int i = 0; i < features.length; i++) {
            Preconditions.checkArgument(
                    features[i].length == d,
                    "features row %s has %s columns but %s are expected",
                    i,
                    features[i].length,
                    d);
            for (float v : features[i]) {
                Preconditions.checkArgument(
                        Float.isFinite(v), "features row %s has a non-finite value (%s)", i, (Object) v);
            }
        }
        return d;
    }

    /** Adam's moment estimates for a block of parameters (Kingma and Ba, ICLR 2015). */
    private static final class Adam {
        private static final double BETA1 = 0.9;
        private static final double BETA2 = 0.999;
        private static final double EPSILON = 1e-8;
        private final double[] m;
        private final double[] v;

        Adam(int size) {
            m = new double[size];
            v = new double[size];
        }

        void step(double[][] parameters, double[][] gradients, int t) {
            double correction1 = 1 - Math.pow(BETA1, t);
            double correction2 = 1 - Math.pow(BETA2, t);
            int index = 0;
            for (int r = 0; r < parameters.length; r++) {
                for (int j = 0; j < parameters[r].length; j++, index++) {
                    double g = gradients[r][j];
                    m[index] = BETA1 * m[index] + (1 - BETA1) * g;
                    v[index] = BETA2 * v[index] + (1 - BETA2) * g * g;
                    parameters[r][j] -=
                            LEARNING_RATE * (m[index] / correction1) / (Math.sqrt(v[index] / correction2) + EPSILON);
                }
            }
        }
    }
}

package dev.lethe.unlearn.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import dev.lethe.moe.ScalarOps;
import java.util.Arrays;
import java.util.Locale;

/**
 * Erases the forgotten class from the penultimate features, against the attack that reads a
 * suppressed class back: a linear probe refitted on the features (Alain and Bengio 2016; Gao et al.
 * 2026, "An Illusion of Unlearning?"). Three terms on the {@value UnlearningBatch#EMBEDDINGS}
 * predictions z (B, D), all in units of the retained classes' spread σ (D) and relative to their
 * centroids μ (C, D), both measured on the original model and fixed for the run:
 *
 * <pre>
 *   pull       = collapseWeight  · mean_forget mean_d ((z_i − μ_{c_i,d}) / σ_d)²
 *   anchor     = collapseWeight  · mean_retain mean_d ((z_j − μ_{y_j,d}) / σ_d)²
 *   adversary  = adversaryWeight · mean_forget −log softmax(A(z_i))_{c_i}
 * </pre>
 *
 * <ul>
 *   <li>The <b>adversary</b> A is a multinomial logistic regression over every class (the forgotten
 *       one included, with its true label, so that it learns to find it) on the standardised
 *       features {@code (z − m) / σ} (m: the retained features' mean), refitted online: each step
 *       it takes {@value #ADVERSARY_STEPS} Adam steps (learning rate {@value
 *       #ADVERSARY_LEARNING_RATE}, L2 {@value #ADVERSARY_L2}) on the step's features, detached, and
 *       keeps its weights for the next step. Its loss term is held constant for the model: a probe
 *       that can still tell the forget images apart gives a gradient that moves them into a retained
 *       class's region, and as the probe is refitted the features settle only where no linear probe
 *       separates them (domain-adversarial training, Ganin and Lempitsky, ICML 2015).
 *   <li>The <b>target</b> c_i of a forget image is the retained class the adversary finds closest
 *       (its most probable class other than the forgotten ones): where a linear reading of the
 *       current features would put the image if the class did not exist, which on a class that
 *       hides behind others (an image of it looks like one of them plus something) is the class it
 *       looks like, as in a model that never saw the class.
 *   <li>The <b>pull</b> moves each forget image onto its target's centroid; the <b>anchor</b> keeps
 *       the retain images on their own class's centroid, so that the shared layers cannot satisfy
 *       the pull by moving every class together (without it, the features' scale drifts and the
 *       collapsed images end up in a region of their own).
 * </ul>
 *
 * Gradients flow through z into every trainable layer below the head: the edit reaches the trunk.
 * A term with weight 0 is skipped (the adversary is still fitted, to choose the targets). 0 for a
 * batch without image of its kind. Stateful (the adversary): one instance per run, not shared
 * between threads.
 */
public final class FeatureErasureLoss extends Loss {

    /** Adam steps of the adversary per training step. */
    public static final int ADVERSARY_STEPS = 5;

    /** The adversary's Adam learning rate (on standardised features). */
    public static final double ADVERSARY_LEARNING_RATE = 0.05;

    /** The adversary's L2 penalty. */
    public static final double ADVERSARY_L2 = 1e-4;

    private final float collapseWeight;
    private final float adversaryWeight;
    private final float[][] centroids;
    private final float[] mean;
    private final float[] inverseStd;
    private final double[][] w;
    private final double[] b;
    private final double[][] mw;
    private final double[][] vw;
    private final double[] mb;
    private final double[] vb;
    private int t;

    /**
     * @param collapseWeight the weight of the pull and the anchor, finite and &gt;= 0
     * @param adversaryWeight the weight of the adversary's term, finite and &gt;= 0
     * @param centroids (C, D) per class, the centroid of its embeddings in the original model;
     *     null for a class that is not a target (the forgotten class, classes forgotten before)
     * @param mean (D) the retained embeddings' mean
     * @param std (D) their standard deviation per dimension (a dimension with std 0 is compared in
     *     raw units)
     * @throws IllegalArgumentException if both weights are 0, no class is a target or the widths
     *     disagree
     */
    public FeatureErasureLoss(float collapseWeight, float adversaryWeight, float[][] centroids, float[] mean, float[] std) {
        super("FeatureErasure");
        checkWeight("collapseWeight", collapseWeight);
        checkWeight("adversaryWeight", adversaryWeight);
        Preconditions.checkArgument(
                collapseWeight > 0 || adversaryWeight > 0, "collapseWeight and adversaryWeight are both 0: nothing to do");
        Preconditions.checkArgument(mean.length == std.length, "mean has %s dimensions but std %s", mean.length, std.length);
        boolean any = false;
        this.centroids = new float[centroids.length][];
        for (int c = 0; c < centroids.length; c++) {
            if (centroids[c] != null) {
                Preconditions.checkArgument(
                        centroids[c].length == std.length,
                        "the centroid of class %s has %s dimensions but std has %s",
                        c,
                        centroids[c].length,
                        std.length);
                this.centroids[c] = centroids[c].clone();
                any = true;
            }
        }
        Preconditions.checkArgument(any, "no class has a centroid to collapse onto");
        this.collapseWeight = collapseWeight;
        this.adversaryWeight = adversaryWeight;
        this.mean = mean.clone();
        this.inverseStd = new float[std.length];
        for (int d = 0; d < std.length; d++) {
            inverseStd[d] = std[d] > 1e-12f ? 1f / std[d] : 1f;
        }
        int classes = centroids.length;
        int dims = mean.length;
        w = new double[classes][dims];
        b = new double[classes];
        mw = new double[classes][dims];
        vw = new double[classes][dims];
        mb = new double[classes];
        vb = new double[classes];
    }

    private static void checkWeight(String name, float value) {
        Preconditions.checkArgument(value >= 0 && Float.isFinite(value), "%s (%s) must be finite and >= 0", name, value);
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return evaluate(UnlearningBatch.of(labels, predictions));
    }

    /**
     * Refits the adversary on the batch, then evaluates the terms.
     *
     * @param batch the step's batch, with embeddings
     * @return the weighted scalar loss
     * @throws IllegalArgumentException if the embeddings are missing or have another width
     */
    public NDArray evaluate(UnlearningBatch batch) {
        NDManager manager = batch.logits().getManager();
        NDArray embeddings =
                batch.embeddings()
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "the feature erasure needs a prediction named '" + UnlearningBatch.EMBEDDINGS + "'"));
        int dims = mean.length;
        Preconditions.checkArgument(
                embeddings.getShape().get(1) == dims,
                "the embeddings have %s dimensions but the centroids %s",
                embeddings.getShape().get(1),
                dims);
        int classes = centroids.length;
        float[] z = embeddings.toFloatArray();
        int[] y = toInts(batch.classes().toType(DataType.FLOAT32, false).toFloatArray());
        for (int label : y) {
            Preconditions.checkArgument(label >= 0 && label < classes, "label %s is not one of the %s classes", label, classes);
        }
        double[][] x = standardise(z, y.length, dims);
        fit(x, y);
        NDArray total = manager.zeros(new Shape());
        long[] forget = batch.forgetRows();
        long[] retain = batch.retainRows();
        NDArray scale = manager.create(inverseStd);
        long[] target = new long[forget.length];
        for (int i = 0; i < forget.length; i++) {
            target[i] = nearestRetained(x[(int) forget[i]]);
        }
        if (forget.length > 0 && collapseWeight > 0) {
            total = total.add(ScalarOps.mul(distance(embeddings, forget, toInts(target), scale, manager), collapseWeight));
        }
        if (retain.length > 0 && collapseWeight > 0) {
            int[] own = new int[retain.length];
            for (int j = 0; j < retain.length; j++) {
                own[j] = y[(int) retain[j]];
            }
            if (Arrays.stream(own).allMatch(c -> centroids[c] != null)) {
                total = total.add(ScalarOps.mul(distance(embeddings, retain, own, scale, manager), collapseWeight));
            }
        }
        if (forget.length > 0 && adversaryWeight > 0) {
            NDIndex index = new NDIndex("{}", manager.create(forget));
            float[] wf = new float[classes * dims];
            float[] bf = new float[classes];
            for (int c = 0; c < classes; c++) {
                bf[c] = (float) b[c];
                for (int d = 0; d < dims; d++) {
                    wf[c * dims + d] = (float) w[c][d];
                }
            }
            NDArray standardised = embeddings.get(index).sub(manager.create(mean)).mul(scale);
            NDArray logits = standardised.matMul(manager.create(wf, new Shape(classes, dims)).transpose()).add(manager.create(bf));
            NDArray ce = logits.logSoftmax(1).gather(manager.create(target).reshape(-1, 1), 1).mean().neg();
            total = total.add(ScalarOps.mul(ce, adversaryWeight));
        }
        return total;
    }

    /** mean_rows mean_d ((z_r − μ_{c_r}) / σ)² */
    private NDArray distance(NDArray embeddings, long[] rows, int[] classes, NDArray scale, NDManager manager) {
        int dims = mean.length;
        float[] targets = new float[rows.length * dims];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(centroids[classes[i]], 0, targets, i * dims, dims);
        }
        NDArray z = embeddings.get(new NDIndex("{}", manager.create(rows)));
        return z.sub(manager.create(targets, new Shape(rows.length, dims))).mul(scale).square().mean();
    }

    /** @return the retained class with the highest adversary logit for one standardised row */
    private int nearestRetained(double[] row) {
        int best = -1;
        double bestLogit = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < centroids.length; c++) {
            if (centroids[c] == null) {
                continue;
            }
            double s = b[c];
            for (int d = 0; d < row.length; d++) {
                s += w[c][d] * row[d];
            }
            if (s > bestLogit) {
                bestLogit = s;
                best = c;
            }
        }
        return best;
    }

    private double[][] standardise(float[] z, int n, int dims) {
        double[][] x = new double[n][dims];
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < dims; d++) {
                x[i][d] = (z[i * dims + d] - mean[d]) * inverseStd[d];
            }
        }
        return x;
    }

    /** {@value #ADVERSARY_STEPS} full-batch Adam steps of the adversary on every row, true labels. */
    private void fit(double[][] x, int[] y) {
        int n = y.length;
        int classes = centroids.length;
        int dims = mean.length;
        double[] p = new double[classes];
        double[][] gw = new double[classes][dims];
        double[] gb = new double[classes];
        for (int step = 0; step < ADVERSARY_STEPS; step++) {
            for (double[] row : gw) {
                Arrays.fill(row, 0);
            }
            Arrays.fill(gb, 0);
            for (int i = 0; i < n; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < classes; c++) {
                    double s = b[c];
                    for (int d = 0; d < dims; d++) {
                        s += w[c][d] * x[i][d];
                    }
                    p[c] = s;
                    max = Math.max(max, s);
                }
                double sum = 0;
                for (int c = 0; c < classes; c++) {
                    p[c] = Math.exp(p[c] - max);
                    sum += p[c];
                }
                for (int c = 0; c < classes; c++) {
                    double g = (p[c] / sum - (c == y[i] ? 1 : 0)) / n;
                    gb[c] += g;
                    for (int d = 0; d < dims; d++) {
                        gw[c][d] += g * x[i][d];
                    }
                }
            }
            t++;
            double c1 = 1 - Math.pow(0.9, t);
            double c2 = 1 - Math.pow(0.999, t);
            for (int c = 0; c < classes; c++) {
                for (int d = 0; d < dims; d++) {
                    double g = gw[c][d] + ADVERSARY_L2 * w[c][d];
                    mw[c][d] = 0.9 * mw[c][d] + 0.1 * g;
                    vw[c][d] = 0.999 * vw[c][d] + 0.001 * g * g;
                    w[c][d] -= ADVERSARY_LEARNING_RATE * (mw[c][d] / c1) / (Math.sqrt(vw[c][d] / c2) + 1e-8);
                }
                mb[c] = 0.9 * mb[c] + 0.1 * gb[c];
                vb[c] = 0.999 * vb[c] + 0.001 * gb[c] * gb[c];
                b[c] -= ADVERSARY_LEARNING_RATE * (mb[c] / c1) / (Math.sqrt(vb[c] / c2) + 1e-8);
            }
        }
    }

    /**
     * @param embedding (D) one image's embedding
     * @return the class the adversary predicts for it now (any class, the forgotten one included)
     */
    public int adversaryPrediction(float[] embedding) {
        Preconditions.checkArgument(
                embedding.length == mean.length, "the embedding has %s dimensions but the adversary %s", embedding.length, mean.length);
        double[] x = standardise(embedding, 1, mean.length)[0];
        int best = 0;
        double bestLogit = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < centroids.length; c++) {
            double s = b[c];
            for (int d = 0; d < x.length; d++) {
                s += w[c][d] * x[d];
            }
            if (s > bestLogit) {
                bestLogit = s;
                best = c;
            }
        }
        return best;
    }

    private static int[] toInts(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.round(values[i]);
        }
        return out;
    }

    private static int[] toInts(long[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (int) values[i];
        }
        return out;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "featureErasure(collapse %.3g, adversary %.3g)", collapseWeight, adversaryWeight);
    }
}

package dev.lethe.unlearn.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import java.util.Locale;

/**
 * Collapses the forgotten class's penultimate features onto the other classes': each forget image's
 * embedding is pulled to the centroid of the class the original model ranks first after the
 * forgotten one, in units of the retain features' spread:
 *
 * <pre>
 *   c_i  = argmax_{c retained} t_ic                         t: the original model's logits
 *   loss = weight · mean_forget mean_d ((z_id − μ_{c_i d}) / σ_d)²
 * </pre>
 *
 * where z are the {@value UnlearningBatch#EMBEDDINGS} predictions (B, D), μ (C, D) the centroids
 * of the retained classes' embeddings and σ (D) their per-dimension standard deviation (both
 * measured on the original model, fixed for the run), and t the {@value
 * UnlearningBatch#TEACHER_LOGITS} label. Gradients flow through z into every layer below the head:
 * the edit reaches the trunk. The target is the class a model that never saw the forgotten class
 * would most likely give the image (the original's choice without it), so the collapsed features
 * land inside a retained class's cluster, where a refitted linear probe cannot tell them from that
 * class (Alain and Bengio 2016 for probes; Gao et al. 2026, "An Illusion of Unlearning?", for the
 * features left readable after output-level unlearning). 0 for a batch without forget image.
 * Immutable.
 */
public final class FeatureCollapseLoss extends Loss {

    private final float weight;
    private final float[][] centroids;
    private final float[] inverseStd;

    /**
     * @param weight the weight, finite and &gt; 0
     * @param centroids (C, D) per class, the centroid of its embeddings; null for a class that is
     *     not a target (the forgotten class, classes forgotten before)
     * @param std (D) the retained embeddings' standard deviation per dimension (a dimension with
     *     std 0 is compared in raw units)
     * @throws IllegalArgumentException if no class is a target or the widths disagree
     */
    public FeatureCollapseLoss(float weight, float[][] centroids, float[] std) {
        super("FeatureCollapse");
        Preconditions.checkArgument(weight > 0 && Float.isFinite(weight), "feature weight (%s) must be finite and > 0", weight);
        Preconditions.checkNotNull(centroids, "centroids must not be null");
        Preconditions.checkNotNull(std, "std must not be null");
        boolean any = false;
        for (int c = 0; c < centroids.length; c++) {
            if (centroids[c] != null) {
                any = true;
                Preconditions.checkArgument(
                        centroids[c].length == std.length,
                        "the centroid of class %s has %s dimensions but std has %s",
                        c,
                        centroids[c].length,
                        std.length);
            }
        }
        Preconditions.checkArgument(any, "no class has a centroid to collapse onto");
        this.weight = weight;
        this.centroids = new float[centroids.length][];
        for (int c = 0; c < centroids.length; c++) {
            this.centroids[c] = centroids[c] == null ? null : centroids[c].clone();
        }
        this.inverseStd = new float[std.length];
        for (int d = 0; d < std.length; d++) {
            inverseStd[d] = std[d] > 1e-12f ? 1f / std[d] : 1f;
        }
    }

    /** @return the weight */
    public float weight() {
        return weight;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return evaluate(UnlearningBatch.of(labels, predictions));
    }

    /**
     * @param batch the step's batch, with embeddings and the original model's logits
     * @return the weighted scalar term
     * @throws IllegalArgumentException if the embeddings or the teacher's logits are missing
     */
    public NDArray evaluate(UnlearningBatch batch) {
        NDManager manager = batch.logits().getManager();
        long[] rows = batch.forgetRows();
        if (rows.length == 0) {
            return manager.zeros(new Shape());
        }
        NDArray embeddings =
                batch.embeddings()
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "the feature collapse needs a prediction named '" + UnlearningBatch.EMBEDDINGS + "'"));
        NDArray teacher =
                batch.teacherLogits()
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "the feature collapse needs the original model's logits: a label named '"
                                                        + UnlearningBatch.TEACHER_LOGITS
                                                        + "'"));
        NDIndex index = new NDIndex("{}", manager.create(rows));
        float[] t = teacher.get(index).toFloatArray();
        int classes = Math.toIntExact(teacher.getShape().get(1));
        Preconditions.checkArgument(
                classes == centroids.length,
                "the teacher has %s classes but there are centroids for %s",
                classes,
                centroids.length);
        int dims = inverseStd.length;
        float[] targets = new float[rows.length * dims];
        for (int i = 0; i < rows.length; i++) {
            int best = -1;
            for (int c = 0; c < classes; c++) {
                if (centroids[c] != null && (best < 0 || t[i * classes + c] > t[i * classes + best])) {
                    best = c;
                }
            }
            System.arraycopy(centroids[best], 0, targets, i * dims, dims);
        }
        NDArray z = embeddings.get(index);
        Preconditions.checkArgument(
                z.getShape().get(1) == dims, "the embeddings have %s dimensions but the centroids %s", z.getShape().get(1), dims);
        NDArray mu = manager.create(targets, new Shape(rows.length, dims));
        NDArray scale = manager.create(inverseStd);
        return z.sub(mu).mul(scale).square().mean().mul(weight);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "featureCollapse(%.3g)", weight);
    }
}

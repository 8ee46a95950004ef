package dev.lethe.unlearn.method;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.FeatureErasureLoss;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.loss.UnlearningLoss;
import dev.lethe.unlearn.loss.WeightDistanceLoss;
import dev.lethe.unlearn.profile.RetainSampler;
import dev.lethe.unlearn.train.BatchComposer;
import dev.lethe.unlearn.train.ParameterSelection;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An edit that reaches the trunk ({@link Method#TRUNK_EDIT}): the class's features survive in the
 * shared layers after an edit that stops at the experts or the head (docs/erasure.md: a probe reads
 * it as well as before, and a few steps bring it back), so this method trains every parameter with
 * a loss that acts on the forget images' features and, optionally, on the distance from the
 * original weights:
 *
 * <pre>
 *   loss = −log(1 − p_f) on forget images                        the output leaves the class
 *        + CE + distillWeight · T² KL(q || p) on retain images     retain outputs kept (q: the original's,
 *                                                                  the forgotten class removed; T = 2)
 *        + FeatureErasureLoss(collapseWeight, adversaryWeight)     the features leave the class
 *        + distanceWeight · N · max(0, targetDistance − ||θ − θ0|| / ||θ0||)   (WeightDistanceLoss)
 * </pre>
 *
 * <p>{@link FeatureErasureLoss}: on the penultimate features, a linear probe (the adversary) is
 * refitted online every step; each forget image is pulled onto the centroid of the retained class
 * the probe finds closest, the retain images are anchored on their own class's centroid (so the
 * shared layers cannot move every class together), and the probe's cross-entropy toward that class
 * is minimised. The gradient of both runs through every layer below the head.
 *
 * <p>Steps: as the expert-targeted method's ({@code epochs} passes over the forget images, each
 * step with as many retain images), Adam at {@value #DEFAULT_LEARNING_RATE}, in inference mode
 * (BatchNorm statistics kept: the anchor and the distillation hold the retain features in place, so
 * the original statistics stay right, and the forget images do not shift them). The centroids,
 * mean and spread of the feature terms are measured on the original model over {@code
 * profileRetainSample} retain images (default 2000). The settings' {@code loss} and {@code scope}
 * do not apply (every parameter trains).
 *
 * <p>Why these terms, and what the defaults rest on. The attacks that catch a suppression read the
 * features: a linear probe recovers a class as long as its images form a region of their own, and
 * relearning from a few images brings it back as long as that region is one step of the head away.
 * On the synthetic hidden class of moe-eval's tests ({@code TintedImages.striped}: images of the
 * other classes plus stripes; batches of 32, lr 3e-3), head-only suppression keeps the penultimate
 * probe at 100 % and relearns to 100 % in 10 steps on 2 images. The collapse terms alone left the
 * probe at 100 % in every setting tried; the adversary alone reached 82 % (64 % at weight 10, which
 * cost a third of the other classes). Both together, the default, gave 34, 100, 100 and 70 % over
 * four seeds after 16 epochs (Retrain: 34 %), and after 8 epochs relearning stopped at 30 % after
 * 40 steps where the suppressed class was at 100 % after 10 (Retrain: 0 %). Relearning is the
 * headline failure (docs/RESULTS.md: 92 % after 10 steps), the probe the weaker effect. The distance
 * term answers the relearning attack by another route: Siddiqui et al. 2025 ("From Dormant to
 * Deleted", arXiv 2505.22310) find resistance to relearning tracks the L2 distance from the
 * original weights; on the synthetic class a target of 0.2 did not improve relearning and a
 * target of 0.3 cost the other classes 3 points, so it is off by default ({@code distanceWeight =
 * 0}; try weight 1 with targets 0.05–0.2 on CIFAR, where Adam's steps reach such distances). These
 * are toy numbers on one tiny model: the CIFAR-10 validation sweep decides (see the options).
 *
 * <p>Options ({@link Options}): {@code collapseWeight} (default 1), {@code adversaryWeight} (1),
 * {@code distanceWeight} (0) with {@code targetDistance} (0.05), {@code distillWeight} (1): each
 * term can be switched off for the ablation. Removal: {@link Removal#ERASE} (measured, not proven).
 */
public final class TrunkEdit extends EditingMethod {

    /** The default learning rate. */
    public static final float DEFAULT_LEARNING_RATE = 3e-4f;

    /**
     * The options of {@link Method#TRUNK_EDIT}; each term can be switched off (weight 0) for an
     * ablation.
     *
     * @param collapseWeight weight of the pull onto the target class's centroid and of the anchor
     *     of the retain images on theirs, finite and &gt;= 0 (default 1)
     * @param adversaryWeight weight of the online linear probe's term, finite and &gt;= 0 (default
     *     1)
     * @param distanceWeight weight of the weight-distance hinge, finite and &gt;= 0 (default 0 =
     *     off)
     * @param targetDistance the relative L2 distance the hinge pushes to, finite and &gt; 0
     *     (default 0.05)
     * @param distillWeight weight of the distillation on retain images, finite and &gt;= 0
     *     (default 1)
     */
    public record Options(
            float collapseWeight, float adversaryWeight, float distanceWeight, float targetDistance, float distillWeight)
            implements MethodOptions {

        /** Checks every option. */
        public Options {
            check("collapseWeight", collapseWeight);
            check("adversaryWeight", adversaryWeight);
            check("distanceWeight", distanceWeight);
            check("distillWeight", distillWeight);
            Preconditions.checkArgument(
                    targetDistance > 0 && Float.isFinite(targetDistance),
                    "targetDistance (%s) must be finite and > 0",
                    targetDistance);
        }

        private static void check(String name, float value) {
            Preconditions.checkArgument(value >= 0 && Float.isFinite(value), "%s (%s) must be finite and >= 0", name, value);
        }

        /** @return collapse 1, adversary 1, no distance term (target 0.05 when switched on), distillation 1 */
        public static Options defaults() {
            return new Options(1f, 1f, 0f, 0.05f, 1f);
        }

        /**
         * @param weight the weight of the pull and the anchor, &gt;= 0 (0 = off)
         * @return a copy
         */
        public Options withCollapseWeight(float weight) {
            return new Options(weight, adversaryWeight, distanceWeight, targetDistance, distillWeight);
        }

        /**
         * @param weight the weight of the online probe's term, &gt;= 0 (0 = off)
         * @return a copy
         */
        public Options withAdversaryWeight(float weight) {
            return new Options(collapseWeight, weight, distanceWeight, targetDistance, distillWeight);
        }

        /**
         * @param weight the distance hinge's weight, &gt;= 0 (0 = off)
         * @param target the relative distance it pushes to, &gt; 0
         * @return a copy
         */
        public Options withDistance(float weight, float target) {
            return new Options(collapseWeight, adversaryWeight, weight, target, distillWeight);
        }

        /**
         * @param weight the distillation's weight, &gt;= 0 (0 = cross-entropy only on retain images)
         * @return a copy
         */
        public Options withDistillWeight(float weight) {
            return new Options(collapseWeight, adversaryWeight, distanceWeight, targetDistance, weight);
        }

        @Override
        public Method method() {
            return Method.TRUNK_EDIT;
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("collapseWeight", collapseWeight);
            o.addProperty("adversaryWeight", adversaryWeight);
            o.addProperty("distanceWeight", distanceWeight);
            o.addProperty("targetDistance", targetDistance);
            o.addProperty("distillWeight", distillWeight);
            return o;
        }
    }

    private static Options options(UnlearningSettings settings) {
        return settings.methodOptions(Method.TRUNK_EDIT).map(Options.class::cast).orElseGet(Options::defaults);
    }

    @Override
    public Removal removal() {
        return Removal.ERASE;
    }

    @Override
    public float defaultLearningRate() {
        return DEFAULT_LEARNING_RATE;
    }

    /** @return the output and retain part: {@code correctPenalty().withDistillation(distillWeight, 2)} */
    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.correctPenalty().withDistillation(options(settings).distillWeight(), 2f);
    }

    @Override
    public boolean trainingMode() {
        return false;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.FORGET_AND_RETAIN;
    }

    /** Adds the options to the provenance. */
    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        super.describe(settings, out);
        out.add("options", options(settings).toJson());
    }

    /** @return the loss of the class description */
    @Override
    public UnlearningLoss objective(UnlearningContext context) {
        UnlearningSettings s = context.settings();
        Options o = options(s);
        UnlearningLoss loss = super.objective(context);
        try {
            if (o.collapseWeight() > 0 || o.adversaryWeight() > 0) {
                loss = loss.plus(featureErasure(context, o.collapseWeight(), o.adversaryWeight()), false);
            }
            if (o.distanceWeight() > 0) {
                loss = loss.plus(weightDistance(context, o), false);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot measure the retain features: " + e.getMessage(), e);
        }
        return loss;
    }

    private static WeightDistanceLoss weightDistance(UnlearningContext context, Options o) throws IOException {
        ParameterSelection all = ParameterSelection.all(context.net(), "every weight");
        Map<String, Parameter> working = byName(context.workingModel());
        Map<String, Parameter> original = byName(context.teacher());
        List<Parameter> edited = new ArrayList<>();
        List<Parameter> before = new ArrayList<>();
        for (String name : all.names()) {
            edited.add(working.get(name));
            before.add(original.get(name));
        }
        return new WeightDistanceLoss(o.distanceWeight(), o.targetDistance(), edited, before);
    }

    private static Map<String, Parameter> byName(Model model) {
        Map<String, Parameter> out = new HashMap<>();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            out.put(p.getKey(), p.getValue());
        }
        return out;
    }

    /**
     * @return the feature erasure, with the retained classes' centroids, mean and spread measured on
     *     the original model over {@code profileRetainSample} retain images
     */
    static FeatureErasureLoss featureErasure(UnlearningContext context, float collapseWeight, float adversaryWeight)
            throws IOException {
        UnlearningSettings s = context.settings();
        int[] retain = context.retainIndices();
        int[] sample = RetainSampler.uniform(retain).draw(Math.max(s.profileRetainSample(), 1), context.random());
        Arrays.sort(sample);
        EmbeddingClassifier original = (EmbeddingClassifier) context.teacher().getBlock();
        int classes = context.data().numClasses();
        int dims = original.embeddingSize();
        double[][] sum = new double[classes][dims];
        int[] count = new int[classes];
        double[] total = new double[dims];
        double[] squares = new double[dims];
        try (NDManager manager = NDManager.newBaseManager()) {
            ParameterStore store = new ParameterStore(manager, false);
            for (int start = 0; start < sample.length; start += 256) {
                int[] chunk = Arrays.copyOfRange(sample, start, Math.min(sample.length, start + 256));
                try (NDManager scope = manager.newSubManager();
                        Batch batch = context.data().batch(scope, chunk)) {
                    float[] z = original.features().forward(store, batch.getData(), false).head().toFloatArray();
                    Preconditions.checkState(
                            z.length == chunk.length * dims,
                            "the embeddings have %s values for %s images of %s dimensions",
                            z.length,
                            chunk.length,
                            dims);
                    for (int i = 0; i < chunk.length; i++) {
                        int c = context.data().label(chunk[i]);
                        count[c]++;
                        for (int d = 0; d < dims; d++) {
                            float v = z[i * dims + d];
                            sum[c][d] += v;
                            total[d] += v;
                            squares[d] += (double) v * v;
                        }
                    }
                }
            }
        }
        Set<Integer> forgotten = new HashSet<>(context.forgottenClasses());
        float[][] centroids = new float[classes][];
        for (int c = 0; c < classes; c++) {
            if (count[c] == 0 || forgotten.contains(c)) {
                continue;
            }
            centroids[c] = new float[dims];
            for (int d = 0; d < dims; d++) {
                centroids[c][d] = (float) (sum[c][d] / count[c]);
            }
        }
        float[] mean = new float[dims];
        float[] std = new float[dims];
        for (int d = 0; d < dims; d++) {
            double m = total[d] / sample.length;
            mean[d] = (float) m;
            std[d] = (float) Math.sqrt(Math.max(0, squares[d] / sample.length - m * m));
        }
        return new FeatureErasureLoss(collapseWeight, adversaryWeight, centroids, mean, std);
    }
}

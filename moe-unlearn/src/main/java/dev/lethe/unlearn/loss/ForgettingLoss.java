package dev.lethe.unlearn.loss;

import dev.lethe.moe.ScalarOps;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The loss of an unlearning step, as a DJL {@link Loss}, on a batch that mixes forget images (of
 * the forgotten class) and retain images.
 *
 * <p>Inputs: the named entries of an {@link UnlearningBatch}: labels {@value UnlearningBatch#LABELS}
 * and {@value UnlearningBatch#IS_FORGET}, plus {@value UnlearningBatch#TEACHER_LOGITS} (the original
 * model's logits) when distilling; predictions {@value UnlearningBatch#LOGITS}, plus {@value
 * UnlearningBatch#EMBEDDINGS} for the contrastive loss. Forget and retain rows may be in any order.
 *
 * <p>Every variant is {@code forget term + retainWeight * CE(retain) + distillation}, where
 * distillation is {@code distillWeight * T² * KL(q || softmax(logits/T))} on retain images (Hinton et
 * al., 2015), off by default, where {@code q} is the original model's {@code softmax(teacher/T)} with
 * the forgotten class's probability removed and the rest renormalised: the student keeps what the
 * original model knew about the retain images except its belief that some of them are the
 * forgotten class. The forget terms:
 *
 * <ul>
 *   <li>{@link #contrastive()} (default): on L2-normalised embeddings, for each forget anchor i,
 *       {@code -log( sum_{p in retain} exp(z_i·z_p/τ) / sum_{a in batch, a != i} exp(z_i·z_a/τ) )}:
 *       pulls forget embeddings toward the other classes' embeddings and pushes them away from the
 *       forgotten class's (the retain and other-forget embeddings are detached, so only the forget
 *       images move). This is the idea of Contrastive Unlearning (Lee et al., 2024). Plus {@code
 *       outputWeight} (default 1) times the bounded penalty below, so the head's decision follows
 *       the moved representation.
 *   <li>{@link #correctPenalty()}: {@code mean_forget -log(1 - p_f + 1e-6)}, the "penalty for
 *       correct classification" with a real, bounded gradient (p_f = softmax probability of the
 *       forgotten class).
 *   <li>{@link #uniformKl()}: {@code mean_forget KL(U || p)} where U is uniform over the remaining
 *       classes: the forget images should look like "any other class".
 *   <li>{@link #randomLabels(long)}: cross-entropy of forget images against a random other class,
 *       drawn per image from a seeded generator (the random-labelling baseline, Golatkar et al.,
 *       2020).
 *   <li>{@link #gradientAscent()}: {@code -CE(forget)}, no retain term (Thudi et al., 2022; the GA
 *       baseline). Unbounded: stop it by steps.
 *   <li>{@link #gradientAscentToChance()}: {@code -sum_i g_i CE_i / n_forget}, where {@code g_i = 1}
 *       while forget image i's probability of the forgotten class is at least chance ({@code 1/C})
 *       and 0 after (no gradient through {@code g}): gradient ascent that stops, image by image,
 *       once the image is surely misclassified (below chance, another class must be more
 *       probable). No retain term. Bounded: once every forget image of the batch is below chance
 *       the loss is 0 and nothing moves.
 *   <li>{@link #retainOnly()}: {@code CE(retain)} alone (the fine-tune baseline).
 * </ul>
 */
public final class ForgettingLoss extends Loss {

    /** The forget term. */
    public enum Kind {
        /** Contrastive on embeddings plus the bounded output penalty. */
        CONTRASTIVE,
        /** {@code -log(1 - p_f)}. */
        CORRECT_PENALTY,
        /** KL to uniform over remaining classes. */
        UNIFORM_KL,
        /** Cross-entropy against random other labels. */
        RANDOM_LABELS,
        /** Negative cross-entropy on forget images. */
        GRADIENT_ASCENT,
        /** Negative cross-entropy on the forget images still at or above chance for the class. */
        GRADIENT_ASCENT_TO_CHANCE,
        /** No forget term: cross-entropy on retain images only. */
        RETAIN_ONLY
    }

    private static final float EPS = 1e-6f;

    private final Kind kind;
    private final int forgetClass;
    private final float temperature;
    private final float outputWeight;
    private final float retainWeight;
    private final float distillWeight;
    private final float distillTemperature;
    private final long seed;
    private long draws;

    private ForgettingLoss(
            Kind kind,
            int forgetClass,
            float temperature,
            float outputWeight,
            float retainWeight,
            float distillWeight,
            float distillTemperature,
            long seed) {
        super("ForgettingLoss-" + kind.name().toLowerCase(Locale.ROOT));
        this.kind = kind;
        this.forgetClass = forgetClass;
        this.temperature = temperature;
        this.outputWeight = outputWeight;
        this.retainWeight = retainWeight;
        this.distillWeight = distillWeight;
        this.distillTemperature = distillTemperature;
        this.seed = seed;
    }

    /** @return the contrastive forgetting loss, τ = 0.5, output weight 1, retain weight 1 */
    public static ForgettingLoss contrastive() {
        return new ForgettingLoss(Kind.CONTRASTIVE, -1, 0.5f, 1f, 1f, 0f, 2f, 0);
    }

    /** @return the bounded correct-classification penalty, retain weight 1 */
    public static ForgettingLoss correctPenalty() {
        return new ForgettingLoss(Kind.CORRECT_PENALTY, -1, 0.5f, 1f, 1f, 0f, 2f, 0);
    }

    /** @return KL to uniform over the remaining classes, retain weight 1 */
    public static ForgettingLoss uniformKl() {
        return new ForgettingLoss(Kind.UNIFORM_KL, -1, 0.5f, 1f, 1f, 0f, 2f, 0);
    }

    /**
     * @param seed seed of the random labels
     * @return random relabelling of forget images, retain weight 1
     */
    public static ForgettingLoss randomLabels(long seed) {
        return new ForgettingLoss(Kind.RANDOM_LABELS, -1, 0.5f, 1f, 1f, 0f, 2f, seed);
    }

    /** @return gradient ascent on forget images, no retain term */
    public static ForgettingLoss gradientAscent() {
        return new ForgettingLoss(Kind.GRADIENT_ASCENT, -1, 0.5f, 1f, 0f, 0f, 2f, 0);
    }

    /**
     * @return gradient ascent on the forget images whose probability of the forgotten class is
     *     still at least chance (see the class description), no retain term
     */
    public static ForgettingLoss gradientAscentToChance() {
        return new ForgettingLoss(Kind.GRADIENT_ASCENT_TO_CHANCE, -1, 0.5f, 1f, 0f, 0f, 2f, 0);
    }

    /** @return cross-entropy on retain images only */
    public static ForgettingLoss retainOnly() {
        return new ForgettingLoss(Kind.RETAIN_ONLY, -1, 0.5f, 1f, 1f, 0f, 2f, 0);
    }

    /**
     * @param forgetClass the forgotten class (set by {@code Unlearner})
     * @return a copy for that class
     */
    public ForgettingLoss forClass(int forgetClass) {
        Preconditions.checkArgument(forgetClass >= 0, "forgetClass (%s) must be >= 0", forgetClass);
        return new ForgettingLoss(kind, forgetClass, temperature, outputWeight, retainWeight, distillWeight, distillTemperature, seed);
    }

    /**
     * @param tau the contrastive temperature τ &gt; 0 (default 0.5)
     * @return a copy with that temperature
     */
    public ForgettingLoss withTemperature(float tau) {
        Preconditions.checkArgument(tau > 0 && Float.isFinite(tau), "temperature (%s) must be finite and > 0", tau);
        return new ForgettingLoss(kind, forgetClass, tau, outputWeight, retainWeight, distillWeight, distillTemperature, seed);
    }

    /**
     * @param weight weight of the output penalty inside the contrastive loss, &gt;= 0 (default 1;
     *     0 = representation only)
     * @return a copy
     */
    public ForgettingLoss withOutputWeight(float weight) {
        checkWeight("outputWeight", weight);
        return new ForgettingLoss(kind, forgetClass, temperature, weight, retainWeight, distillWeight, distillTemperature, seed);
    }

    /**
     * @param weight weight of the retain cross-entropy, &gt;= 0
     * @return a copy
     */
    public ForgettingLoss withRetainWeight(float weight) {
        checkWeight("retainWeight", weight);
        return new ForgettingLoss(kind, forgetClass, temperature, outputWeight, weight, distillWeight, distillTemperature, seed);
    }

    /**
     * Adds distillation to the original model's outputs on retain images, with the forgotten
     * class's probability removed from them (see the class description).
     *
     * @param weight its weight, &gt;= 0 (0 = off, the default)
     * @param temperature the distillation temperature T &gt; 0 (default 2)
     * @return a copy
     */
    public ForgettingLoss withDistillation(float weight, float temperature) {
        checkWeight("distillWeight", weight);
        Preconditions.checkArgument(temperature > 0, "distillation temperature (%s) must be > 0", temperature);
        return new ForgettingLoss(kind, forgetClass, this.temperature, outputWeight, retainWeight, weight, temperature, seed);
    }

    /** @return the forget term */
    public Kind kind() {
        return kind;
    }

    /** @return whether the loss reads embeddings */
    public boolean needsEmbeddings() {
        return kind == Kind.CONTRASTIVE;
    }

    /** @return whether the loss reads the original model's logits */
    public boolean needsTeacher() {
        return distillWeight > 0;
    }

    /** @return a short description with every setting */
    public String describe() {
        return String.format(
                Locale.ROOT,
                "%s(tau=%.2f, output=%.2f, retain=%.2f, distill=%.2f@T%.1f)",
                kind.name().toLowerCase(Locale.ROOT),
                temperature,
                outputWeight,
                retainWeight,
                distillWeight,
                distillTemperature);
    }

    /**
     * Evaluates the loss on named entries (see the class description).
     *
     * @param labels the labels of an {@link UnlearningBatch}
     * @param predictions its predictions
     * @return the scalar loss
     * @throws IllegalArgumentException naming an entry the loss needs and the lists lack
     */
    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return evaluate(UnlearningBatch.of(labels, predictions));
    }

    /**
     * @param batch the step's batch
     * @return the scalar loss
     * @throws IllegalArgumentException naming an entry the loss needs and the batch lacks
     * @throws IllegalStateException if {@link #forClass(int)} was not called
     */
    public NDArray evaluate(UnlearningBatch batch) {
        Preconditions.checkState(forgetClass >= 0, "call forClass(id) before evaluating a ForgettingLoss");
        NDArray logits = batch.logits();
        NDManager manager = logits.getManager();
        long[] y = batch.classes().toType(DataType.INT64, false).toLongArray();
        long[] forgetIdx = batch.forgetRows();
        long[] retainIdx = batch.retainRows();
        int nForget = forgetIdx.length;
        int nRetain = retainIdx.length;
        NDArray logp = logits.logSoftmax(1);
        NDArray total = manager.zeros(new ai.djl.ndarray.types.Shape());
        if (nRetain > 0 && retainWeight > 0 && kind != Kind.GRADIENT_ASCENT && kind != Kind.GRADIENT_ASCENT_TO_CHANCE) {
            total = total.add(ScalarOps.mul(crossEntropy(logp, retainIdx, y, manager), retainWeight));
        }
        if (nRetain > 0 && distillWeight > 0) {
            NDArray teacherAll =
                    batch.teacherLogits()
                            .orElseThrow(
                                    () ->
                                            new IllegalArgumentException(
                                                    "distillation needs the original model's logits: a label named '"
                                                            + UnlearningBatch.TEACHER_LOGITS
                                                            + "'"));
            NDIndex rows = new NDIndex("{}", manager.create(retainIdx));
            NDArray student = ScalarOps.div(logits.get(rows), distillTemperature).logSoftmax(1);
            // the original model's belief in the forgotten class is not something to keep: its
            // probability is removed from the teacher and the rest renormalised
            NDArray teacherLogits = teacherAll.get(rows).stopGradient();
            NDArray forgottenColumn = manager.create(oneHot((int) teacherLogits.getShape().get(1)));
            NDArray teacher = teacherLogits.sub(forgottenColumn.mul(1e4f)).div(distillTemperature).softmax(1);
            NDArray kl = teacher.mul(teacher.add(1e-12f).log().sub(student)).sum(new int[] {1}).mean();
            total = total.add(ScalarOps.mul(kl, distillWeight * distillTemperature * distillTemperature));
        }
        if (nForget == 0 || kind == Kind.RETAIN_ONLY) {
            return total;
        }
        NDIndex forgetRows = new NDIndex("{}", manager.create(forgetIdx));
        switch (kind) {
            case CONTRASTIVE:
                if (outputWeight > 0) {
                    total = total.add(ScalarOps.mul(correctPenalty(logp.get(forgetRows)), outputWeight));
                }
                if (nRetain > 0) {
                    NDArray embeddings =
                            batch.embeddings()
                                    .orElseThrow(
                                            () ->
                                                    new IllegalArgumentException(
                                                            "the contrastive loss needs a prediction named '"
                                                                    + UnlearningBatch.EMBEDDINGS
                                                                    + "'"));
                    total = total.add(contrastiveTerm(embeddings, forgetIdx, retainIdx, manager));
                }
                return total;
            case CORRECT_PENALTY:
                return total.add(correctPenalty(logp.get(forgetRows)));
            case UNIFORM_KL:
                return total.add(uniformKl(logp.get(forgetRows)));
            case RANDOM_LABELS:
                return total.add(crossEntropyAgainst(logp, forgetIdx, randomOtherLabels(forgetIdx.length, (int) logits.getShape().get(1)), manager));
            case GRADIENT_ASCENT:
                return total.sub(crossEntropy(logp, forgetIdx, y, manager));
            case GRADIENT_ASCENT_TO_CHANCE:
                return total.sub(ascentToChance(logp.get(forgetRows), forgetIdx, y, manager));
            default:
                throw new IllegalStateException("unknown kind " + kind);
        }
    }

    private float[] oneHot(int classes) {
        float[] v = new float[classes];
        v[forgetClass] = 1f;
        return v;
    }

    private NDArray correctPenalty(NDArray forgetLogp) {
        NDArray pf = forgetLogp.get(":, " + forgetClass).exp();
        return pf.neg().add(1f + EPS).log().neg().mean();
    }

    /** mean over forget rows of g_i * CE_i, g_i = [p_f(i) >= 1/C] (no gradient through g) */
    private NDArray ascentToChance(NDArray forgetLogp, long[] forgetIdx, long[] y, NDManager manager) {
        int classes = (int) forgetLogp.getShape().get(1);
        long[] targets = new long[forgetIdx.length];
        for (int i = 0; i < forgetIdx.length; i++) {
            targets[i] = y[(int) forgetIdx[i]];
        }
        NDArray ce = forgetLogp.gather(manager.create(targets).reshape(-1, 1), 1).reshape(-1).neg();
        float[] pf = forgetLogp.get(":, " + forgetClass).exp().toFloatArray();
        float[] gate = new float[pf.length];
        for (int i = 0; i < pf.length; i++) {
            gate[i] = pf[i] >= 1f / classes ? 1f : 0f;
        }
        return ScalarOps.div(ce.mul(manager.create(gate)).sum(), forgetIdx.length);
    }

    private NDArray uniformKl(NDArray forgetLogp) {
        int classes = (int) forgetLogp.getShape().get(1);
        float u = 1f / (classes - 1);
        float[] target = new float[classes];
        for (int c = 0; c < classes; c++) {
            target[c] = c == forgetClass ? 0f : u;
        }
        NDArray t = forgetLogp.getManager().create(target);
        // KL(U || p) = sum_c U_c (log U_c - log p_c)
        return t.mul(forgetLogp).sum(new int[] {1}).neg().add((float) Math.log(u)).mean();
    }

    private NDArray contrastiveTerm(NDArray embeddings, long[] forgetIdx, long[] retainIdx, NDManager manager) {
        NDArray z = embeddings.div(embeddings.norm(new int[] {1}, true).add(1e-8f));
        NDArray anchors = z.get(new NDIndex("{}", manager.create(forgetIdx)));
        NDArray others = z.stopGradient();
        NDArray sim = ScalarOps.div(anchors.matMul(others.transpose()), temperature);
        int b = (int) z.getShape().get(0);
        float[] positive = new float[forgetIdx.length * b];
        float[] self = new float[forgetIdx.length * b];
        for (int i = 0; i < forgetIdx.length; i++) {
            for (long r : retainIdx) {
                positive[i * b + (int) r] = 1f;
            }
            self[i * b + (int) forgetIdx[i]] = 1f;
        }
        NDArray pos = manager.create(positive, sim.getShape());
        NDArray selfMask = manager.create(self, sim.getShape());
        // exclude each anchor's similarity with itself from the denominator
        NDArray masked = sim.sub(selfMask.mul(1e4f));
        NDArray max = masked.max(new int[] {1}, true).stopGradient();
        NDArray expSim = masked.sub(max).exp();
        NDArray numerator = expSim.mul(pos).sum(new int[] {1});
        NDArray denominator = expSim.sum(new int[] {1});
        return numerator.add(1e-12f).log().sub(denominator.add(1e-12f).log()).neg().mean();
    }

    private NDArray crossEntropy(NDArray logp, long[] rows, long[] y, NDManager manager) {
        long[] targets = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            targets[i] = y[(int) rows[i]];
        }
        return crossEntropyAgainst(logp, rows, targets, manager);
    }

    private static NDArray crossEntropyAgainst(NDArray logp, long[] rows, long[] targets, NDManager manager) {
        NDArray sub = logp.get(new NDIndex("{}", manager.create(rows)));
        NDArray picked = sub.gather(manager.create(targets).reshape(-1, 1), 1);
        return picked.mean().neg();
    }

    private long[] randomOtherLabels(int n, int classes) {
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + draws++);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            int c = random.nextInt(classes - 1);
            out[i] = c >= forgetClass ? c + 1 : c;
        }
        return out;
    }

    private static void checkWeight(String name, float w) {
        Preconditions.checkArgument(w >= 0 && Float.isFinite(w), "%s (%s) must be finite and >= 0", name, w);
    }
}

package dev.lethe.eval;

import ai.djl.Model;
import ai.djl.nn.Block;
import com.google.common.base.Preconditions;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import dev.lethe.eval.attack.ClassMembershipAttack;
import dev.lethe.eval.attack.MembershipInference;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.probe.LinearProbe;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.eval.routing.RoutingShift;
import dev.lethe.moe.MoeBlocks;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Evaluates a model after class-wise forgetting by the protocol of Jia et al. (NeurIPS 2023, "Model
 * Sparsity Can Simplify Machine Unlearning") and Fan et al. (ICLR 2024, "SalUn") — UA, RA, TA,
 * MIA-Efficacy (hence Avg. Gap against a Retrain evaluation), the forgotten class's and every
 * class's test accuracy — and by the measures a suppressed class cannot pass: linear probes at
 * every MoE layer and the penultimate embedding, a class-membership attack on the probability
 * vector (both with probe data), relearning curves (with {@link Builder#optRelearning}) and the
 * routing shift from the original model ({@link #evaluate(Model, int, Model)}). Output accuracy
 * alone can reach 0 while the class is still readable in the features or comes back in a few
 * steps; these show it, and the same measures on the Retrain model say how much of that is
 * inevitable.
 *
 * <p>Immutable configuration, built as in DJL:
 *
 * <pre>{@code
 * UnlearningEvaluator evaluator = UnlearningEvaluator.builder()
 *         .setTrainData(train)        // D_f and D_r are derived from it
 *         .setTestData(test)
 *         .optProbeData(validation)   // held-out images, never used for training or unlearning
 *         .optRetainSample(5000)      // RA on a seeded sample of D_r
 *         .optRelearning(RelearningTest.builder().build())
 *         .build();
 * UnlearningEvaluation e = evaluator.evaluate(model, 3, original);
 * }</pre>
 *
 * <p>Cost: one inference pass over D_f, the RA items (plus the MIA members not among them), the
 * test set and the probe data; three SVM fits on at most 2 × min(|D_r|, |test| − |test of the
 * class|, miaTrainPerSide) numbers; a probe fit per MoE layer plus one (see {@link LinearProbe});
 * with relearning, 2 × max(steps) training steps and 2 × |steps| passes over the test set; with
 * the original model, two passes over the class's test images.
 */
public final class UnlearningEvaluator {

    /** The value of {@code retainSample} that measures RA on the whole retain set. */
    public static final int ALL = Integer.MAX_VALUE;

    private final LabeledData train;
    private final LabeledData test;
    private final LabeledData probeData;
    private final int retainSample;
    private final int miaTrainPerSide;
    private final int batchSize;
    private final long seed;
    private final RelearningTest relearning;

    private UnlearningEvaluator(Builder b) {
        this.train = b.train;
        this.test = b.test;
        this.probeData = b.probeData;
        this.retainSample = b.retainSample;
        this.miaTrainPerSide = b.miaTrainPerSide;
        this.batchSize = b.batchSize;
        this.seed = b.seed;
        this.relearning = b.relearning;
    }

    /** @return a builder; training and test data are required */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this configuration, for a variant */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.train = train;
        b.test = test;
        b.probeData = probeData;
        b.retainSample = retainSample;
        b.miaTrainPerSide = miaTrainPerSide;
        b.batchSize = batchSize;
        b.seed = seed;
        b.relearning = relearning;
        return b;
    }

    /**
     * Evaluates a model for one forgotten class, without the routing shift.
     *
     * @param model the model (only read)
     * @param forgetClass the forgotten class, in [0, numClasses)
     * @return the evaluation
     * @throws IOException if the data cannot be read
     * @see #evaluate(Model, int, Model)
     */
    public UnlearningEvaluation evaluate(Model model, int forgetClass) throws IOException {
        return evaluate(model, forgetClass, null);
    }

    /**
     * Evaluates a model for one forgotten class. The models are only read (inference mode; the
     * relearning test trains copies).
     *
     * <ul>
     *   <li>D_f = the training items of {@code forgetClass}; UA = 100 − accuracy on D_f.
     *   <li>D_r = the other training items; RA = accuracy on D_r, or on a seeded sample of
     *       {@code retainSample} of them.
     *   <li>TA = accuracy on the test items of the other classes; the forgotten class's test
     *       accuracy and the per-class test accuracies beside it.
     *   <li>MIA-Efficacy ({@link MembershipInference}) on the sets of {@link
     *       MembershipInference.Sets#classWise}: non-members = the test items of the other classes,
     *       members = as many of the first items of D_r, scored on D_f; with the attacker's
     *       cross-validated accuracy.
     *   <li>With probe data: a {@link LinearProbe} at every MoE layer and at the penultimate
     *       embedding ({@link LayerProbes}), fitted on every probe item (all classes) with the
     *       evaluator's seed and scored on the test items; probe recovery is the penultimate
     *       probe's accuracy on the forgotten class. And the {@link ClassMembershipAttack}, trained
     *       on the probe items and scored on the test items.
     *   <li>With a relearning test: both of its curves ({@link RelearningTest#runAll}) on copies of
     *       the model, measured on the test data.
     *   <li>With an original model that has MoE layers: the {@link RoutingShift} of the forgotten
     *       class's test images from the original to this model.
     * </ul>
     *
     * @param model the model; its block maps (B, 3, H, W) images to (B, numClasses) logits and,
     *     when probe data is set, must be an {@link EmbeddingClassifier} that {@link LayerFeatures}
     *     can read
     * @param forgetClass the forgotten class, in [0, numClasses)
     * @param original the model before unlearning, for the routing shift; null to skip it
     * @return the evaluation, percentages in [0, 100]
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if the class is out of range or absent from the training
     *     data, or the model does not fit the configuration
     */
    public UnlearningEvaluation evaluate(Model model, int forgetClass, Model original) throws IOException {
        long start = System.nanoTime();
        Preconditions.checkNotNull(model, "model must not be null");
        int numClasses = train.numClasses();
        Preconditions.checkArgument(
                forgetClass >= 0 && forgetClass < numClasses,
                "forgetClass (%s) must be in [0, %s)",
                forgetClass,
                numClasses);
        int[] forget = train.indicesOf(forgetClass);
        int[] retain = train.indicesExcept(forgetClass);
        Preconditions.checkArgument(
                forget.length > 0,
                "forgetClass %s (%s) has no training images, so the forget set would be empty",
                forgetClass,
                train.classNames().get(forgetClass));
        Preconditions.checkArgument(
                retain.length > 0,
                "the training data has no images outside forgetClass %s, so the retain set would be empty",
                forgetClass);
        checkModel(model);
        MembershipInference.Sets mia = MembershipInference.Sets.classWise(train, test, forgetClass);

        int[] raItems = retainSample >= retain.length ? retain : Indices.sample(retain, retainSample, seed);
        int[] retainItems = union(raItems, mia.members());
        Predictions.Capture capture = probeData != null ? Predictions.Capture.LAYERS : Predictions.Capture.OUTPUTS;
        Predictions retained = Predictions.compute(model, train, retainItems, batchSize, Predictions.Capture.OUTPUTS);
        Predictions forgotten = Predictions.compute(model, train, forget, batchSize, Predictions.Capture.OUTPUTS);
        Predictions tested = Predictions.compute(model, test, range(test.size()), batchSize, capture);

        UnlearningEvaluation.Builder e = UnlearningEvaluation.builder();
        e.forgetClass = forgetClass;
        e.forgetClassName = train.classNames().get(forgetClass);
        e.ua = 100.0 - forgotten.accuracy();
        e.ra = accuracyOn(retained, retainItems, raItems);
        e.ta = tested.accuracyExcept(forgetClass);
        e.forgetTestAccuracy = tested.accuracyOf(forgetClass);
        e.perClassTestAccuracy = tested.perClassAccuracy(numClasses);
        MembershipInference.Result attack =
                MembershipInference.attack(
                        select(retained.trueProbabilitiesView(), retainItems, mia.members()),
                        select(tested.trueProbabilitiesView(), range(test.size()), mia.nonMembers()),
                        forgotten.trueProbabilitiesView(),
                        miaTrainPerSide);
        e.mia = attack.efficacy();
        e.miaAttackerAccuracy = attack.attackerAccuracy();
        e.miaTrainPerSide = attack.trainPerSide();
        e.forgetSize = forget.length;
        e.retainSize = raItems.length;
        e.testSize = test.size();
        e.seed = seed;

        if (probeData != null) {
            Predictions held =
                    Predictions.compute(model, probeData, range(probeData.size()), batchSize, Predictions.Capture.LAYERS);
            e.probes = LayerProbes.measure(held, tested, forgetClass, numClasses, seed);
            LayerProbes.Depth penultimate = e.probes.get(e.probes.size() - 1);
            e.probeForgetAccuracy = penultimate.forgetAccuracy();
            e.probeRetainAccuracy = penultimate.otherAccuracy();
            e.probeTrainSize = probeData.size();
            e.classAttack = ClassMembershipAttack.measure(held, tested, forgetClass, seed);
        }
        if (relearning != null) {
            e.relearning.putAll(relearning.runAll(model, train, test, forgetClass));
        }
        if (original != null && !MoeBlocks.find(model.getBlock()).isEmpty()) {
            e.routingShift =
                    RoutingShift.measure(original, model, test, test.indicesOf(forgetClass), forgetClass, batchSize);
        }
        e.seconds = (System.nanoTime() - start) / 1e9;
        return e.build();
    }

    /**
     * The images of the membership-inference attack for a class ({@link
     * MembershipInference.Sets#classWise} on this evaluator's data).
     *
     * @param forgetClass the forgotten class
     * @return members (training indices), non-members (test indices) and D_f (training indices)
     */
    public MembershipInference.Sets membershipSets(int forgetClass) {
        return MembershipInference.Sets.classWise(train, test, forgetClass);
    }

    private void checkModel(Model model) {
        Block block = model.getBlock();
        Preconditions.checkArgument(block != null, "the model has no block");
        if (block instanceof EmbeddingClassifier) {
            int heads = ((EmbeddingClassifier) block).numClasses();
            Preconditions.checkArgument(
                    heads == train.numClasses(),
                    "the model has %s classes but the data has %s",
                    heads,
                    train.numClasses());
            if (probeData != null) {
                LayerFeatures.of(block); // fails now, naming the reason, rather than after the passes
            }
        } else {
            Preconditions.checkArgument(
                    probeData == null,
                    "the linear probes need penultimate features, but the model's block (%s) is not a"
                            + " dev.lethe.moe.model.EmbeddingClassifier; implement it, or build the evaluator"
                            + " without optProbeData",
                    block.getClass().getName());
        }
    }

    /** The accuracy, in percent, of the predictions of {@code items} among those of {@code all}. */
    private static double accuracyOn(Predictions predictions, int[] all, int[] items) {
        int[] labels = predictions.labels();
        int[] predicted = predictions.predicted();
        int correct = 0;
        for (int item : items) {
            int i = Arrays.binarySearch(all, item);
            correct += predicted[i] == labels[i] ? 1 : 0;
        }
        return 100.0 * correct / items.length;
    }

    /** The values of {@code items} among the values of {@code all} (ascending item indices). */
    private static float[] select(float[] values, int[] all, int[] items) {
        float[] out = new float[items.length];
        for (int j = 0; j < items.length; j++) {
            out[j] = values[Arrays.binarySearch(all, items[j])];
        }
        return out;
    }

    /** The sorted union of two ascending index arrays. */
    private static int[] union(int[] a, int[] b) {
        int[] out = new int[a.length + b.length];
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < a.length || j < b.length) {
            int next;
            if (j >= b.length || (i < a.length && a[i] <= b[j])) {
                next = a[i++];
            } else {
                next = b[j++];
            }
            if (n == 0 || out[n - 1] != next) {
                out[n++] = next;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static int[] range(int n) {
        return IntStream.range(0, n).toArray();
    }

    @Override
    public String toString() {
        return String.format(
                "UnlearningEvaluator{train=%d, test=%d, probe=%s, retainSample=%s, miaTrainPerSide=%s,"
                        + " batchSize=%d, seed=%d, relearning=%s}",
                train.size(),
                test.size(),
                probeData == null ? "none" : String.valueOf(probeData.size()),
                retainSample == ALL ? "all" : String.valueOf(retainSample),
                miaTrainPerSide == MembershipInference.UNLIMITED ? "all" : String.valueOf(miaTrainPerSide),
                batchSize,
                seed,
                relearning == null ? "none" : relearning);
    }

    /** Builds an {@link UnlearningEvaluator}; {@code set} methods are required, {@code opt} optional. */
    public static final class Builder {
        private LabeledData train;
        private LabeledData test;
        private LabeledData probeData;
        private int retainSample = ALL;
        private int miaTrainPerSide = MembershipInference.UNLIMITED;
        private int batchSize = 256;
        private long seed = 0;
        private RelearningTest relearning;

        private Builder() {}

        /**
         * @param train the training data, from which D_f (the forgotten class) and D_r (the rest)
         *     are derived
         * @return this builder
         */
        public Builder setTrainData(LabeledData train) {
            this.train = Preconditions.checkNotNull(train, "train must not be null");
            return this;
        }

        /**
         * @param test the test data, with the same classes
         * @return this builder
         */
        public Builder setTestData(LabeledData test) {
            this.test = Preconditions.checkNotNull(test, "test must not be null");
            return this;
        }

        /**
         * @param heldOut images never used for training or unlearning (e.g. the 5,000-image
         *     validation split) on which the linear probes (every MoE layer and the penultimate
         *     embedding) and the class-membership attacker are fitted; without them neither runs
         * @return this builder
         */
        public Builder optProbeData(LabeledData heldOut) {
            this.probeData = Preconditions.checkNotNull(heldOut, "heldOut must not be null");
            return this;
        }

        /**
         * @param n measure RA on a seeded random sample of n retain images, for speed (default
         *     {@link #ALL}: the whole retain set)
         * @return this builder
         */
        public Builder optRetainSample(int n) {
            Preconditions.checkArgument(n >= 1, "retainSample (%s) must be >= 1", n);
            this.retainSample = n;
            return this;
        }

        /**
         * @param n train the MIA attacker on at most n members and n non-members, for speed
         *     (default {@link MembershipInference#UNLIMITED}: |test| of each, the protocol)
         * @return this builder
         */
        public Builder optMiaTrainPerSide(int n) {
            Preconditions.checkArgument(n >= 1, "miaTrainPerSide (%s) must be >= 1", n);
            this.miaTrainPerSide = n;
            return this;
        }

        /**
         * @param batchSize images per inference batch (default 256)
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            Preconditions.checkArgument(batchSize >= 1, "batchSize (%s) must be >= 1", batchSize);
            this.batchSize = batchSize;
            return this;
        }

        /**
         * @param test the relearning test to run on copies of every evaluated model (both modes,
         *     on this evaluator's training and test data); default none
         * @return this builder
         */
        public Builder optRelearning(RelearningTest test) {
            this.relearning = Preconditions.checkNotNull(test, "test must not be null");
            return this;
        }

        /**
         * @param seed the seed of the retain sample, of the probes' initial weights and of the class
         *     attack (default 0)
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @return the evaluator
         * @throws IllegalArgumentException if training or test data is missing or the data sets
         *     disagree on the classes
         */
        public UnlearningEvaluator build() {
            Preconditions.checkArgument(train != null, "setTrainData is required");
            Preconditions.checkArgument(test != null, "setTestData is required");
            Preconditions.checkArgument(
                    test.classNames().equals(train.classNames()),
                    "the test data's classes %s differ from the training data's %s",
                    test.classNames(),
                    train.classNames());
            Preconditions.checkArgument(
                    probeData == null || probeData.classNames().equals(train.classNames()),
                    "the probe data's classes %s differ from the training data's %s",
                    probeData == null ? null : probeData.classNames(),
                    train.classNames());
            return new UnlearningEvaluator(this);
        }
    }
}

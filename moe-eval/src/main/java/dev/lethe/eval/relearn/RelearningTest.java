package dev.lethe.eval.relearn;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.eval.Indices;
import dev.lethe.eval.Predictions;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * The relearning test: how fast does a forgotten class come back when an attacker fine-tunes the
 * model? A class that was only suppressed (its features intact, its output pushed down) returns in
 * a few steps; a class that was removed returns no faster than in a model that never saw it. After
 * Siddiqui et al. 2025 ("From Dormant to Deleted", arXiv 2505.22310), who find that retain-only
 * fine-tuning revives the class after most unlearning methods but not after Retrain, and the
 * few-shot relearning attacks of the LLM unlearning literature.
 *
 * <p>Two {@link Mode}s, each on a fresh copy of the model (the model itself is only read):
 *
 * <ul>
 *   <li>{@link Mode#FEW_SHOT}: a few training images of the forgotten class ({@code
 *       forgetFraction} of them, default 1 %, at least one) mixed with retain images: each batch
 *       holds {@code min(n_f, batchSize / 2)} of the few forget images, cycled in a seeded order,
 *       and retain images for the rest;
 *   <li>{@link Mode#RETAIN_ONLY}: retain images only, {@code batchSize} per batch (a class that
 *       comes back from retain data alone was hidden, not removed).
 * </ul>
 *
 * <p>Every step is a full-batch softmax cross-entropy step of Adam (betas 0.9 / 0.999) at a fixed
 * learning rate (default 1e-3) on every parameter, in training mode: BatchNorm normalises with the
 * batch's statistics and updates its running statistics, MoE routers add their training noise. The
 * batches are fixed by the seed and the training labels alone ({@link #schedule}), so every model
 * sees the same images in the same order: the curves of two methods differ only by the models.
 * Retain images are drawn without repetition from a seeded permutation of the retain set (cycled
 * when exhausted), the same permutation in both modes.
 *
 * <p>At each checkpoint of {@code steps} (default 0, 5, 10, 25, 50, 100; step 0 is the model as it
 * is) the copy is evaluated in inference mode on the test data (or a seeded sample of it, {@link
 * Builder#optTestSample}): the forgotten class's accuracy and the other classes' (pooled) accuracy
 * ({@link RelearningCurve}). Compare a method's curve with
 * the Retrain model's by {@link RelearningCurve#forgetAreaAbove}.
 *
 * <p>Cost: {@code max(steps)} training steps of {@code batchSize} images plus one inference pass
 * over the test data per checkpoint, per mode. Immutable; built as in DJL:
 *
 * <pre>{@code
 * RelearningTest relearn = RelearningTest.builder().optSteps(0, 5, 10, 25, 50, 100).optSeed(0).build();
 * RelearningCurve curve = relearn.run(model, train, test, forgetClass, RelearningTest.Mode.FEW_SHOT);
 * double gap = curve.meanForgetGap(relearn.run(retrain, train, test, forgetClass, RelearningTest.Mode.FEW_SHOT));
 * }</pre>
 */
public final class RelearningTest {

    /** The value of {@code testSample} that measures every test image. */
    public static final int ALL = Integer.MAX_VALUE;

    /** The attacker's data. */
    public enum Mode {
        /** A few forget images (forgetFraction of the class) mixed with retain images. */
        FEW_SHOT,
        /** Retain images only. */
        RETAIN_ONLY;

        /** @return the name used in JSON: {@code fewShot} or {@code retainOnly} */
        public String jsonName() {
            return this == FEW_SHOT ? "fewShot" : "retainOnly";
        }

        /**
         * @param name {@link #jsonName()}
         * @return the mode
         * @throws IllegalArgumentException if the name is not a mode's
         */
        public static Mode fromJsonName(String name) {
            for (Mode m : values()) {
                if (m.jsonName().equals(name)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown relearning mode '" + name + "' (fewShot, retainOnly)");
        }
    }

    private final int[] steps;
    private final double forgetFraction;
    private final int batchSize;
    private final float learningRate;
    private final long seed;
    private final int evalBatchSize;
    private final int testSample;
    private final Supplier<Block> modelFactory;

    private RelearningTest(Builder b) {
        this.steps = b.steps.clone();
        this.forgetFraction = b.forgetFraction;
        this.batchSize = b.batchSize;
        this.learningRate = b.learningRate;
        this.seed = b.seed;
        this.evalBatchSize = b.evalBatchSize;
        this.testSample = b.testSample;
        this.modelFactory = b.modelFactory;
    }

    /** @return a builder with the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the checkpoints, ascending */
    public int[] steps() {
        return steps.clone();
    }

    /** @return the share of the forgotten class's training images the few-shot attacker has */
    public double forgetFraction() {
        return forgetFraction;
    }

    /** @return images per training step */
    public int batchSize() {
        return batchSize;
    }

    /** @return Adam's fixed learning rate */
    public float learningRate() {
        return learningRate;
    }

    /** @return the seed of the batches */
    public long seed() {
        return seed;
    }

    /**
     * @param classSize the number of training images of the forgotten class
     * @return n_f, the few-shot attacker's forget images: max(1, round(forgetFraction ×
     *     classSize)), at most classSize
     */
    public int forgetImages(int classSize) {
        return Math.min(classSize, Math.max(1, (int) Math.round(forgetFraction * classSize)));
    }

    /**
     * The batches an attacker trains on, fixed by the seed and the labels (never by a model).
     *
     * @param train the training data
     * @param forgetClass the forgotten class
     * @param mode the attacker's data
     * @return {@code max(steps)} batches of training indices, batch s used at step s + 1; in
     *     {@link Mode#FEW_SHOT} each starts with its forget images
     * @throws IllegalArgumentException if the class has no training image (few-shot) or the retain
     *     set is empty
     */
    public int[][] schedule(LabeledData train, int forgetClass, Mode mode) {
        Preconditions.checkNotNull(train, "train must not be null");
        Preconditions.checkNotNull(mode, "mode must not be null");
        Preconditions.checkArgument(
                forgetClass >= 0 && forgetClass < train.numClasses(),
                "forgetClass (%s) must be in [0, %s)",
                forgetClass,
                train.numClasses());
        int[] retain = Indices.shuffled(train.indicesExcept(forgetClass), seed + 2);
        Preconditions.checkArgument(
                retain.length > 0, "the training data has no image outside forgetClass %s", forgetClass);
        int[] fewShot = new int[0];
        int perBatch = 0;
        if (mode == Mode.FEW_SHOT) {
            int[] forget = train.indicesOf(forgetClass);
            Preconditions.checkArgument(
                    forget.length > 0, "the training data has no image of forgetClass %s", forgetClass);
            fewShot = Indices.shuffled(Indices.sample(forget, forgetImages(forget.length), seed), seed + 1);
            perBatch = Math.min(fewShot.length, Math.max(1, batchSize / 2));
        }
        int total = steps[steps.length - 1];
        int[][] out = new int[total][batchSize];
        long forgetCursor = 0;
        long retainCursor = 0;
        for (int s = 0; s < total; s++) {
            for (int j = 0; j < batchSize; j++) {
                out[s][j] = j < perBatch
                        ? fewShot[(int) (forgetCursor++ % fewShot.length)]
                        : retain[(int) (retainCursor++ % retain.length)];
            }
        }
        return out;
    }

    /**
     * Runs the attack on a copy of the model and records its curve.
     *
     * @param model the model (only read); its block maps (B, 3, H, W) images to (B, numClasses)
     *     logits; a block other than {@code MoeResNet} needs {@link Builder#optModelFactory}
     * @param train the training data the attacker draws from
     * @param test the test data the checkpoints are measured on, with images of the forgotten
     *     class and of others
     * @param forgetClass the forgotten class
     * @param mode the attacker's data
     * @return the curve
     * @throws IOException if the data cannot be read or the model copied
     * @throws IllegalArgumentException if an argument does not fit
     */
    public RelearningCurve run(Model model, LabeledData train, LabeledData test, int forgetClass, Mode mode)
            throws IOException {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkNotNull(test, "test must not be null");
        long start = System.nanoTime();
        int[][] batches = schedule(train, forgetClass, mode);
        int[] all = IntStream.range(0, test.size()).toArray();
        int[] measured = testSample >= all.length ? all : Indices.sample(all, testSample, seed + 3);
        Preconditions.checkArgument(
                Arrays.stream(measured).anyMatch(i -> test.label(i) == forgetClass),
                "the %s test images measured hold no image of forgetClass %s",
                measured.length,
                forgetClass);
        double[] forgetAccuracy = new double[steps.length];
        double[] otherAccuracy = new double[steps.length];
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(learningRate)).build());
        try (Model copy = trainableCopy(model, modelFactory);
                Trainer trainer = copy.newTrainer(config)) {
            int done = 0;
            for (int c = 0; c < steps.length; c++) {
                for (; done < steps[c]; done++) {
                    step(trainer, train, batches[done]);
                }
                Predictions p = Predictions.compute(copy, test, measured, evalBatchSize, Predictions.Capture.OUTPUTS);
                forgetAccuracy[c] = p.accuracyOf(forgetClass);
                otherAccuracy[c] = p.accuracyExcept(forgetClass);
            }
        }
        int nForget = mode == Mode.FEW_SHOT ? forgetImages(train.indicesOf(forgetClass).length) : 0;
        return new RelearningCurve(
                mode,
                steps,
                forgetAccuracy,
                otherAccuracy,
                nForget,
                batchSize,
                learningRate,
                seed,
                measured.length,
                (System.nanoTime() - start) / 1e9);
    }

    /**
     * Runs both modes.
     *
     * @param model the model (only read)
     * @param train the training data the attacker draws from
     * @param test the test data
     * @param forgetClass the forgotten class
     * @return the curve of each mode, few-shot first
     * @throws IOException if the data cannot be read or the model copied
     */
    public Map<Mode, RelearningCurve> runAll(Model model, LabeledData train, LabeledData test, int forgetClass)
            throws IOException {
        Map<Mode, RelearningCurve> out = new EnumMap<>(Mode.class);
        for (Mode mode : Mode.values()) {
            out.put(mode, run(model, train, test, forgetClass, mode));
        }
        return out;
    }

    private static void step(Trainer trainer, LabeledData train, int[] items) throws IOException {
        try (NDManager scope = trainer.getManager().newSubManager();
                Batch batch = train.batch(scope, items)) {
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDList predictions = trainer.forward(batch.getData());
                NDArray loss = trainer.getLoss().evaluate(batch.getLabels(), predictions);
                Preconditions.checkState(
                        Float.isFinite(loss.getFloat()), "the relearning loss is not finite (%s)", loss.getFloat());
                gc.backward(loss);
            }
            trainer.step();
        }
    }

    /** @return the configuration as JSON */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray s = new JsonArray();
        Arrays.stream(steps).forEach(s::add);
        o.add("steps", s);
        o.addProperty("forgetFraction", forgetFraction);
        o.addProperty("batchSize", batchSize);
        o.addProperty("optimizer", "adam");
        o.addProperty("learningRate", learningRate);
        o.addProperty("seed", seed);
        o.addProperty("testSample", testSample == ALL ? "all" : String.valueOf(testSample));
        return o;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "RelearningTest{steps=%s, forgetFraction=%s, batchSize=%d, adam lr=%s, seed=%d, testSample=%s}",
                Arrays.toString(steps),
                forgetFraction,
                batchSize,
                learningRate,
                seed,
                testSample == ALL ? "all" : String.valueOf(testSample));
    }

    /** Builds a {@link RelearningTest}; every setting is optional and checked when set. */
    public static final class Builder {
        private int[] steps = {0, 5, 10, 25, 50, 100};
        private double forgetFraction = 0.01;
        private int batchSize = 64;
        private float learningRate = 1e-3f;
        private long seed = 0;
        private int evalBatchSize = 256;
        private int testSample = ALL;
        private Supplier<Block> modelFactory;

        private Builder() {}

        /**
         * @param steps the checkpoints, strictly ascending, the first >= 0 (default 0, 5, 10, 25,
         *     50, 100); 0 measures the model as it is
         * @return this builder
         */
        public Builder optSteps(int... steps) {
            Preconditions.checkArgument(steps != null && steps.length > 0, "steps must not be empty");
            Preconditions.checkArgument(steps[0] >= 0, "steps[0] (%s) must be >= 0", steps[0]);
            for (int i = 1; i < steps.length; i++) {
                Preconditions.checkArgument(
                        steps[i] > steps[i - 1],
                        "steps must be strictly ascending, but steps[%s] (%s) <= steps[%s] (%s)",
                        i,
                        steps[i],
                        i - 1,
                        steps[i - 1]);
            }
            this.steps = steps.clone();
            return this;
        }

        /**
         * @param fraction the share of the class's training images the few-shot attacker has, in
         *     (0, 1] (default 0.01; at least one image)
         * @return this builder
         */
        public Builder optForgetFraction(double fraction) {
            Preconditions.checkArgument(
                    fraction > 0 && fraction <= 1, "forgetFraction (%s) must be in (0, 1]", fraction);
            this.forgetFraction = fraction;
            return this;
        }

        /**
         * @param batchSize images per training step, >= 2 (default 64)
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            Preconditions.checkArgument(batchSize >= 2, "batchSize (%s) must be >= 2", batchSize);
            this.batchSize = batchSize;
            return this;
        }

        /**
         * @param learningRate Adam's fixed learning rate, > 0 (default 1e-3)
         * @return this builder
         */
        public Builder optLearningRate(float learningRate) {
            Preconditions.checkArgument(
                    learningRate > 0 && Float.isFinite(learningRate),
                    "learningRate (%s) must be finite and > 0",
                    learningRate);
            this.learningRate = learningRate;
            return this;
        }

        /**
         * @param seed the seed of the few-shot images and of the batch order (default 0)
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param batchSize images per inference batch at the checkpoints (default 256)
         * @return this builder
         */
        public Builder optEvalBatchSize(int batchSize) {
            Preconditions.checkArgument(batchSize >= 1, "evalBatchSize (%s) must be >= 1", batchSize);
            this.evalBatchSize = batchSize;
            return this;
        }

        /**
         * @param n measure the checkpoints on a seeded random sample of n test images, the same for
         *     every model (default {@link #ALL}); each checkpoint costs a pass over them
         * @return this builder
         */
        public Builder optTestSample(int n) {
            Preconditions.checkArgument(n >= 1, "testSample (%s) must be >= 1", n);
            this.testSample = n;
            return this;
        }

        /**
         * @param factory builds a fresh, uninitialised block of the model's architecture, to copy a
         *     model whose block is not a {@code MoeResNet}
         * @return this builder
         */
        public Builder optModelFactory(Supplier<Block> factory) {
            this.modelFactory = Preconditions.checkNotNull(factory, "factory must not be null");
            return this;
        }

        /** @return the test */
        public RelearningTest build() {
            return new RelearningTest(this);
        }
    }

    /** A copy of the model (dev.lethe.unlearn.Models) with every parameter trainable, for the attacker. */
    private static Model trainableCopy(Model model, java.util.function.Supplier<ai.djl.nn.Block> factory)
            throws java.io.IOException {
        Model copy = dev.lethe.unlearn.Models.copy(model, factory);
        dev.lethe.moe.MoeBlocks.setTrainable(copy.getBlock(), true);
        return copy;
    }
}

package dev.lethe.moe.train;

import com.google.common.base.Preconditions;
import com.google.gson.Gson;
import dev.lethe.moe.routing.ExpertAssignment;

/**
 * How to train a model: the optimiser, schedule, augmentation and router losses, recorded with
 * every trained model ({@link #MODEL_PROPERTY}). Immutable; {@link #toBuilder()} makes variants.
 *
 * <p>Defaults (the "plain" recipe): SGD with heavy-ball momentum 0.9, learning rate 0.1 with a
 * linear warm-up over the first epoch and a cosine decay to 0, weight decay 5e-4 (L2) on every
 * parameter except the MoE routers (which get none, and an element-wise gradient clip of 1), an
 * element-wise clip of 5 elsewhere, batch 128, 10 epochs, random horizontal flips and random
 * translations of up to 4 pixels (reflected borders) applied by {@link MoeTraining} to each batch,
 * Switch load balancing 1e-2, router z-loss 1e-3, no mutual-information loss. {@link
 * #forgetReady()} adds class-aware routing (the routing–label mutual-information loss, weight 0.5
 * at temperature 0.5). {@link #isolated()} routes images by class instead, so that each expert
 * learns only from its own classes. {@link #fast()} is the few-epoch recipe for the {@link
 * dev.lethe.moe.model.MoeResNet.Style#FAST} layout.
 *
 * <p>The recipe owns the augmentation, so train on un-augmented data: a Retrain oracle built from
 * a model's recorded recipe then sees exactly the augmentation the model saw.
 */
public final class TrainingRecipe {

    /**
     * The model property under which {@link MoeTraining#fit} records the recipe a model was trained
     * with (as JSON), so that a Retrain oracle or a later run can use the same recipe.
     */
    public static final String MODEL_PROPERTY = "lethe.recipe";

    private static final Gson GSON = new Gson();

    private int epochs;
    private int batchSize;
    private float learningRate;
    private float momentum;
    private float weightDecay;
    private float routerWeightDecay;
    private float routerClip;
    private float gradientClip;
    private float warmupEpochs;
    private float balance;
    private float zLoss;
    private float mutualInformation;
    private float temperature;
    private long seed;
    private boolean nesterov;
    private boolean decoupledWeightDecay;
    private float biasLearningRateScale;
    private float labelSmoothing;
    private Schedule schedule;
    private float finalLearningRate;
    private float weightAverage;
    private int weightAverageEvery;
    private Flip flip;
    private int translate;
    // class routing (isolated recipe); boxed so that recipes without it keep their JSON
    private Float teacherForcing;
    private Float routerSupervision;
    private int[] expertOfClass;

    private TrainingRecipe() {}

    /** The learning-rate schedule. */
    public enum Schedule {
        /** Linear warm-up over {@code warmupEpochs}, then cosine decay to 0. */
        COSINE,
        /**
         * Triangular (one-cycle): linear from {@code finalLearningRate × lr} up to {@code lr} over
         * {@code warmupEpochs}, then linear down to {@code finalLearningRate × lr} at the end.
         */
        TRIANGULAR
    }

    /** Horizontal flips of training images (applied to each batch by {@link MoeTraining}). */
    public enum Flip {
        /** No flip. */
        NONE,
        /** Each image is flipped with probability 1/2 in every epoch, independently. */
        RANDOM,
        /**
         * Each image is flipped with probability 1/2 in the first epoch, then in every later epoch
         * exactly when it was not in the previous one: every image is seen both ways every two
         * epochs (Jordan 2024, "alternating flip", arXiv 2404.00498).
         */
        ALTERNATING
    }

    /** @return a builder with the default (plain) recipe */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the plain recipe with the default settings */
    public static TrainingRecipe plain() {
        return builder().build();
    }

    /** @return the plain recipe plus class-aware routing (mutual information 0.5, T = 0.5) */
    public static TrainingRecipe forgetReady() {
        return builder().optMutualInformation(0.5f, 0.5f).build();
    }

    /**
     * The isolated recipe: the plain recipe with class routing, so that each MoE expert learns
     * from the images of the classes it is assigned to and from no other image.
     *
     * <ul>
     *   <li><b>Assignment</b>: class c owns expert c of every MoE layer (E = C; with fewer experts,
     *       contiguous groups; {@link Builder#optExpertAssignment} for explicit groups). Build the
     *       model with top-1 routing and, recommended, a shared expert ({@code MoeResNet.Config
     *       optNumExperts(C).optTopK(1).optSharedExpert(true)}): with DeepSeekMoE's shared expert
     *       beside the routed ones (Dai et al., ACL 2024) the routed experts carry only what is
     *       specific to their class, and an image the router misroutes at inference still has the
     *       shared features.
     *   <li><b>Teacher forcing, 0.5</b>: in training, half the images (drawn per batch) go to their
     *       class's expert, the other half where the router sends them. An image the router
     *       misroutes runs through the other class's expert <em>detached</em> (no gradient to its
     *       parameters, BatchNorm in inference mode; {@code MoeBlock.setClassRouting}): the layers
     *       around learn to classify from what inference will give them, and yet no expert ever
     *       learns from another class's image, so the provenance ledger of an expert is exact.
     *       Forcing every image (1.0) would train the later layers only on correctly routed
     *       features; forcing none (0.0) would starve an expert of its class's images while the
     *       router is still learning.
     *   <li><b>Router supervision, 1.0</b>: a cross-entropy of the router logits against the
     *       assigned expert ({@code MoeLosses.routerSupervision}), so the router, which routes at
     *       inference, predicts the assignment. No load balancing (the assignment balances the
     *       load by the class frequencies) and no mutual-information loss.
     * </ul>
     *
     * <p>Compose with the fast optimisation: {@code fast().toBuilder().optClassRouting(0.5f,
     * 1f).optBalance(0f).build()} (what {@link #isolated(TrainingRecipe)} does).
     *
     * <p><b>Measured limits</b> (CIFAR-10, docs/results/isolation-diagnosis.md): trained jointly
     * this way, the head learns the class from which expert ran (the label leaks through the
     * forced routing), so the model is at best as accurate as its router; with {@link #fast()}'s
     * rates the router collapses to one expert and validation accuracy falls to 12 % after two
     * epochs, and at the plain rate it learns at about half the speed of {@link #fast()}. Use it
     * through {@code ExactTraining} (phases that keep the label out of the head's input), where it
     * trains; as a joint recipe it is not yet usable.
     *
     * @return the isolated recipe
     */
    public static TrainingRecipe isolated() {
        return isolated(plain());
    }

    /**
     * A recipe with the isolated recipe's routing settings (class routing, teacher forcing 0.5,
     * router supervision 1, no balancing or MI loss) and the optimisation of {@code base}, e.g.
     * {@code isolated(fast())}.
     *
     * @param base the recipe whose optimiser, schedule and augmentation are kept
     * @return the isolated variant of {@code base}
     */
    public static TrainingRecipe isolated(TrainingRecipe base) {
        return base.toBuilder().optClassRouting(0.5f, 1f).optBalance(0f).optMutualInformation(0f, base.temperature()).build();
    }

    /**
     * The fast recipe, for the {@link dev.lethe.moe.model.MoeResNet.Style#FAST} layout: few
     * epochs to high accuracy (see docs/PERFORMANCE.md and docs/results for its measured curve and
     * ablation). Nesterov SGD with decoupled weight decay and a higher learning rate for
     * BatchNorm biases, a triangular schedule, a weight average, alternating flips and 2-pixel
     * translations; batch 512, peak learning rate 0.8, weight decay 5e-5, BatchNorm shifts at 16×
     * the rate, no label smoothing. The rate was chosen on the validation split (FAST widths 32,
     * 128, 128, 5 epochs: peak 0.1 → 77.0 %, 0.2 → 82.9 %, 0.4 → 85.8 %, 0.8 → 87.8 %), and label
     * smoothing 0.2 was dropped there (it cost 0.46 and 1.04 points on two seeds;
     * docs/results/fast-recipe.md).
     * Compose with routing settings, e.g. {@code
     * fast().toBuilder().optMutualInformation(0.5f, 0.5f).build()}.
     *
     * @return the fast recipe
     */
    public static TrainingRecipe fast() {
        return builder()
                .optEpochs(10)
                .optBatchSize(512)
                .optLearningRate(0.8f)
                .optMomentum(0.85f)
                .optNesterov(true)
                .optWeightDecay(5e-5f)
                .optDecoupledWeightDecay(true)
                .optBiasLearningRateScale(16f)
                .optGradientClip(0f)
                .optSchedule(Schedule.TRIANGULAR, 0.07f)
                .optWarmupEpochs(2.3f)
                .optLabelSmoothing(0f)
                .optWeightAverage(0.99f, 5)
                .optAugmentation(Flip.ALTERNATING, 2)
                .build();
    }

    /** @return the number of epochs */
    public int epochs() {
        return epochs;
    }

    /** @return the batch size */
    public int batchSize() {
        return batchSize;
    }

    /** @return the peak learning rate */
    public float learningRate() {
        return learningRate;
    }

    /** @return the SGD momentum */
    public float momentum() {
        return momentum;
    }

    /** @return the weight decay of non-router parameters */
    public float weightDecay() {
        return weightDecay;
    }

    /** @return the weight decay of router parameters (default 0) */
    public float routerWeightDecay() {
        return routerWeightDecay;
    }

    /**
     * @return the element-wise gradient clip of router parameters (default 1; 0 = none): with a
     *     learnable logit scale and no weight decay, scale and weights can grow each other
     *     multiplicatively at large learning rates
     */
    public float routerClip() {
        return routerClip;
    }

    /** @return the element-wise gradient clip of every other parameter (default 5; 0 = none) */
    public float gradientClip() {
        return gradientClip;
    }

    /** @return the warm-up length in epochs */
    public float warmupEpochs() {
        return warmupEpochs;
    }

    /** @return the load-balancing loss weight */
    public float balance() {
        return balance;
    }

    /** @return the router z-loss weight */
    public float zLoss() {
        return zLoss;
    }

    /** @return the mutual-information loss weight (0 = plain MoE) */
    public float mutualInformation() {
        return mutualInformation;
    }

    /** @return the temperature of the mutual-information loss */
    public float temperature() {
        return temperature;
    }

    /** @return whether the momentum is Nesterov's (default false: heavy ball) */
    public boolean nesterov() {
        return nesterov;
    }

    /**
     * @return whether weight decay is decoupled from the gradient (Loshchilov &amp; Hutter 2019:
     *     {@code w -= lr * weightDecay * w} after the momentum step) rather than added to it as
     *     L2 (default false)
     */
    public boolean decoupledWeightDecay() {
        return decoupledWeightDecay;
    }

    /**
     * @return the factor on the learning rate of BatchNorm shifts and other biases of
     *     normalised layers (default 1); their weight decay is divided by it, so the decay per step
     *     stays the same
     */
    public float biasLearningRateScale() {
        return biasLearningRateScale == 0f ? 1f : biasLearningRateScale;
    }

    /** @return the label smoothing of the task cross-entropy, in [0, 1) (default 0) */
    public float labelSmoothing() {
        return labelSmoothing;
    }

    /** @return the learning-rate schedule (default {@link Schedule#COSINE}) */
    public Schedule schedule() {
        return schedule == null ? Schedule.COSINE : schedule;
    }

    /** @return the start and end learning rate of the triangular schedule, as a fraction of the peak */
    public float finalLearningRate() {
        return finalLearningRate;
    }

    /**
     * @return the decay of the exponential moving average of the weights per step (0 = none, the
     *     default); when on, the trained model holds the average
     */
    public float weightAverage() {
        return weightAverage;
    }

    /** @return every how many steps the weight average is updated (with decay^n) */
    public int weightAverageEvery() {
        return weightAverageEvery == 0 ? 1 : weightAverageEvery;
    }

    /** @return the horizontal flips of training images ({@link Flip#NONE} when not set) */
    public Flip flip() {
        return flip == null ? Flip.NONE : flip;
    }

    /**
     * @return the largest random translation of training images in pixels, each axis, with
     *     reflected borders (0 = none)
     */
    public int translate() {
        return translate;
    }

    /** @return whether the recipe augments training batches itself (flips or translations) */
    public boolean augments() {
        return flip() != Flip.NONE || translate > 0;
    }

    /** @return whether training routes images by class ({@link #isolated()}) */
    public boolean classRouting() {
        return teacherForcing != null;
    }

    /**
     * @return with class routing, the probability that a training image goes to its class's
     *     expert rather than the router's choice (0 without class routing)
     */
    public float teacherForcing() {
        return teacherForcing == null ? 0f : teacherForcing;
    }

    /** @return the weight of the router's cross-entropy against the assigned expert (0 = off) */
    public float routerSupervision() {
        return routerSupervision == null ? 0f : routerSupervision;
    }

    /**
     * The expert of each class under class routing: the explicit assignment if set, else one
     * expert per class when the layers have at least C experts, else contiguous groups.
     *
     * @param numClasses C
     * @param numExperts E of the MoE layers
     * @return the assignment
     * @throws IllegalArgumentException if an explicit assignment does not fit C and E
     */
    public ExpertAssignment expertAssignment(int numClasses, int numExperts) {
        if (expertOfClass != null) {
            Preconditions.checkArgument(
                    expertOfClass.length == numClasses,
                    "the recipe's expert assignment names %s classes but the model has %s",
                    expertOfClass.length,
                    numClasses);
            return ExpertAssignment.of(numExperts, expertOfClass);
        }
        if (numExperts >= numClasses) {
            return ExpertAssignment.of(numExperts, ExpertAssignment.onePerClass(numClasses).toArray());
        }
        return ExpertAssignment.contiguous(numClasses, numExperts);
    }

    /** @return the seed of initialisation, routing noise and data order */
    public long seed() {
        return seed;
    }

    /**
     * @return the name of the recipe family: "isolated" with class routing, "forget-ready" with
     *     the MI loss, else "plain"; with
     *     the fast optimisation ({@link #nesterov()}) prefixed by "fast-"
     */
    public String name() {
        String routing = classRouting() ? "isolated" : mutualInformation > 0 ? "forget-ready" : "plain";
        return nesterov ? "fast-" + routing : routing;
    }

    /** @return a builder starting from this recipe */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = GSON.fromJson(GSON.toJson(this), TrainingRecipe.class);
        return b;
    }

    /** @return the recipe as JSON */
    public String toJson() {
        return GSON.toJson(this);
    }

    /**
     * @param json JSON written by {@link #toJson()}
     * @return the recipe
     */
    public static TrainingRecipe fromJson(String json) {
        TrainingRecipe r = GSON.fromJson(json, TrainingRecipe.class);
        r.validate();
        return r;
    }

    /**
     * The recipe a model was trained with, as {@link MoeTraining#fit} recorded it in the model's
     * {@link #MODEL_PROPERTY} property (saved and loaded with the model).
     *
     * @param model a model
     * @return its recipe, or empty when the model records none (trained elsewhere)
     * @throws IllegalArgumentException if the recorded recipe is not valid JSON of a recipe
     */
    public static java.util.Optional<TrainingRecipe> of(ai.djl.Model model) {
        String json = model.getProperty(MODEL_PROPERTY);
        return json == null || json.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(fromJson(json));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrainingRecipe && toJson().equals(((TrainingRecipe) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return name() + toJson();
    }

    private void validate() {
        Preconditions.checkArgument(epochs >= 1, "epochs (%s) must be >= 1", epochs);
        Preconditions.checkArgument(batchSize >= 1, "batchSize (%s) must be >= 1", batchSize);
        Preconditions.checkArgument(
                learningRate > 0 && Float.isFinite(learningRate),
                "learningRate (%s) must be finite and > 0",
                learningRate);
        Preconditions.checkArgument(
                momentum >= 0 && momentum < 1, "momentum (%s) must be in [0, 1)", momentum);
        Preconditions.checkArgument(weightDecay >= 0, "weightDecay (%s) must be >= 0", weightDecay);
        Preconditions.checkArgument(
                routerWeightDecay >= 0, "routerWeightDecay (%s) must be >= 0", routerWeightDecay);
        Preconditions.checkArgument(routerClip >= 0, "routerClip (%s) must be >= 0", routerClip);
        Preconditions.checkArgument(gradientClip >= 0, "gradientClip (%s) must be >= 0", gradientClip);
        Preconditions.checkArgument(
                warmupEpochs >= 0 && warmupEpochs <= epochs,
                "warmupEpochs (%s) must be in [0, epochs (%s)]",
                (Object) warmupEpochs,
                (Object) epochs);
        Preconditions.checkArgument(balance >= 0, "balance (%s) must be >= 0", balance);
        Preconditions.checkArgument(zLoss >= 0, "zLoss (%s) must be >= 0", zLoss);
        Preconditions.checkArgument(
                mutualInformation >= 0, "mutualInformation (%s) must be >= 0", mutualInformation);
        Preconditions.checkArgument(temperature > 0, "temperature (%s) must be > 0", temperature);
        Preconditions.checkArgument(
                biasLearningRateScale() > 0, "biasLearningRateScale (%s) must be > 0", biasLearningRateScale);
        Preconditions.checkArgument(
                labelSmoothing >= 0 && labelSmoothing < 1, "labelSmoothing (%s) must be in [0, 1)", labelSmoothing);
        Preconditions.checkArgument(
                finalLearningRate >= 0 && finalLearningRate <= 1,
                "finalLearningRate (%s) must be in [0, 1]",
                finalLearningRate);
        Preconditions.checkArgument(
                weightAverage >= 0 && weightAverage < 1, "weightAverage (%s) must be in [0, 1)", weightAverage);
        Preconditions.checkArgument(
                weightAverageEvery >= 0, "weightAverageEvery (%s) must be >= 1", weightAverageEvery);
        Preconditions.checkArgument(translate >= 0 && translate <= 8, "translate (%s) must be in [0, 8]", translate);
        Preconditions.checkArgument(
                teacherForcing == null || (teacherForcing >= 0 && teacherForcing <= 1),
                "teacherForcing (%s) must be in [0, 1]",
                teacherForcing);
        Preconditions.checkArgument(
                routerSupervision == null || (routerSupervision >= 0 && Float.isFinite(routerSupervision)),
                "routerSupervision (%s) must be finite and >= 0",
                routerSupervision);
        Preconditions.checkArgument(
                expertOfClass == null || teacherForcing != null,
                "an expert assignment needs class routing (optClassRouting)");
    }

    /** Builds a {@link TrainingRecipe}. */
    public static final class Builder {
        private TrainingRecipe r = new TrainingRecipe();

        Builder() {
            r.epochs = 10;
            r.batchSize = 128;
            r.learningRate = 0.1f;
            r.momentum = 0.9f;
            r.weightDecay = 5e-4f;
            r.routerWeightDecay = 0f;
            r.routerClip = 1f;
            r.gradientClip = 5f;
            r.warmupEpochs = 1f;
            r.balance = 1e-2f;
            r.zLoss = 1e-3f;
            r.mutualInformation = 0f;
            r.temperature = 0.5f;
            r.flip = Flip.RANDOM;
            r.translate = 4;
        }

        /**
         * @param epochs epochs, &gt;= 1; default 10
         * @return this builder
         */
        public Builder optEpochs(int epochs) {
            r.epochs = epochs;
            return this;
        }

        /**
         * @param batchSize batch size; default 128
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            r.batchSize = batchSize;
            return this;
        }

        /**
         * @param learningRate peak learning rate; default 0.1
         * @return this builder
         */
        public Builder optLearningRate(float learningRate) {
            r.learningRate = learningRate;
            return this;
        }

        /**
         * @param momentum SGD momentum in [0, 1); default 0.9
         * @return this builder
         */
        public Builder optMomentum(float momentum) {
            r.momentum = momentum;
            return this;
        }

        /**
         * @param weightDecay weight decay of non-router parameters; default 5e-4
         * @return this builder
         */
        public Builder optWeightDecay(float weightDecay) {
            r.weightDecay = weightDecay;
            return this;
        }

        /**
         * @param weightDecay weight decay of router parameters; default 0 (recommended)
         * @return this builder
         */
        public Builder optRouterWeightDecay(float weightDecay) {
            r.routerWeightDecay = weightDecay;
            return this;
        }

        /**
         * @param clip element-wise gradient clip of router parameters, &gt;= 0; default 1 (0 = off)
         * @return this builder
         */
        public Builder optRouterClip(float clip) {
            r.routerClip = clip;
            return this;
        }

        /**
         * @param clip element-wise gradient clip of non-router parameters, &gt;= 0; default 5 (0 =
         *     off): a safety net against a single exploding step
         * @return this builder
         */
        public Builder optGradientClip(float clip) {
            r.gradientClip = clip;
            return this;
        }

        /**
         * @param epochs linear warm-up length in epochs; default 1
         * @return this builder
         */
        public Builder optWarmupEpochs(float epochs) {
            r.warmupEpochs = epochs;
            return this;
        }

        /**
         * @param weight Switch load-balancing loss weight; default 1e-2
         * @return this builder
         */
        public Builder optBalance(float weight) {
            r.balance = weight;
            return this;
        }

        /**
         * @param weight router z-loss weight; default 1e-3
         * @return this builder
         */
        public Builder optZLoss(float weight) {
            r.zLoss = weight;
            return this;
        }

        /**
         * @param weight mutual-information loss weight; default 0 (off)
         * @param temperature its softmax temperature; default 0.5
         * @return this builder
         */
        public Builder optMutualInformation(float weight, float temperature) {
            r.mutualInformation = weight;
            r.temperature = temperature;
            return this;
        }

        /**
         * @param nesterov true for Nesterov momentum; default false (heavy ball)
         * @return this builder
         */
        public Builder optNesterov(boolean nesterov) {
            r.nesterov = nesterov;
            return this;
        }

        /**
         * @param decoupled true to decay weights apart from the gradient (AdamW-style); default
         *     false (L2 added to the gradient)
         * @return this builder
         */
        public Builder optDecoupledWeightDecay(boolean decoupled) {
            r.decoupledWeightDecay = decoupled;
            return this;
        }

        /**
         * @param scale factor on the learning rate of BatchNorm shifts and whitening biases, &gt;
         *     0; default 1
         * @return this builder
         */
        public Builder optBiasLearningRateScale(float scale) {
            r.biasLearningRateScale = scale;
            return this;
        }

        /**
         * @param smoothing label smoothing of the cross-entropy, in [0, 1); default 0
         * @return this builder
         */
        public Builder optLabelSmoothing(float smoothing) {
            r.labelSmoothing = smoothing;
            return this;
        }

        /**
         * @param schedule the learning-rate schedule; default {@link Schedule#COSINE}
         * @param finalLearningRate for {@link Schedule#TRIANGULAR}: the start and end rate as a
         *     fraction of the peak, in [0, 1]
         * @return this builder
         */
        public Builder optSchedule(Schedule schedule, float finalLearningRate) {
            r.schedule = Preconditions.checkNotNull(schedule, "schedule must not be null");
            r.finalLearningRate = finalLearningRate;
            return this;
        }

        /**
         * @param decay per-step decay of the weight average in [0, 1); 0 = off (default)
         * @param every update the average every this many steps (with decay^every), &gt;= 1
         * @return this builder
         */
        public Builder optWeightAverage(float decay, int every) {
            Preconditions.checkArgument(every >= 1, "weight average interval (%s) must be >= 1", every);
            r.weightAverage = decay;
            r.weightAverageEvery = every;
            return this;
        }

        /**
         * @param flip horizontal flips; default {@link Flip#RANDOM}
         * @param translate largest translation in pixels (reflected borders), in [0, 8]; default 4
         * @return this builder
         */
        public Builder optAugmentation(Flip flip, int translate) {
            r.flip = Preconditions.checkNotNull(flip, "flip must not be null");
            r.translate = translate;
            return this;
        }

        /**
         * Routes training images by class ({@link TrainingRecipe#isolated()}): needs MoE layers
         * with top-1 routing.
         *
         * @param teacherForcing probability in [0, 1] that an image goes to its class's expert
         *     rather than the router's choice (misrouted experts run detached); 0.5 in {@link
         *     TrainingRecipe#isolated()}
         * @param routerSupervision weight of the router's cross-entropy against the assigned
         *     expert, &gt;= 0; 1 in {@link TrainingRecipe#isolated()}
         * @return this builder
         */
        public Builder optClassRouting(float teacherForcing, float routerSupervision) {
            r.teacherForcing = teacherForcing;
            r.routerSupervision = routerSupervision;
            return this;
        }

        /** @return this builder, with class routing off (the default) */
        public Builder noClassRouting() {
            r.teacherForcing = null;
            r.routerSupervision = null;
            r.expertOfClass = null;
            return this;
        }

        /**
         * @param expertOfClass the expert of each class under class routing (groups: several
         *     classes on one expert); default one expert per class, or contiguous groups when the
         *     layers have fewer experts than classes
         * @return this builder
         */
        public Builder optExpertAssignment(int... expertOfClass) {
            r.expertOfClass = expertOfClass.clone();
            return this;
        }

        /**
         * @param seed seed; default 0
         * @return this builder
         */
        public Builder optSeed(long seed) {
            r.seed = seed;
            return this;
        }

        /**
         * @return the recipe
         * @throws IllegalArgumentException naming the first invalid setting
         */
        public TrainingRecipe build() {
            TrainingRecipe out = GSON.fromJson(GSON.toJson(r), TrainingRecipe.class);
            out.validate();
            return out;
        }
    }
}

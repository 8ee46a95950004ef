package dev.lethe.moe.model;

import dev.lethe.moe.ScalarOps;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.Dispatch;
import dev.lethe.moe.ConvExperts;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.InitialValues;
import dev.lethe.moe.SharedExpertMoe;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A ready Mixture-of-Experts ResNet for 32×32 images (CIFAR), with MoE stages inside the backbone.
 *
 * <pre>
 *   stem      conv3x3(3 → w1) BN ReLU                          32×32
 *   stage 1   blocks × residual(w1)                            32×32
 *   stage 2   conv3x3/2(w1 → w2) BN ReLU, then MoE or residual 16×16
 *   stage 3   conv3x3/2(w2 → w3) BN ReLU, then MoE or residual  8×8
 *   features  global average pool → (B, w3)                    the penultimate embedding
 *   head      Linear(w3 → classes)
 * </pre>
 *
 * <p>An MoE stage is a {@link MoeBlock} of E residual experts ({@link ConvExperts#residual(int)})
 * with top-k routing; a dense stage is one residual block. Each further block of a stage (when
 * {@code blocksPerStage > 1}) is a dense residual block placed before it. With {@link
 * Config#sharedExpert()} an MoE stage also has a shared expert of the same form that every image
 * goes through ({@link SharedExpertMoe}, DeepSeekMoE-style).
 *
 * <p>Training passes: the labels DJL gives a training pass ({@code Trainer.forward(data,
 * labels)}) reach the MoE layers (for class routing, {@link MoeBlock#setClassRouting}); and each
 * top-level part of the feature stack (a stage, an MoE layer, the stem) and the head whose
 * parameters are all frozen runs in inference mode, so a frozen part's BatchNorm statistics do not
 * move while the rest trains ({@link MoeBlocks#isFrozen}).
 *
 * <p>Cost: {@link Config#flopsPerImage()} gives the forward FLOPs per image (2 × multiply-adds of
 * the convolutions and the head, counting the k active experts). The default configuration —
 * widths (32, 64, 128), one block per stage, MoE at stages 2 and 3, 8 experts, top-2 — costs about
 * 210 MFLOPs per image forward and has about 3.1 M parameters (2.9 M of them in the experts, of
 * which an image uses k/E); widths (16, 32, 64) cost about 53 MFLOPs and have about 0.77 M.
 */
public final class MoeResNet extends AbstractBlock implements EmbeddingClassifier {

    private static final byte VERSION = 1;
    private static final float WHITENING_EPS = 5e-4f;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private final Config config;
    private final SequentialBlock features;
    private final Block head;

    private MoeResNet(Config config) {
        super(VERSION);
        this.config = config;
        SequentialBlock f = config.style() == Style.FAST ? fastFeatures(config) : resnetFeatures(config);
        features = addChildBlock("features", f);
        Block linear = Linear.builder().setUnits(config.numClasses).optBias(config.style() != Style.FAST).build();
        if (config.logitScale() != 1f) {
            float scale = config.logitScale();
            linear = new SequentialBlock().add(linear).add(x -> new NDList(ScalarOps.mul(x.singletonOrThrow(), scale)));
        }
        head = addChildBlock("head", linear);
    }

    private static SequentialBlock resnetFeatures(Config config) {
        SequentialBlock f = new SequentialBlock();
        f.add(ConvExperts.convBn(config.widths[0], 1)).add(Activation::relu);
        for (int stage = 1; stage <= 3; stage++) {
            int width = config.widths[stage - 1];
            if (stage > 1) {
                f.add(ConvExperts.convBn(width, 2)).add(Activation::relu);
            }
            for (int b = 0; b < config.blocksPerStage - 1; b++) {
                f.add(ConvExperts.residualBlock(width));
            }
            if (config.isMoeStage(stage)) {
                f.add(moe(config, stage, ConvExperts.residual(width)));
            } else {
                f.add(ConvExperts.residualBlock(width));
            }
        }
        return f.add(Pool.globalAvgPool2dBlock()).add(Blocks.batchFlattenBlock());
    }

    private static SequentialBlock fastFeatures(Config config) {
        SequentialBlock f = new SequentialBlock();
        f.add(new PatchWhitening(WHITENING_EPS)).add(Activation::gelu);
        for (int stage = 1; stage <= 3; stage++) {
            int width = config.widths[stage - 1];
            int convs = config.blocksPerStage + 1;
            if (config.isMoeStage(stage)) {
                f.add(moe(config, stage, index -> pooledBlock(width, convs)));
            } else {
                f.add(pooledBlock(width, convs));
            }
        }
        return f.add(Pool.globalMaxPool2dBlock()).add(Blocks.batchFlattenBlock());
    }

    private static Block moe(Config config, int stage, dev.lethe.moe.ExpertFactory experts) {
        MoeBlock routed = MoeBlock.builder()
                .setNumExperts(config.numExperts)
                .setExpertFactory(experts)
                .optTopK(config.topK)
                .optDispatch(config.dispatch)
                .optNoise(config.noiseRatio, config.noiseFloor)
                .optSeed(config.seed * 31 + stage)
                .build();
        return config.sharedExpert() ? new SharedExpertMoe(experts.create(config.numExperts), routed) : routed;
    }

    /**
     * The block of a {@link Style#FAST} stage: {@code conv3x3(→ w) maxpool2 BN GELU}, then {@code
     * convs - 1} times {@code conv3x3(w → w) BN GELU} with identity-initialised convolutions.
     * BatchNorm has no scale (fixed at 1) and a fast running average (momentum 0.4 in DJL's
     * convention, i.e. 0.6 of each batch).
     */
    static Block pooledBlock(int width, int convs) {
        SequentialBlock b = new SequentialBlock();
        b.add(conv3x3(width)).add(Pool.maxPool2dBlock(new Shape(2, 2))).add(fastBatchNorm()).add(Activation::gelu);
        for (int i = 1; i < convs; i++) {
            Block conv = conv3x3(width);
            conv.setInitializer(new IdentityInitializer(), ai.djl.nn.Parameter.Type.WEIGHT);
            b.add(conv).add(fastBatchNorm()).add(Activation::gelu);
        }
        return b;
    }

    private static Block conv3x3(int width) {
        return Conv2d.builder()
                .setKernelShape(new Shape(3, 3))
                .optPadding(new Shape(1, 1))
                .optBias(false)
                .setFilters(width)
                .build();
    }

    /** A BatchNorm without a trained scale: DJL's frozen scale of ones, {@linkplain MoeBlocks#markFixed marked} fixed. */
    private static Block fastBatchNorm() {
        BatchNorm bn = BatchNorm.builder().optScale(false).optMomentum(0.4f).build();
        MoeBlocks.markFixed(bn.getDirectParameters().get("gamma"));
        return bn;
    }

    /**
     * A builder of the network: the same settings as {@link Config#builder()}, but {@link
     * Builder#build()} returns the (uninitialised) block.
     *
     * @return a new builder with the default configuration
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a new, uninitialised network.
     *
     * @param config the configuration
     * @return the network
     */
    public static MoeResNet of(Config config) {
        return new MoeResNet(Preconditions.checkNotNull(config, "config must not be null"));
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    @Override
    public Block features() {
        return features;
    }

    @Override
    public Block classifier() {
        return head;
    }

    @Override
    public int embeddingSize() {
        return config.widths[2];
    }

    @Override
    public int numClasses() {
        return config.numClasses;
    }

    /** @return the MoE layers, in forward order */
    public List<MoeBlock> moeLayers() {
        return ImmutableList.copyOf(MoeBlocks.find(this).values());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        return run(parameterStore, inputs, null, training, params);
    }

    /** A training pass given the labels: they reach the MoE layers (class routing). */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            NDList labels,
            PairList<String, Object> params) {
        return run(parameterStore, inputs, labels, true, params);
    }

    /** Runs the feature stack part by part, then the head; frozen parts in inference mode. */
    private NDList run(
            ParameterStore parameterStore,
            NDList inputs,
            NDList labels,
            boolean training,
            PairList<String, Object> params) {
        NDList x = inputs;
        for (Pair<String, Block> part : features.getChildren()) {
            x = runPart(part.getValue(), parameterStore, x, labels, training, params);
        }
        return runPart(head, parameterStore, x, labels, training, params);
    }

    private static NDList runPart(
            Block part,
            ParameterStore parameterStore,
            NDList x,
            NDList labels,
            boolean training,
            PairList<String, Object> params) {
        boolean mode = training && !MoeBlocks.isFrozen(part);
        if (mode && labels != null) {
            return part.forward(parameterStore, x, labels, params);
        }
        return part.forward(parameterStore, x, mode, params);
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        features.initialize(manager, dataType, inputShapes);
        Shape[] embedding = features.getOutputShapes(inputShapes);
        head.initialize(manager, dataType, embedding);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return head.getOutputShapes(features.getOutputShapes(inputShapes));
    }

    /**
     * Creates a DJL {@link Model} holding a new network, initialised for (1, 3, 32, 32) inputs and
     * {@linkplain InitialValues#mark marked} as such, so that its training records a
     * complete provenance ledger.
     *
     * @param config the configuration
     * @return the model; the caller closes it
     */
    public static Model newModel(Config config) {
        Model model = Model.newInstance("lethe-moe-resnet");
        MoeResNet net = of(config);
        model.setBlock(net);
        net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 32, 32));
        InitialValues.mark(model);
        return model;
    }

    /**
     * Saves a model built with {@link #newModel(Config)}: DJL's parameter file plus {@code
     * lethe-model.json} (the configuration and the metadata) in the directory. See {@link
     * ModelFiles}.
     *
     * @param model the model; its block must be a {@link MoeResNet}
     * @param directory the directory, created if needed
     * @param metadata extra string properties recorded next to the configuration (may be empty)
     * @throws IOException if writing fails
     */
    public static void save(Model model, Path directory, Map<String, String> metadata)
            throws IOException {
        ModelFiles.save(model, directory, metadata);
    }

    /**
     * Loads a model saved with {@link #save(Model, Path, Map)}; the outputs are bit-identical to
     * the saved model's. See {@link ModelFiles}.
     *
     * @param directory the directory
     * @return the model; the caller closes it
     * @throws IOException if the directory, the configuration or the parameters are missing or
     *     corrupt (the message names the file)
     */
    public static Model load(Path directory) throws IOException {
        return ModelFiles.load(directory);
    }

    /**
     * Reads the metadata saved with a model.
     *
     * @param directory the model directory
     * @return the metadata map
     * @throws IOException if the configuration file is missing or unreadable
     */
    public static Map<String, String> readMetadata(Path directory) throws IOException {
        return ModelFiles.readMetadata(directory);
    }

    /** The layout of a {@link MoeResNet}. */
    public enum Style {
        /**
         * The residual layout: a 3×3 stem at 32×32, stages of residual basic blocks, strided
         * convolutions between stages, global average pooling, a linear head with bias.
         */
        RESNET,
        /**
         * The fast layout, for few-epoch training: a fixed {@link PatchWhitening} stem (2×2, 24
         * channels, 31×31), then per stage {@code conv3x3 maxpool2 BN GELU} and {@code
         * blocksPerStage} identity-initialised {@code conv3x3 BN GELU} (31 → 15 → 7 → 3), global
         * max pooling, a linear head without bias. BatchNorm has no scale and a fast running
         * average. Wide stages at small resolutions use the CPU's matrix units well (the design
         * follows the ideas of Jordan 2024, arXiv 2404.00498; our own code).
         */
        FAST
    }

    /** The immutable configuration of a {@link MoeResNet}; JSON-serialisable. */
    public static final class Config {
        private int numClasses;
        private int[] widths;
        private int blocksPerStage;
        private int[] moeStages;
        private int numExperts;
        private int topK;
        private Dispatch dispatch;
        private float noiseRatio;
        private float noiseFloor;
        private long seed;
        private Style style;
        private float logitScale;
        private boolean sharedExpert;

        private Config() {}

        /** @return the number of classes */
        public int numClasses() {
            return numClasses;
        }

        /** @return the widths of stages 1, 2 and 3 */
        public int[] widths() {
            return widths.clone();
        }

        /** @return blocks per stage */
        public int blocksPerStage() {
            return blocksPerStage;
        }

        /** @return the stages (1..3) that are MoE stages */
        public int[] moeStages() {
            return moeStages.clone();
        }

        /** @return E */
        public int numExperts() {
            return numExperts;
        }

        /** @return k */
        public int topK() {
            return topK;
        }

        /** @return the dispatch mode */
        public Dispatch dispatch() {
            return dispatch;
        }

        /** @return the routing noise seed */
        public long seed() {
            return seed;
        }

        /** @return the layout of the network */
        public Style style() {
            return style == null ? Style.RESNET : style;
        }

        /** @return the constant the head's logits are multiplied by (1 = none) */
        public float logitScale() {
            return logitScale == 0f ? 1f : logitScale;
        }

        /** @return whether each MoE stage has a shared expert beside the routed ones (default false) */
        public boolean sharedExpert() {
            return sharedExpert;
        }

        boolean isMoeStage(int stage) {
            for (int s : moeStages) {
                if (s == stage) {
                    return true;
                }
            }
            return false;
        }

        /**
         * @return forward FLOPs per 32×32 image (2 × multiply-adds of convolutions and head,
         *     counting k experts per MoE stage, and the shared expert if any; BatchNorm, ReLU and routing are not counted)
         */
        public long flopsPerImage() {
            return style() == Style.FAST ? fastFlops() : resnetFlops();
        }

        private long resnetFlops() {
            long[] side = {32, 16, 8};
            long macs = 32L * 32 * 27 * widths[0];
            for (int stage = 1; stage <= 3; stage++) {
                long w = widths[stage - 1];
                long hw = side[stage - 1] * side[stage - 1];
                if (stage > 1) {
                    macs += hw * 9 * widths[stage - 2] * w;
                }
                long block = 2 * hw * 9 * w * w;
                macs += (blocksPerStage - 1) * block;
                macs += (isMoeStage(stage) ? activeExperts() : 1) * block;
            }
            macs += (long) widths[2] * numClasses;
            return 2 * macs;
        }

        private int activeExperts() {
            return topK + (sharedExpert ? 1 : 0);
        }

        private long fastFlops() {
            long side = 31;
            long in = 24;
            long macs = side * side * 12 * in;
            for (int stage = 1; stage <= 3; stage++) {
                long w = widths[stage - 1];
                long pooled = side / 2;
                long block = side * side * 9 * in * w + blocksPerStage * pooled * pooled * 9 * w * w;
                macs += (isMoeStage(stage) ? activeExperts() : 1) * block;
                side = pooled;
                in = w;
            }
            macs += (long) widths[2] * numClasses;
            return 2 * macs;
        }

        /** @return a builder of a configuration, with every setting at its default */
        public static Builder builder() {
            return new Builder();
        }

        /** @return a builder starting from this configuration */
        public Builder toBuilder() {
            Builder b = new Builder();
            b.c = copy();
            return b;
        }

        private Config copy() {
            Config c = new Config();
            c.numClasses = numClasses;
            c.widths = widths.clone();
            c.blocksPerStage = blocksPerStage;
            c.moeStages = moeStages.clone();
            c.numExperts = numExperts;
            c.topK = topK;
            c.dispatch = dispatch;
            c.noiseRatio = noiseRatio;
            c.noiseFloor = noiseFloor;
            c.seed = seed;
            c.style = style();
            c.logitScale = logitScale();
            c.sharedExpert = sharedExpert;
            return c;
        }

        void validate() {
            Preconditions.checkArgument(numClasses >= 2, "numClasses (%s) must be >= 2", numClasses);
            Preconditions.checkArgument(
                    widths != null && widths.length == 3,
                    "widths must have 3 entries but has %s",
                    widths == null ? "none" : Arrays.toString(widths));
            for (int w : widths) {
                Preconditions.checkArgument(w > 0, "widths %s must all be > 0", Arrays.toString(widths));
            }
            Preconditions.checkArgument(
                    blocksPerStage >= 1, "blocksPerStage (%s) must be >= 1", blocksPerStage);
            Preconditions.checkArgument(moeStages != null, "moeStages must not be null");
            for (int s : moeStages) {
                Preconditions.checkArgument(
                        s >= 1 && s <= 3, "moeStages %s must be in 1..3", Arrays.toString(moeStages));
            }
            Preconditions.checkArgument(numExperts >= 1, "numExperts (%s) must be >= 1", numExperts);
            Preconditions.checkArgument(
                    topK >= 1 && topK <= numExperts,
                    "topK (%s) must be in [1, numExperts (%s)]",
                    topK,
                    numExperts);
            Preconditions.checkArgument(dispatch != null, "dispatch must not be null");
            Preconditions.checkArgument(
                    logitScale() > 0 && Float.isFinite(logitScale()),
                    "logitScale (%s) must be finite and > 0",
                    logitScale());
        }

        @Override
        public String toString() {
            return GSON.toJson(this);
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Config)) {
                return false;
            }
            return GSON.toJson(this).equals(GSON.toJson(o));
        }

        @Override
        public int hashCode() {
            return GSON.toJson(this).hashCode();
        }

        /**
         * The settings shared by {@link Config.Builder} and {@link MoeResNet.Builder}. Every setting
         * has a default.
         *
         * @param <T> the concrete builder
         */
        public abstract static class BaseBuilder<T extends BaseBuilder<T>> {
            Config c;

            BaseBuilder() {
                c = new Config();
                c.numClasses = 10;
                c.widths = new int[] {32, 64, 128};
                c.blocksPerStage = 1;
                c.moeStages = new int[] {2, 3};
                c.numExperts = 8;
                c.topK = 2;
                c.dispatch = Dispatch.SPARSE;
                c.noiseRatio = 0.5f;
                c.noiseFloor = 1e-3f;
                c.style = Style.RESNET;
                c.logitScale = 1f;
            }

            /**
             * The fast layout with the settings the fast recipe ({@code TrainingRecipe.fast()}) was
             * measured with: {@link Style#FAST}, widths 64, 256, 256, the MoE in stage 3 and logits
             * scaled by 1/8 (a peak learning rate of 0.8 diverges without it). Later settings
             * override these.
             *
             * @return this builder
             */
            public T optFastLayout() {
                c.style = Style.FAST;
                c.widths = new int[] {64, 256, 256};
                c.moeStages = new int[] {3};
                c.logitScale = 0.125f;
                return self();
            }

            /**
             * @param style the layout; default {@link Style#RESNET}
             * @return this builder
             */
            public T optStyle(Style style) {
                c.style = Preconditions.checkNotNull(style, "style must not be null");
                return self();
            }

            /**
             * @param scale constant the logits are multiplied by, &gt; 0; default 1 (a small value,
             *     e.g. 1/8, keeps the early logits of a wide, unnormalised head small)
             * @return this builder
             */
            public T optLogitScale(float scale) {
                c.logitScale = scale;
                return self();
            }

            /**
             * @param numClasses classes of the head; default 10
             * @return this builder
             */
            public T optNumClasses(int numClasses) {
                c.numClasses = numClasses;
                return self();
            }

            /**
             * @param w1 width of stage 1 (32×32)
             * @param w2 width of stage 2 (16×16)
             * @param w3 width of stage 3 (8×8), also the embedding size; default (32, 64, 128)
             * @return this builder
             */
            public T optWidths(int w1, int w2, int w3) {
                c.widths = new int[] {w1, w2, w3};
                return self();
            }

            /**
             * @param blocks residual blocks per stage (the last one is the MoE block in an MoE
             *     stage); default 1
             * @return this builder
             */
            public T optBlocksPerStage(int blocks) {
                c.blocksPerStage = blocks;
                return self();
            }

            /**
             * @param stages which of stages 1..3 are MoE stages; default {2, 3}; none = a plain
             *     ResNet
             * @return this builder
             */
            public T optMoeStages(int... stages) {
                c.moeStages = stages.clone();
                return self();
            }

            /**
             * @param numExperts experts per MoE stage; default 8
             * @return this builder
             */
            public T optNumExperts(int numExperts) {
                c.numExperts = numExperts;
                return self();
            }

            /**
             * @param topK experts per image; default 2
             * @return this builder
             */
            public T optTopK(int topK) {
                c.topK = topK;
                return self();
            }

            /**
             * @param dispatch dispatch mode of the MoE stages; default SPARSE
             * @return this builder
             */
            public T optDispatch(Dispatch dispatch) {
                c.dispatch = dispatch;
                return self();
            }

            /**
             * @param ratio relative router noise; default 0.5
             * @param floor absolute router noise floor; default 1e-3
             * @return this builder
             */
            public T optNoise(float ratio, float floor) {
                c.noiseRatio = ratio;
                c.noiseFloor = floor;
                return self();
            }

            /**
             * @param seed seed of the routing noise; default 0
             * @return this builder
             */
            public T optSeed(long seed) {
                c.seed = seed;
                return self();
            }

            /**
             * @param shared true to give every MoE stage a shared expert beside the E routed ones
             *     ({@link SharedExpertMoe}); default false. Costs one more expert per image and per
             *     MoE stage.
             * @return this builder
             */
            public T optSharedExpert(boolean shared) {
                c.sharedExpert = shared;
                return self();
            }


            abstract T self();

            /**
             * @return the configuration
             * @throws IllegalArgumentException naming the first invalid setting
             */
            public Config config() {
                Config out = c.copy();
                out.validate();
                return out;
            }
        }

        /** Builds a {@link Config}. */
        public static final class Builder extends BaseBuilder<Builder> {
            Builder() {}

            @Override
            Builder self() {
                return this;
            }

            /**
             * @return the configuration
             * @throws IllegalArgumentException naming the first invalid setting
             */
            public Config build() {
                return config();
            }
        }
    }

    /** Builds a {@link MoeResNet} block (uninitialised). */
    public static final class Builder extends Config.BaseBuilder<Builder> {
        Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * @return a new, uninitialised network
         * @throws IllegalArgumentException naming the first invalid setting
         */
        public MoeResNet build() {
            return new MoeResNet(config());
        }
    }

    /** @return the names of the MoE layers, for reports */
    public List<String> moeLayerNames() {
        return new ArrayList<>(MoeBlocks.find(this).keySet());
    }
}

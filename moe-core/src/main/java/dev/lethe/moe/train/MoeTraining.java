package dev.lethe.moe.train;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.BatchSampler;
import ai.djl.training.dataset.Sampler;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.training.tracker.Tracker;
import ai.djl.training.tracker.WarmUpTracker;
import ai.djl.translate.Batchifier;
import ai.djl.translate.TranslateException;
import com.google.common.base.Preconditions;
import dev.lethe.moe.InitialValues;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.loss.MoeTrainingLoss;
import dev.lethe.moe.loss.SmoothedCrossEntropyLoss;
import dev.lethe.moe.model.PatchWhitening;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.moe.routing.ExpertAssignment;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.routing.RoutingStats;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a classifier with a {@link TrainingRecipe} through DJL's {@link Trainer}: so the devices
 * (and DJL's multi-device data parallelism), listeners and evaluators of DJL apply.
 *
 * <p>Per batch: {@link EasyTrain#trainBatch} then {@link Trainer#step()}, each batch closed after
 * use (memory stays flat). Per epoch: validation accuracy and the inference routing statistics of
 * every MoE layer on the validation data. A non-finite loss stops training with an {@link
 * IllegalStateException} that names the epoch and batch.
 *
 * <p>The forward pass gets the labels (DJL's {@code Trainer.forward(data, labels)}), so a recipe
 * with class routing ({@link TrainingRecipe#isolated()}) routes by class. Frozen parameters stay
 * bit-identical: the optimizer skips them, frozen parts of a {@link
 * dev.lethe.moe.model.MoeResNet} run in inference mode, and the weight average leaves them alone.
 * Every run is recorded in the model's {@link ProvenanceLedger} (property {@value
 * ProvenanceLedger#MODEL_PROPERTY}): which classes' images reached which tensors.
 */
public final class MoeTraining {

    private MoeTraining() {}

    /**
     * Trains a model in place, and records the recipe ({@link TrainingRecipe#MODEL_PROPERTY}) and
     * the run's provenance ({@link ProvenanceLedger#MODEL_PROPERTY}, continuing the model's ledger
     * if it has one; a model that records a recipe but no ledger was trained before the ledger
     * began, and its new ledger says so: {@link ProvenanceLedger.Origin#UNKNOWN}) in the model.
     *
     * @param model the model, its block initialised (e.g. {@link
     *     dev.lethe.moe.model.MoeResNet#newModel})
     * @param train the training data; batches of (B, C, H, W) images and (B) class labels; its
     *     batch size should equal the recipe's (the schedule counts {@code ceil(size / batchSize)}
     *     steps per epoch)
     * @param validation validation data, or null
     * @param recipe the recipe
     * @param progress progress listener
     * @return the history
     * @throws IOException if the data cannot be read
     * @throws TranslateException if a batch cannot be made
     * @throws IllegalStateException if the loss becomes NaN or infinite
     */
    public static TrainingHistory fit(
            Model model,
            RandomAccessDataset train,
            Dataset validation,
            TrainingRecipe recipe,
            TrainingProgress progress)
            throws IOException, TranslateException {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkNotNull(train, "train must not be null");
        Preconditions.checkNotNull(recipe, "recipe must not be null");
        Block block = model.getBlock();
        Preconditions.checkArgument(
                block != null && block.isInitialized(),
                "the model's block must be initialised before training");
        Preconditions.checkArgument(train.size() > 0, "the training data is empty");
        int numClasses = numClasses(block);
        int batches = Math.toIntExact((train.size() + recipe.batchSize() - 1) / recipe.batchSize());
        int totalSteps = batches * recipe.epochs();
        Map<String, MoeBlock> layers = MoeBlocks.find(block);
        ProvenanceLedger recorded = ProvenanceLedger.of(model).orElse(null);
        // only a model without a ledger needs its values hashed: is it as initialised?
        ProvenanceLedger.Origin origin = recorded == null && !InitialValues.holds(model)
                ? ProvenanceLedger.Origin.UNKNOWN
                : ProvenanceLedger.Origin.INITIALISED;
        ProvenanceLedger.Recorder ledger = ProvenanceLedger.recorder(block, recorded, numClasses, origin);
        model.getProperties().remove(InitialValues.MODEL_PROPERTY); // the ledger carries the history now
        fitWhitening(block, train, ledger);
        Map<MoeBlock, ExpertAssignment> previousRouting = new LinkedHashMap<>();
        Map<MoeBlock, Float> previousForcing = new LinkedHashMap<>();
        if (recipe.classRouting()) {
            Preconditions.checkArgument(
                    !layers.isEmpty(), "the recipe %s routes images by class, but the model has no MoE layer", recipe.name());
            for (Map.Entry<String, MoeBlock> e : layers.entrySet()) {
                MoeBlock layer = e.getValue();
                Preconditions.checkArgument(
                        layer.getTopK() == 1,
                        "the recipe %s routes each image to one expert, but MoE layer %s has topK %s: build the"
                                + " model with top-1 routing (MoeResNet.Config optTopK(1))",
                        recipe.name(),
                        e.getKey(),
                        layer.getTopK());
            }
            for (MoeBlock layer : layers.values()) {
                previousRouting.put(layer, layer.classRouting().orElse(null));
                previousForcing.put(layer, layer.getTeacherForcing());
                layer.setClassRouting(recipe.expertAssignment(numClasses, layer.getNumExperts()), recipe.teacherForcing());
            }
        }
        try {
            return train(model, block, train, validation, recipe, progress, layers, numClasses, batches, totalSteps, ledger);
        } finally {
            for (Map.Entry<MoeBlock, ExpertAssignment> e : previousRouting.entrySet()) {
                if (e.getValue() == null) {
                    e.getKey().clearClassRouting();
                } else {
                    e.getKey().setClassRouting(e.getValue(), previousForcing.get(e.getKey()));
                }
            }
        }
    }

    private static TrainingHistory train(
            Model model,
            Block block,
            RandomAccessDataset train,
            Dataset validation,
            TrainingRecipe recipe,
            TrainingProgress progress,
            Map<String, MoeBlock> layers,
            int numClasses,
            int batches,
            int totalSteps,
            ProvenanceLedger.Recorder ledger)
            throws IOException, TranslateException {

        Loss task =
                recipe.labelSmoothing() > 0
                        ? new SmoothedCrossEntropyLoss("task", recipe.labelSmoothing())
                        : Loss.softmaxCrossEntropyLoss("task");
        MoeTrainingLoss moeLoss = null;
        RecordingLoss plainLoss = new RecordingLoss(task);
        Loss loss = plainLoss;
        if (!layers.isEmpty()) {
            moeLoss =
                    MoeTrainingLoss.builder(task, block)
                            .optBalance(recipe.balance())
                            .optZLoss(recipe.zLoss())
                            .optMutualInformation(recipe.mutualInformation(), recipe.temperature())
                            .optRouterSupervision(recipe.routerSupervision())
                            .build();
            loss = moeLoss;
        }
        FusedSgd sgd = optimizer(block, recipe, batches, totalSteps);
        DefaultTrainingConfig config = new DefaultTrainingConfig(loss).optOptimizer(sgd);
        BatchAugmentation augmentation = BatchAugmentation.of(recipe);

        List<EpochResult> results = new ArrayList<>();
        long runStart = System.nanoTime();
        try (sgd; Trainer trainer = model.newTrainer(config);
                WeightAverage average =
                        recipe.weightAverage() > 0
                                ? new WeightAverage(block, recipe.weightAverage(), recipe.weightAverageEvery(), ledger::learns)
                                : null) {
            Shape[] inputShapes = block.getInputShapes();
            if (inputShapes != null) {
                trainer.initialize(inputShapes);
            }
            int done = 0;
            for (int epoch = 1; epoch <= recipe.epochs(); epoch++) {
                long epochStart = System.nanoTime();
                Map<String, Double> sums = new LinkedHashMap<>();
                long images = 0;
                int batch = 0;
                Sampler order = new BatchSampler(new SeededShuffle(recipe.seed(), epoch), recipe.batchSize(), false);
                for (Batch b : train.getData(trainer.getManager(), order)) {
                    try (b) {
                        // the augmented batch shares b's manager: closing b frees both
                        EasyTrain.trainBatch(trainer, augment(b, augmentation, epoch - 1));
                        trainer.step();
                        Map<MoeBlock, Routing> routings = new LinkedHashMap<>();
                        for (MoeBlock layer : layers.values()) {
                            layer.lastRouting().ifPresent(r -> routings.put(layer, r));
                        }
                        ledger.recordStep(toIntLabels(b.getLabels().head()), routings);
                        images += b.getSize();
                    }
                    batch++;
                    done++;
                    if (average != null) {
                        average.afterStep(done);
                    }
                    Map<String, Float> values =
                            moeLoss != null ? moeLoss.lastValues() : Map.of("task", plainLoss.last);
                    for (Map.Entry<String, Float> v : values.entrySet()) {
                        if (!Float.isFinite(v.getValue())) {
                            throw new IllegalStateException(
                                    "training diverged: the "
                                            + v.getKey()
                                            + " loss is "
                                            + v.getValue()
                                            + " at epoch "
                                            + epoch
                                            + ", batch "
                                            + batch
                                            + "; lower the learning rate ("
                                            + recipe.learningRate()
                                            + ")");
                        }
                        sums.merge(v.getKey(), v.getValue().doubleValue(), Double::sum);
                    }
                    double elapsed = (System.nanoTime() - epochStart) / 1e9;
                    double perStep = (System.nanoTime() - runStart) / 1e9 / done;
                    progress.onBatch(
                            epoch,
                            recipe.epochs(),
                            batch,
                            batches,
                            images / Math.max(elapsed, 1e-9),
                            values.getOrDefault("task", Float.NaN),
                            perStep * (totalSteps - done));
                }
                double seconds = (System.nanoTime() - epochStart) / 1e9;
                Map<String, Double> means = new LinkedHashMap<>();
                for (Map.Entry<String, Double> s : sums.entrySet()) {
                    means.put(s.getKey(), s.getValue() / Math.max(batch, 1));
                }
                Map<String, RoutingStats> routing = new LinkedHashMap<>();
                double accuracy = Double.NaN;
                if (validation != null) {
                    // validate what training would return now: the weight average when there is one
                    boolean averaged = average != null && average.hasAverage();
                    if (averaged) {
                        average.swapIn();
                    }
                    try {
                        accuracy = validate(trainer, validation, layers, numClasses, routing);
                    } finally {
                        if (averaged) {
                            average.swapOut();
                        }
                    }
                }
                trainer.notifyListeners(listener -> listener.onEpoch(trainer));
                EpochResult result =
                        new EpochResult(
                                epoch,
                                recipe.epochs(),
                                means,
                                accuracy,
                                seconds,
                                images / Math.max(seconds, 1e-9),
                                routing);
                results.add(result);
                progress.onEpoch(result);
            }
            // a run shorter than the average's interval keeps its own weights
            if (average != null && average.hasAverage()) {
                average.swapIn();
            }
        }
        model.setProperty(TrainingRecipe.MODEL_PROPERTY, recipe.toJson());
        ledger.finish(recipe.name(), recipe.seed()).writeTo(model);
        return new TrainingHistory(recipe, results, (System.nanoTime() - runStart) / 1e9);
    }

    /** The number of training images the whitening filters are computed from (the first ones). */
    static final int WHITENING_IMAGES = 5000;

    /**
     * Sets the filters of every {@link PatchWhitening} of the block that is not fitted yet, from the
     * first {@value #WHITENING_IMAGES} training images (as the data set returns them), and records
     * their classes in the ledger.
     */
    static void fitWhitening(Block block, RandomAccessDataset train, ProvenanceLedger.Recorder ledger) throws IOException {
        List<PatchWhitening> whitening = new ArrayList<>();
        collect(block, PatchWhitening.class, whitening);
        if (whitening.stream().allMatch(PatchWhitening::isFitted)) {
            return;
        }
        int n = (int) Math.min(train.size(), WHITENING_IMAGES);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDList images = new NDList(n);
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                ai.djl.training.dataset.Record record = train.get(manager, i);
                images.add(record.getData().head());
                labels[i] = Math.toIntExact(record.getLabels().head().toType(DataType.INT64, false).getLong());
            }
            NDArray stacked = NDArrays.stack(images);
            for (PatchWhitening w : whitening) {
                if (!w.isFitted()) {
                    w.fit(stacked);
                    List<ai.djl.nn.Parameter> fitted = new ArrayList<>();
                    w.getDirectParameters().forEach(p -> {
                        if (MoeBlocks.isFixed(p.getValue())) {
                            fitted.add(p.getValue());
                        }
                    });
                    ledger.recordFitted(fitted, labels);
                }
            }
        }
    }

    private static <T> void collect(Block block, Class<T> type, List<T> out) {
        if (type.isInstance(block)) {
            out.add(type.cast(block));
        }
        for (ai.djl.util.Pair<String, Block> child : block.getChildren()) {
            collect(child.getValue(), type, out);
        }
    }

    private static Batch augment(Batch b, BatchAugmentation augmentation, int epoch) {
        if (augmentation.isIdentity()) {
            return b;
        }
        List<?> indices = b.getIndices();
        Preconditions.checkState(
                indices != null && indices.size() == b.getSize(),
                "the recipe augments batches, which needs the data set's batch indices; this data set gives none");
        long[] ids = new long[indices.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ((Number) indices.get(i)).longValue();
        }
        NDArray images = augmentation.apply(b.getData().head(), ids, epoch);
        return new Batch(
                b.getManager(),
                new NDList(images),
                b.getLabels(),
                b.getSize(),
                Batchifier.STACK,
                Batchifier.STACK,
                b.getProgress(),
                b.getProgressTotal(),
                indices);
    }

    /** A permutation of the data set drawn from (seed, epoch) alone. */
    private static final class SeededShuffle implements Sampler.SubSampler {
        private final long seed;
        private final int epoch;

        SeededShuffle(long seed, int epoch) {
            this.seed = seed;
            this.epoch = epoch;
        }

        @Override
        public java.util.Iterator<Long> sample(RandomAccessDataset dataset) {
            int n = Math.toIntExact(dataset.size());
            long[] order = new long[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            java.util.SplittableRandom random = new java.util.SplittableRandom(BatchAugmentation.mix(seed, epoch, 0x5EEDL));
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                long t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            return java.util.Arrays.stream(order).iterator();
        }
    }

    /**
     * Runs a model in inference mode over a data set and measures accuracy and the routing of every
     * MoE layer.
     *
     * @param trainer a trainer of the model
     * @param data the data
     * @param layers the MoE layers by path
     * @param numClasses number of classes
     * @param routingOut receives one {@link RoutingStats} per layer
     * @return accuracy in [0, 1]
     * @throws IOException if the data cannot be read
     * @throws TranslateException if a batch cannot be made
     */
    static double validate(
            Trainer trainer,
            Dataset data,
            Map<String, MoeBlock> layers,
            int numClasses,
            Map<String, RoutingStats> routingOut)
            throws IOException, TranslateException {
        Map<String, RoutingStats.Accumulator> acc = new LinkedHashMap<>();
        for (Map.Entry<String, MoeBlock> e : layers.entrySet()) {
            acc.put(e.getKey(), RoutingStats.accumulator(e.getValue().getNumExperts(), numClasses));
        }
        long correct = 0;
        long total = 0;
        for (Batch b : trainer.iterateDataset(data)) {
            try (b) {
                NDList preds = trainer.evaluate(b.getData());
                long[] predicted = preds.head().argMax(1).toLongArray();
                int[] labels = toIntLabels(b.getLabels().head());
                for (int i = 0; i < labels.length; i++) {
                    correct += predicted[i] == labels[i] ? 1 : 0;
                }
                total += labels.length;
                for (Map.Entry<String, MoeBlock> e : layers.entrySet()) {
                    Routing r = e.getValue().lastRouting(preds.head().getDevice()).orElseThrow();
                    acc.get(e.getKey()).add(r, labels);
                }
            }
        }
        for (Map.Entry<String, RoutingStats.Accumulator> e : acc.entrySet()) {
            routingOut.put(e.getKey(), e.getValue().snapshot());
        }
        return total == 0 ? Double.NaN : correct / (double) total;
    }

    /**
     * The number of classes of a classifier block: the width of its output for its input shape.
     *
     * @param block an initialised block whose output is (B, classes)
     * @return the number of classes
     */
    static int numClasses(Block block) {
        Shape[] in = block.getInputShapes();
        Preconditions.checkArgument(in != null && in.length > 0, "the block has no input shape; initialise it first");
        Shape out = block.getOutputShapes(in)[0];
        Preconditions.checkArgument(
                out.dimension() == 2, "the model's output must be (batch, classes) logits but has shape %s", out);
        return Math.toIntExact(out.get(1));
    }

    /**
     * @param labels (B) labels of any numeric type
     * @return the labels as ints
     */
    public static int[] toIntLabels(NDArray labels) {
        long[] l = labels.toType(DataType.INT64, false).toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }

    /** A task loss that remembers its last value (for models without MoE layers). */
    private static final class RecordingLoss extends Loss {
        private final Loss delegate;
        private volatile float last = Float.NaN;

        RecordingLoss(Loss delegate) {
            super(delegate.getName());
            this.delegate = delegate;
        }

        @Override
        public NDArray evaluate(NDList labels, NDList predictions) {
            NDArray value = delegate.evaluate(labels, predictions);
            last = value.getFloat();
            return value;
        }
    }

    private static Tracker schedule(TrainingRecipe recipe, int batchesPerEpoch, int totalSteps) {
        int warmup = Math.round(recipe.warmupEpochs() * batchesPerEpoch);
        if (recipe.schedule() == TrainingRecipe.Schedule.TRIANGULAR) {
            return new TriangularTracker(recipe.learningRate(), recipe.finalLearningRate(), Math.min(warmup, totalSteps), totalSteps);
        }
        Tracker cosine =
                CosineTracker.builder()
                        .setBaseValue(recipe.learningRate())
                        .optFinalValue(0f)
                        .setMaxUpdates(Math.max(1, totalSteps - warmup))
                        .build();
        if (warmup == 0) {
            return cosine;
        }
        return WarmUpTracker.builder()
                .setMainTracker(cosine)
                .optWarmUpSteps(warmup)
                .optWarmUpBeginValue(recipe.learningRate() / Math.max(warmup, 1))
                .build();
    }

    /**
     * The recipe's optimizer, a {@link FusedSgd}: every parameter gets the recipe's rate, decay
     * (decoupled or L2 as the recipe says) and clip, except the MoE routers ({@code
     * routerWeightDecay}, {@code routerClip}) and the BatchNorm shifts and whitening biases (the
     * bias learning-rate scale, and their decay divided by it so the decay per step stays the
     * same).
     */
    static FusedSgd optimizer(Block block, TrainingRecipe recipe, int batchesPerEpoch, int totalSteps) {
        List<ai.djl.nn.Parameter> routers = new ArrayList<>();
        for (MoeBlock layer : MoeBlocks.find(block).values()) {
            layer.router().getParameters().forEach(p -> routers.add(p.getValue()));
        }
        List<ai.djl.nn.Parameter> biases = new ArrayList<>();
        collectBiases(block, biases);
        float scale = recipe.biasLearningRateScale();
        FusedSgd.Builder b =
                FusedSgd.builder()
                        .setLearningRateTracker(schedule(recipe, batchesPerEpoch, totalSteps))
                        .optMomentum(recipe.momentum())
                        .optNesterov(recipe.nesterov())
                        .optDecoupledWeightDecay(recipe.decoupledWeightDecay())
                        .optWeightDecays(recipe.weightDecay())
                        .optClipGrad(recipe.gradientClip())
                        .optGroup(FusedSgd.group("routers", routers)
                                .withWeightDecay(recipe.routerWeightDecay())
                                .withClipGrad(recipe.routerClip()));
        if (scale != 1f) {
            b.optGroup(FusedSgd.group("biases", biases)
                    .withLearningRateMultiplier(scale)
                    .withWeightDecay(recipe.weightDecay() / scale));
        }
        return b.build();
    }

    /** BatchNorm shifts and the biases of {@link PatchWhitening}. */
    private static void collectBiases(Block block, List<ai.djl.nn.Parameter> out) {
        for (ai.djl.util.Pair<String, ai.djl.nn.Parameter> p : block.getDirectParameters()) {
            ai.djl.nn.Parameter parameter = p.getValue();
            if (parameter.getType() == ai.djl.nn.Parameter.Type.BETA
                    || (block instanceof PatchWhitening && parameter.getType() == ai.djl.nn.Parameter.Type.BIAS)) {
                out.add(parameter);
            }
        }
        for (ai.djl.util.Pair<String, Block> child : block.getChildren()) {
            collectBiases(child.getValue(), out);
        }
    }
}

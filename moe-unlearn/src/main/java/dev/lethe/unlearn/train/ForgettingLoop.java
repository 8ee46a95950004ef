package dev.lethe.unlearn.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.loss.UnlearningBatch;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The forgetting loop: runs the {@link Phase}s of an unlearning method on a working model, knowing
 * nothing of the method. Per phase it freezes everything but the phase's {@link
 * ParameterSelection}, opens a DJL {@link Trainer} on a view of the network that outputs the named
 * predictions of an {@link UnlearningBatch}, and per step:
 *
 * <ol>
 *   <li>reads the step's items ({@link BatchMix}) as one batch and names its labels, adding the
 *       original model's logits and routing when the phase's loss needs them (in inference mode,
 *       the leading part of the network that is frozen and unchanged from the original runs once
 *       for both models: {@link FrozenPrefix}, same result, about half of the original's forward
 *       pass saved when only the last MoE stage trains);
 *   <li>forwards and evaluates the loss inside a {@link GradientCollector}; a non-finite loss stops
 *       the run with an {@link IllegalStateException} before any gradient reaches a parameter;
 *   <li>backpropagates, applies the element masks to the gradients, and takes {@link
 *       Trainer#step()};
 *   <li>notifies the trainer's {@link TrainingListener}s ({@code onTrainingBatch} with the full
 *       named labels and predictions, {@code onEpoch} after each epoch; a trainer's creation and
 *       closing call {@code onTrainingBegin} and {@code onTrainingEnd}).
 * </ol>
 *
 * <p>It does not use {@code EasyTrain.trainBatch}, which backpropagates before the caller can see
 * the loss and does not return it: the loop must refuse a non-finite loss before any gradient
 * touches the model, and report the first and last loss. Every step's arrays live in a
 * sub-manager closed after the step. When the loop ends, normally or not, every parameter of the
 * working model is trainable again (BatchNorm statistics excepted).
 */
public final class ForgettingLoop {

    private final Model working;
    private final Model teacher;
    private final LabeledData data;
    private final List<TrainingListener> listeners;
    private final Consumer<String> progress;
    private final boolean shareFrozenPrefix;

    private ForgettingLoop(Builder b) {
        working = b.working;
        teacher = b.teacher;
        data = b.data;
        listeners = ImmutableList.copyOf(b.listeners);
        progress = b.progress;
        shareFrozenPrefix = b.shareFrozenPrefix;
    }

    /**
     * @param working the model to train; its block must be an {@link EmbeddingClassifier}
     * @param data the data the steps' items index
     * @return a builder
     */
    public static Builder builder(Model working, LabeledData data) {
        return new Builder(working, data);
    }

    /**
     * Runs the phases in order.
     *
     * @param phases the phases, at least one
     * @param random the run's generator (draws the steps' items)
     * @return what was done
     * @throws IOException if the data cannot be read
     * @throws IllegalStateException if a phase trains nothing, if a phase needs the original
     *     model's outputs and none was given, or if the loss is not finite
     */
    public Result run(List<Phase> phases, SplittableRandom random) throws IOException {
        Preconditions.checkArgument(!phases.isEmpty(), "there is no phase to run");
        EmbeddingClassifier net = (EmbeddingClassifier) working.getBlock();
        int total = 0;
        for (Phase p : phases) {
            Preconditions.checkState(
                    !p.needsTeacher() || teacher != null,
                    "phase '%s' needs the original model's outputs, but no teacher was given",
                    p.name());
            total += p.plan().epochs() * p.plan().stepsPerEpoch();
        }
        Map<String, Long> trainable = new LinkedHashMap<>();
        Counters counters = new Counters(total);
        try {
            for (Phase phase : phases) {
                phase.trainable().apply(net);
                Preconditions.checkState(!phase.trainable().isEmpty(), "nothing is trainable in %s", phase.trainable().description());
                for (String name : phase.trainable().names()) {
                    trainable.merge(name, phase.trainable().count(name), Math::max);
                }
                runPhase(net, phase, random, counters);
            }
        } finally {
            MoeBlocks.setTrainable(net, true);
        }
        long scalars = trainable.values().stream().mapToLong(Long::longValue).sum();
        return new Result(counters.step, counters.images, counters.first, counters.last, scalars);
    }

    private void runPhase(EmbeddingClassifier net, Phase phase, SplittableRandom random, Counters counters)
            throws IOException {
        FrozenPrefix prefix = sharedPrefix(net, phase);
        try (Model viewModel = Model.newInstance("lethe-unlearning")) {
            viewModel.setBlock(new UnlearningView(net, phase.trainingMode(), prefix));
            DefaultTrainingConfig config = new DefaultTrainingConfig(phase.loss()).optOptimizer(phase.optimizer());
            for (TrainingListener listener : listeners) {
                config.addTrainingListeners(listener);
            }
            try (Trainer trainer = viewModel.newTrainer(config)) {
                Map<Parameter, NDArray> masks = phase.trainable().maskArrays(trainer.getManager());
                Map<String, MoeBlock> teacherLayers = teacher == null ? Map.of() : routingSources(net, prefix);
                for (int epoch = 0; epoch < phase.plan().epochs(); epoch++) {
                    for (BatchMix mix : phase.plan().epoch(epoch, random)) {
                        if (mix.size() == 0) {
                            continue;
                        }
                        float value = step(trainer, phase, mix, masks, teacherLayers, prefix);
                        if (!Float.isFinite(value)) {
                            throw new IllegalStateException(
                                    String.format(
                                            Locale.ROOT,
                                            "unlearning diverged: the loss is %s at step %d of %d; lower the"
                                                    + " learning rate (%s). The original model is unchanged.",
                                            value,
                                            counters.step + 1,
                                            counters.total,
                                            phase.learningRate()));
                        }
                        counters.add(value, mix.size());
                        if (counters.step % Math.max(1, counters.total / 10) == 0 || counters.step == counters.total) {
                            report("step %d/%d  loss %.4f", counters.step, counters.total, value);
                        }
                    }
                    trainer.notifyListeners(listener -> listener.onEpoch(trainer));
                }
            }
        }
    }

    private float step(
            Trainer trainer,
            Phase phase,
            BatchMix mix,
            Map<Parameter, NDArray> masks,
            Map<String, MoeBlock> teacherLayers,
            FrozenPrefix prefix)
            throws IOException {
        try (NDManager scope = trainer.getManager().newSubManager();
                Batch batch = data.batch(scope, mix.items())) {
            NDList labels = UnlearningBatch.labels(batch.getLabels().head(), mix.isForget());
            NDList inputs = batch.getData();
            if (prefix != null) {
                inputs = prefix.forward(new ParameterStore(batch.getManager(), false), inputs);
                addTeacherOutputs(labels, batch, teacherLayers, prefix, inputs);
            } else if (phase.needsTeacher()) {
                addTeacherOutputs(labels, batch, teacherLayers, null, null);
            }
            NDList predictions;
            float value;
            try (GradientCollector gc = trainer.newGradientCollector()) {
                predictions = trainer.forward(inputs);
                NDArray loss = trainer.getLoss().evaluate(labels, predictions);
                value = loss.getFloat();
                if (!Float.isFinite(value)) {
                    return value;
                }
                gc.backward(loss);
            }
            for (Map.Entry<Parameter, NDArray> m : masks.entrySet()) {
                // getGradient() hands out a new handle in the parameter's long-lived manager: close it
                try (NDArray gradient = m.getKey().getArray().getGradient()) {
                    gradient.muli(m.getValue());
                }
            }
            trainer.step();
            Device device = predictions.head().getDevice();
            TrainingListener.BatchData batchData =
                    new TrainingListener.BatchData(batch, Map.of(device, labels), Map.of(device, predictions));
            trainer.notifyListeners(listener -> listener.onTrainingBatch(trainer, batchData));
            return value;
        }
    }

    /**
     * Adds the original model's logits and routing to the labels: from the images, or, with a
     * shared prefix, from its output ({@link #routingSources} says where each routing is read).
     */
    private void addTeacherOutputs(
            NDList labels, Batch batch, Map<String, MoeBlock> teacherLayers, FrozenPrefix prefix, NDList shared) {
        ParameterStore store = new ParameterStore(batch.getManager(), false);
        NDArray logits = prefix == null
                ? teacher.getBlock().forward(store, batch.getData(), false).head()
                : prefix.teacherLogits(store, shared);
        labels.add(UnlearningBatch.named(logits.stopGradient(), UnlearningBatch.TEACHER_LOGITS));
        for (Map.Entry<String, MoeBlock> e : teacherLayers.entrySet()) {
            NDArray p = e.getValue().lastRouting(logits.getDevice()).orElseThrow().probabilities().stopGradient();
            labels.add(UnlearningBatch.named(p, UnlearningBatch.TEACHER_ROUTING + e.getKey()));
        }
    }

    /** @return the phase's shared frozen prefix ({@link FrozenPrefix}), or null if nothing is shared */
    private FrozenPrefix sharedPrefix(EmbeddingClassifier net, Phase phase) {
        if (!shareFrozenPrefix || teacher == null || !phase.needsTeacher() || phase.trainingMode()) {
            return null;
        }
        FrozenPrefix prefix = FrozenPrefix.of(net, (EmbeddingClassifier) teacher.getBlock());
        return prefix.length() > 0 ? prefix : null;
    }

    /**
     * The layer each of the original model's routing outputs is read from after a step: the
     * original's own, or, inside a shared prefix, the working model's (which the step ran).
     */
    private Map<String, MoeBlock> routingSources(EmbeddingClassifier net, FrozenPrefix prefix) {
        Map<String, MoeBlock> out = new LinkedHashMap<>(MoeBlocks.find(teacher.getBlock()));
        if (prefix != null) {
            for (Map.Entry<String, MoeBlock> e : MoeBlocks.find(net).entrySet()) {
                if (prefix.contains(e.getValue()) && out.containsKey(e.getKey())) {
                    out.put(e.getKey(), e.getValue());
                }
            }
        }
        return out;
    }

    private void report(String format, Object... args) {
        if (progress != null) {
            progress.accept(String.format(Locale.ROOT, format, args));
        }
    }

    /** Running totals over the phases. */
    private static final class Counters {
        final int total;
        int step;
        long images;
        double first = Double.NaN;
        double last = Double.NaN;

        Counters(int total) {
            this.total = total;
        }

        void add(float value, int items) {
            if (step == 0) {
                first = value;
            }
            last = value;
            images += items;
            step++;
        }
    }

    /** What a run of the loop did. Immutable. */
    public static final class Result {
        private final int steps;
        private final long images;
        private final double firstLoss;
        private final double lastLoss;
        private final long trainableParameters;

        Result(int steps, long images, double firstLoss, double lastLoss, long trainableParameters) {
            this.steps = steps;
            this.images = images;
            this.firstLoss = firstLoss;
            this.lastLoss = lastLoss;
            this.trainableParameters = trainableParameters;
        }

        /** @return optimizer steps taken */
        public int steps() {
            return steps;
        }

        /** @return images forwarded in training steps */
        public long images() {
            return images;
        }

        /** @return the loss of the first step (NaN if none) */
        public double firstLoss() {
            return firstLoss;
        }

        /** @return the loss of the last step (NaN if none) */
        public double lastLoss() {
            return lastLoss;
        }

        /** @return scalars trainable in some phase (a tensor counted once, at its largest selection) */
        public long trainableParameters() {
            return trainableParameters;
        }
    }

    /** Builds a {@link ForgettingLoop}. */
    public static final class Builder {
        private final Model working;
        private final LabeledData data;
        private Model teacher;
        private List<TrainingListener> listeners = List.of();
        private Consumer<String> progress;
        private boolean shareFrozenPrefix = true;

        private Builder(Model working, LabeledData data) {
            Preconditions.checkNotNull(working, "working must not be null");
            Preconditions.checkNotNull(data, "data must not be null");
            Preconditions.checkArgument(
                    working.getBlock() instanceof EmbeddingClassifier,
                    "the working model's block must be an EmbeddingClassifier");
            this.working = working;
            this.data = data;
        }

        /**
         * @param teacher the original model, whose outputs a phase's loss may read; default none
         * @return this builder
         */
        public Builder optTeacher(Model teacher) {
            this.teacher = teacher;
            return this;
        }

        /**
         * @param listeners DJL listeners added to every phase's trainer; default none
         * @return this builder
         */
        public Builder optListeners(List<TrainingListener> listeners) {
            this.listeners = Preconditions.checkNotNull(listeners, "listeners must not be null");
            return this;
        }

        /**
         * @param progress receives about 10 progress lines per run; default none
         * @return this builder
         */
        public Builder optProgress(Consumer<String> progress) {
            this.progress = progress;
            return this;
        }

        /**
         * @param share whether a distillation step in inference mode computes the frozen leading
         *     part of the network once for both models ({@link FrozenPrefix}); default true. The
         *     result is the same either way; tests compare the two.
         * @return this builder
         */
        Builder shareFrozenPrefix(boolean share) {
            this.shareFrozenPrefix = share;
            return this;
        }

        /** @return the loop */
        public ForgettingLoop build() {
            return new ForgettingLoop(this);
        }
    }
}

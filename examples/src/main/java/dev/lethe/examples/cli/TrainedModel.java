package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.translate.TranslateException;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingHistory;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.eval.Predictions;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.exact.ExactPlan;
import dev.lethe.unlearn.exact.ExactTraining;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A trained model with the metadata that describes it: freshly trained by {@link #train} (then
 * {@link #history()} is present) or loaded from a folder by {@link #load}. Closing it closes the
 * model.
 */
public final class TrainedModel implements AutoCloseable {

    private final Model model;
    private final Map<String, String> metadata;
    private final TrainingHistory history;
    private Path directory;

    private TrainedModel(Model model, Map<String, String> metadata, TrainingHistory history, Path directory) {
        this.model = model;
        this.metadata = new LinkedHashMap<>(metadata);
        this.history = history;
        this.directory = directory;
    }

    /**
     * Trains a new {@link MoeResNet} on {@code splits.train()} (not augmented: the recipe augments
     * each batch), validating every epoch on {@code splits.validation()}, then measures its test
     * accuracy. Seeds DJL's engine with the recipe's seed first, so the same configuration, recipe
     * and data give the same initial weights.
     *
     * @param splits the data
     * @param config the architecture; its number of classes must be the data's
     * @param recipe the training recipe (batch size, augmentation, seed, …)
     * @param progress receives batch and epoch progress (e.g. {@code TrainingProgress.console})
     * @return the trained model, with metadata {@link SavedModels#DATASET}, {@link
     *     SavedModels#SEED}, {@link SavedModels#SPLIT_SEED}, {@link SavedModels#TRAIN_LIMIT}, {@link
     *     SavedModels#TEST_ACCURACY}, {@link SavedModels#VALIDATION_ACCURACY}, {@link
     *     SavedModels#TRAIN_SECONDS} and {@link SavedModels#THREADS}; the recipe is the model's
     *     property ({@link TrainingRecipe#of(Model)})
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if the configuration does not fit the data
     */
    public static TrainedModel train(
            CifarSplits splits, MoeResNet.Config config, TrainingRecipe recipe, TrainingProgress progress)
            throws IOException {
        checkNotNull(splits, "splits must not be null");
        checkNotNull(config, "config must not be null");
        checkNotNull(recipe, "recipe must not be null");
        if (config.numClasses() != splits.numClasses()) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "the model has %d classes but %s has %d",
                    config.numClasses(),
                    splits.datasetName(),
                    splits.numClasses()));
        }
        Engine.getInstance().setRandomSeed((int) recipe.seed());
        Model model = MoeResNet.newModel(config);
        TrainingHistory history;
        try {
            history =
                    MoeTraining.fit(
                            model,
                            splits.train(),
                            splits.validation(),
                            recipe,
                            progress == null ? TrainingProgress.silent() : progress);
        } catch (TranslateException e) {
            model.close();
            throw new IOException("cannot read a training batch: " + e.getMessage(), e);
        } catch (RuntimeException | IOException e) {
            model.close();
            throw e;
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(SavedModels.DATASET, splits.datasetName());
        meta.put(SavedModels.SEED, String.valueOf(recipe.seed()));
        meta.put(SavedModels.SPLIT_SEED, String.valueOf(splits.splitSeed()));
        meta.put(SavedModels.TRAIN_LIMIT, String.valueOf(splits.limit()));
        meta.put(SavedModels.TRAIN_SECONDS, String.format(Locale.ROOT, "%.1f", history.seconds()));
        meta.put(
                SavedModels.VALIDATION_ACCURACY,
                String.format(Locale.ROOT, "%.2f", 100 * history.last().validationAccuracy()));
        meta.put(SavedModels.THREADS, String.valueOf(RuntimeOptions.effectiveThreads()));
        double testAccuracy = Predictions.all(model, splits.labeledTest(), 256).accuracy();
        meta.put(SavedModels.TEST_ACCURACY, String.format(Locale.ROOT, "%.2f", testAccuracy));
        return new TrainedModel(model, meta, history, null);
    }

    /**
     * Trains a new {@link MoeResNet} by {@code ExactTraining} (a trunk on the plan's public
     * classes, one unit per deletable class, routers and head last; see {@link ExactTraining}), so
     * that {@code Method.EXACT} can later delete a class bit for bit; then measures its validation
     * and test accuracy. The result is a function of the plan and the images alone (the engine's
     * seed plays no part).
     *
     * @param splits the data (validation and test accuracy are measured on it)
     * @param data the training images: {@code splits.labeledTrain()}, or a subset of it without
     *     some classes (the exact reference of a deletion)
     * @param config the architecture: top-1, at least one expert per class
     * @param plan the plan
     * @param progress receives the phases' progress lines, or null
     * @return the trained model, with the metadata of {@link #train} (without a history)
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if the configuration does not fit the plan or the data
     */
    public static TrainedModel exact(CifarSplits splits, LabeledData data, MoeResNet.Config config, ExactPlan plan,
            Consumer<String> progress) throws IOException {
        checkNotNull(splits, "splits must not be null");
        checkNotNull(data, "data must not be null");
        checkNotNull(plan, "plan must not be null");
        Model model = MoeResNet.newModel(config);
        long start = System.nanoTime();
        try {
            ExactTraining.fit(model, data, plan, progress);
        } catch (RuntimeException | IOException e) {
            model.close();
            throw e;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(SavedModels.DATASET, splits.datasetName());
        meta.put(SavedModels.SEED, String.valueOf(plan.seed()));
        meta.put(SavedModels.SPLIT_SEED, String.valueOf(splits.splitSeed()));
        meta.put(SavedModels.TRAIN_LIMIT, String.valueOf(splits.limit()));
        meta.put(SavedModels.TRAIN_SECONDS, String.format(Locale.ROOT, "%.1f", seconds));
        meta.put(SavedModels.VALIDATION_ACCURACY, String.format(Locale.ROOT, "%.2f",
                Predictions.all(model, splits.labeledValidation(), 256).accuracy()));
        meta.put(SavedModels.THREADS, String.valueOf(RuntimeOptions.effectiveThreads()));
        meta.put(SavedModels.TEST_ACCURACY, String.format(Locale.ROOT, "%.2f",
                Predictions.all(model, splits.labeledTest(), 256).accuracy()));
        return new TrainedModel(model, meta, null, null);
    }

    /**
     * Wraps a model made elsewhere (e.g. by unlearning) with the metadata to save next to it.
     *
     * @param model the model (closed with the returned object)
     * @param metadata its metadata (copied)
     * @return the wrapper; {@link #history()} and {@link #directory()} are empty
     */
    public static TrainedModel of(Model model, Map<String, String> metadata) {
        return new TrainedModel(checkNotNull(model, "model must not be null"), checkNotNull(metadata,
                "metadata must not be null"), null, null);
    }

    /**
     * Loads a saved model with its metadata ({@link MoeResNet#load}: the parameters are checked
     * against their recorded checksum; the recipe, forgotten classes and expert masks come back).
     *
     * @param dir the model folder, or a folder holding it as {@code model/} ({@link
     *     SavedModels#resolve})
     * @return the model
     * @throws IOException if the folder is missing or the model corrupt; the message names it
     */
    public static TrainedModel load(Path dir) throws IOException {
        Path folder = SavedModels.resolve(dir);
        Map<String, String> meta = MoeResNet.readMetadata(folder); // the library's messages name the folder
        Model model = MoeResNet.load(folder);
        SavedModels.restoreLegacyProperties(model, meta);
        return new TrainedModel(model, meta, null, folder);
    }

    /**
     * Saves the model and its metadata into a folder, which becomes {@link #directory()}.
     *
     * @param dir the folder, created if needed
     * @return the folder
     * @throws IOException if writing fails
     */
    public Path save(Path dir) throws IOException {
        MoeResNet.save(model, dir, metadata);
        directory = dir;
        return dir;
    }

    /** Records that the saved folder was renamed to {@code dir}. */
    void movedTo(Path dir) {
        directory = dir;
    }

    /** @return the DJL model (closed with this object) */
    public Model model() {
        return model;
    }

    /** @return the model's architecture */
    public MoeResNet.Config config() {
        return ((MoeResNet) model.getBlock()).config();
    }

    /** @return a copy of the metadata */
    public Map<String, String> metadata() {
        return new LinkedHashMap<>(metadata);
    }

    /**
     * @param key a metadata key ({@link SavedModels} constants)
     * @return its value, if recorded
     */
    public Optional<String> metadata(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    /** @return the training history when this object was trained, empty when it was loaded */
    public Optional<TrainingHistory> history() {
        return Optional.ofNullable(history);
    }

    /** @return the folder the model was loaded from or saved to, if any */
    public Optional<Path> directory() {
        return Optional.ofNullable(directory);
    }

    /**
     * @return the recipe the model was trained with ({@link TrainingRecipe#of(Model)}), empty when
     *     it records none
     */
    public Optional<TrainingRecipe> recipe() {
        return TrainingRecipe.of(model);
    }

    /** @return the recorded test accuracy (0–100), or NaN when none was recorded */
    public double testAccuracy() {
        return number(SavedModels.TEST_ACCURACY);
    }

    /**
     * Measures the test accuracy of the softmax averaged over each image and its mirror ({@link
     * Predictions#flipAveraged}: two forward passes over the test split) and records it as {@link
     * SavedModels#TEST_ACCURACY_FLIP_AVERAGED}; save afterwards to keep it.
     *
     * @param splits the data
     * @return the accuracy in percent (0–100)
     * @throws IOException if the data cannot be read
     */
    public double measureFlipAveragedTestAccuracy(CifarSplits splits) throws IOException {
        double accuracy = Predictions.flipAveraged(model, checkNotNull(splits, "splits must not be null").labeledTest(),
                256).accuracy();
        metadata.put(SavedModels.TEST_ACCURACY_FLIP_AVERAGED, String.format(Locale.ROOT, "%.2f", accuracy));
        return accuracy;
    }

    /**
     * @return the recorded test accuracy of the softmax averaged over each image and its mirror
     *     (0–100; {@link #measureFlipAveragedTestAccuracy}), or NaN when none was recorded
     */
    public double testAccuracyFlipAveraged() {
        return number(SavedModels.TEST_ACCURACY_FLIP_AVERAGED);
    }

    /** @return the recorded training time in seconds, or NaN when none was recorded */
    public double trainSeconds() {
        return number(SavedModels.TRAIN_SECONDS);
    }

    private double number(String key) {
        String v = metadata.get(key);
        try {
            return v == null ? Double.NaN : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    @Override
    public void close() {
        model.close();
    }
}

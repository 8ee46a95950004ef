package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.hash.Hashing;
import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.exact.ExactPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Trained models kept by what made them, so that a second run with the same configuration loads
 * the model instead of training it again: {@code <root>/<key>/}, where the key hashes what made
 * the model ({@link #key} for a trained model, {@link #retrainKey} for a Retrain reference). The
 * one cache of the command line: {@code lethe train} and {@code lethe demo} use {@code
 * .lethe/cache}, {@code lethe protocol} its {@code models} folder, with the same keys.
 *
 * <pre>{@code
 * ModelCache cache = new ModelCache(Paths.get(".lethe/cache"));
 * try (TrainedModel m = cache.getOrTrain(splits, config, recipe, progress, System.err)) { ... }
 * }</pre>
 *
 * <p>A model is written to a temporary folder and renamed when complete, so an interrupted
 * training leaves no half-written entry.
 */
public final class ModelCache {

    private final Path root;

    /**
     * @param root the cache folder (created when the first model is stored), e.g. {@code
     *     .lethe/cache}
     */
    public ModelCache(Path root) {
        this.root = checkNotNull(root, "root must not be null");
    }

    /** @return the default cache folder, {@code <repository>/.lethe/cache} */
    public static Path defaultRoot() {
        return RuntimeOptions.home().resolve(".lethe").resolve("cache");
    }

    /** @return the cache folder */
    public Path root() {
        return root;
    }

    /**
     * The cache key of a training run: the first 16 hex digits of the SHA-256 of what determines
     * the model: the data set, split seed, training limit, the architecture (configuration JSON)
     * and the recipe (JSON: optimiser, schedule, router losses, augmentation, epochs and seed; the
     * data itself is not augmented, {@link CifarSplits#train()}).
     *
     * @param splits the data the model is trained on ({@link CifarSplits#train()}, not augmented)
     * @param config the architecture
     * @param recipe the training recipe
     * @return the key, e.g. {@code "3f9a0c1d2e4b5a6c"}
     */
    public static String key(CifarSplits splits, MoeResNet.Config config, TrainingRecipe recipe) {
        return hash(description(splits, config, recipe));
    }

    /**
     * The cache key of a Retrain reference: a model of the same architecture trained with the same
     * recipe on the training split without one class ({@link #key} plus the class).
     *
     * @param splits the data
     * @param config the architecture
     * @param recipe the recipe of the Retrain run
     * @param forgetClass the class left out
     * @return the key
     */
    public static String retrainKey(CifarSplits splits, MoeResNet.Config config, TrainingRecipe recipe, int forgetClass) {
        return hash(description(splits, config, recipe) + "\nwithout class " + forgetClass);
    }

    /**
     * The cache key of a Retrain reference without several classes (trained on the training split
     * without every one of them, e.g. after sequential requests); for one class it is {@link
     * #retrainKey(CifarSplits, MoeResNet.Config, TrainingRecipe, int)}.
     *
     * @param splits the data
     * @param config the architecture
     * @param recipe the recipe of the Retrain run
     * @param classes the classes left out, in the order they were forgotten, at least one
     * @return the key
     */
    public static String retrainKey(CifarSplits splits, MoeResNet.Config config, TrainingRecipe recipe,
            List<Integer> classes) {
        checkArgument(classes != null && !classes.isEmpty(), "classes must name at least one class");
        if (classes.size() == 1) {
            return retrainKey(splits, config, recipe, classes.get(0));
        }
        return hash(description(splits, config, recipe) + "\nwithout classes " + classes);
    }

    /**
     * The cache key of a model trained by {@code ExactTraining} with a plan ({@link #key} plus the
     * plan: public classes, epochs of each phase, negatives, seed).
     *
     * @param splits the data
     * @param config the architecture
     * @param plan the exact-training plan
     * @return the key
     */
    public static String exactKey(CifarSplits splits, MoeResNet.Config config, ExactPlan plan) {
        checkNotNull(plan, "plan must not be null");
        return hash(description(splits, config, plan.recipe()) + "\nexact training " + plan.toJson());
    }

    /**
     * The cache key of the exact reference of a deletion: {@code ExactTraining} with the same plan
     * on the training split without some classes ({@link #exactKey} plus the classes).
     *
     * @param splits the data
     * @param config the architecture
     * @param plan the plan
     * @param without the classes left out, in the order they were deleted
     * @return the key
     */
    public static String exactReferenceKey(CifarSplits splits, MoeResNet.Config config, ExactPlan plan,
            List<Integer> without) {
        checkArgument(without != null && !without.isEmpty(), "without must name at least one class");
        return hash(description(splits, config, plan.recipe()) + "\nexact training " + plan.toJson()
                + "\nwithout classes " + new java.util.TreeSet<>(without));
    }

    private static String description(CifarSplits splits, MoeResNet.Config config, TrainingRecipe recipe) {
        checkNotNull(splits, "splits must not be null");
        checkNotNull(config, "config must not be null");
        checkNotNull(recipe, "recipe must not be null");
        return splits.datasetName() + "\n" + splits.splitSeed() + "\n" + splits.limit() + "\n" + config + "\n"
                + recipe.toJson();
    }

    private static String hash(String description) {
        return Hashing.sha256().hashString(description, StandardCharsets.UTF_8).toString().substring(0, 16);
    }

    /**
     * @param key a key from {@link #key}
     * @return the folder of that entry (which may not exist)
     */
    public Path directory(String key) {
        return root.resolve(key);
    }

    /**
     * @param key a key from {@link #key}
     * @return whether a complete model is stored under it
     */
    public boolean contains(String key) {
        return SavedModels.isModel(directory(key));
    }

    /**
     * Loads the cached model of this run, or trains it (on {@code splits}) and stores it.
     *
     * @param splits the data, also the one the model is trained on
     * @param config the architecture
     * @param recipe the recipe
     * @param progress training progress
     * @param log receives one line saying whether the model was loaded or trained, and where it is
     * @return the model; {@link TrainedModel#history()} is present when it was trained now
     * @throws IOException if reading, training or writing fails
     */
    public TrainedModel getOrTrain(
            CifarSplits splits,
            MoeResNet.Config config,
            TrainingRecipe recipe,
            TrainingProgress progress,
            PrintStream log)
            throws IOException {
        return getOrCreate(key(splits, config, recipe), () -> TrainedModel.train(splits, config, recipe, progress), log);
    }

    /** Makes the model of a cache entry. */
    @FunctionalInterface
    public interface Producer {
        /**
         * @return the new model (not yet saved)
         * @throws IOException if making it fails
         */
        TrainedModel produce() throws IOException;
    }

    /**
     * Loads the model stored under a key, or makes it and stores it.
     *
     * @param key the key ({@link #key}, {@link #retrainKey})
     * @param producer makes the model when it is not stored
     * @param log receives one line saying whether the model was loaded or made, and where it is
     * @return the model (closed by the caller); {@link TrainedModel#directory()} is its cache folder
     * @throws IOException if loading, making or storing fails
     */
    public TrainedModel getOrCreate(String key, Producer producer, PrintStream log) throws IOException {
        Path dir = directory(key);
        if (contains(key)) {
            TrainedModel cached = TrainedModel.load(dir);
            log.printf(
                    Locale.ROOT,
                    "using the cached model %s (trained in %.0f s, test accuracy %.2f%%)%n",
                    dir,
                    cached.trainSeconds(),
                    cached.testAccuracy());
            return cached;
        }
        TrainedModel made = producer.produce();
        try {
            put(key, made);
            log.printf(Locale.ROOT, "cached the model in %s%n", dir);
            return made;
        } catch (IOException | RuntimeException e) {
            made.close();
            throw e;
        }
    }

    /**
     * Stores a model under a key, replacing what was there: written to a temporary folder and
     * renamed when complete, so that an interrupted run leaves no half-written entry.
     *
     * @param key the key
     * @param model the model; its {@link TrainedModel#directory()} becomes the entry's folder
     * @throws IOException if writing fails
     */
    public void put(String key, TrainedModel model) throws IOException {
        Path dir = directory(key);
        Files.createDirectories(root);
        Path tmp = Files.createTempDirectory(root, key + ".tmp");
        model.save(tmp);
        if (Files.exists(dir)) {
            MoreFiles.deleteRecursively(dir, RecursiveDeleteOption.ALLOW_INSECURE);
        }
        Files.move(tmp, dir);
        model.movedTo(dir);
    }
}

package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.hash.Hashing;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Trained models kept by what made them, so that a second run with the same configuration loads
 * the model instead of training it again: {@code <root>/<key>/}, where the key hashes the data set,
 * the split seed, the training limit, the architecture and the recipe ({@link #key}).
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
     * The cache key of a training run: the first 16 hex digits of the SHA-256 of the data set name,
     * split seed, limit, configuration JSON and recipe JSON.
     *
     * @param datasetName "CIFAR-10" or "CIFAR-100"
     * @param splitSeed the validation split seed
     * @param limit the training limit (0 = all images)
     * @param config the architecture
     * @param recipe the training recipe
     * @return the key, e.g. {@code "3f9a0c1d2e4b5a6c"}
     */
    public static String key(
            String datasetName, long splitSeed, int limit, MoeResNet.Config config, TrainingRecipe recipe) {
        String description =
                datasetName + "\n" + splitSeed + "\n" + limit + "\n" + config + "\n" + recipe.toJson();
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
        return Files.isRegularFile(directory(key).resolve("lethe-model.json"));
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
        String key = key(splits.datasetName(), splits.splitSeed(), splits.limit(), config, recipe);
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
        TrainedModel trained = TrainedModel.train(splits, config, recipe, progress);
        try {
            Files.createDirectories(root);
            Path tmp = Files.createTempDirectory(root, key + ".tmp");
            trained.save(tmp);
            Files.move(tmp, dir);
            trained.movedTo(dir);
            log.printf(Locale.ROOT, "cached the model in %s%n", dir);
            return trained;
        } catch (IOException | RuntimeException e) {
            trained.close();
            throw e;
        }
    }
}

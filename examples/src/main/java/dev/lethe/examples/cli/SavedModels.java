package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;

import ai.djl.Model;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Unlearner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Saves and loads {@link MoeResNet} models with the metadata the command line records next to
 * them (data set, recipe, seed, test accuracy, times, forgotten classes), on top of {@link
 * MoeResNet#save} / {@link MoeResNet#load}.
 *
 * <p>A model folder holds {@code lethe-model.json} and DJL's parameter file. The classes a model has
 * forgotten live in the model property {@link Unlearner#FORGOTTEN_PROPERTY} while it is in memory;
 * {@link #save} writes them to the metadata key {@link #FORGOTTEN_CLASSES} and {@link #load}
 * restores the property, so that a saved and reloaded model still refuses to forget a class twice.
 */
public final class SavedModels {

    /** Metadata key: the data set, "CIFAR-10" or "CIFAR-100". */
    public static final String DATASET = "dataset";
    /** Metadata key: the training recipe as JSON. */
    public static final String RECIPE = "recipe";
    /** Metadata key: the seed of initialisation and data order. */
    public static final String SEED = "seed";
    /** Metadata key: the seed of the validation split. */
    public static final String SPLIT_SEED = "splitSeed";
    /** Metadata key: the number of training images when a limit was used ("0" = all). */
    public static final String TRAIN_LIMIT = "trainLimit";
    /** Metadata key: the test accuracy in percent, 0–100. */
    public static final String TEST_ACCURACY = "testAccuracy";
    /** Metadata key: the last epoch's validation accuracy in percent, 0–100. */
    public static final String VALIDATION_ACCURACY = "validationAccuracy";
    /** Metadata key: wall-clock seconds of the training run (validation included). */
    public static final String TRAIN_SECONDS = "trainSeconds";
    /** Metadata key: libtorch threads of the run. */
    public static final String THREADS = "threads";
    /** Metadata key: comma-separated ids of the classes the model has forgotten. */
    public static final String FORGOTTEN_CLASSES = "forgottenClasses";
    /** Metadata key: the unlearning method that produced the model. */
    public static final String METHOD = "method";
    /** Metadata key: wall-clock seconds of the unlearning run that produced the model. */
    public static final String UNLEARN_SECONDS = "unlearnSeconds";
    /** Metadata key: the folder of the model this one was derived from. */
    public static final String SOURCE_MODEL = "sourceModel";
    /** Metadata key: the Lethe version that wrote the model. */
    public static final String LETHE_VERSION = "letheVersion";
    /** Metadata key: when the model was written (ISO-8601 UTC). */
    public static final String CREATED = "created";

    private static final String CONFIG_FILE = "lethe-model.json";
    private static final String NESTED = "model";

    private SavedModels() {}

    /**
     * Finds the model folder: {@code dir} itself when it holds {@code lethe-model.json}, else {@code
     * dir/model} when that does (the layout {@code lethe forget --out dir} writes).
     *
     * @param dir a model folder or a report folder
     * @return the model folder
     * @throws NoSuchFileException if neither exists; the message names {@code dir}
     */
    public static Path resolve(Path dir) throws NoSuchFileException {
        checkNotNull(dir, "dir must not be null");
        if (Files.isRegularFile(dir.resolve(CONFIG_FILE))) {
            return dir;
        }
        if (Files.isRegularFile(dir.resolve(NESTED).resolve(CONFIG_FILE))) {
            return dir.resolve(NESTED);
        }
        String why =
                Files.isDirectory(dir)
                        ? "the folder holds no " + CONFIG_FILE + ", so it is not a Lethe model (train one with"
                                + " `lethe train --out DIR`)"
                        : "no such model folder";
        throw new NoSuchFileException(dir.toAbsolutePath().normalize().toString(), null, why);
    }

    /**
     * Loads a model and restores its forgotten classes from the metadata.
     *
     * @param dir the model folder (or a folder holding it as {@code model/})
     * @return the model; the caller closes it
     * @throws IOException if the folder is missing or the model is corrupt; the message names the
     *     folder
     */
    public static Model load(Path dir) throws IOException {
        Path folder = resolve(dir);
        Model model;
        try {
            model = MoeResNet.load(folder);
        } catch (IOException e) {
            throw new IOException("cannot load the model in " + folder.toAbsolutePath().normalize() + ": "
                    + e.getMessage(), e);
        }
        String forgotten = metadata(folder).get(FORGOTTEN_CLASSES);
        if (forgotten != null && !forgotten.isBlank()) {
            model.setProperty(Unlearner.FORGOTTEN_PROPERTY, forgotten);
        }
        return model;
    }

    /**
     * Reads a model's metadata.
     *
     * @param dir the model folder (or a folder holding it as {@code model/})
     * @return the metadata, in file order
     * @throws IOException if the folder or its configuration is missing or unreadable
     */
    public static Map<String, String> metadata(Path dir) throws IOException {
        Path folder = resolve(dir);
        try {
            return new LinkedHashMap<>(MoeResNet.readMetadata(folder));
        } catch (RuntimeException e) {
            throw new IOException("corrupt model configuration in " + folder + ": " + e.getMessage(), e);
        }
    }

    /**
     * Saves a model with metadata, adding {@link #FORGOTTEN_CLASSES} from the model's {@link
     * Unlearner#FORGOTTEN_PROPERTY}, {@link #LETHE_VERSION} and {@link #CREATED}.
     *
     * @param model the model; its block must be a {@link MoeResNet}
     * @param dir the folder, created if needed
     * @param metadata the metadata to record (copied)
     * @throws IOException if writing fails
     */
    public static void save(Model model, Path dir, Map<String, String> metadata) throws IOException {
        checkNotNull(model, "model must not be null");
        Map<String, String> all = new LinkedHashMap<>(metadata == null ? Map.of() : metadata);
        List<Integer> forgotten = Unlearner.forgottenClasses(model);
        if (!forgotten.isEmpty()) {
            all.put(FORGOTTEN_CLASSES, forgotten.stream().map(String::valueOf).collect(Collectors.joining(",")));
        } else {
            all.remove(FORGOTTEN_CLASSES);
        }
        all.putIfAbsent(LETHE_VERSION, LetheCli.version());
        all.put(CREATED, java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        MoeResNet.save(model, dir, all);
    }
}

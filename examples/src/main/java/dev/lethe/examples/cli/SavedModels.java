package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;

import ai.djl.Model;
import dev.lethe.moe.model.ModelFiles;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Unlearner;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * What the command line adds to the library's model files ({@link ModelFiles}, reached through
 * {@code MoeResNet.save/load}): the folder layout of {@code lethe forget --out DIR} (the model in
 * {@code DIR/model}) and the metadata keys the commands record (data set, split, times, accuracy).
 *
 * <p>The library itself records the recipe ({@link TrainingRecipe#MODEL_PROPERTY}), the forgotten
 * classes ({@link Unlearner#FORGOTTEN_PROPERTY}), the expert masks, the library version, the time
 * and the parameters' checksum. Models written by an earlier command line kept the recipe and the
 * forgotten classes as metadata ({@link #LEGACY_RECIPE}, {@link #LEGACY_FORGOTTEN_CLASSES}); {@link
 * #restoreLegacyProperties} turns them back into properties when such a model is loaded.
 */
public final class SavedModels {

    /** Metadata key: the data set, "CIFAR-10" or "CIFAR-100". */
    public static final String DATASET = "dataset";
    /** Metadata key: the seed of initialisation and data order. */
    public static final String SEED = "seed";
    /** Metadata key: the seed of the validation split. */
    public static final String SPLIT_SEED = "splitSeed";
    /** Metadata key: the number of training images when a limit was used ("0" = all). */
    public static final String TRAIN_LIMIT = "trainLimit";
    /**
     * Metadata key of models trained by an earlier command line on augmented data (the recipe now
     * augments, {@code TrainingRecipe#flip}, {@code #translate}): {@link #LEGACY_DATASET_AUGMENTATION}
     * or "none".
     */
    public static final String LEGACY_AUGMENTATION = "augmentation";
    /**
     * The value of {@link #LEGACY_AUGMENTATION} for data augmented by the data set (random 32×32
     * crops of the image padded by 4 zero pixels, random horizontal flips), before recipes owned
     * the augmentation.
     */
    public static final String LEGACY_DATASET_AUGMENTATION = "random-crop(pad 4)+horizontal-flip";
    /** Metadata key: the test accuracy in percent, 0–100. */
    public static final String TEST_ACCURACY = "testAccuracy";
    /**
     * Metadata key: the test accuracy in percent, 0–100, of the softmax averaged over each image
     * and its mirror ({@code Predictions.flipAveraged}); the unlearning metrics read one view.
     */
    public static final String TEST_ACCURACY_FLIP_AVERAGED = "testAccuracyFlipAveraged";
    /** Metadata key: the last epoch's validation accuracy in percent, 0–100. */
    public static final String VALIDATION_ACCURACY = "validationAccuracy";
    /** Metadata key: wall-clock seconds of the training run (validation included). */
    public static final String TRAIN_SECONDS = "trainSeconds";
    /** Metadata key: libtorch threads of the run. */
    public static final String THREADS = "threads";
    /** Metadata key: the unlearning method that produced the model. */
    public static final String METHOD = "method";
    /** Metadata key: wall-clock seconds of the unlearning run that produced the model. */
    public static final String UNLEARN_SECONDS = "unlearnSeconds";
    /** Metadata key: the training images a Retrain reference was trained on (the retain set's size). */
    public static final String RETAIN_IMAGES = "retainImages";
    /** Metadata key: the folder of the model this one was derived from. */
    public static final String SOURCE_MODEL = "sourceModel";
    /** Metadata key of the recipe in models written before the library recorded it. */
    public static final String LEGACY_RECIPE = "recipe";
    /** Metadata key of the forgotten classes in models written before the library recorded them. */
    public static final String LEGACY_FORGOTTEN_CLASSES = "forgottenClasses";

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
        if (isModel(dir)) {
            return dir;
        }
        if (isModel(dir.resolve(NESTED))) {
            return dir.resolve(NESTED);
        }
        String why =
                Files.isDirectory(dir)
                        ? "the folder holds no " + ModelFiles.MANIFEST_FILE + ", so it is not a Lethe model (train"
                                + " one with `lethe train --out DIR`)"
                        : "no such model folder";
        throw new NoSuchFileException(dir.toAbsolutePath().normalize().toString(), null, why);
    }

    /**
     * @param dir a folder
     * @return whether it holds a saved model ({@code lethe-model.json})
     */
    public static boolean isModel(Path dir) {
        return Files.isRegularFile(dir.resolve(ModelFiles.MANIFEST_FILE));
    }

    /**
     * The folder {@code lethe forget} and {@code lethe demo} write the new model to.
     *
     * @param out the command's output folder
     * @return {@code out/model}
     */
    public static Path nested(Path out) {
        return out.resolve(NESTED);
    }

    /**
     * Sets the recipe and forgotten-class properties of a model written by an earlier command line
     * from its metadata, when the model does not carry them yet.
     *
     * @param model the loaded model
     * @param metadata its metadata
     */
    static void restoreLegacyProperties(Model model, Map<String, String> metadata) {
        String recipe = metadata.get(LEGACY_RECIPE);
        if (model.getProperty(TrainingRecipe.MODEL_PROPERTY) == null && recipe != null && !recipe.isBlank()) {
            model.setProperty(TrainingRecipe.MODEL_PROPERTY, recipe);
        }
        String forgotten = metadata.get(LEGACY_FORGOTTEN_CLASSES);
        if (model.getProperty(Unlearner.FORGOTTEN_PROPERTY) == null && forgotten != null && !forgotten.isBlank()) {
            model.setProperty(Unlearner.FORGOTTEN_PROPERTY, forgotten);
        }
    }
}

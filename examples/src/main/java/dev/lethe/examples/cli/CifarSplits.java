package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import ai.djl.training.dataset.Dataset;
import com.google.common.collect.ImmutableList;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarFormatException;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.eval.UnlearningEvaluator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The protocol's three views of one CIFAR data set, loaded once: a seeded, class-stratified
 * 45,000 / 5,000 train / validation split of the training file and the 10,000 test images
 * (brief.md, "The evaluation protocol").
 *
 * <p>Four datasets share the decoded bytes: {@link #train()} (augmented with random crop + flip,
 * shuffled; for {@code MoeTraining.fit}), {@link #trainPlain()} (the same images, not augmented, in
 * order; for unlearning, profiling and metrics), {@link #validation()} and {@link #test()} (not
 * augmented). Batches are (B, 3, 32, 32) normalised float32 images and (B) float32 class ids. The
 * {@link LabeledData} views wrap the non-augmented datasets, except {@link #labeledTrainAugmented()}.
 *
 * <pre>{@code
 * Path archive = CifarSplits.locate(null, CifarVariant.CIFAR10, false, Paths.get("."));
 * CifarSplits splits = CifarSplits.of(CifarSplits.load(archive, CifarVariant.CIFAR10), 128, 0, 0, 0);
 * MoeTraining.fit(model, splits.train(), splits.validation(), recipe, progress);
 * }</pre>
 */
public final class CifarSplits {

    /** Images held out of the training file for validation: 5,000 (500 per CIFAR-10 class). */
    public static final int VALIDATION_SIZE = CifarDataset.DEFAULT_VALIDATION_SIZE;

    /**
     * The augmentation of {@link #train()}, as recorded with a trained model: a random crop of the
     * image padded by 4 zero pixels and a random horizontal flip ({@code CifarDataset.optAugment}).
     */
    public static final String AUGMENTATION = "random-crop(pad 4)+horizontal-flip";

    /** The augmentation of {@link #trainPlain()}: none. */
    public static final String NO_AUGMENTATION = "none";

    /** Where the repository keeps the real data, relative to its root: {@code ../shared/data}. */
    public static final String SHARED_DATA_DIR = "../shared/data";

    private final CifarData data;
    private final int limit;
    private final long splitSeed;
    private final int validationSize;
    private final CifarDataset train;
    private final CifarDataset trainPlain;
    private final CifarDataset validation;
    private final CifarDataset test;
    private final LabeledData labeledTrain;
    private final LabeledData labeledTrainAugmented;
    private final long augmentSeed;
    private final LabeledData labeledValidation;
    private final LabeledData labeledTest;

    private CifarSplits(CifarData data, int batchSize, long splitSeed, long augmentSeed, int limit) {
        this.data = data;
        this.limit = limit;
        this.splitSeed = splitSeed;
        this.validationSize = validationSize(data.trainSize());
        train = view(Dataset.Usage.TRAIN, batchSize, true, augmentSeed, limit);
        trainPlain = view(Dataset.Usage.TRAIN, batchSize, false, augmentSeed, limit);
        validation = view(Dataset.Usage.VALIDATION, batchSize, false, augmentSeed, 0);
        test = view(Dataset.Usage.TEST, batchSize, false, augmentSeed, 0);
        this.augmentSeed = augmentSeed;
        labeledTrain = LabeledData.of(trainPlain, trainPlain.labels(), data.classNames());
        labeledTrainAugmented = LabeledData.of(train, train.labels(), data.classNames());
        labeledValidation = LabeledData.of(validation, validation.labels(), data.classNames());
        labeledTest = LabeledData.of(test, test.labels(), data.classNames());
    }

    private CifarDataset view(Dataset.Usage usage, int batchSize, boolean augmented, long augmentSeed, int max) {
        CifarDataset.Builder b =
                CifarDataset.builder()
                        .optData(data)
                        .optUsage(usage)
                        .optValidationSize(validationSize)
                        .optSplitSeed(splitSeed)
                        .optAugment(augmented)
                        .optAugmentSeed(augmentSeed)
                        .setSampling(batchSize, augmented);
        if (max > 0) {
            b.optLimit(max);
        }
        return b.build();
    }

    /**
     * The validation hold-out for a training file of {@code trainSize} images: {@link
     * #VALIDATION_SIZE} for the real data, a tenth of the images (at least 1) for data smaller than
     * twice that (synthetic test data).
     *
     * @param trainSize images in the training file
     * @return the hold-out size
     */
    public static int validationSize(int trainSize) {
        return trainSize >= 2 * VALIDATION_SIZE ? VALIDATION_SIZE : Math.max(1, trainSize / 10);
    }

    /**
     * Builds the views of decoded data.
     *
     * @param data the decoded data (see {@link #load})
     * @param batchSize batch size of {@link #train()} (the training recipe's), &gt; 0
     * @param splitSeed seed of the stratified validation hold-out (the protocol uses 0)
     * @param augmentSeed seed of the training augmentation
     * @param limit 0 for the whole training split; otherwise its first {@code limit} images (in
     *     file order), for quick runs and tests. Validation and test are never cut.
     * @return the splits
     * @throws IllegalArgumentException if a number is out of range, e.g. a limit above {@link
     *     #trainSplitSize}
     */
    public static CifarSplits of(CifarData data, int batchSize, long splitSeed, long augmentSeed, int limit) {
        checkNotNull(data, "data must not be null");
        checkArgument(batchSize > 0, "batchSize (%s) must be > 0", batchSize);
        checkArgument(limit >= 0, "limit (%s) must be >= 0 (0 = all images)", limit);
        checkArgument(data.trainSize() >= 2, "the data has %s training images; need at least 2", data.trainSize());
        checkArgument(
                limit <= trainSplitSize(data),
                "limit (%s) is more than the %s images of the %s training split (0 = all of them)",
                limit,
                trainSplitSize(data),
                data.variant());
        return new CifarSplits(data, batchSize, splitSeed, augmentSeed, limit);
    }

    /**
     * Reads CIFAR data (fine labels) from an archive or folder; see {@link CifarData#load}.
     *
     * @param path the {@code .tar.gz} as distributed, the folder it extracts to, or a folder holding
     *     either
     * @param variant CIFAR-10 or CIFAR-100
     * @return the decoded data
     * @throws CifarFormatException if the data is missing or malformed; the message says how to get it
     * @throws IOException if reading fails otherwise
     */
    public static CifarData load(Path path, CifarVariant variant) throws IOException {
        return CifarData.load(path, variant, LabelMode.FINE);
    }

    /**
     * Finds the data to read, touching the network only when {@code download} is set.
     *
     * <p>In order: {@code given} if not null (it must exist); the archive or its extracted folder in
     * {@code <repositoryRoot>/../shared/data}; the archive in the download cache {@code
     * ~/.lethe/cifar}; with {@code download}, {@link CifarData#download} into that cache.
     *
     * @param given the path the user gave ({@code --data}), or null
     * @param variant CIFAR-10 or CIFAR-100
     * @param download whether the official archive may be downloaded
     * @param repositoryRoot the repository root (the launcher passes it as {@code -Dlethe.home})
     * @return an existing archive or folder
     * @throws CifarFormatException if nothing is found; the message names the places searched, the
     *     download URL and the options {@code --data PATH} and {@code --download}
     * @throws IOException if the download fails
     */
    public static Path locate(Path given, CifarVariant variant, boolean download, Path repositoryRoot)
            throws IOException {
        checkNotNull(variant, "variant must not be null");
        if (given != null) {
            if (!Files.exists(given)) {
                throw new CifarFormatException(
                        "--data " + given + " does not exist. " + howToGet(variant));
            }
            return given;
        }
        List<Path> candidates = new ArrayList<>();
        if (repositoryRoot != null) {
            Path shared = repositoryRoot.resolve(SHARED_DATA_DIR).normalize();
            candidates.add(shared.resolve(variant.archiveFileName()));
            candidates.add(shared.resolve(variant.folderName()));
        }
        Path cache = downloadCache();
        candidates.add(cache.resolve(variant.archiveFileName()));
        for (Path p : candidates) {
            if (Files.exists(p)) {
                return p;
            }
        }
        if (download) {
            return CifarData.download(variant, cache);
        }
        throw new CifarFormatException(
                "No " + variant + " data found (looked for " + candidates + "). " + howToGet(variant));
    }

    /**
     * @param variant the data set
     * @return a one-sentence hint: the download URL, and the {@code --data} / {@code --download}
     *     options
     */
    public static String howToGet(CifarVariant variant) {
        return String.format(
                Locale.ROOT,
                "Get the binary version from %s (md5 %s) and pass --data PATH (the .tar.gz or the folder"
                        + " it extracts to), or pass --download to fetch it into %s.",
                variant.archiveUri(),
                variant.archiveMd5(),
                downloadCache());
    }

    /** @return the folder downloads go to, {@code ~/.lethe/cifar} */
    public static Path downloadCache() {
        return Paths.get(System.getProperty("user.home"), ".lethe", "cifar");
    }

    /** @return the decoded data all views share */
    public CifarData data() {
        return data;
    }

    /** @return the data set's name, "CIFAR-10" or "CIFAR-100" */
    public String datasetName() {
        return data.variant().toString();
    }

    /** @return the limit given to {@link #of} (0 = none) */
    public int limit() {
        return limit;
    }

    /** @return the seed of the validation hold-out */
    public long splitSeed() {
        return splitSeed;
    }

    /** @return the training split, augmented and shuffled, batches of the given batch size */
    public CifarDataset train() {
        return train;
    }

    /** @return the training split, not augmented, in order (D_f and D_r derive from it) */
    public CifarDataset trainPlain() {
        return trainPlain;
    }

    /** @return the validation hold-out, not augmented */
    public CifarDataset validation() {
        return validation;
    }

    /** @return the test set, not augmented */
    public CifarDataset test() {
        return test;
    }

    /** @return {@link #trainPlain()} with its labels, for {@code Unlearner.using} and the evaluator */
    public LabeledData labeledTrain() {
        return labeledTrain;
    }

    /**
     * @return {@link #train()} with its labels: the training images as the model was trained on
     *     them (augmented with {@link #AUGMENTATION}, shuffled), for a Retrain reference trained
     *     like the model
     */
    public LabeledData labeledTrainAugmented() {
        return labeledTrainAugmented;
    }

    /**
     * The training images for a run that trains like the model did: {@link
     * #labeledTrainAugmented()} for {@link #AUGMENTATION}, {@link #labeledTrain()} for {@link
     * #NO_AUGMENTATION}.
     *
     * @param augmentation the augmentation recorded with the model
     * @return the data
     * @throws IllegalArgumentException for an augmentation these splits cannot produce
     */
    public LabeledData labeledTrain(String augmentation) {
        if (AUGMENTATION.equals(augmentation)) {
            return labeledTrainAugmented;
        }
        if (NO_AUGMENTATION.equals(augmentation)) {
            return labeledTrain;
        }
        throw new IllegalArgumentException("unknown augmentation '" + augmentation + "'; expected '"
                + AUGMENTATION + "' or '" + NO_AUGMENTATION + "'");
    }

    /** @return the seed of {@link #train()}'s augmentation */
    public long augmentSeed() {
        return augmentSeed;
    }

    /** @return {@link #validation()} with its labels (the probe's data) */
    public LabeledData labeledValidation() {
        return labeledValidation;
    }

    /** @return {@link #test()} with its labels */
    public LabeledData labeledTest() {
        return labeledTest;
    }

    /** @return the class names in id order */
    public List<String> classNames() {
        return ImmutableList.copyOf(data.classNames());
    }

    /** @return the number of classes */
    public int numClasses() {
        return data.numClasses();
    }

    /**
     * Resolves a class given as an id ("3") or a name ("cat").
     *
     * @param idOrName the id or the exact name
     * @return the class id
     * @throws IllegalArgumentException if it is neither a valid id nor a known name; the message
     *     lists the names
     */
    public int classId(String idOrName) {
        checkNotNull(idOrName, "class must not be null");
        String s = idOrName.trim();
        if (s.matches("-?\\d+")) {
            int id = parseId(s);
            checkArgument(
                    id < numClasses(),
                    "class id %s must be in [0, %s); classes: %s",
                    id,
                    numClasses(),
                    data.classNames());
            return id;
        }
        return data.classId(s);
    }

    /**
     * Parses a class id given as text.
     *
     * @param text digits, possibly with a minus sign
     * @return the id, &gt;= 0
     * @throws IllegalArgumentException if it is negative or too large for an int; the message
     *     names the value and the rule
     */
    static int parseId(String text) {
        long id;
        try {
            id = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("class id " + text + " is not a number", e);
        }
        checkArgument(id >= 0, "class id %s must be >= 0 (ids count from 0)", id);
        checkArgument(id <= Integer.MAX_VALUE, "class id %s is too large", id);
        return (int) id;
    }

    /**
     * The size of the training split of decoded data: its training images minus the validation
     * hold-out ({@link #validationSize}); the largest useful {@code limit}.
     *
     * @param data the decoded data
     * @return the number of training images, 45,000 for CIFAR-10
     */
    public static int trainSplitSize(CifarData data) {
        return data.trainSize() - validationSize(data.trainSize());
    }

    /**
     * An evaluator of the protocol's metrics on these splits: D_f / D_r from {@link
     * #labeledTrain()}, test = {@link #labeledTest()}, the linear probe fitted on {@link
     * #labeledValidation()}.
     *
     * @param retainSample RA on a seeded sample of this many retain images, or {@link
     *     UnlearningEvaluator#ALL}
     * @param miaTrainPerSide members and non-members the MIA's SVM is trained on, or {@link
     *     UnlearningEvaluator#ALL} for the protocol's |test| per side
     * @return the evaluator
     */
    public UnlearningEvaluator evaluator(int retainSample, int miaTrainPerSide) {
        UnlearningEvaluator.Builder b =
                UnlearningEvaluator.builder()
                        .setTrainData(labeledTrain)
                        .setTestData(labeledTest)
                        .optProbeData(labeledValidation)
                        .optRetainSample(retainSample);
        if (miaTrainPerSide != UnlearningEvaluator.ALL) {
            b.optMiaTrainPerSide(miaTrainPerSide);
        }
        return b.build();
    }

    /**
     * Indices into {@link #labeledTest()} of one class's test images.
     *
     * @param classId the class
     * @return its test items
     */
    public int[] testIndicesOf(int classId) {
        return labeledTest.indicesOf(classId);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "%s: %d train / %d validation / %d test images (split seed %d%s)",
                datasetName(),
                train.size(),
                validation.size(),
                test.size(),
                splitSeed,
                limit > 0 ? ", limit " + limit : "");
    }
}

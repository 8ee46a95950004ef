package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import ai.djl.training.dataset.Dataset;
import com.google.common.collect.ImmutableList;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarFormatException;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The protocol's three views of one CIFAR data set, loaded once: a seeded, class-stratified
 * 45,000 / 5,000 train / validation split of the training file and the 10,000 test images
 * (brief.md, "The evaluation protocol").
 *
 * <p>Three datasets share the decoded bytes, none of them augmented: {@link #train()} (for {@code
 * MoeTraining.fit}, which batches and augments as the training recipe says, and for unlearning,
 * profiling and metrics: D_f and D_r derive from it), {@link #validation()} and {@link #test()}.
 * Batches are (B, 3, 32, 32) normalised float32 images and (B) float32 class ids. The {@link
 * LabeledData} views carry an {@link LabeledData#identity() identity}: the data's SHA-256, the
 * split and the limit, so that an audit record says which data a run used.
 *
 * <pre>{@code
 * Path archive = CifarSplits.locate(null, CifarVariant.CIFAR10, false, Paths.get("."));
 * CifarSplits splits = CifarSplits.of(CifarSplits.load(archive, CifarVariant.CIFAR10), 0, 0);
 * MoeTraining.fit(model, splits.train(), splits.validation(), recipe, progress);
 * }</pre>
 */
public final class CifarSplits {

    /** Images held out of the training file for validation: 5,000 (500 per CIFAR-10 class). */
    public static final int VALIDATION_SIZE = CifarDataset.DEFAULT_VALIDATION_SIZE;

    /** Where the repository keeps the real data, relative to its root: {@code ../shared/data}. */
    public static final String SHARED_DATA_DIR = "../shared/data";

    /** Images per batch of the datasets' own sampling (training and evaluation choose their own batches). */
    private static final int BATCH_SIZE = 128;

    /**
     * Decoded CIFAR data and where it came from.
     *
     * @param path the archive or folder it was read from
     * @param data the decoded images and labels
     * @param sha256 the SHA-256 of the archive, or of the folder's files ({@link #sha256(Path)})
     */
    public record Source(Path path, CifarData data, String sha256) {

        /** @return e.g. {@code "cifar-10-binary.tar.gz sha256=c4a3…"} */
        public String describe() {
            return path.getFileName() + " sha256=" + sha256;
        }
    }

    private final Source source;
    private final int limit;
    private final long splitSeed;
    private final int validationSize;
    private final CifarDataset train;
    private final CifarDataset validation;
    private final CifarDataset test;
    private final LabeledData labeledTrain;
    private final LabeledData labeledValidation;
    private final LabeledData labeledTest;

    private CifarSplits(Source source, long splitSeed, int limit) {
        this.source = source;
        this.limit = limit;
        this.splitSeed = splitSeed;
        this.validationSize = validationSize(source.data().trainSize());
        train = view(Dataset.Usage.TRAIN, limit);
        validation = view(Dataset.Usage.VALIDATION, 0);
        test = view(Dataset.Usage.TEST, 0);
        List<String> names = source.data().classNames();
        String origin = source.describe() + ", " + source.data().variant();
        labeledTrain = LabeledData.of(train, train.labels(), names).withIdentity(String.format(Locale.ROOT,
                "%s training split (split seed %d, %d images held out for validation), %s", origin, splitSeed,
                validationSize, limit > 0 ? "first " + limit + " images" : "all " + train.size() + " images"));
        labeledValidation = LabeledData.of(validation, validation.labels(), names).withIdentity(String.format(
                Locale.ROOT, "%s validation split (split seed %d), %d images", origin, splitSeed, validation.size()));
        labeledTest = LabeledData.of(test, test.labels(), names)
                .withIdentity(origin + " test set, " + test.size() + " images");
    }

    private CifarDataset view(Dataset.Usage usage, int max) {
        CifarDataset.Builder b =
                CifarDataset.builder()
                        .optData(source.data())
                        .optUsage(usage)
                        .optValidationSize(validationSize)
                        .optSplitSeed(splitSeed)
                        .setSampling(BATCH_SIZE, false);
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
     * @param source the decoded data (see {@link #load})
     * @param splitSeed seed of the stratified validation hold-out (the protocol uses 0)
     * @param limit 0 for the whole training split; otherwise its first {@code limit} images (in
     *     file order), for quick runs and tests. Validation and test are never cut.
     * @return the splits
     * @throws IllegalArgumentException if a number is out of range, e.g. a limit above {@link
     *     #trainSplitSize}
     */
    public static CifarSplits of(Source source, long splitSeed, int limit) {
        checkNotNull(source, "source must not be null");
        CifarData data = source.data();
        checkArgument(limit >= 0, "limit (%s) must be >= 0 (0 = all images)", limit);
        checkArgument(data.trainSize() >= 2, "the data has %s training images; need at least 2", data.trainSize());
        checkArgument(
                limit <= trainSplitSize(data),
                "limit (%s) is more than the %s images of the %s training split (0 = all of them)",
                limit,
                trainSplitSize(data),
                data.variant());
        return new CifarSplits(source, splitSeed, limit);
    }

    /**
     * Reads CIFAR data (fine labels) from an archive or folder ({@link CifarData#load}) and hashes
     * what it read ({@link #sha256(Path)}), so that the data's identity goes into audit records.
     *
     * @param path the {@code .tar.gz} as distributed, the folder it extracts to, or a folder holding
     *     either
     * @param variant CIFAR-10 or CIFAR-100
     * @return the decoded data and its identity
     * @throws CifarFormatException if the data is missing or malformed; the message says how to get it
     * @throws IOException if reading fails otherwise
     */
    public static Source load(Path path, CifarVariant variant) throws IOException {
        CifarData data = CifarData.load(path, variant, LabelMode.FINE);
        return new Source(path, data, sha256(path));
    }

    /**
     * The SHA-256 of a data file, or of a folder: over each regular file below it, in the order of
     * their relative paths, the path (UTF-8, then a 0 byte) and the content.
     *
     * @param path a file or folder
     * @return 64 hex digits
     * @throws IOException if reading fails
     */
    static String sha256(Path path) throws IOException {
        if (Files.isRegularFile(path)) {
            return com.google.common.io.Files.asByteSource(path.toFile()).hash(Hashing.sha256()).toString();
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(path)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        Hasher h = Hashing.sha256().newHasher();
        for (Path f : files) {
            h.putString(path.relativize(f).toString(), StandardCharsets.UTF_8).putByte((byte) 0);
            h.putBytes(Files.readAllBytes(f));
        }
        return h.hash().toString();
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
        return source.data();
    }

    /** @return the decoded data and where it came from */
    public Source source() {
        return source;
    }

    /** @return the data set's name, "CIFAR-10" or "CIFAR-100" */
    public String datasetName() {
        return source.data().variant().toString();
    }

    /** @return the limit given to {@link #of} (0 = none) */
    public int limit() {
        return limit;
    }

    /** @return the seed of the validation hold-out */
    public long splitSeed() {
        return splitSeed;
    }

    /**
     * @return the training split, not augmented (the training recipe augments), in file order; D_f
     *     and D_r derive from it
     */
    public CifarDataset train() {
        return train;
    }

    /** @return the validation hold-out, not augmented */
    public CifarDataset validation() {
        return validation;
    }

    /** @return the test set, not augmented */
    public CifarDataset test() {
        return test;
    }

    /**
     * @return {@link #train()} with its labels and identity: for {@code Unlearner.using} (every
     *     method, the Retrain oracle included) and the evaluator
     */
    public LabeledData labeledTrain() {
        return labeledTrain;
    }

    /** @return {@link #validation()} with its labels (the probes' and the sweep's data) */
    public LabeledData labeledValidation() {
        return labeledValidation;
    }

    /** @return {@link #test()} with its labels */
    public LabeledData labeledTest() {
        return labeledTest;
    }

    /** @return the class names in id order */
    public List<String> classNames() {
        return ImmutableList.copyOf(source.data().classNames());
    }

    /** @return the number of classes */
    public int numClasses() {
        return source.data().numClasses();
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
                    source.data().classNames());
            return id;
        }
        return source.data().classId(s);
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
     * #labeledTrain()}, test = {@link #labeledTest()}, the linear probes (every MoE layer and the
     * penultimate embedding) and the class-membership attack fitted on {@link
     * #labeledValidation()}.
     *
     * @param retainSample RA on a seeded sample of this many retain images, or {@link
     *     UnlearningEvaluator#ALL}
     * @param miaTrainPerSide members and non-members the MIA's SVM is trained on, or {@link
     *     UnlearningEvaluator#ALL} for the protocol's |test| per side
     * @return the evaluator (add a relearning test with {@code toBuilder().optRelearning})
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

package dev.lethe.cifar;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkElementIndex;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A CIFAR-10 or CIFAR-100 data set decoded once into compact bytes, immutable and shared.
 *
 * <p>Images are kept as the official bytes: 3,072 per image (R plane, G plane, B plane, each 32&times;32
 * row by row), one label byte per image (the class id under the chosen {@link LabelMode}). The train
 * part is {@code data_batch_1.bin} &hellip; {@code data_batch_5.bin} (CIFAR-10) or {@code train.bin}
 * (CIFAR-100) in file order, 50,000 images in the real data; the test part is {@code test_batch.bin} /
 * {@code test.bin}, 10,000 images. An original index is a position in that order.
 *
 * <p>Load it once and hand it to several {@link CifarDataset} builders ({@code optData}) so that the
 * archive is decompressed once for the train, validation and test views:
 *
 * <pre>{@code
 * CifarData data = CifarData.load(Paths.get("cifar-10-binary.tar.gz"), CifarVariant.CIFAR10, LabelMode.FINE);
 * CifarDataset train = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TRAIN)
 *         .optAugment(true).setSampling(128, true).build();
 * CifarDataset val = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.VALIDATION)
 *         .setSampling(128, false).build();
 * }</pre>
 *
 * <p>The real CIFAR-10 takes about 184 MB of heap (153.6 MB train pixels, 30.7 MB test pixels).
 */
public final class CifarData {
    private final CifarVariant variant;
    private final LabelMode labelMode;
    private final List<String> classNames;
    private final CifarReader.Records train;
    private final CifarReader.Records test;
    private volatile double[][] channelStats;

    CifarData(
            CifarVariant variant,
            LabelMode labelMode,
            List<String> classNames,
            CifarReader.Records train,
            CifarReader.Records test) {
        this.variant = variant;
        this.labelMode = labelMode;
        this.classNames = ImmutableList.copyOf(classNames);
        this.train = train;
        this.test = test;
    }

    /**
     * Reads CIFAR data in the official binary layout, checking every byte's place.
     *
     * <p>{@code path} may be the {@code .tar.gz} archive as distributed (streamed and decompressed
     * once, not extracted), the folder the archive extracts to ({@code cifar-10-batches-bin} /
     * {@code cifar-100-binary}), or a folder containing that folder or the archive. Class names come
     * from {@code batches.meta.txt} (CIFAR-10) or {@code fine_label_names.txt} / {@code
     * coarse_label_names.txt} (CIFAR-100). Nothing is downloaded; see {@link #download}.
     *
     * @param path archive or folder
     * @param variant which data set the files hold
     * @param labelMode {@link LabelMode#FINE} (CIFAR-10: the only label; CIFAR-100: 100 classes) or
     *     {@link LabelMode#COARSE} (CIFAR-100 only: 20 classes)
     * @return the decoded data
     * @throws CifarFormatException if the path is missing (the message says how to get the data), the
     *     archive is unreadable, truncated or has unexpected or missing members, a file is not a whole
     *     number of records, the files belong to the other variant, or a label is out of range
     * @throws IOException if reading fails otherwise
     * @throws IllegalArgumentException for CIFAR-10 with coarse labels
     */
    public static CifarData load(Path path, CifarVariant variant, LabelMode labelMode) throws IOException {
        checkNotNull(path, "path must not be null");
        checkNotNull(variant, "variant must not be null");
        variant.checkLabelMode(labelMode);
        return CifarReader.read(path, variant, labelMode);
    }

    /**
     * Downloads the official archive into {@code cacheDir} unless it is already there, and returns its
     * path (pass it to {@link #load}). The download goes to a temporary file in the same folder, shows
     * a progress bar on stderr, is checked against {@link CifarVariant#archiveMd5()} and is then
     * renamed atomically to {@code cacheDir/}{@link CifarVariant#archiveFileName()}; a failed or
     * mismatching download leaves nothing behind. This is the only method in this module that uses the
     * network, and it runs only when called.
     *
     * @param variant which archive to fetch, from {@link CifarVariant#archiveUri()}
     * @param cacheDir folder to keep the archive in (created if missing)
     * @return the archive path
     * @throws CifarFormatException if the md5 of the downloaded file does not match
     * @throws IOException if the download fails
     */
    public static Path download(CifarVariant variant, Path cacheDir) throws IOException {
        checkNotNull(variant, "variant must not be null");
        checkNotNull(cacheDir, "cacheDir must not be null");
        return CifarDownload.fetch(
                variant.archiveUri(), cacheDir.resolve(variant.archiveFileName()), variant.archiveMd5(), System.err);
    }

    /**
     * Builds CIFAR data from bytes in the official layout, e.g. synthetic data for tests and
     * benchmarks. The arrays are copied.
     *
     * @param variant the data set the bytes stand for
     * @param labelMode the label mode the labels follow
     * @param classNames one name per class id, {@code variant.numClasses(labelMode)} of them
     * @param trainLabels one class id per training image (unsigned byte)
     * @param trainPixels 3,072 bytes per training image (R, G, B planes, rows)
     * @param testLabels one class id per test image
     * @param testPixels 3,072 bytes per test image
     * @return the data
     * @throws IllegalArgumentException if a length or a label does not fit
     */
    public static CifarData of(
            CifarVariant variant,
            LabelMode labelMode,
            List<String> classNames,
            byte[] trainLabels,
            byte[] trainPixels,
            byte[] testLabels,
            byte[] testPixels) {
        checkNotNull(variant, "variant must not be null");
        variant.checkLabelMode(labelMode);
        int numClasses = variant.numClasses(labelMode);
        checkNotNull(classNames, "classNames must not be null");
        checkArgument(
                classNames.size() == numClasses,
                "classNames.size() (%s) must be %s for %s %s labels",
                classNames.size(),
                numClasses,
                variant,
                labelMode);
        checkArgument(
                classNames.stream().distinct().count() == numClasses,
                "classNames (%s) must be distinct",
                classNames);
        return new CifarData(
                variant,
                labelMode,
                classNames,
                records("train", trainLabels, trainPixels, numClasses),
                records("test", testLabels, testPixels, numClasses));
    }

    private static CifarReader.Records records(String part, byte[] labels, byte[] pixels, int numClasses) {
        checkNotNull(labels, "%sLabels must not be null", part);
        checkNotNull(pixels, "%sPixels must not be null", part);
        checkArgument(
                (long) labels.length * CifarVariant.IMAGE_BYTES == pixels.length,
                "%sPixels.length (%s) must be 3072 * %sLabels.length (%s)",
                part,
                pixels.length,
                part,
                labels.length);
        for (int i = 0; i < labels.length; i++) {
            int label = labels[i] & 0xff;
            checkArgument(
                    label < numClasses, "%sLabels[%s] (%s) must be < numClasses (%s)", part, i, label, numClasses);
        }
        return new CifarReader.Records(labels.clone(), pixels.clone());
    }

    /**
     * Returns which data set this is.
     *
     * @return CIFAR-10 or CIFAR-100
     */
    public CifarVariant variant() {
        return variant;
    }

    /**
     * Returns the label mode the class ids follow.
     *
     * @return fine or coarse
     */
    public LabelMode labelMode() {
        return labelMode;
    }

    /**
     * Returns the class names in id order, from the metadata file.
     *
     * @return an immutable list of {@link #numClasses()} names
     */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * Returns the number of classes: 10 (CIFAR-10), 100 (CIFAR-100 fine) or 20 (CIFAR-100 coarse).
     *
     * @return the number of classes
     */
    public int numClasses() {
        return classNames.size();
    }

    /**
     * Returns the name of a class.
     *
     * @param classId the class id, in [0, numClasses)
     * @return its name
     */
    public String className(int classId) {
        checkElementIndex(classId, numClasses(), "classId");
        return classNames.get(classId);
    }

    /**
     * Looks up a class id by its exact name (e.g. {@code "cat"} is 3 in CIFAR-10).
     *
     * @param name the class name
     * @return its id
     * @throws IllegalArgumentException if no class has that name; the message lists the names
     */
    public int classId(String name) {
        checkNotNull(name, "name must not be null");
        int id = classNames.indexOf(name);
        checkArgument(id >= 0, "class name '%s' is not a %s %s class; known names: %s", name, variant, labelMode,
                classNames);
        return id;
    }

    /**
     * Returns the number of training images (50,000 in the real data).
     *
     * @return the train size
     */
    public int trainSize() {
        return train.size();
    }

    /**
     * Returns the number of test images (10,000 in the real data).
     *
     * @return the test size
     */
    public int testSize() {
        return test.size();
    }

    /**
     * Computes the per-channel (R, G, B) mean of all training pixels scaled to [0, 1]; for the real
     * CIFAR-10 this is 0.4914, 0.4822, 0.4465 (compare {@link CifarVariant#mean()}). Computed once,
     * then cached.
     *
     * @return a new array of 3 floats
     */
    public float[] channelMean() {
        return toFloats(stats()[0]);
    }

    /**
     * Computes the per-channel (R, G, B) population standard deviation of all training pixels scaled
     * to [0, 1]; for the real CIFAR-10 this is 0.2470, 0.2435, 0.2616. Computed once, then cached.
     *
     * @return a new array of 3 floats
     */
    public float[] channelStd() {
        return toFloats(stats()[1]);
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    private double[][] stats() {
        double[][] stats = channelStats;
        if (stats == null) {
            stats = computeStats(train.pixels, train.size());
            channelStats = stats;
        }
        return stats;
    }

    private static double[][] computeStats(byte[] pixels, int n) {
        double[] mean = new double[3];
        double[] std = new double[3];
        int plane = CifarVariant.IMAGE_BYTES / 3;
        for (int c = 0; c < 3; c++) {
            long sum = 0;
            long sumSq = 0;
            for (int i = 0; i < n; i++) {
                int base = i * CifarVariant.IMAGE_BYTES + c * plane;
                for (int p = base; p < base + plane; p++) {
                    int v = pixels[p] & 0xff;
                    sum += v;
                    sumSq += v * v;
                }
            }
            double count = (double) n * plane;
            double m = sum / count;
            mean[c] = m / 255.0;
            std[c] = Math.sqrt(Math.max(0, sumSq / count - m * m)) / 255.0;
        }
        return new double[][] {mean, std};
    }

    CifarReader.Records train() {
        return train;
    }

    CifarReader.Records test() {
        return test;
    }

    @Override
    public String toString() {
        return variant + " (" + labelMode + ", " + numClasses() + " classes): " + trainSize() + " train, " + testSize()
                + " test images";
    }
}

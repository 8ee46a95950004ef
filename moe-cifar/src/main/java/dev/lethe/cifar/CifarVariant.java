package dev.lethe.cifar;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;
import java.net.URI;
import java.util.List;

/**
 * The two CIFAR data sets in their official "binary version" layout
 * (https://www.cs.toronto.edu/~kriz/cifar.html; Krizhevsky, <i>Learning Multiple Layers of Features
 * from Tiny Images</i>, 2009).
 *
 * <p>Every image is 32&times;32 RGB stored as 3,072 bytes: 1,024 red, then 1,024 green, then 1,024
 * blue, each plane row by row. CIFAR-10 records are 1 label byte + 3,072 pixel bytes; CIFAR-100
 * records are 1 coarse + 1 fine label byte + 3,072 pixel bytes.
 */
public enum CifarVariant {
    /**
     * CIFAR-10: folder {@code cifar-10-batches-bin} with {@code data_batch_1.bin} &hellip; {@code
     * data_batch_5.bin} (train, 50,000 images), {@code test_batch.bin} (10,000) and {@code
     * batches.meta.txt} (10 class names); 10 classes.
     */
    CIFAR10(
            "CIFAR-10",
            "cifar-10-batches-bin",
            ImmutableList.of(
                    "data_batch_1.bin",
                    "data_batch_2.bin",
                    "data_batch_3.bin",
                    "data_batch_4.bin",
                    "data_batch_5.bin"),
            "test_batch.bin",
            1,
            "batches.meta.txt",
            null,
            10,
            0,
            "cifar-10-binary.tar.gz",
            "c32a1d4ab5d03f1284b67883e8d87530",
            new float[] {0.4914f, 0.4822f, 0.4465f},
            new float[] {0.2470f, 0.2435f, 0.2616f}),
    /**
     * CIFAR-100: folder {@code cifar-100-binary} with {@code train.bin} (50,000 images), {@code
     * test.bin} (10,000), {@code fine_label_names.txt} (100 names) and {@code
     * coarse_label_names.txt} (20 names).
     */
    CIFAR100(
            "CIFAR-100",
            "cifar-100-binary",
            ImmutableList.of("train.bin"),
            "test.bin",
            2,
            "fine_label_names.txt",
            "coarse_label_names.txt",
            100,
            20,
            "cifar-100-binary.tar.gz",
            "03b5dce01913d631647c71ecec9e9cb8",
            new float[] {0.5071f, 0.4865f, 0.4409f},
            new float[] {0.2673f, 0.2564f, 0.2762f});

    /** Bytes of one image: 3 planes of 32&times;32. */
    static final int IMAGE_BYTES = 3 * 32 * 32;

    private static final String SITE = "https://www.cs.toronto.edu/~kriz/";

    private final String displayName;
    private final String folderName;
    private final List<String> trainFiles;
    private final String testFile;
    private final int labelBytes;
    private final String fineNamesFile;
    private final String coarseNamesFile;
    private final int fineClasses;
    private final int coarseClasses;
    private final String archiveFileName;
    private final String archiveMd5;
    private final float[] mean;
    private final float[] std;

    CifarVariant(
            String displayName,
            String folderName,
            List<String> trainFiles,
            String testFile,
            int labelBytes,
            String fineNamesFile,
            String coarseNamesFile,
            int fineClasses,
            int coarseClasses,
            String archiveFileName,
            String archiveMd5,
            float[] mean,
            float[] std) {
        this.displayName = displayName;
        this.folderName = folderName;
        this.trainFiles = trainFiles;
        this.testFile = testFile;
        this.labelBytes = labelBytes;
        this.fineNamesFile = fineNamesFile;
        this.coarseNamesFile = coarseNamesFile;
        this.fineClasses = fineClasses;
        this.coarseClasses = coarseClasses;
        this.archiveFileName = archiveFileName;
        this.archiveMd5 = archiveMd5;
        this.mean = mean;
        this.std = std;
    }

    /**
     * Returns the number of classes under a label mode.
     *
     * @param mode the label mode; {@link LabelMode#COARSE} only for CIFAR-100
     * @return 10 for CIFAR-10, 100 (fine) or 20 (coarse) for CIFAR-100
     * @throws IllegalArgumentException for CIFAR-10 with coarse labels
     */
    public int numClasses(LabelMode mode) {
        checkLabelMode(mode);
        return mode == LabelMode.FINE ? fineClasses : coarseClasses;
    }

    /**
     * Returns the per-channel (R, G, B) mean of the 50,000 training images, pixels scaled to [0, 1].
     * CIFAR-10: 0.4914, 0.4822, 0.4465; CIFAR-100: 0.5071, 0.4865, 0.4409 (computed over the
     * official training sets; the CIFAR-10 values are re-checked by this module's real-data test,
     * and {@link CifarData#channelMean()} recomputes them from loaded data).
     *
     * @return a new array of 3 floats
     */
    public float[] mean() {
        return mean.clone();
    }

    /**
     * Returns the per-channel (R, G, B) standard deviation over all training pixels, scaled to [0,
     * 1]. CIFAR-10: 0.2470, 0.2435, 0.2616; CIFAR-100: 0.2673, 0.2564, 0.2762 (population standard
     * deviation over all pixels of a channel, not the mean of per-image deviations).
     *
     * @return a new array of 3 floats
     */
    public float[] std() {
        return std.clone();
    }

    /**
     * Returns the official download address of the binary archive: {@code
     * https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz} or {@code
     * .../cifar-100-binary.tar.gz}.
     *
     * @return the archive URI
     */
    public URI archiveUri() {
        return URI.create(SITE + archiveFileName);
    }

    /**
     * Returns the md5 of the official archive: CIFAR-10 {@code c32a1d4ab5d03f1284b67883e8d87530},
     * CIFAR-100 {@code 03b5dce01913d631647c71ecec9e9cb8}.
     *
     * @return 32 lower-case hex digits
     */
    public String archiveMd5() {
        return archiveMd5;
    }

    /**
     * Returns the file name of the official archive, {@code cifar-10-binary.tar.gz} or {@code
     * cifar-100-binary.tar.gz}.
     *
     * @return the archive file name
     */
    public String archiveFileName() {
        return archiveFileName;
    }

    /**
     * Returns the name of the folder the archive extracts to, {@code cifar-10-batches-bin} or {@code
     * cifar-100-binary}.
     *
     * @return the folder name
     */
    public String folderName() {
        return folderName;
    }

    @Override
    public String toString() {
        return displayName;
    }

    void checkLabelMode(LabelMode mode) {
        checkNotNull(mode, "labelMode must not be null");
        checkArgument(
                mode == LabelMode.FINE || coarseClasses > 0,
                "labelMode (%s) must be FINE for %s: only CIFAR-100 has coarse labels",
                mode,
                displayName);
    }

    List<String> trainFiles() {
        return trainFiles;
    }

    String testFile() {
        return testFile;
    }

    /** Bytes of one record: label bytes + 3,072 pixel bytes. */
    int recordBytes() {
        return labelBytes + IMAGE_BYTES;
    }

    int labelBytes() {
        return labelBytes;
    }

    String namesFile(LabelMode mode) {
        return mode == LabelMode.COARSE ? coarseNamesFile : fineNamesFile;
    }

    /** Every member a well-formed archive or folder of this variant holds (names only). */
    List<String> dataFiles() {
        ImmutableList.Builder<String> files = ImmutableList.builder();
        files.addAll(trainFiles).add(testFile).add(fineNamesFile);
        if (coarseNamesFile != null) {
            files.add(coarseNamesFile);
        }
        return files.build();
    }

    /** Index of the label byte used by {@code mode} inside a record. */
    int labelOffset(LabelMode mode) {
        return mode == LabelMode.FINE ? labelBytes - 1 : 0;
    }

    /** The other variant, for "this looks like CIFAR-100" messages. */
    CifarVariant other() {
        return this == CIFAR10 ? CIFAR100 : CIFAR10;
    }
}

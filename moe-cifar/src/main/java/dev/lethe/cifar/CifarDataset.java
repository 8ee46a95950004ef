package dev.lethe.cifar;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkElementIndex;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.training.dataset.Sampler;
import ai.djl.util.Progress;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One usage (train, validation or test) of CIFAR-10 or CIFAR-100 as a DJL {@link RandomAccessDataset},
 * optionally restricted to some classes, augmented and normalised.
 *
 * <p><b>Items.</b> Item {@code i} of the dataset is an image of the chosen usage; {@link
 * #originalIndex(int)} gives its position in the official file order (train: {@code data_batch_1}
 * &hellip; {@code data_batch_5} / {@code train.bin} concatenated, 0..49,999; test: 0..9,999) and {@link
 * #label(int)} its class id. Items keep the original ascending order and the original labels in every
 * view; shuffling is the {@link Sampler}'s job ({@code setSampling(128, true)} uses DJL's
 * {@code RandomSampler}, seeded through {@code Engine.getInstance().setRandomSeed}).
 *
 * <p><b>Usages.</b> {@link Dataset.Usage#VALIDATION} is a seeded hold-out of {@code validationSize}
 * (default 5,000) training images, stratified by class: each class gives its share of the training
 * set, rounded by largest remainder, so the real CIFAR-10 gives 500 per class. {@link
 * Dataset.Usage#TRAIN} is the rest (45,000), or all 50,000 with {@code optValidationSize(0)}. {@link
 * Dataset.Usage#TEST} is the test file. The same {@code splitSeed} always gives the same split.
 *
 * <p><b>Batches.</b> {@link #getData(NDManager)} yields {@link Batch}es whose data is ONE float32
 * NDArray of shape (B, 3, 32, 32), made from the batch's bytes gathered (and augmented) on the host
 * into one uint8 array that libtorch then casts and normalises in place, and whose labels are a
 * float32 NDArray of shape (B) holding class ids (DJL's {@code Cifar10} convention, fit for {@code
 * SoftmaxCrossEntropyLoss} and {@code Accuracy}). Each batch owns a sub-manager of the manager passed
 * in (on {@code optDevice}, if set); {@link Batch#close()} frees its arrays. With {@code
 * optNormalize(true)} (default) a pixel byte {@code v} of channel {@code c} becomes {@code (v / 255 -
 * mean[c]) / std[c]} with the constants of {@link CifarVariant#mean()} / {@link CifarVariant#std()} or
 * those of {@link Builder#optNormalization}; otherwise {@code v / 255}. With {@code optAugment(true)}
 * each batch image is cropped at a random offset from the image padded by 4 zero-byte pixels, then
 * flipped horizontally with probability 1/2 (torchvision's {@code RandomCrop(32, padding=4)} + {@code
 * RandomHorizontalFlip}); the draws depend only on {@code augmentSeed}, the epoch (the count of
 * iterations started on this dataset) and the batch number, so runs are reproducible and epochs
 * differ. {@link #get(NDManager, long)} returns one image, (3, 32, 32), normalised but never augmented,
 * with a scalar float32 label.
 *
 * <p>Executors passed to {@code getData} are not used: a batch is filled in one pass on the calling
 * thread. DJL pipelines ({@code addTransform}, {@code optPipeline}) are rejected for the same reason.
 */
public final class CifarDataset extends RandomAccessDataset {
    /** Default number of training images held out for {@link Dataset.Usage#VALIDATION}. */
    public static final int DEFAULT_VALIDATION_SIZE = 5000;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final CifarData givenData;
    private final Path path;
    private final CifarVariant variant;
    private final LabelMode labelMode;
    private final boolean download;
    private final Path cacheDir;
    private final Usage usage;
    private final int validationSize;
    private final long splitSeed;
    private final int[] keepClasses;
    private final int[] dropClasses;
    private final boolean augment;
    private final long augmentSeed;
    private final float[] mean;
    private final float[] std;
    private final AtomicLong epochs = new AtomicLong();
    private volatile View view;

    /** The prepared state: data and the original indices of this view's items. */
    private static final class View {
        final CifarData data;
        final CifarReader.Records records;
        final int[] indices;

        View(CifarData data, CifarReader.Records records, int[] indices) {
            this.data = data;
            this.records = records;
            this.indices = indices;
        }
    }

    private CifarDataset(Builder builder) {
        super(builder);
        this.givenData = builder.data;
        this.path = builder.path;
        this.variant = builder.variant;
        this.labelMode = builder.labelMode;
        this.download = builder.download;
        this.cacheDir = builder.cacheDir;
        this.usage = builder.usage;
        this.validationSize = builder.validationSize;
        this.splitSeed = builder.splitSeed;
        this.keepClasses = builder.keepClasses;
        this.dropClasses = builder.dropClasses;
        this.augment = builder.augment;
        this.augmentSeed = builder.augmentSeed;
        this.mean = !builder.normalize ? null : builder.mean != null ? builder.mean : variant.mean();
        this.std = !builder.normalize ? null : builder.std != null ? builder.std : variant.std();
        if (givenData != null) {
            view = makeView(givenData);
        }
    }

    /**
     * Returns a new builder.
     *
     * @return a builder with the defaults: CIFAR-10, fine labels, usage TRAIN, 5,000 validation images,
     *     split seed 0, all classes, no limit, no augmentation (seed 0), normalisation on, no download
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Loads the data if it was given as a path (downloading it first only with {@code
     * optDownload(true)}) and computes this view. Idempotent; {@link #getData} and {@link #get} call it.
     *
     * @param progress ignored
     * @throws IOException if loading fails, see {@link CifarData#load}
     */
    @Override
    public synchronized void prepare(Progress progress) throws IOException {
        if (view != null) {
            return;
        }
        CifarData data;
        if (path != null && (!download || path.toFile().exists())) {
            data = CifarData.load(path, variant, labelMode);
        } else {
            data = CifarData.load(CifarData.download(variant, cacheDir), variant, labelMode);
        }
        view = makeView(data);
    }

    private View makeView(CifarData data) {
        CifarReader.Records records = usage == Usage.TEST ? data.test() : data.train();
        int[] indices;
        if (usage == Usage.TEST) {
            indices = identity(records.size());
        } else {
            checkArgument(
                    validationSize < records.size() || (validationSize == 0 && records.size() == 0),
                    "validationSize (%s) must be < the number of training images (%s)",
                    validationSize,
                    records.size());
            boolean[] held = Splits.stratifiedHoldOut(records.labels, data.numClasses(), validationSize, splitSeed);
            indices = Splits.select(held, usage == Usage.VALIDATION);
        }
        if (keepClasses != null || dropClasses != null) {
            boolean[] wanted = new boolean[data.numClasses()];
            Arrays.fill(wanted, keepClasses == null);
            for (int c : keepClasses != null ? keepClasses : dropClasses) {
                wanted[c] = keepClasses != null;
            }
            indices = Arrays.stream(indices).filter(i -> wanted[records.labels[i] & 0xff]).toArray();
        }
        if (indices.length > limit) {
            indices = Arrays.copyOf(indices, (int) limit);
        }
        return new View(data, records, indices);
    }

    private static int[] identity(int n) {
        int[] indices = new int[n];
        for (int i = 0; i < n; i++) {
            indices[i] = i;
        }
        return indices;
    }

    private View view() {
        View v = view;
        checkState(v != null, "the dataset is not loaded yet: call prepare() first (it reads %s)", path);
        return v;
    }

    private View prepared() throws IOException {
        prepare(null);
        return view;
    }

    /** {@inheritDoc} */
    @Override
    protected long availableSize() {
        return view().indices.length;
    }

    /**
     * Returns item {@code index}: data (3, 32, 32) float32, normalised as configured but never
     * augmented, and a scalar float32 label, both created in {@code manager}.
     *
     * @param manager the manager owning the arrays
     * @param index the item, in [0, size())
     * @return the record
     * @throws IOException if the data was given as a path and cannot be loaded
     */
    @Override
    public Record get(NDManager manager, long index) throws IOException {
        View v = prepared();
        checkElementIndex(Math.toIntExact(index), v.indices.length, "index");
        int original = v.indices[(int) index];
        byte[] image = new byte[CifarVariant.IMAGE_BYTES];
        CifarPixels.copy(v.records.pixels, original, image, 0);
        NDArray data = toFloat(manager, image, new Shape(3, CifarPixels.SIDE, CifarPixels.SIDE));
        NDArray label = manager.create((float) (v.records.labels[original] & 0xff));
        return new Record(new NDList(data), new NDList(label));
    }

    /**
     * Returns one epoch of batches from this dataset's sampler; see the class comment for their
     * content. Each call to {@code iterator()} starts a new epoch (new augmentation draws).
     *
     * @param manager the manager whose sub-managers own the batches
     * @return the batches
     * @throws IOException if the data was given as a path and cannot be loaded
     */
    @Override
    public Iterable<Batch> getData(NDManager manager) throws IOException {
        return getData(manager, sampler);
    }

    /**
     * Same as {@link #getData(NDManager)}; the executor is not used.
     *
     * @param manager the manager whose sub-managers own the batches
     * @param executorService ignored
     * @return the batches
     * @throws IOException if the data cannot be loaded
     */
    @Override
    public Iterable<Batch> getData(NDManager manager, ExecutorService executorService) throws IOException {
        return getData(manager, sampler);
    }

    /**
     * Same as {@link #getData(NDManager)} with another sampler.
     *
     * @param manager the manager whose sub-managers own the batches
     * @param sampler gives the item positions of each batch
     * @return the batches
     * @throws IOException if the data cannot be loaded
     */
    @Override
    public Iterable<Batch> getData(NDManager manager, Sampler sampler) throws IOException {
        checkNotNull(manager, "manager must not be null");
        checkNotNull(sampler, "sampler must not be null");
        View v = prepared();
        return () -> new Batches(v, manager, sampler, epochs.getAndIncrement());
    }

    /**
     * Same as {@link #getData(NDManager, Sampler)}; the executor is not used.
     *
     * @param manager the manager whose sub-managers own the batches
     * @param sampler gives the item positions of each batch
     * @param executorService ignored
     * @return the batches
     * @throws IOException if the data cannot be loaded
     */
    @Override
    public Iterable<Batch> getData(NDManager manager, Sampler sampler, ExecutorService executorService)
            throws IOException {
        return getData(manager, sampler);
    }

    /** One epoch: a batch per sampler index list. */
    private final class Batches implements Iterator<Batch> {
        private final View v;
        private final NDManager manager;
        private final Iterator<List<Long>> positions;
        private final long epoch;
        private final long total;
        private long done;

        Batches(View v, NDManager manager, Sampler sampler, long epoch) {
            this.v = v;
            this.manager = manager;
            this.positions = sampler.sample(CifarDataset.this);
            this.epoch = epoch;
            int batchSize = Math.max(1, sampler.getBatchSize());
            this.total = (v.indices.length + batchSize - 1) / batchSize;
        }

        @Override
        public boolean hasNext() {
            return positions.hasNext();
        }

        @Override
        public Batch next() {
            if (!positions.hasNext()) {
                throw new NoSuchElementException("the epoch has no more batches");
            }
            List<Long> batch = positions.next();
            int n = batch.size();
            byte[] data = new byte[n * CifarVariant.IMAGE_BYTES];
            float[] labels = new float[n];
            SplittableRandom random = augment ? new SplittableRandom(mix(augmentSeed, epoch, done)) : null;
            for (int j = 0; j < n; j++) {
                int original = v.indices[Math.toIntExact(batch.get(j))];
                labels[j] = v.records.labels[original] & 0xff;
                if (random != null) {
                    CifarPixels.augment(v.records.pixels, original, random, data, j * CifarVariant.IMAGE_BYTES);
                } else {
                    CifarPixels.copy(v.records.pixels, original, data, j * CifarVariant.IMAGE_BYTES);
                }
            }
            done++;
            NDManager owner = device == null ? manager.newSubManager() : manager.newSubManager(device);
            NDArray x = toFloat(owner, data, new Shape(n, 3, CifarPixels.SIDE, CifarPixels.SIDE));
            NDArray y = owner.create(labels);
            return new Batch(
                    owner, new NDList(x), new NDList(y), n, dataBatchifier, labelBatchifier, done, total, batch);
        }
    }

    /**
     * Turns image bytes into one float32 array in {@code manager}: one uint8 array, cast, divided by
     * 255, then (if normalising) minus mean and divided by std per channel, by libtorch.
     */
    private NDArray toFloat(NDManager manager, byte[] bytes, Shape shape) {
        NDArray x = manager.create(ByteBuffer.wrap(bytes), shape, DataType.UINT8);
        NDArray y = x.toType(DataType.FLOAT32, false).divi(255f);
        x.close();
        if (mean != null) {
            Shape channels = new Shape(3, 1, 1);
            try (NDArray m = manager.create(mean, channels);
                    NDArray s = manager.create(std, channels)) {
                y.subi(m).divi(s);
            }
        }
        return y;
    }

    static long mix(long seed, long epoch, long batch) {
        long h = seed;
        h = mix64(h + GOLDEN * (epoch + 1));
        h = mix64(h + GOLDEN * (batch + 1));
        return h;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Returns the class id of item {@code i}, its original label.
     *
     * @param i the item, in [0, size())
     * @return its class id, in [0, numClasses())
     */
    public int label(int i) {
        View v = view();
        checkElementIndex(i, v.indices.length, "i");
        return v.records.labels[v.indices[i]] & 0xff;
    }

    /**
     * Returns the position of item {@code i} in the official file order of its part (train or test).
     *
     * @param i the item, in [0, size())
     * @return its original index
     */
    public int originalIndex(int i) {
        View v = view();
        checkElementIndex(i, v.indices.length, "i");
        return v.indices[i];
    }

    /**
     * Returns the class ids of all items, in item order.
     *
     * @return a new array of {@code size()} class ids
     */
    public int[] labels() {
        View v = view();
        int[] out = new int[v.indices.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.records.labels[v.indices[i]] & 0xff;
        }
        return out;
    }

    /**
     * Returns the class names in id order.
     *
     * @return an immutable list of {@link #numClasses()} names
     */
    public List<String> classNames() {
        return view().data.classNames();
    }

    /**
     * Returns the number of classes of the data (not only of the classes this view keeps).
     *
     * @return 10, 100 or 20
     */
    public int numClasses() {
        return view().data.numClasses();
    }

    /**
     * Returns the decoded data this view reads, to share with other builders via {@link
     * Builder#optData}.
     *
     * @return the data
     */
    public CifarData data() {
        return view().data;
    }

    /**
     * Returns the usage this dataset holds.
     *
     * @return TRAIN, VALIDATION or TEST
     */
    public Usage usage() {
        return usage;
    }

    @Override
    public String toString() {
        View v = view;
        return "CifarDataset{" + variant + " " + labelMode + ", " + usage + ", "
                + (v == null ? "not loaded: " + path : v.indices.length + " images") + "}";
    }

    /** Builds a {@link CifarDataset}; give the data with {@link #optData} or {@link #optPath}. */
    public static final class Builder extends BaseBuilder<Builder> {
        private CifarData data;
        private Path path;
        private CifarVariant variant;
        private LabelMode labelMode;
        private boolean download;
        private Path cacheDir = Paths.get(System.getProperty("user.home"), ".lethe", "cifar");
        private Usage usage = Usage.TRAIN;
        private int validationSize = DEFAULT_VALIDATION_SIZE;
        private long splitSeed;
        private int[] keepClasses;
        private int[] dropClasses;
        private boolean augment;
        private long augmentSeed;
        private boolean normalize = true;
        private float[] mean;
        private float[] std;

        Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Uses data already loaded (shared, not copied): the way to build several views from one
         * decompression. Excludes {@link #optPath}.
         *
         * @param data the data
         * @return this builder
         */
        public Builder optData(CifarData data) {
            this.data = checkNotNull(data, "data must not be null");
            return this;
        }

        /**
         * Reads the data from an archive or folder when the dataset is prepared (see {@link
         * CifarData#load}). Excludes {@link #optData}.
         *
         * @param path the {@code .tar.gz}, the extracted folder, or a folder containing either
         * @return this builder
         */
        public Builder optPath(Path path) {
            this.path = checkNotNull(path, "path must not be null");
            return this;
        }

        /**
         * Sets the data set; default CIFAR-10, or that of {@link #optData}.
         *
         * @param variant CIFAR-10 or CIFAR-100
         * @return this builder
         */
        public Builder optVariant(CifarVariant variant) {
            this.variant = checkNotNull(variant, "variant must not be null");
            return this;
        }

        /**
         * Sets the label mode; default {@link LabelMode#FINE}, or that of {@link #optData}.
         *
         * @param labelMode fine, or coarse for CIFAR-100
         * @return this builder
         */
        public Builder optLabelMode(LabelMode labelMode) {
            this.labelMode = checkNotNull(labelMode, "labelMode must not be null");
            return this;
        }

        /**
         * Lets {@link #prepare} download the official archive into the cache folder when no existing
         * {@link #optPath} is given; off by default, and nothing else in this module uses the network.
         *
         * @param download true to allow the download
         * @return this builder
         */
        public Builder optDownload(boolean download) {
            this.download = download;
            return this;
        }

        /**
         * Sets the folder downloads go to; default {@code ~/.lethe/cifar}.
         *
         * @param cacheDir the folder
         * @return this builder
         */
        public Builder optCacheDir(Path cacheDir) {
            this.cacheDir = checkNotNull(cacheDir, "cacheDir must not be null");
            return this;
        }

        /**
         * Sets the usage; default TRAIN.
         *
         * @param usage TRAIN (training set minus the validation hold-out), VALIDATION (the hold-out) or
         *     TEST
         * @return this builder
         */
        public Builder optUsage(Usage usage) {
            this.usage = checkNotNull(usage, "usage must not be null");
            return this;
        }

        /**
         * Sets how many training images the stratified validation hold-out takes; default 5,000 (45k /
         * 5k). 0 keeps all training images in TRAIN (then VALIDATION is not allowed).
         *
         * @param validationSize the hold-out size, &gt;= 0 and smaller than the training set
         * @return this builder
         */
        public Builder optValidationSize(int validationSize) {
            this.validationSize = validationSize;
            return this;
        }

        /**
         * Sets the seed of the validation hold-out; default 0. TRAIN and VALIDATION built with the same
         * seed are disjoint and together the whole training set.
         *
         * @param splitSeed the seed
         * @return this builder
         */
        public Builder optSplitSeed(long splitSeed) {
            this.splitSeed = splitSeed;
            return this;
        }

        /**
         * Keeps only images of these classes (e.g. the forget set of a class), with their original
         * labels and indices. Excludes {@link #optDropClasses}.
         *
         * @param classIds class ids in [0, numClasses)
         * @return this builder
         */
        public Builder optKeepClasses(int... classIds) {
            this.keepClasses = checkNotNull(classIds, "classIds must not be null").clone();
            return this;
        }

        /**
         * Drops images of these classes (e.g. the retain set when forgetting a class), keeping original
         * labels and indices. Excludes {@link #optKeepClasses}.
         *
         * @param classIds class ids in [0, numClasses)
         * @return this builder
         */
        public Builder optDropClasses(int... classIds) {
            this.dropClasses = checkNotNull(classIds, "classIds must not be null").clone();
            return this;
        }

        /**
         * Turns the training augmentation on or off (default off): random crop from the image padded
         * by 4 zero pixels and random horizontal flip, applied to {@code getData} batches only.
         *
         * @param augment true to augment
         * @return this builder
         */
        public Builder optAugment(boolean augment) {
            this.augment = augment;
            return this;
        }

        /**
         * Sets the augmentation seed; default 0.
         *
         * @param augmentSeed the seed
         * @return this builder
         */
        public Builder optAugmentSeed(long augmentSeed) {
            this.augmentSeed = augmentSeed;
            return this;
        }

        /**
         * Turns normalisation on (default) or off; off gives pixels / 255 in [0, 1].
         *
         * @param normalize true to normalise with per-channel mean and std
         * @return this builder
         */
        public Builder optNormalize(boolean normalize) {
            this.normalize = normalize;
            return this;
        }

        /**
         * Normalises with these per-channel constants instead of the variant's documented ones, e.g.
         * {@link CifarData#channelMean()} / {@link CifarData#channelStd()} of the loaded data.
         *
         * @param mean R, G, B means of pixels scaled to [0, 1]
         * @param std R, G, B standard deviations, all &gt; 0
         * @return this builder
         */
        public Builder optNormalization(float[] mean, float[] std) {
            checkNotNull(mean, "mean must not be null");
            checkNotNull(std, "std must not be null");
            checkArgument(mean.length == 3, "mean.length (%s) must be 3 (R, G, B)", mean.length);
            checkArgument(std.length == 3, "std.length (%s) must be 3 (R, G, B)", std.length);
            for (int c = 0; c < 3; c++) {
                checkArgument(std[c] > 0, "std[%s] (%s) must be > 0", c, (Float) std[c]);
            }
            this.mean = mean.clone();
            this.std = std.clone();
            return this;
        }

        /**
         * Checks the settings and builds the dataset. With {@link #optData} the view is ready at
         * once; with {@link #optPath} or {@link #optDownload} the data is read by {@link #prepare}
         * (called by {@code getData} and {@code get} too).
         *
         * @return the dataset
         * @throws IllegalArgumentException if settings conflict or are out of range
         * @throws NullPointerException if no sampler was set ({@code setSampling})
         */
        public CifarDataset build() {
            checkNotNull(sampler, "sampler must be set: call setSampling(batchSize, shuffle)");
            checkArgument(
                    pipeline == null && targetPipeline == null,
                    "pipelines/transforms are not supported: CifarDataset normalises and augments whole batches"
                            + " itself (optNormalize, optAugment)");
            checkArgument(data == null || path == null, "optData and optPath are exclusive: give one");
            if (data != null) {
                checkArgument(
                        variant == null || variant == data.variant(),
                        "variant (%s) must match the data's variant (%s)",
                        variant,
                        data.variant());
                checkArgument(
                        labelMode == null || labelMode == data.labelMode(),
                        "labelMode (%s) must match the data's label mode (%s)",
                        labelMode,
                        data.labelMode());
                variant = data.variant();
                labelMode = data.labelMode();
            } else {
                variant = variant == null ? CifarVariant.CIFAR10 : variant;
                labelMode = labelMode == null ? LabelMode.FINE : labelMode;
                checkArgument(
                        path != null || download,
                        "no data given: call optData(CifarData) or optPath(Path), or optDownload(true). %s",
                        CifarReader.howToGet(variant));
            }
            variant.checkLabelMode(labelMode);
            checkArgument(validationSize >= 0, "validationSize (%s) must be >= 0", validationSize);
            checkArgument(
                    usage != Usage.VALIDATION || validationSize > 0,
                    "validationSize (%s) must be > 0 for usage VALIDATION",
                    validationSize);
            checkArgument(limit > 0, "limit (%s) must be > 0", limit);
            checkArgument(
                    keepClasses == null || dropClasses == null,
                    "optKeepClasses (%s) and optDropClasses (%s) are exclusive: give one",
                    Arrays.toString(keepClasses),
                    Arrays.toString(dropClasses));
            checkArgument(
                    normalize || mean == null,
                    "optNormalization was given but optNormalize is false: drop one of them");
            int numClasses = variant.numClasses(labelMode);
            for (int[] ids : new int[][] {keepClasses, dropClasses}) {
                if (ids != null) {
                    for (int id : ids) {
                        checkArgument(
                                id >= 0 && id < numClasses,
                                "class id (%s) must be in [0, %s) for %s %s labels",
                                id,
                                numClasses,
                                variant,
                                labelMode);
                    }
                }
            }
            return new CifarDataset(this);
        }
    }
}

package dev.lethe.unlearn.data;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.training.dataset.Sampler;
import ai.djl.translate.TranslateException;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A labelled image data set for unlearning: a DJL {@link RandomAccessDataset} together with the
 * class of every item, so that forget and retain sets can be derived without reading images.
 *
 * <p>Batches are read through the dataset's own {@code getData(manager, sampler)}, so a data set
 * with a fast batch path (such as Lethe's CIFAR adapter) keeps it, and its normalisation and
 * augmentation settings apply. Immutable.
 */
public final class LabeledData {

    private final RandomAccessDataset dataset;
    private final int[] labels;
    private final List<String> classNames;
    private final String identity;

    private LabeledData(RandomAccessDataset dataset, int[] labels, List<String> classNames, String identity) {
        this.dataset = dataset;
        this.labels = labels;
        this.classNames = classNames;
        this.identity = identity;
    }

    /**
     * Wraps a data set whose labels are known.
     *
     * @param dataset the data set; item i must have label {@code labels[i]}
     * @param labels the class of each item, each in [0, classNames.size())
     * @param classNames the class names, in id order
     * @return the labelled data
     * @throws IllegalArgumentException if the sizes disagree or a label is out of range
     */
    public static LabeledData of(RandomAccessDataset dataset, int[] labels, List<String> classNames) {
        Preconditions.checkNotNull(dataset, "dataset must not be null");
        Preconditions.checkArgument(
                labels != null && labels.length == dataset.size(),
                "labels has %s entries but the dataset has %s items",
                labels == null ? 0 : labels.length,
                dataset.size());
        Preconditions.checkArgument(
                classNames != null && classNames.size() >= 2,
                "classNames must name at least 2 classes");
        for (int i = 0; i < labels.length; i++) {
            Preconditions.checkArgument(
                    labels[i] >= 0 && labels[i] < classNames.size(),
                    "label of item %s (%s) must be in [0, %s)",
                    i,
                    labels[i],
                    classNames.size());
        }
        return new LabeledData(dataset, labels.clone(), ImmutableList.copyOf(classNames), null);
    }

    /**
     * Wraps any data set with scalar labels, reading each item's label once (slow for large sets:
     * prefer {@link #of(RandomAccessDataset, int[], List)}).
     *
     * @param dataset the data set
     * @param numClasses the number of classes
     * @param manager a manager for the temporary arrays
     * @return the labelled data, with classes named "class 0", "class 1", ...
     * @throws IOException if an item cannot be read
     * @throws IllegalArgumentException if an item has no label
     */
    public static LabeledData read(RandomAccessDataset dataset, int numClasses, NDManager manager)
            throws IOException {
        int n = Math.toIntExact(dataset.size());
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            try (NDManager scope = manager.newSubManager()) {
                Record r = dataset.get(scope, i);
                Preconditions.checkArgument(
                        r.getLabels() != null && !r.getLabels().isEmpty(),
                        "item %s of the dataset has no label; unlearning needs labelled data",
                        i);
                labels[i] = (int) r.getLabels().head().toType(ai.djl.ndarray.types.DataType.INT64, false).getLong();
            }
        }
        List<String> names = new ArrayList<>();
        for (int c = 0; c < numClasses; c++) {
            names.add("class " + c);
        }
        return of(dataset, labels, names);
    }

    /** @return the wrapped data set */
    public RandomAccessDataset dataset() {
        return dataset;
    }

    /** @return the number of items */
    public int size() {
        return labels.length;
    }

    /**
     * @param index the item
     * @return its class
     */
    public int label(int index) {
        return labels[index];
    }

    /** @return a copy of every item's class */
    public int[] labels() {
        return labels.clone();
    }

    /** @return the number of classes */
    public int numClasses() {
        return classNames.size();
    }

    /** @return the class names in id order */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * Resolves a class name.
     *
     * @param name the name
     * @return its id
     * @throws IllegalArgumentException naming the known classes if the name is unknown
     */
    public int classId(String name) {
        int id = classNames.indexOf(name);
        Preconditions.checkArgument(
                id >= 0, "unknown class name '%s'; known classes: %s", name, classNames);
        return id;
    }

    /**
     * @param classId a class
     * @return the indices of its items, ascending
     */
    public int[] indicesOf(int classId) {
        return select(classId, true);
    }

    /**
     * @param classId a class
     * @return the indices of every item of another class, ascending
     */
    public int[] indicesExcept(int classId) {
        return select(classId, false);
    }

    /**
     * @param classIds classes
     * @return the indices of every item of none of the classes, ascending
     */
    public int[] indicesExcept(java.util.Set<Integer> classIds) {
        int n = 0;
        for (int l : labels) {
            n += classIds.contains(l) ? 0 : 1;
        }
        int[] out = new int[n];
        for (int i = 0, j = 0; i < labels.length; i++) {
            if (!classIds.contains(labels[i])) {
                out[j++] = i;
            }
        }
        return out;
    }

    private int[] select(int classId, boolean same) {
        int n = 0;
        for (int l : labels) {
            n += (l == classId) == same ? 1 : 0;
        }
        int[] out = new int[n];
        for (int i = 0, j = 0; i < labels.length; i++) {
            if ((labels[i] == classId) == same) {
                out[j++] = i;
            }
        }
        return out;
    }

    /**
     * Reads the given items as one batch: data (B, ...) and labels (B), in the order given, owned
     * by a sub-manager of {@code manager} (close the batch to free them).
     *
     * @param manager the manager
     * @param indices item indices
     * @return the batch
     * @throws IOException if the items cannot be read
     */
    public Batch batch(NDManager manager, int[] indices) throws IOException {
        Preconditions.checkArgument(indices.length > 0, "indices must not be empty");
        Iterator<Batch> it;
        try {
            it = dataset.getData(manager, new FixedSampler(indices, indices.length)).iterator();
        } catch (TranslateException e) {
            throw new IOException("cannot read a batch: " + e.getMessage(), e);
        }
        Batch batch = it.next();
        Preconditions.checkState(
                batch.getSize() == indices.length,
                "the dataset returned %s items for a batch of %s",
                batch.getSize(),
                indices.length);
        return batch;
    }

    /**
     * A view of some items as a new {@link RandomAccessDataset} that keeps the wrapped data set's
     * batch path: for training (e.g. retraining on the retain set).
     *
     * @param indices the items of the view
     * @param batchSize the batch size
     * @param shuffle whether to shuffle each epoch (seeded by DJL's engine seed)
     * @return the view
     */
    public RandomAccessDataset view(int[] indices, int batchSize, boolean shuffle) {
        return new SubsetDataset(dataset, indices, batchSize, shuffle);
    }

    /**
     * @param indices items to keep
     * @return the labelled data restricted to those items, in that order
     */
    public LabeledData subset(int[] indices) {
        int[] sub = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            sub[i] = labels[indices[i]];
        }
        String subsetIdentity =
                identity == null
                        ? null
                        : String.format(
                                Locale.ROOT,
                                "%s; subset of %d items (indices sha256 %s)",
                                identity,
                                indices.length,
                                sha256(indices));
        return new LabeledData(new SubsetDataset(dataset, indices, 128, false), sub, classNames, subsetIdentity);
    }

    /**
     * Records where the data came from, for audit records: e.g. the SHA-256 of the archive, the
     * split and the limits applied ({@code "cifar-10-binary.tar.gz sha256=…, train split seed 0,
     * first 5000 images"}). Free text, recorded as given.
     *
     * @param identity the description, not empty
     * @return a copy with that identity
     */
    public LabeledData withIdentity(String identity) {
        Preconditions.checkArgument(
                identity != null && !identity.isBlank(), "identity must not be empty");
        return new LabeledData(dataset, labels, classNames, identity);
    }

    /**
     * @return where the data came from, as set by {@link #withIdentity} (a {@link #subset} keeps
     *     its parent's, with the subset described); empty when nobody said
     */
    public Optional<String> identity() {
        return Optional.ofNullable(identity);
    }

    /**
     * A fingerprint of the labelling: the SHA-256 of the class names (UTF-8, each followed by a
     * 0 byte) and then every item's label (int32, little endian), in item order. Two data sets
     * with the same fingerprint have the same classes and the same label at every index, so the
     * same forget and retain sets; the images themselves are not hashed (see {@link #identity()}).
     *
     * @return 64 hex digits
     */
    public String fingerprint() {
        Hasher h = Hashing.sha256().newHasher();
        for (String name : classNames) {
            h.putString(name, StandardCharsets.UTF_8).putByte((byte) 0);
        }
        ByteBuffer buf = ByteBuffer.allocate(labels.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(labels);
        return h.putBytes(buf.array()).hash().toString();
    }

    /**
     * @param indices item indices
     * @return the SHA-256 of the indices as int32 little endian, in the order given (64 hex digits)
     */
    public static String sha256(int[] indices) {
        ByteBuffer buf = ByteBuffer.allocate(indices.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(indices);
        return Hashing.sha256().hashBytes(buf.array()).toString();
    }

    /** A sampler that yields given indices, in order, in batches. */
    static final class FixedSampler implements Sampler {
        private final int[] indices;
        private final int batchSize;

        FixedSampler(int[] indices, int batchSize) {
            this.indices = indices;
            this.batchSize = batchSize;
        }

        @Override
        public Iterator<List<Long>> sample(RandomAccessDataset dataset) {
            List<List<Long>> batches = new ArrayList<>();
            for (int start = 0; start < indices.length; start += batchSize) {
                List<Long> b = new ArrayList<>();
                for (int i = start; i < Math.min(indices.length, start + batchSize); i++) {
                    b.add((long) indices[i]);
                }
                batches.add(Collections.unmodifiableList(b));
            }
            return batches.iterator();
        }

        @Override
        public int getBatchSize() {
            return batchSize;
        }
    }
}

package dev.lethe.unlearn.exact;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.training.dataset.Sampler;
import ai.djl.translate.Batchifier;
import ai.djl.util.Progress;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Some items of a {@link LabeledData}, in a given order, whose batches name each image by its
 * content key instead of its index: {@code MoeTraining}'s augmentation draws per image from that
 * name, so an image is augmented the same way in any data set that holds it.
 */
final class KeyedView extends RandomAccessDataset {

    private final LabeledData data;
    private final int[] items;
    private final long[] keys;

    /**
     * @param data the data
     * @param items the items, in the view's order
     * @param keys the content key of each item, same order
     * @param batchSize the batch size of {@link #getData(NDManager)}
     */
    KeyedView(LabeledData data, int[] items, long[] keys, int batchSize) {
        super(new Builder().setSampling(batchSize, false));
        this.data = data;
        this.items = items.clone();
        this.keys = keys.clone();
    }

    @Override
    public Record get(NDManager manager, long index) throws IOException {
        return data.dataset().get(manager, items[Math.toIntExact(index)]);
    }

    @Override
    protected long availableSize() {
        return items.length;
    }

    @Override
    public void prepare(Progress progress) {}

    @Override
    public Iterable<Batch> getData(NDManager manager) {
        return getData(manager, sampler);
    }

    @Override
    public Iterable<Batch> getData(NDManager manager, Sampler sampler) {
        return () -> {
            Iterator<List<Long>> positions = sampler.sample(KeyedView.this);
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return positions.hasNext();
                }

                @Override
                public Batch next() {
                    List<Long> local = positions.next();
                    int[] chosen = new int[local.size()];
                    List<Long> names = new ArrayList<>(local.size());
                    for (int i = 0; i < chosen.length; i++) {
                        int at = Math.toIntExact(local.get(i));
                        chosen[i] = items[at];
                        names.add(keys[at]);
                    }
                    try {
                        Batch b = data.batch(manager, chosen);
                        return new Batch(
                                b.getManager(),
                                b.getData(),
                                b.getLabels(),
                                b.getSize(),
                                Batchifier.STACK,
                                Batchifier.STACK,
                                0,
                                0,
                                names);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            };
        };
    }

    @Override
    public Iterable<Batch> getData(NDManager manager, Sampler sampler, java.util.concurrent.ExecutorService executor) {
        return getData(manager, sampler);
    }

    private static final class Builder extends BaseBuilder<Builder> {
        @Override
        protected Builder self() {
            return this;
        }
    }
}

package dev.lethe.unlearn.data;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.training.dataset.Sampler;
import ai.djl.translate.TranslateException;
import ai.djl.util.Progress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Some items of another {@link RandomAccessDataset}, read through its batch path: the sampler's
 * indices are mapped to the parent's and the parent makes the batches.
 */
final class SubsetDataset extends RandomAccessDataset {

    private final RandomAccessDataset parent;
    private final int[] indices;

    SubsetDataset(RandomAccessDataset parent, int[] indices, int batchSize, boolean shuffle) {
        super(new Builder().setSampling(batchSize, shuffle));
        this.parent = parent;
        this.indices = indices.clone();
    }

    @Override
    public Record get(NDManager manager, long index) throws IOException {
        return parent.get(manager, indices[Math.toIntExact(index)]);
    }

    @Override
    protected long availableSize() {
        return indices.length;
    }

    @Override
    public void prepare(Progress progress) throws IOException, TranslateException {
        parent.prepare(progress);
    }

    @Override
    public Iterable<Batch> getData(NDManager manager) throws IOException, TranslateException {
        return getData(manager, sampler);
    }

    @Override
    public Iterable<Batch> getData(NDManager manager, Sampler sampler)
            throws IOException, TranslateException {
        Sampler mapped = new MappedSampler(sampler);
        return parent.getData(manager, mapped);
    }

    @Override
    public Iterable<Batch> getData(
            NDManager manager, Sampler sampler, java.util.concurrent.ExecutorService executor)
            throws IOException, TranslateException {
        return getData(manager, sampler);
    }

    /** Maps a sampler over this view to the parent's indices. */
    private final class MappedSampler implements Sampler {
        private final Sampler inner;

        MappedSampler(Sampler inner) {
            this.inner = inner;
        }

        @Override
        public Iterator<List<Long>> sample(RandomAccessDataset dataset) {
            Iterator<List<Long>> it = inner.sample(SubsetDataset.this);
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public List<Long> next() {
                    List<Long> local = it.next();
                    List<Long> out = new ArrayList<>(local.size());
                    for (Long i : local) {
                        out.add((long) indices[Math.toIntExact(i)]);
                    }
                    return out;
                }
            };
        }

        @Override
        public int getBatchSize() {
            return inner.getBatchSize();
        }
    }

    private static final class Builder extends BaseBuilder<Builder> {
        @Override
        protected Builder self() {
            return this;
        }
    }
}

package dev.lethe.unlearn.method;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resets parts of a trained network to a fresh start, for erasure by reset-and-retrain (EU-k, Goel
 * et al. 2022, at the granularity of experts; {@link ResetRetrain}) and for any method that must
 * put parameters back where training started.
 *
 * <ul>
 *   <li>{@link #reinitialize}: every parameter of some blocks (weights, biases, BatchNorm scale,
 *       shift and running statistics) and some rows of other parameters (e.g. the head's row of
 *       the forgotten class) get a fresh draw of their own initializer ({@link
 *       Parameter#getInitializer()}: He-normal convolutions, zero biases, unit BatchNorm scale and
 *       variance, …), from DJL's engine generator seeded once with the given seed, in the given
 *       order. The values are written into the existing arrays, so the parameters keep their
 *       identity (names, optimizer bindings).
 *   <li>{@link #reestimateBatchNorm}: the running statistics of the BatchNorm layers inside some
 *       blocks are re-estimated from images, as the cumulative average of their per-batch
 *       statistics (PyTorch's {@code momentum=None}), by forward passes in training mode with no
 *       parameter update; every other running statistic of the network is restored afterwards,
 *       bit for bit.
 * </ul>
 */
public final class ParameterReset {

    /** Running mean put in place to read a layer's momentum (see {@link #reestimateBatchNorm}). */
    private static final float PROBE = 1e6f;

    private ParameterReset() {}

    /**
     * Re-initialises blocks and rows of parameters with their own initializers.
     *
     * @param seed the seed of DJL's engine generator, set once before the first draw
     * @param blocks blocks whose every parameter is re-initialised, in order
     * @param rows parameters of which one row (index along the first axis) is re-initialised, in
     *     order after the blocks; e.g. the head's weight and bias with the forgotten class's row
     * @throws IllegalArgumentException if a parameter has no initializer or a row is out of range
     */
    public static void reinitialize(long seed, Collection<Block> blocks, Map<Parameter, Integer> rows) {
        Preconditions.checkNotNull(blocks, "blocks must not be null");
        Preconditions.checkNotNull(rows, "rows must not be null");
        Engine.getInstance().setRandomSeed((int) seed);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (Block block : blocks) {
                for (Pair<String, Parameter> p : block.getParameters()) {
                    Parameter parameter = p.getValue();
                    parameter.getArray().set(fresh(manager, parameter).toFloatArray());
                }
            }
            for (Map.Entry<Parameter, Integer> e : rows.entrySet()) {
                Parameter parameter = e.getKey();
                NDArray array = parameter.getArray();
                long n = array.getShape().get(0);
                int row = e.getValue();
                Preconditions.checkArgument(
                        row >= 0 && row < n, "row (%s) of '%s' must be in [0, %s)", row, parameter.getName(), n);
                int width = Math.toIntExact(array.getShape().size() / n);
                float[] values = array.toFloatArray();
                float[] drawn = fresh(manager, parameter).toFloatArray();
                System.arraycopy(drawn, row * width, values, row * width, width);
                array.set(values);
            }
        }
    }

    private static NDArray fresh(NDManager manager, Parameter parameter) {
        Initializer initializer = parameter.getInitializer();
        Preconditions.checkArgument(
                initializer != null, "parameter '%s' has no initializer to reset it with", parameter.getName());
        NDArray array = parameter.getArray();
        return initializer.initialize(manager, array.getShape(), DataType.FLOAT32);
    }

    /**
     * Re-estimates the running statistics of the BatchNorm layers inside some blocks of a network
     * from images: each batch is forwarded through the whole network in training mode (no
     * gradient, no parameter update), and each layer's statistics become the mean, over the
     * batches that reached it, of its batch mean and (unbiased) batch variance. A layer inside an
     * expert sees only the images routed to that expert (with the routing noise of training mode).
     *
     * <p>How the batch statistics are read without hooks: the layer's own update {@code r ← m·r +
     * (1 − m)·s} is used with {@code r} set to 0 before each pass, which leaves {@code (1 − m)·s};
     * its momentum {@code m} is measured once, with {@code r} set to 10⁶, by a first pass of the
     * first batch (a layer that pass does not reach measures it on the first batch that does, which
     * then counts for the variance only). A layer that no batch reaches keeps the statistics it
     * had. Everything outside the target layers' statistics, including the
     * running statistics of every other BatchNorm, is restored bit for bit; the target blocks are
     * left trainable.
     *
     * @param network the network (e.g. an {@code EmbeddingClassifier})
     * @param targets the blocks whose BatchNorm layers are re-estimated (e.g. reset experts)
     * @param data the data of the items
     * @param items the images to forward (e.g. a sample of the retain set)
     * @param batchSize images per forward pass, &gt;= 2
     * @return the number of BatchNorm layers re-estimated (reached by at least one batch)
     * @throws IOException if the data cannot be read
     */
    public static int reestimateBatchNorm(
            Block network, Collection<Block> targets, LabeledData data, int[] items, int batchSize) throws IOException {
        Preconditions.checkArgument(batchSize >= 2, "batchSize (%s) must be >= 2", batchSize);
        Preconditions.checkArgument(items.length > 0, "there is no image to re-estimate the statistics with");
        List<Norm> norms = new ArrayList<>();
        for (Block target : targets) {
            collectNorms(target, norms);
            MoeBlocks.setTrainable(target, true);
        }
        if (norms.isEmpty()) {
            return 0;
        }
        Map<Parameter, float[]> saved = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : network.getParameters()) {
            Parameter.Type type = p.getValue().getType();
            if (type == Parameter.Type.RUNNING_MEAN || type == Parameter.Type.RUNNING_VAR) {
                saved.put(p.getValue(), p.getValue().getArray().toFloatArray());
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            ParameterStore store = new ParameterStore(manager, false);
            // a first pass only measures the layers' momenta, so that every batch counts in full
            pass(network, norms, data, Arrays.copyOf(items, Math.min(items.length, batchSize)), store, manager, true);
            for (int start = 0; start < items.length; start += batchSize) {
                int[] chunk = Arrays.copyOfRange(items, start, Math.min(items.length, start + batchSize));
                pass(network, norms, data, chunk, store, manager, false);
            }
        }
        int estimated = 0;
        for (Map.Entry<Parameter, float[]> e : saved.entrySet()) {
            e.getKey().getArray().set(e.getValue());
        }
        for (Norm n : norms) {
            estimated += n.finish() ? 1 : 0;
        }
        return estimated;
    }

    private static void pass(
            Block network, List<Norm> norms, LabeledData data, int[] chunk, ParameterStore store, NDManager manager, boolean probe)
            throws IOException {
        if (chunk.length < 2) {
            return;
        }
        for (Norm n : norms) {
            n.prime();
        }
        try (NDManager step = manager.newSubManager();
                Batch batch = data.batch(step, chunk)) {
            network.forward(store, batch.getData(), true);
        }
        for (Norm n : norms) {
            n.read(probe);
        }
    }

    private static void collectNorms(Block block, List<Norm> out) {
        if (block instanceof BatchNorm) {
            out.add(new Norm(block));
            return;
        }
        for (Pair<String, Block> child : block.getChildren()) {
            collectNorms(child.getValue(), out);
        }
    }

    /** One BatchNorm layer being re-estimated: its statistics and the sums of its batch statistics. */
    private static final class Norm {
        private final Parameter mean;
        private final Parameter var;
        private final double[] sumMean;
        private final double[] sumVar;
        private int meanBatches;
        private int varBatches;
        private float keep = Float.NaN;

        Norm(Block block) {
            Parameter m = null;
            Parameter v = null;
            for (Pair<String, Parameter> p : block.getDirectParameters()) {
                if (p.getValue().getType() == Parameter.Type.RUNNING_MEAN) {
                    m = p.getValue();
                } else if (p.getValue().getType() == Parameter.Type.RUNNING_VAR) {
                    v = p.getValue();
                }
            }
            Preconditions.checkState(m != null && v != null, "a BatchNorm layer without running statistics");
            mean = m;
            var = v;
            int channels = Math.toIntExact(m.getArray().getShape().size());
            sumMean = new double[channels];
            sumVar = new double[channels];
        }

        /** Before a pass: r = 0 (or the momentum probe while the momentum is unknown). */
        void prime() {
            float[] m = new float[sumMean.length];
            if (Float.isNaN(keep)) {
                Arrays.fill(m, PROBE);
            }
            mean.getArray().set(m);
            var.getArray().set(new float[sumVar.length]);
        }

        /**
         * After a pass: measures the momentum if still unknown (that batch then counts for the
         * variance only), else adds the batch's statistics; a probe pass only measures.
         */
        void read(boolean probe) {
            float[] v = var.getArray().toFloatArray();
            boolean reached = false;
            for (float x : v) {
                reached |= x != 0f;
            }
            if (!reached) {
                return;
            }
            float[] m = mean.getArray().toFloatArray();
            if (Float.isNaN(keep)) {
                double momentum = 0;
                for (float x : m) {
                    momentum += x / (double) PROBE;
                }
                keep = (float) (1 - momentum / m.length);
                if (!(keep > 1e-6f)) {
                    keep = 0f; // the layer never updates its statistics: nothing to estimate
                    return;
                }
                if (probe) {
                    return;
                }
            } else if (probe) {
                return;
            } else if (keep > 0) {
                for (int c = 0; c < m.length; c++) {
                    sumMean[c] += m[c] / keep;
                }
                meanBatches++;
            }
            if (keep > 0) {
                for (int c = 0; c < v.length; c++) {
                    sumVar[c] += v[c] / keep;
                }
                varBatches++;
            }
        }

        /** Writes the averages (after the saved statistics were restored); false if never reached. */
        boolean finish() {
            if (meanBatches == 0 || varBatches == 0) {
                return false;
            }
            float[] m = new float[sumMean.length];
            float[] v = new float[sumVar.length];
            for (int c = 0; c < m.length; c++) {
                m[c] = (float) (sumMean[c] / meanBatches);
                v[c] = (float) (sumVar[c] / varBatches);
            }
            mean.getArray().set(m);
            var.getArray().set(v);
            return true;
        }
    }
}

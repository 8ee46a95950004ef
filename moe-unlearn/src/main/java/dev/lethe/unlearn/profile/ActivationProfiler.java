package dev.lethe.unlearn.profile;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import com.google.common.base.Preconditions;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records, per MoE layer × class × expert, how often the expert was among an image's top-k and the
 * gate mass it received, from the routing that actually happened. Two ways to use it:
 *
 * <ul>
 *   <li>{@link #profile(Model, LabeledData, int[], int)} runs the model in inference mode (no
 *       routing noise, BatchNorm statistics untouched) over labelled images;
 *   <li>{@link #listener()} is a DJL {@link TrainingListener} that records the training routing of
 *       every batch a {@code Trainer} trains on.
 * </ul>
 *
 * <p>Mutable accumulator; {@link #snapshot()} hands out immutable {@link ActivationProfile}s. Not
 * thread-safe.
 */
public final class ActivationProfiler {

    private final Map<String, MoeBlock> layers;
    private final Map<String, RoutingStats.Accumulator> accumulators = new LinkedHashMap<>();
    private final List<String> classNames;

    private ActivationProfiler(Block model, List<String> classNames) {
        layers = MoeBlocks.find(model);
        Preconditions.checkArgument(
                !layers.isEmpty(),
                "the model has no MoeBlock: there is no routing to profile (block %s)",
                model.getClass().getSimpleName());
        this.classNames = classNames;
        for (Map.Entry<String, MoeBlock> e : layers.entrySet()) {
            accumulators.put(
                    e.getKey(),
                    RoutingStats.accumulator(e.getValue().getNumExperts(), classNames.size()));
        }
    }

    /**
     * @param model the model's block
     * @param classNames the class names (their number sets the histogram size)
     * @return a new, empty profiler
     * @throws IllegalArgumentException if the block contains no {@link MoeBlock}
     */
    public static ActivationProfiler of(Block model, List<String> classNames) {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkArgument(
                classNames != null && !classNames.isEmpty(), "classNames must not be empty");
        return new ActivationProfiler(model, classNames);
    }

    /**
     * Profiles a model on some labelled images in inference mode.
     *
     * @param model the model
     * @param data the images
     * @param indices the items of {@code data} to run, or null for all
     * @param batchSize the batch size
     * @return the profile
     * @throws IOException if the images cannot be read
     */
    public static ActivationProfile profile(
            Model model, LabeledData data, int[] indices, int batchSize) throws IOException {
        ActivationProfiler profiler = of(model.getBlock(), data.classNames());
        profiler.run(model, data, indices, batchSize);
        return profiler.snapshot();
    }

    /**
     * Runs the model in inference mode over the images and records their routing.
     *
     * @param model the model
     * @param data the images
     * @param indices the items to run, or null for all
     * @param batchSize the batch size, &gt; 0
     * @throws IOException if the images cannot be read
     */
    public void run(Model model, LabeledData data, int[] indices, int batchSize) throws IOException {
        Preconditions.checkArgument(batchSize > 0, "batchSize (%s) must be > 0", batchSize);
        int[] items = indices != null ? indices : allIndices(data.size());
        Block block = model.getBlock();
        NDManager manager = model.getNDManager();
        for (int start = 0; start < items.length; start += batchSize) {
            int[] chunk = java.util.Arrays.copyOfRange(items, start, Math.min(items.length, start + batchSize));
            try (NDManager scope = manager.newSubManager();
                    Batch batch = data.batch(scope, chunk)) {
                NDList out = block.forward(new ParameterStore(scope, false), batch.getData(), false);
                record(out.head().getDevice(), MoeTraining.toIntLabels(batch.getLabels().head()));
            }
        }
    }

    /**
     * Records the last routing of every layer on a device, with the labels of that batch.
     *
     * @param device the device the batch ran on
     * @param labels the class of each image of the batch
     */
    public void record(Device device, int[] labels) {
        for (Map.Entry<String, MoeBlock> e : layers.entrySet()) {
            Routing r =
                    e.getValue()
                            .lastRouting(device)
                            .orElseThrow(
                                    () ->
                                            new IllegalStateException(
                                                    "MoE layer " + e.getKey() + " has not run on " + device));
            accumulators.get(e.getKey()).add(r, labels);
        }
    }

    /**
     * A DJL training listener that records the routing of each training batch (training routing,
     * noise included) into this profiler.
     *
     * @return the listener; add it with {@code DefaultTrainingConfig.addTrainingListeners}
     */
    public TrainingListener listener() {
        return new TrainingListenerAdapter() {
            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                for (Map.Entry<Device, NDList> e : batchData.getLabels().entrySet()) {
                    record(e.getKey(), MoeTraining.toIntLabels(e.getValue().head()));
                }
            }
        };
    }

    /** @return an immutable snapshot of what was recorded so far */
    public ActivationProfile snapshot() {
        Map<String, RoutingStats> stats = new LinkedHashMap<>();
        for (Map.Entry<String, RoutingStats.Accumulator> e : accumulators.entrySet()) {
            stats.put(e.getKey(), e.getValue().snapshot());
        }
        return new ActivationProfile(stats, classNames);
    }

    static int[] allIndices(int n) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        return all;
    }
}

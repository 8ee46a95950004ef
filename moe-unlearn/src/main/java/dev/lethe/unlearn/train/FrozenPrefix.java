package dev.lethe.unlearn.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The leading parts of a working network's feature stack that a phase in inference mode neither
 * trains nor has changed: every parameter frozen, every value equal to the original model's. Their
 * output on a batch is then the same for the working model and for the original (same weights,
 * same statistics, inference mode), so a step computes it once and runs both networks from there:
 * the original model's forward pass of a distillation step skips the shared part. On a model
 * whose forgetting touches only the last MoE stage (the default method's usual case) the shared
 * part is the stem and the dense stages, about half of a forward pass.
 *
 * <p>The result is bit-identical to running both networks whole: the same operations on the same
 * values, in inference mode, where nothing is random.
 */
final class FrozenPrefix {

    private final List<Block> workingParts;
    private final EmbeddingClassifier teacher;
    private final List<Block> teacherParts;
    private final int length;
    private final Set<MoeBlock> sharedLayers;

    private FrozenPrefix(EmbeddingClassifier working, EmbeddingClassifier teacher, int length) {
        this.workingParts = working.features().getChildren().values();
        this.teacher = teacher;
        this.teacherParts = teacher.features().getChildren().values();
        this.length = length;
        Set<MoeBlock> layers = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < length; i++) {
            layers.addAll(MoeBlocks.find(workingParts.get(i)).values());
        }
        this.sharedLayers = layers;
    }

    /**
     * Measures the shared prefix of a phase: call it after the phase's trainable parameters are set.
     *
     * @param working the working network
     * @param teacher the original network, of the same structure
     * @return the prefix: the longest run of leading feature parts that are frozen in the working
     *     network and equal, parameter for parameter, to the original's (length 0 if the two
     *     feature stacks differ in structure)
     */
    static FrozenPrefix of(EmbeddingClassifier working, EmbeddingClassifier teacher) {
        List<Block> w = working.features().getChildren().values();
        List<Block> t = teacher.features().getChildren().values();
        int length = 0;
        if (w.size() == t.size()) {
            while (length < w.size() && MoeBlocks.isFrozen(w.get(length)) && sameValues(w.get(length), t.get(length))) {
                length++;
            }
        }
        return new FrozenPrefix(working, teacher, length);
    }

    private static boolean sameValues(Block a, Block b) {
        PairList<String, Parameter> pa = a.getParameters();
        PairList<String, Parameter> pb = b.getParameters();
        if (pa.size() != pb.size()) {
            return false;
        }
        for (int i = 0; i < pa.size(); i++) {
            Parameter x = pa.valueAt(i);
            Parameter y = pb.valueAt(i);
            if (!pa.keyAt(i).equals(pb.keyAt(i)) || !x.isInitialized() || !y.isInitialized()) {
                return false;
            }
            NDArray ax = x.getArray();
            NDArray ay = y.getArray();
            if (!ax.getShape().equals(ay.getShape()) || !ax.contentEquals(ay)) {
                return false;
            }
        }
        return true;
    }

    /** @return the number of shared leading parts; 0 = nothing is shared */
    int length() {
        return length;
    }

    /**
     * @param layer an MoE layer of the working network
     * @return whether it lies in the shared part (its routing is the original's)
     */
    boolean contains(MoeBlock layer) {
        return sharedLayers.contains(layer);
    }

    /**
     * Runs the shared part of the working network, in inference mode.
     *
     * @param store the step's parameter store
     * @param inputs the batch's images
     * @return the shared part's output
     */
    NDList forward(ParameterStore store, NDList inputs) {
        NDList x = inputs;
        for (int i = 0; i < length; i++) {
            x = workingParts.get(i).forward(store, x, false);
        }
        return x;
    }

    /**
     * Runs the rest of the original network, in inference mode, from the shared part's output.
     *
     * @param store the step's parameter store
     * @param shared the output of {@link #forward}
     * @return its logits
     */
    NDArray teacherLogits(ParameterStore store, NDList shared) {
        NDList x = shared;
        for (int i = length; i < teacherParts.size(); i++) {
            x = teacherParts.get(i).forward(store, x, false);
        }
        return teacher.classifier().forward(store, x, false).head();
    }

    /** @return the parts of the working network's feature stack after the shared ones, in order */
    List<Block> workingRest() {
        return workingParts.subList(length, workingParts.size());
    }
}

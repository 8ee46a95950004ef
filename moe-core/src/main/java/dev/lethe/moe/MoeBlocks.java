package dev.lethe.moe;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import com.google.common.hash.Hashing;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/** Finding and inspecting the {@link MoeBlock}s inside any DJL block tree. */
public final class MoeBlocks {

    /** Parameters their blocks declared fixed ({@link #markFixed}), held weakly, by identity. */
    private static final Set<Parameter> MARKED_FIXED = Collections.synchronizedSet(
            Collections.newSetFromMap(new WeakHashMap<>()));

    private MoeBlocks() {}

    /**
     * Declares a parameter {@linkplain #isFixed fixed}: never trained, left frozen by {@link
     * #setTrainable}. For a parameter a block creates frozen and must keep frozen whatever later
     * code unfreezes, e.g. the scale of a BatchNorm built with {@code optScale(false)}, which DJL
     * creates as a frozen parameter of ones. The block that creates the parameter calls this when
     * it is built, so every copy and every loaded model of it carries the mark.
     *
     * @param parameter the parameter; it is frozen here
     */
    public static void markFixed(Parameter parameter) {
        Preconditions.checkNotNull(parameter, "parameter must not be null");
        parameter.freeze(true);
        MARKED_FIXED.add(parameter);
    }

    /**
     * Finds every {@link MoeBlock} in a block tree, in forward (depth-first, child) order.
     *
     * @param root the root block, e.g. {@code model.getBlock()}
     * @return the MoE blocks keyed by their path of child names from the root (e.g. {@code
     *     "04stage2/01moe"}); empty if there is none
     */
    public static Map<String, MoeBlock> find(Block root) {
        Map<String, MoeBlock> found = new LinkedHashMap<>();
        collect(root, "", found);
        return ImmutableMap.copyOf(found);
    }

    private static void collect(Block block, String path, Map<String, MoeBlock> found) {
        if (block instanceof MoeBlock) {
            found.put(path.isEmpty() ? "moe" : path, (MoeBlock) block);
            return;
        }
        for (Pair<String, Block> child : block.getChildren()) {
            collect(child.getValue(), path.isEmpty() ? child.getKey() : path + "/" + child.getKey(), found);
        }
    }

    /**
     * Counts the trainable values of a block: every parameter element except BatchNorm running
     * statistics. The block must be initialised.
     *
     * @param block the block
     * @return the number of scalar parameters
     */
    public static long countParameters(Block block) {
        long total = 0;
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter p = pair.getValue();
            if (MoeBlock.isStatistic(p)) {
                continue;
            }
            total += p.getArray().getShape().size();
        }
        return total;
    }

    /**
     * Makes every parameter of a block trainable or frozen, never touching the {@linkplain
     * #isFixed fixed} ones: BatchNorm running statistics (making those trainable breaks the next
     * forward pass; see docs/djl.md rule 5) and constants computed from data.
     *
     * @param block the block
     * @param trainable true to train, false to freeze
     */
    public static void setTrainable(Block block, boolean trainable) {
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter p = pair.getValue();
            if (!isFixed(p)) {
                p.freeze(!trainable);
            }
        }
    }

    /**
     * Whether a block trains nothing: none of its parameters requires a gradient, the {@linkplain
     * #isFixed fixed} ones aside (a block without parameters counts as frozen). {@link
     * dev.lethe.moe.model.MoeResNet} and {@link SharedExpertMoe} run such blocks in inference mode
     * even in training passes, so their BatchNorm statistics stay as they are.
     *
     * @param block the block
     * @return true if no parameter of it can train
     */
    public static boolean isFrozen(Block block) {
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter p = pair.getValue();
            if (!isFixed(p) && p.requiresGradient()) {
                return false;
            }
        }
        return true;
    }

    /**
     * @param parameter an initialised parameter
     * @return the SHA-256 (hex) of its values as float32, little endian, in row-major order: the
     *     fingerprint of one tensor in audit records and the proof of initial values
     */
    public static String sha256(Parameter parameter) {
        float[] values = parameter.getArray().toFloatArray();
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return Hashing.sha256().hashBytes(buf.array()).toString();
    }

    /**
     * Whether a parameter is never trained: a BatchNorm running statistic, a constant computed
     * from data, which by convention has a name starting with {@code fixed} (e.g. the filters of
     * {@link dev.lethe.moe.model.PatchWhitening}), or a parameter its block {@linkplain #markFixed
     * marked} fixed (the scale of the fast layout's BatchNorms).
     *
     * @param parameter a parameter
     * @return true if no optimizer may change it
     */
    public static boolean isFixed(Parameter parameter) {
        return MoeBlock.isStatistic(parameter) || parameter.getName().startsWith("fixed")
                || MARKED_FIXED.contains(parameter);
    }
}

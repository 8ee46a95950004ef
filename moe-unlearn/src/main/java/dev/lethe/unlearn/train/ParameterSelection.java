package dev.lethe.unlearn.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.lethe.moe.MoeBlocks;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which parameters a {@link Phase} trains: whole parameter tensors, each optionally restricted to
 * some of its elements by a mask (e.g. SalUn's gradient-saliency mask). Everything else is frozen
 * and stays bit-identical; BatchNorm running statistics and fixed constants ({@link
 * MoeBlocks#isFixed}, e.g. the filters of a patch-whitening stem) are never trainable.
 *
 * <p>A masked tensor is trainable, and its gradient is multiplied by the mask (1 = train, 0 = keep)
 * after every backward pass and before the optimizer step: with a mask fixed from the first step,
 * Adam's moments of a masked element stay 0 and so does its update (with no weight decay), so the
 * masked elements keep their values exactly.
 *
 * <p>Parameters are named by their path in the root block ({@code block.getParameters()} keys).
 * Immutable.
 */
public final class ParameterSelection {

    private final String description;
    private final Map<String, Parameter> parameters;
    private final Map<String, float[]> masks;

    private ParameterSelection(String description, Map<String, Parameter> parameters, Map<String, float[]> masks) {
        this.description = description;
        this.parameters = ImmutableMap.copyOf(parameters);
        this.masks = ImmutableMap.copyOf(masks);
    }

    /**
     * Every parameter of some parts of a block.
     *
     * @param root the model's block (names are relative to it)
     * @param description what is selected, for messages (e.g. {@code "scope HEAD_ONLY"})
     * @param parts sub-blocks of {@code root} whose parameters are selected (none: nothing)
     * @return the selection, in the root's parameter order
     */
    public static ParameterSelection of(Block root, String description, Collection<Block> parts) {
        Set<String> ids = new HashSet<>();
        for (Block part : parts) {
            for (Pair<String, Parameter> p : part.getParameters()) {
                ids.add(p.getValue().getId());
            }
        }
        Map<String, Parameter> selected = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : root.getParameters()) {
            if (ids.contains(p.getValue().getId()) && !MoeBlocks.isFixed(p.getValue())) {
                selected.put(p.getKey(), p.getValue());
            }
        }
        return new ParameterSelection(description, selected, Map.of());
    }

    /**
     * @param root the model's block
     * @param description what is selected, for messages
     * @return every parameter of the block (BatchNorm statistics and fixed constants excepted)
     */
    public static ParameterSelection all(Block root, String description) {
        return of(root, description, List.of(root));
    }

    /**
     * Restricts one selected tensor to some of its elements.
     *
     * @param name a selected parameter's name
     * @param mask one value per element, in the tensor's row-major order: 1 to train, 0 to keep
     * @return a copy with the mask
     * @throws IllegalArgumentException if the parameter is not selected or the mask has the wrong
     *     size or a value other than 0 and 1
     */
    public ParameterSelection withMask(String name, float[] mask) {
        Parameter p = parameters.get(name);
        Preconditions.checkArgument(p != null, "parameter '%s' is not selected; selected: %s", name, parameters.keySet());
        long size = p.getArray().getShape().size();
        Preconditions.checkArgument(
                mask.length == size, "the mask of '%s' has %s values but the parameter has %s", name, mask.length, size);
        for (float m : mask) {
            Preconditions.checkArgument(m == 0f || m == 1f, "a mask value of '%s' is %s; masks hold 0 or 1", name, m);
        }
        Map<String, float[]> copy = new LinkedHashMap<>(masks);
        copy.put(name, mask.clone());
        return new ParameterSelection(description, parameters, copy);
    }

    /** @return what is selected, for messages */
    public String description() {
        return description;
    }

    /** @return the names of the selected tensors, in model order */
    public List<String> names() {
        return ImmutableList.copyOf(parameters.keySet());
    }

    /**
     * @param name a selected parameter
     * @return its mask, if it has one (a copy)
     */
    public Optional<float[]> mask(String name) {
        return Optional.ofNullable(masks.get(name)).map(float[]::clone);
    }

    /** @return the number of trainable scalars: whole tensors plus the 1s of the masks */
    public long count() {
        long n = 0;
        for (String name : parameters.keySet()) {
            n += count(name);
        }
        return n;
    }

    /**
     * @param name a selected parameter
     * @return its trainable scalars: its size, or the 1s of its mask
     */
    long count(String name) {
        float[] mask = masks.get(name);
        if (mask == null) {
            return parameters.get(name).getArray().getShape().size();
        }
        long n = 0;
        for (float m : mask) {
            n += m > 0 ? 1 : 0;
        }
        return n;
    }

    /** @return whether nothing would train */
    public boolean isEmpty() {
        return count() == 0;
    }

    /** Freezes every parameter of the root block, then unfreezes the selected ones. */
    void apply(Block root) {
        MoeBlocks.setTrainable(root, false);
        for (Parameter p : parameters.values()) {
            if (!MoeBlocks.isFixed(p)) {
                p.freeze(false);
            }
        }
    }

    /**
     * @param manager where the mask arrays live (e.g. the trainer's manager)
     * @return parameter to its mask as an array of its shape
     */
    Map<Parameter, NDArray> maskArrays(NDManager manager) {
        Map<Parameter, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : masks.entrySet()) {
            Parameter p = parameters.get(e.getKey());
            out.put(p, manager.create(e.getValue(), p.getArray().getShape()));
        }
        return out;
    }

    @Override
    public String toString() {
        return String.format(
                java.util.Locale.ROOT, "%s: %d tensors, %d masked, %d scalars", description, parameters.size(), masks.size(), count());
    }
}

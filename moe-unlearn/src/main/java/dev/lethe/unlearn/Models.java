package dev.lethe.unlearn;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.InitialValues;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Copies of DJL models, in one place: the unlearning run (working copies, the teacher, the Retrain
 * oracle's fresh model) and the command line use these.
 *
 * <p>A {@link #copy copy} is a new {@link Model} with a new block of the same architecture that
 * holds the source's values of <em>every</em> parameter (weights, biases, router parameters and
 * BatchNorm running statistics: DJL's parameter stream carries them all), every model property
 * (the recorded training recipe and forgotten classes included) and the expert masks of every
 * {@link MoeBlock}. Parameters are copied through DJL's own {@code saveParameters}/{@code
 * loadParameters}, so the copy's outputs are bit-identical to the source's. Not copied: which
 * parameters are frozen (every parameter of a copy is trainable, BatchNorm statistics excepted)
 * and the routing-noise step counter of the MoE layers. The copy is independent: closing either
 * model leaves the other usable.
 *
 * <p>The architecture comes from the source's {@link MoeResNet#config()}, or from a factory for any
 * other block.
 */
public final class Models {

    private Models() {}

    /**
     * Copies a model whose block is a {@link MoeResNet}.
     *
     * @param source the model, initialised
     * @return the copy; the caller closes it
     * @throws IOException if the parameters cannot be copied
     * @throws IllegalStateException if the block is not a {@link MoeResNet}
     */
    public static Model copy(Model source) throws IOException {
        return copy(source, null);
    }

    /**
     * Copies a model.
     *
     * @param source the model, initialised
     * @param factory builds a new, uninitialised block of the source's architecture; null for a
     *     {@link MoeResNet}
     * @return the copy; the caller closes it
     * @throws IOException if the parameters cannot be copied (e.g. the factory builds another
     *     architecture)
     */
    public static Model copy(Model source, Supplier<Block> factory) throws IOException {
        Model copy = fresh(source, factory);
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            source.getBlock().saveParameters(new DataOutputStream(bytes));
            copy.getBlock().loadParameters(
                    copy.getNDManager(), new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
            copyExpertMasks(source.getBlock(), copy.getBlock());
        } catch (MalformedModelException | RuntimeException e) {
            copy.close();
            throw new IOException("cannot copy the model: " + e.getMessage(), e);
        }
        for (Map.Entry<String, String> p : source.getProperties().entrySet()) {
            copy.setProperty(p.getKey(), p.getValue());
        }
        return copy;
    }

    /**
     * A new model of the source's architecture, newly initialised by the block's initializers
     * (drawing from DJL's engine random generator: seed it with {@code
     * Engine.getInstance().setRandomSeed} for a reproducible start) and {@linkplain
     * InitialValues#mark marked} as such. Nothing is copied but the name, the architecture and the
     * input shapes: no parameter value, no property.
     *
     * @param source the model, initialised (its input shapes set)
     * @param factory builds a new, uninitialised block of the source's architecture; null for a
     *     {@link MoeResNet}
     * @return the new model; the caller closes it
     * @throws IllegalStateException if the block is not a {@link MoeResNet} and no factory is given
     */
    public static Model fresh(Model source, Supplier<Block> factory) {
        Preconditions.checkNotNull(source, "source must not be null");
        Block original = source.getBlock();
        Preconditions.checkArgument(
                original != null && original.isInitialized(), "the source model's block must be initialised");
        Block block;
        if (factory != null) {
            block = factory.get();
        } else {
            Preconditions.checkState(
                    original instanceof MoeResNet,
                    "cannot copy a %s: pass a factory that builds this architecture (optModelFactory)",
                    original.getClass().getSimpleName());
            block = MoeResNet.of(((MoeResNet) original).config());
        }
        Model m = Model.newInstance(source.getName());
        m.setBlock(block);
        block.initialize(m.getNDManager(), DataType.FLOAT32, original.getInputShapes());
        InitialValues.mark(m);
        return m;
    }

    /**
     * Sets every parameter of {@code target} (BatchNorm statistics included) to the value it has
     * in {@code source}, and makes every parameter trainable again: restores a model edited in
     * place from a {@link #copy} taken before.
     *
     * @param source the model whose values are copied
     * @param target a model of the same architecture
     * @throws IllegalArgumentException if a parameter of the target is missing from the source
     */
    public static void copyParameters(Model source, Model target) {
        copyValues(source, target);
        MoeBlocks.setTrainable(target.getBlock(), true);
    }

    /**
     * Puts a model back as it was when {@code snapshot} was {@linkplain #copy copied} from it:
     * the value of every parameter (BatchNorm statistics included), the expert masks and the
     * properties (a property added since is removed); then which parameters are frozen, from
     * {@code trainable} (a copy does not record it).
     *
     * @param snapshot the copy taken before
     * @param target the model to put back, of the snapshot's architecture
     * @param trainable whether each parameter of the target required a gradient before ({@link
     *     #trainableFlags}); parameters missing from it are left as they are
     * @throws IllegalArgumentException if a parameter of the target is missing from the snapshot
     */
    public static void restore(Model snapshot, Model target, Map<Parameter, Boolean> trainable) {
        Preconditions.checkNotNull(trainable, "trainable must not be null");
        copyValues(snapshot, target);
        copyExpertMasks(snapshot.getBlock(), target.getBlock());
        Map<String, String> properties = target.getProperties();
        properties.keySet().retainAll(snapshot.getProperties().keySet());
        snapshot.getProperties().forEach(target::setProperty);
        for (Pair<String, Parameter> p : target.getBlock().getParameters()) {
            Boolean before = trainable.get(p.getValue());
            if (before != null && !MoeBlocks.isFixed(p.getValue())) {
                p.getValue().freeze(!before);
            }
        }
    }

    /**
     * @param model a model
     * @return whether each of its parameters requires a gradient now, by identity, for {@link
     *     #restore}
     */
    public static Map<Parameter, Boolean> trainableFlags(Model model) {
        Map<Parameter, Boolean> flags = new java.util.IdentityHashMap<>();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            flags.put(p.getValue(), p.getValue().requiresGradient());
        }
        return flags;
    }

    private static void copyValues(Model source, Model target) {
        Map<String, Parameter> from = new java.util.HashMap<>();
        for (Pair<String, Parameter> p : source.getBlock().getParameters()) {
            from.put(p.getKey(), p.getValue());
        }
        for (Pair<String, Parameter> p : target.getBlock().getParameters()) {
            Parameter s = from.get(p.getKey());
            Preconditions.checkArgument(
                    s != null, "parameter '%s' of the target is not in the source", p.getKey());
            p.getValue().getArray().set(s.getArray().toFloatArray());
        }
    }

    private static void copyExpertMasks(Block source, Block target) {
        Map<String, MoeBlock> to = MoeBlocks.find(target);
        for (Map.Entry<String, MoeBlock> e : MoeBlocks.find(source).entrySet()) {
            MoeBlock s = e.getValue();
            MoeBlock t = to.get(e.getKey());
            for (int x = 0; x < s.getNumExperts(); x++) {
                t.maskExpert(x, s.isExpertMasked(x));
            }
        }
    }
}

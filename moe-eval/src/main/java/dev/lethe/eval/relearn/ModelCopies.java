package dev.lethe.eval.relearn;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import com.google.common.base.Preconditions;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An independent copy of a model for an attacker to train: a fresh block of the same architecture
 * with the source's parameters (BatchNorm statistics included), expert masks and properties; every
 * parameter trainable. The source is only read.
 *
 * <p>TODO(lead): the Unlearner refactor is to give the library one way to copy a model; use it here
 * when it lands (this is the same recipe as {@code Unlearner}'s private copy).
 */
final class ModelCopies {

    private ModelCopies() {}

    /**
     * @param source the model
     * @param factory builds a fresh, uninitialised block of the source's architecture; null for a
     *     {@link MoeResNet}
     * @return the copy; the caller closes it
     * @throws IOException if the parameters cannot be copied
     * @throws IllegalArgumentException if the block is not a MoeResNet and no factory is given
     */
    static Model copy(Model source, Supplier<Block> factory) throws IOException {
        Block original = source.getBlock();
        Preconditions.checkArgument(
                factory != null || original instanceof MoeResNet,
                "cannot copy a %s: pass optModelFactory(...) that builds this architecture",
                original.getClass().getSimpleName());
        Block block = factory != null ? factory.get() : MoeResNet.of(((MoeResNet) original).config());
        Model copy = Model.newInstance(source.getName());
        try {
            copy.setBlock(block);
            block.initialize(copy.getNDManager(), DataType.FLOAT32, original.getInputShapes());
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            original.saveParameters(new DataOutputStream(bytes));
            block.loadParameters(
                    copy.getNDManager(), new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
            // loaded arrays carry no gradient: make every parameter (not the statistics) trainable
            MoeBlocks.setTrainable(block, true);
            Iterator<MoeBlock> to = MoeBlocks.find(block).values().iterator();
            for (MoeBlock from : MoeBlocks.find(original).values()) {
                MoeBlock target = to.next();
                for (int e = 0; e < from.getNumExperts(); e++) {
                    target.maskExpert(e, from.isExpertMasked(e));
                }
            }
        } catch (MalformedModelException | RuntimeException e) {
            copy.close();
            throw new IOException("cannot copy the model: " + e.getMessage(), e);
        }
        for (Map.Entry<String, String> p : source.getProperties().entrySet()) {
            copy.setProperty(p.getKey(), p.getValue());
        }
        return copy;
    }
}

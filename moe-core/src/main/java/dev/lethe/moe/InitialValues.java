package dev.lethe.moe;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;

/**
 * The proof that a model's values are an initialisation no data has reached: the SHA-256 of every
 * parameter's values, recorded right after initialisation in the model's {@value #MODEL_PROPERTY}
 * property. The provenance ledger ({@link dev.lethe.moe.provenance.ProvenanceLedger}) starts
 * complete only from a model whose values still have that hash; any other model's history is
 * unknown.
 */
public final class InitialValues {

    /** The model property that holds the SHA-256 of the values a model was initialised with. */
    public static final String MODEL_PROPERTY = "lethe.initialValues";

    private InitialValues() {}

    /**
     * Records that a model's current values are an initialisation no data has reached. {@code
     * MoeResNet.newModel} calls it; call it right after initialising a model built otherwise, before
     * it sees data, so that its training records a complete provenance ledger.
     *
     * @param model a model whose block is initialised
     */
    public static void mark(Model model) {
        Preconditions.checkNotNull(model, "model must not be null");
        model.setProperty(MODEL_PROPERTY, hash(model.getBlock()));
    }

    /**
     * @param model a model
     * @return whether its values are still those {@link #mark} recorded (false when nothing was
     *     recorded)
     */
    public static boolean holds(Model model) {
        Preconditions.checkNotNull(model, "model must not be null");
        String recorded = model.getProperty(MODEL_PROPERTY);
        return recorded != null && recorded.equals(hash(model.getBlock()));
    }

    /** SHA-256 over every parameter's name and {@link MoeBlocks#sha256 hash}, in model order. */
    private static String hash(Block block) {
        Preconditions.checkArgument(block != null && block.isInitialized(), "the model's block must be initialised");
        Hasher hasher = Hashing.sha256().newHasher();
        for (Pair<String, Parameter> p : block.getParameters()) {
            hasher.putString(p.getKey(), StandardCharsets.UTF_8);
            hasher.putString(MoeBlocks.sha256(p.getValue()), StandardCharsets.UTF_8);
        }
        return hasher.hash().toString();
    }
}

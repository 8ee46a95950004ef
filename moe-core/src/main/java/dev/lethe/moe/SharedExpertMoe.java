package dev.lethe.moe;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import com.google.common.base.Preconditions;

/**
 * An MoE layer with a shared expert beside the routed ones, as in DeepSeekMoE (Dai et al., ACL
 * 2024): every image goes through the shared expert, and the routed {@link MoeBlock} adds what its
 * chosen experts compute:
 *
 * <pre>
 *   y = shared(x) + moe(x)
 * </pre>
 *
 * <p>Input (B, C, H, W); output the experts' output shape. The shared expert carries what every
 * class needs, so that routed experts only carry what is specific to the images routed to them:
 * with class routing ({@link MoeBlock#setClassRouting}) a routed expert learns only its classes,
 * and an image the router sends to the wrong expert still gets the shared features.
 *
 * <p>Labels given to a training pass reach the {@link MoeBlock} (for class routing). A shared
 * expert whose parameters are all frozen runs in inference mode, so its BatchNorm statistics stay
 * as they are (as a frozen routed expert does). {@link MoeBlocks#find} finds the routed layer
 * inside.
 */
public final class SharedExpertMoe extends AbstractBlock {

    private static final byte VERSION = 1;

    private final Block shared;
    private final MoeBlock moe;

    /**
     * @param shared the shared expert; it must map the layer input to the routed experts' output
     *     shape
     * @param moe the routed layer
     */
    public SharedExpertMoe(Block shared, MoeBlock moe) {
        super(VERSION);
        Preconditions.checkNotNull(shared, "shared must not be null");
        Preconditions.checkNotNull(moe, "moe must not be null");
        this.shared = addChildBlock("shared", shared);
        this.moe = addChildBlock("moe", moe);
    }

    /** @return the shared expert */
    public Block shared() {
        return shared;
    }

    /** @return the routed layer */
    public MoeBlock moe() {
        return moe;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList common = shared.forward(parameterStore, inputs, training && !MoeBlocks.isFrozen(shared), params);
        NDList routed = moe.forward(parameterStore, inputs, training, params);
        return new NDList(common.singletonOrThrow().add(routed.singletonOrThrow()));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, NDList labels, PairList<String, Object> params) {
        NDList common = MoeBlocks.isFrozen(shared)
                ? shared.forward(parameterStore, inputs, false, params)
                : shared.forward(parameterStore, inputs, labels, params);
        NDList routed = moe.forward(parameterStore, inputs, labels, params);
        return new NDList(common.singletonOrThrow().add(routed.singletonOrThrow()));
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        shared.initialize(manager, dataType, inputShapes);
        moe.initialize(manager, dataType, inputShapes);
        Shape a = shared.getOutputShapes(inputShapes)[0];
        Shape b = moe.getOutputShapes(inputShapes)[0];
        Preconditions.checkState(
                a.equals(b), "the shared expert maps %s to %s but the routed experts to %s", inputShapes[0], a, b);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return moe.getOutputShapes(inputShapes);
    }

    @Override
    public String toString() {
        return "SharedExpertMoe(shared + " + moe + ")";
    }
}

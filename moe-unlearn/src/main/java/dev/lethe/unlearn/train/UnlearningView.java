package dev.lethe.unlearn.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import com.google.common.base.Preconditions;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.loss.UnlearningBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A view of an {@link EmbeddingClassifier} for the unlearning {@code Trainer}: its output is the
 * predictions of an {@link UnlearningBatch}, named {@code logits} (B, C), {@code embeddings} (B, D)
 * and {@code routing:<layer>} (B, E) for every MoE layer. With {@code trainingMode = false} it runs
 * the network in inference mode even in training steps: BatchNorm keeps its running statistics and
 * routing has no noise, while gradients still flow to the trainable parameters.
 *
 * <p>With a {@link FrozenPrefix} of length k (inference mode only), its input is not the
 * images but the output of the shared part, which the loop computed once for the working and the
 * original model, and it runs the feature stack from part k on.
 */
final class UnlearningView extends AbstractBlock {

    private final EmbeddingClassifier net;
    private final boolean trainingMode;
    private final Map<String, MoeBlock> layers;
    private final FrozenPrefix prefix;

    /**
     * @param net the working network
     * @param trainingMode whether training steps run it in training mode
     * @param prefix the shared part its inputs have already gone through, or null (inputs are
     *     images); only in inference mode
     */
    UnlearningView(EmbeddingClassifier net, boolean trainingMode, FrozenPrefix prefix) {
        Preconditions.checkArgument(prefix == null || !trainingMode, "a shared prefix is only valid in inference mode");
        this.net = net;
        this.trainingMode = trainingMode;
        this.prefix = prefix;
        this.layers = MoeBlocks.find(net);
        addChildBlock("net", net);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        boolean mode = training && trainingMode;
        NDList embedding;
        if (prefix == null) {
            embedding = net.features().forward(parameterStore, inputs, mode);
        } else {
            embedding = inputs;
            for (Block part : prefix.workingRest()) {
                embedding = part.forward(parameterStore, embedding, false);
            }
        }
        NDList logits = net.classifier().forward(parameterStore, embedding, mode);
        NDList out = UnlearningBatch.predictions(logits.head(), embedding.head());
        for (Map.Entry<String, MoeBlock> e : layers.entrySet()) {
            NDArray p = e.getValue().lastRouting(logits.head().getDevice()).orElseThrow().probabilities();
            out.add(UnlearningBatch.named(p, UnlearningBatch.ROUTING + e.getKey()));
        }
        return out;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        // the first training pass lands here with its inputs' shapes, which are not images' when
        // a prefix is shared: a trained network has nothing to initialise, so leave it alone
        if (!net.isInitialized()) {
            net.initialize(manager, dataType, inputShapes);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] embedding = net.features().getOutputShapes(inputShapes);
        List<Shape> out = new ArrayList<>();
        out.add(net.classifier().getOutputShapes(embedding)[0]);
        out.add(embedding[0]);
        for (MoeBlock layer : layers.values()) {
            out.add(new Shape(inputShapes[0].get(0), layer.getNumExperts()));
        }
        return out.toArray(new Shape[0]);
    }
}

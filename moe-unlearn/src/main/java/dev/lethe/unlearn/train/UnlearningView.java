package dev.lethe.unlearn.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
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
 */
final class UnlearningView extends AbstractBlock {

    private final EmbeddingClassifier net;
    private final boolean trainingMode;
    private final Map<String, MoeBlock> layers;

    UnlearningView(EmbeddingClassifier net, boolean trainingMode) {
        this.net = net;
        this.trainingMode = trainingMode;
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
        NDList embedding = net.features().forward(parameterStore, inputs, mode);
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
        net.initialize(manager, dataType, inputShapes);
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

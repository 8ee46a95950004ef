package dev.lethe.unlearn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.lethe.moe.model.EmbeddingClassifier;

/**
 * A view of an {@link EmbeddingClassifier} that returns {@code [logits, embeddings]}, for the
 * unlearning {@code Trainer}. With {@code trainingMode = false} it runs the network in inference
 * mode even in training steps: BatchNorm keeps its running statistics and routing has no noise,
 * while gradients still flow to the trainable parameters.
 */
final class UnlearningView extends AbstractBlock {

    private final EmbeddingClassifier net;
    private final boolean trainingMode;

    UnlearningView(EmbeddingClassifier net, boolean trainingMode) {
        this.net = net;
        this.trainingMode = trainingMode;
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
        return new NDList(logits.head(), embedding.head());
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        net.initialize(manager, dataType, inputShapes);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] embedding = net.features().getOutputShapes(inputShapes);
        return new Shape[] {net.classifier().getOutputShapes(embedding)[0], embedding[0]};
    }
}

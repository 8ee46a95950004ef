package dev.lethe.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.lethe.moe.ConvExperts;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayerFeaturesTest {

    /** A minimal EmbeddingClassifier around any features block. */
    private static final class Net extends AbstractBlock implements EmbeddingClassifier {
        private final Block features;
        private final Block head;

        Net(Block features) {
            super((byte) 1);
            this.features = addChildBlock("features", features);
            this.head = addChildBlock("head", Linear.builder().setUnits(3).build());
        }

        @Override
        public Block features() {
            return features;
        }

        @Override
        public Block classifier() {
            return head;
        }

        @Override
        public int embeddingSize() {
            return 4;
        }

        @Override
        public int numClasses() {
            return 3;
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            return head.forward(ps, features.forward(ps, inputs, training, params), training, params);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            features.initialize(manager, dataType, inputShapes);
            head.initialize(manager, dataType, features.getOutputShapes(inputShapes));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return head.getOutputShapes(features.getOutputShapes(inputShapes));
        }
    }

    private static MoeBlock moe() {
        return MoeBlock.builder().setNumExperts(2).setExpertFactory(ConvExperts.residual(3)).optTopK(1).build();
    }

    @Test
    void of_moeResNet_namesEveryMoeLayerInForwardOrder_thenThePenultimateEmbedding() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        LayerFeatures reader = LayerFeatures.of(f.original.getBlock());
        List<String> expected = new ArrayList<>(MoeBlocks.find(f.original.getBlock()).keySet());
        expected.add(LayerFeatures.PENULTIMATE);
        assertThat(expected).hasSize(3);
        assertThat(reader.layerNames()).containsExactlyElementsOf(expected);
    }

    @Test
    void forward_capturesPooledLayers_andTheSameEmbeddingAndOutputsAsThePlainPass() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        int[] items = {0, 5, 17, 33, 100};
        Predictions layers = Predictions.compute(f.original, f.test, items, 2, Predictions.Capture.LAYERS);
        Predictions plain = Predictions.compute(f.original, f.test, items, 2, Predictions.Capture.EMBEDDINGS);
        List<String> names = layers.layerNames();
        assertThat(names).hasSize(3);
        float[][] penultimate = layers.layerFeatures(LayerFeatures.PENULTIMATE);
        float[][] embeddings = plain.embeddings();
        float[][] lastMoe = layers.layerFeatures(names.get(1));
        float[][] p = layers.probabilities();
        float[][] q = plain.probabilities();
        for (int i = 0; i < items.length; i++) {
            assertThat(penultimate[i]).containsExactly(embeddings[i]);
            assertThat(layers.layerFeatures(names.get(0))[i]).hasSize(8);
            // MoeResNet's embedding is the global average pool of its last MoE stage's output: the
            // pooled capture of that layer must equal it (DJL's pooling against ours)
            for (int j = 0; j < lastMoe[i].length; j++) {
                assertThat(lastMoe[i][j]).isCloseTo(penultimate[i][j], within(1e-5f));
            }
            assertThat(p[i]).containsExactly(q[i]);
        }
        assertThat(plain.layerNames()).containsExactly(LayerFeatures.PENULTIMATE);
        assertThat(Predictions.compute(f.original, f.test, items, 2, Predictions.Capture.OUTPUTS).layerNames()).isEmpty();
        assertThatThrownBy(() -> plain.layerFeatures(names.get(0)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("layer '" + names.get(0) + "' was not captured; captured: [penultimate]");
    }

    @Test
    void of_blocksItCannotRead_failWithTheReason() {
        SequentialBlock plain = new SequentialBlock().add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(3).build());
        assertThatThrownBy(() -> LayerFeatures.of(plain))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not a dev.lethe.moe.model.EmbeddingClassifier");

        SequentialBlock twoInOne = new SequentialBlock().add(new SequentialBlock().add(moe()).add(moe()));
        assertThatThrownBy(() -> LayerFeatures.of(new Net(twoInOne)))
                .hasMessageContaining("child '01SequentialBlock' of features() holds 2 MoE layers");

        Net notSequential = new Net(new Net(new SequentialBlock().add(moe())));
        assertThatThrownBy(() -> LayerFeatures.of(notSequential))
                .hasMessage("features() of Net is a Net holding 1 MoE layers; per-layer probes need it to be an"
                        + " ai.djl.nn.SequentialBlock, run child by child");

        // without MoE layers any features() will do: only the penultimate embedding is read
        Net dense = new Net(new Net(new SequentialBlock().add(Blocks.batchFlattenBlock())));
        assertThat(LayerFeatures.of(dense).layerNames()).containsExactly(LayerFeatures.PENULTIMATE);
    }

    @Test
    void forward_nestedMoeLayer_isReadAfterTheChildThatHoldsIt() {
        try (NDManager m = NDManager.newBaseManager()) {
            SequentialBlock features = new SequentialBlock()
                    .add(ConvExperts.convBn(3, 1))
                    .add(new SequentialBlock().add(moe()).add(ConvExperts.convBn(5, 1)))
                    .add(ai.djl.nn.pooling.Pool.globalAvgPool2dBlock());
            Net net = new Net(features);
            net.initialize(m, DataType.FLOAT32, new Shape(2, 3, 8, 8));
            LayerFeatures reader = LayerFeatures.of(net);
            assertThat(reader.layerNames()).containsExactly("01features/02SequentialBlock/01MoeBlock", LayerFeatures.PENULTIMATE);
            NDList out = reader.forward(new ParameterStore(m, false), m.randomNormal(new Shape(2, 3, 8, 8)));
            // the child's output (5 channels after its convolution), pooled; the embedding; the logits
            assertThat(out.get(0).getShape()).isEqualTo(new Shape(2, 5));
            assertThat(out.get(1).getShape()).isEqualTo(new Shape(2, 5));
            assertThat(out.get(2).getShape()).isEqualTo(new Shape(2, 3));
        }
    }
}

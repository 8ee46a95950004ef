package dev.lethe.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.data.LabeledData;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PredictionsTest {

    private static Model tinyMoe() {
        Engine.getInstance().setRandomSeed(3);
        return MoeResNet.newModel(
                MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optNumClasses(3).build());
    }

    @Test
    void compute_embeddingClassifier_keepsConsistentOutputsOnTheHost() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 40, 1);
            int[] indices = {5, 0, 39, 12, 12, 7, 21};
            Predictions p = Predictions.compute(model, data, indices, 3);

            assertThat(p.size()).isEqualTo(7);
            int[] labels = p.labels();
            float[][] probabilities = p.probabilities();
            float[] trueProbabilities = p.trueProbabilities();
            int[] predicted = p.predicted();
            int correct = 0;
            for (int i = 0; i < indices.length; i++) {
                assertThat(labels[i]).isEqualTo(data.label(indices[i]));
                assertThat(probabilities[i]).hasSize(3);
                assertThat(probabilities[i][0] + probabilities[i][1] + probabilities[i][2]).isCloseTo(1f, within(1e-5f));
                assertThat(trueProbabilities[i]).isEqualTo(probabilities[i][labels[i]]);
                for (float q : probabilities[i]) {
                    assertThat(probabilities[i][predicted[i]]).isGreaterThanOrEqualTo(q);
                }
                correct += predicted[i] == labels[i] ? 1 : 0;
            }
            assertThat(p.accuracy()).isCloseTo(100.0 * correct / 7, within(1e-9));
            assertThat(p.hasEmbeddings()).isTrue();
            float[][] embeddings = p.embeddings();
            assertThat(embeddings).hasNumberOfRows(7);
            assertThat(embeddings[0]).hasSize(8);
            // the same item twice (12) gives the same outputs
            assertThat(embeddings[3]).containsExactly(embeddings[4]);
            assertThat(probabilities[3]).containsExactly(probabilities[4]);
            assertThat(p.toString()).contains("items=7", "embeddings=(7, 8)");
        }
    }

    @Test
    void flipAveraged_isTheMeanOfTheImageAndItsMirror() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 12, 4);
            Batch all = data.batch(m, IntStream.range(0, 12).toArray());
            NDArray images = all.getData().head();
            int[] labels = IntStream.range(0, 12).map(data::label).toArray();
            ArrayDataset mirroredSet = new ArrayDataset.Builder().setData(images.flip(3))
                    .optLabels(all.getLabels().head()).setSampling(4, false).build();
            LabeledData mirrored = LabeledData.of(mirroredSet, labels, TintedImages.NAMES);

            float[][] plain = Predictions.all(model, data, 5).probabilities();
            float[][] flipped = Predictions.all(model, mirrored, 5).probabilities();
            Predictions averaged = Predictions.flipAveraged(model, data, 5);

            float[][] p = averaged.probabilities();
            assertThat(averaged.labels()).containsExactly(labels);
            assertThat(averaged.hasEmbeddings()).isFalse();
            boolean viewsDiffer = false;
            for (int i = 0; i < 12; i++) {
                for (int c = 0; c < 3; c++) {
                    assertThat(p[i][c]).isCloseTo((plain[i][c] + flipped[i][c]) / 2, within(1e-5f));
                    viewsDiffer |= Math.abs(plain[i][c] - flipped[i][c]) > 1e-4f;
                }
            }
            // the images are not mirror-symmetric, so the average is not one of the views
            assertThat(viewsDiffer).isTrue();
        }
    }

    @Test
    void compute_batchSize_doesNotChangeTheOutputs() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 30, 2);
            int[] all = new int[30];
            for (int i = 0; i < 30; i++) {
                all[i] = i;
            }
            Predictions one = Predictions.compute(model, data, all, 30);
            Predictions many = Predictions.compute(model, data, all, 4);
            float[][] a = one.probabilities();
            float[][] b = many.probabilities();
            for (int i = 0; i < 30; i++) {
                for (int c = 0; c < 3; c++) {
                    assertThat(b[i][c]).isCloseTo(a[i][c], within(1e-5f));
                }
            }
        }
    }

    @Test
    void perClassAccuracy_absentClasses_areNaN() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 60, 4);
            int[] zeros = data.indicesOf(0);
            Predictions p = Predictions.compute(model, data, zeros, 256);
            double[] perClass = p.perClassAccuracy(3);
            assertThat(perClass[0]).isCloseTo(p.accuracy(), within(1e-9));
            assertThat(perClass[0]).isCloseTo(p.accuracyOf(0), within(1e-9));
            assertThat(perClass[1]).isNaN();
            assertThat(perClass[2]).isNaN();
            assertThat(p.accuracyExcept(0)).isNaN();
        }
    }

    @Test
    void compute_scopesEveryBatch_modelManagerKeepsNoArrays() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 64, 5);
            int before = model.getNDManager().getManagedArrays().size();
            Predictions.compute(model, data, data.indicesExcept(1), 8);
            Predictions.compute(model, data, data.indicesExcept(2), 8);
            // MoeResNet's cosine router computes on its weights first: unscoped, that leaves 4 arrays
            // per batch in the model's manager
            assertThat(model.getNDManager().getManagedArrays().size())
                    .as("arrays held by the model after two passes of 6 batches").isEqualTo(before);
        }
    }

    @Test
    void compute_plainBlock_hasNoEmbeddings() throws Exception {
        try (Model model = Model.newInstance("plain"); NDManager m = NDManager.newBaseManager()) {
            SequentialBlock block = new SequentialBlock()
                    .add(Blocks.batchFlattenBlock())
                    .add(Linear.builder().setUnits(3).build());
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 32, 32));
            LabeledData data = TintedImages.make(m, 10, 6);
            Predictions p = Predictions.compute(model, data, new int[] {1, 2, 3}, 2);
            assertThat(p.hasEmbeddings()).isFalse();
            assertThat(p.embeddings()).isNull();
            assertThat(p.trueProbabilities()).hasSize(3);
        }
    }

    @Test
    void compute_invalidArguments_namesParameterAndRule() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 10, 7);
            assertThatThrownBy(() -> Predictions.compute(model, data, new int[] {0, 10}, 4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("index 10 must be in [0, 10), the size of the data");
            assertThatThrownBy(() -> Predictions.compute(model, data, new int[] {0}, 0))
                    .hasMessage("batchSize (0) must be >= 1");
            assertThatThrownBy(() -> Predictions.compute(model, data, new int[0], 4))
                    .hasMessage("indices must not be empty");
        }
    }

    @Test
    void all_everyItemOutputsOnly_agreesWithCompute() throws Exception {
        try (Model model = tinyMoe(); NDManager m = NDManager.newBaseManager()) {
            LabeledData data = TintedImages.make(m, 20, 8);
            Predictions all = Predictions.all(model, data, 7);
            Predictions listed = Predictions.compute(model, data, java.util.stream.IntStream.range(0, 20).toArray(), 7);
            assertThat(all.labels()).containsExactly(data.labels());
            assertThat(all.predicted()).containsExactly(listed.predicted());
            assertThat(all.hasEmbeddings()).isFalse();
            assertThat(all.layerNames()).isEmpty();
            assertThat(all.accuracyOf(0)).isEqualTo(Accuracy.ofClass(all.predicted(), all.labels(), 0));
            assertThat(all.accuracyExcept(0)).isEqualTo(Accuracy.excludingClass(all.predicted(), all.labels(), 0));
        }
    }
}

package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import dev.lethe.moe.InitialValues;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.provenance.ProvenanceLedger;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MoeTrainingTest {

    /** Images whose class is a colour: class c brightens channel c. Learnable in a few steps. */
    static ArrayDataset colours(NDManager m, int n, long seed, int batch) {
        Random r = new Random(seed);
        float[] x = new float[n * 3 * 32 * 32];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            int c = r.nextInt(3);
            y[i] = c;
            for (int ch = 0; ch < 3; ch++) {
                for (int p = 0; p < 1024; p++) {
                    x[(i * 3 + ch) * 1024 + p] = (float) r.nextGaussian() * 0.5f + (ch == c ? 1f : 0f);
                }
            }
        }
        NDArray data = m.create(x, new Shape(n, 3, 32, 32));
        NDArray labels = m.create(y);
        return new ArrayDataset.Builder().setData(data).optLabels(labels).setSampling(batch, true).build();
    }

    @Test
    void fit_learnsColours_andReportsEpochs() throws Exception {
        Engine.getInstance().setRandomSeed(1);
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4).optNumClasses(3).build();
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(3).optBatchSize(32).optLearningRate(0.1f).optWarmupEpochs(0.5f)
                .optMutualInformation(0.5f, 0.5f).build();
        List<EpochResult> seen = new ArrayList<>();
        try (Model model = MoeResNet.newModel(config); NDManager m = NDManager.newBaseManager()) {
            TrainingHistory h = MoeTraining.fit(model, colours(m, 512, 1, 32), colours(m, 128, 2, 64), recipe,
                    new TrainingProgress() {
                        @Override
                        public void onEpoch(EpochResult result) {
                            seen.add(result);
                        }
                    });
            assertThat(TrainingRecipe.of(model)).contains(recipe);
            assertThat(seen).hasSize(3);
            assertThat(h.epochs()).containsExactlyElementsOf(seen);
            assertThat(h.last().validationAccuracy()).isGreaterThan(0.9);
            assertThat(h.last().trainLosses()).containsKeys("task", "balance", "zLoss", "mutualInformation", "total");
            assertThat(h.last().validationRouting()).hasSize(2);
            assertThat(h.last().validationRouting().values().iterator().next().images()).isEqualTo(128);
            assertThat(h.last().toString()).contains("epoch 3/3");
        }
    }

    @Test
    void fit_divergingLearningRate_abortsWithClearError() throws Exception {
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(2).optNumClasses(3).build();
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(1).optBatchSize(32).optLearningRate(1e30f)
                .optWarmupEpochs(0).build();
        try (Model model = MoeResNet.newModel(config); NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> MoeTraining.fit(model, colours(m, 256, 1, 32), null, recipe, TrainingProgress.silent()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("training diverged")
                    .hasMessageContaining("lower the learning rate");
        }
    }

    @Test
    void recipe_invalid_namesSetting() {
        assertThatThrownBy(() -> TrainingRecipe.builder().optEpochs(0).build()).hasMessage("epochs (0) must be >= 1");
        assertThatThrownBy(() -> TrainingRecipe.builder().optMomentum(1f).build()).hasMessage("momentum (1.0) must be in [0, 1)");
        TrainingRecipe r = TrainingRecipe.forgetReady();
        assertThat(TrainingRecipe.fromJson(r.toJson())).isEqualTo(r);
        assertThat(r.name()).isEqualTo("forget-ready");
    }

    @Test
    void fit_runShorterThanTheWeightAverageInterval_keepsItsTrainedWeights() throws Exception {
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 4, 4).optNumExperts(2).optNumClasses(3).build();
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(1).optBatchSize(32).optWeightAverage(0.9f, 1000).build();
        try (Model model = MoeResNet.newModel(config); NDManager m = NDManager.newBaseManager()) {
            float[] before = model.getBlock().getParameters().get(0).getValue().getArray().toFloatArray();
            MoeTraining.fit(model, colours(m, 96, 4, 32), null, recipe, TrainingProgress.silent());
            float[] after = model.getBlock().getParameters().get(0).getValue().getArray().toFloatArray();
            // 3 steps, no average update: the trained weights stay (not the starting ones)
            assertThat(after).isNotEqualTo(before);
        }
    }

    @Test
    void fit_ledgerIsCompleteOnlyFromProvenInitialValues() throws Exception {
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 4, 4).optNumExperts(2).optNumClasses(3).build();
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(1).optBatchSize(32).build();
        try (Model fresh = MoeResNet.newModel(config); Model edited = MoeResNet.newModel(config);
                Model built = Model.newInstance("built"); NDManager m = NDManager.newBaseManager()) {
            assertThat(InitialValues.holds(fresh)).isTrue();
            MoeTraining.fit(fresh, colours(m, 64, 4, 32), null, recipe, TrainingProgress.silent());
            assertThat(ProvenanceLedger.of(fresh).orElseThrow().isComplete()).isTrue();
            assertThat(InitialValues.holds(fresh)).isFalse();

            // values set after initialisation (e.g. loaded from elsewhere): the history is unknown
            NDArray w = edited.getBlock().getParameters().get(0).getValue().getArray();
            w.set(w.mul(2).toFloatArray());
            assertThat(InitialValues.holds(edited)).isFalse();
            MoeTraining.fit(edited, colours(m, 64, 4, 32), null, recipe, TrainingProgress.silent());
            assertThat(ProvenanceLedger.of(edited).orElseThrow().origin()).isEqualTo(ProvenanceLedger.Origin.UNKNOWN);

            // a model built by hand is unknown until marked
            built.setBlock(MoeResNet.of(config));
            built.getBlock().initialize(built.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(1, 3, 32, 32));
            assertThat(InitialValues.holds(built)).isFalse();
            InitialValues.mark(built);
            assertThat(InitialValues.holds(built)).isTrue();
        }
    }

    @Test
    void memory_staysFlat_overScopedSteps() throws Exception {
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 4, 4).optNumExperts(4).optNumClasses(3).build();
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(1).optBatchSize(8).build();
        int[] counts = new int[2];
        try (Model model = MoeResNet.newModel(config); NDManager m = NDManager.newBaseManager()) {
            ArrayDataset data = colours(m, 8 * 300, 3, 8);
            int[] step = {0};
            TrainingHistory h = MoeTraining.fit(model, data, null, recipe, new TrainingProgress() {
                @Override
                public void onBatch(int epoch, int epochs, int batch, int batches, double ips, double loss, double eta) {
                    step[0]++;
                    if (step[0] == 50) {
                        counts[0] = model.getNDManager().getManagedArrays().size();
                    } else if (step[0] == 300) {
                        counts[1] = model.getNDManager().getManagedArrays().size();
                    }
                }
            });
            assertThat(step[0]).isEqualTo(300);
            // without validation data the epoch line says nothing about validation
            assertThat(h.last().toString()).startsWith("epoch 1/1  loss ").doesNotContain("val acc");
        }
        assertThat(counts[1]).as("arrays held by the model after 300 steps vs after 50").isEqualTo(counts[0]);
    }
}

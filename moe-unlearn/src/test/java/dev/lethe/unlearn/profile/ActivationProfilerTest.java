package dev.lethe.unlearn.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.unlearn.SyntheticImages;
import dev.lethe.unlearn.data.LabeledData;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActivationProfilerTest {

    private static MoeResNet.Config tiny() {
        return MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optTopK(2).optNumClasses(4).build();
    }

    @Test
    void profile_countsEveryImageOfEveryClass_inEveryLayer() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = MoeResNet.newModel(tiny())) {
            LabeledData data = SyntheticImages.make(m, 10, 3);
            ActivationProfile p = ActivationProfiler.profile(model, data, null, 16);
            assertThat(p.layerNames()).hasSize(2);
            for (String layer : p.layerNames()) {
                RoutingStats s = p.layer(layer);
                assertThat(s.images()).isEqualTo(40);
                long assignments = 0;
                for (long a : s.assignments()) {
                    assignments += a;
                }
                assertThat(assignments).isEqualTo(80);
                for (int c = 0; c < 4; c++) {
                    assertThat(s.classImages(c)).isEqualTo(10);
                    assertThat(java.util.Arrays.stream(p.share(layer, c)).sum()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
                }
            }
            assertThat(p.toTable()).contains("red").contains("yellow");
        }
    }

    @Test
    void listener_recordsTrainingBatches() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = MoeResNet.newModel(tiny())) {
            LabeledData data = SyntheticImages.make(m, 8, 4);
            ActivationProfiler profiler = ActivationProfiler.of(model.getBlock(), SyntheticImages.NAMES);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).addTrainingListeners(profiler.listener());
            try (Trainer trainer = model.newTrainer(config)) {
                for (Batch b : trainer.iterateDataset(data.dataset())) {
                    EasyTrain.trainBatch(trainer, b);
                    trainer.step();
                    b.close();
                }
            }
            assertThat(profiler.snapshot().layer(profiler.snapshot().layerNames().get(0)).images()).isEqualTo(32);
        }
    }

    @Test
    void of_blockWithoutMoe_clearError() {
        assertThatThrownBy(() -> ActivationProfiler.of(Linear.builder().setUnits(2).build(), List.of("a", "b")))
                .hasMessageContaining("the model has no MoeBlock");
    }

}

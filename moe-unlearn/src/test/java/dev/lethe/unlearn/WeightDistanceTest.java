package dev.lethe.unlearn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.nn.Parameter;
import dev.lethe.moe.model.MoeResNet;
import org.junit.jupiter.api.Test;

class WeightDistanceTest {

    private static MoeResNet.Config config() {
        return MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4).optTopK(2).optNumClasses(4).build();
    }

    @Test
    void between_measuresTheRelativeL2OverEveryWeightAndPerChangedTensor() throws Exception {
        Engine.getInstance().setRandomSeed(2);
        try (Model a = MoeResNet.newModel(config()); Model b = Models.copy(a)) {
            assertThat(WeightDistance.between(a, b).relativeL2()).isZero();
            assertThat(WeightDistance.between(a, b).changedTensors()).isEmpty();

            // move one tensor by 10 % of its norm, along itself; change a BatchNorm statistic too (not a weight)
            String name = "02head_weight";
            Parameter head = b.getBlock().getParameters().get(name);
            float[] w = head.getArray().toFloatArray();
            double headNorm = 0;
            for (int i = 0; i < w.length; i++) {
                headNorm += (double) w[i] * w[i];
                w[i] *= 1.1f;
            }
            head.getArray().set(w);
            Parameter statistic = b.getBlock().getParameters().get("01features_01SequentialBlock_02BatchNorm_runningMean");
            statistic.getArray().set(new float[] {1f, 1f, 1f, 1f});

            WeightDistance d = WeightDistance.between(a, b);
            assertThat(d.changedTensors()).containsOnlyKeys(name);
            assertThat(d.changedTensors().get(name)).isCloseTo(0.1, offset(1e-5));
            assertThat(d.l2()).isCloseTo(0.1 * Math.sqrt(headNorm), offset(1e-5));
            double total = 0;
            for (var p : a.getBlock().getParameters()) {
                if (!dev.lethe.moe.MoeBlocks.isFixed(p.getValue())) {
                    for (float v : p.getValue().getArray().toFloatArray()) {
                        total += (double) v * v;
                    }
                }
            }
            assertThat(d.relativeL2()).isCloseTo(0.1 * Math.sqrt(headNorm / total), offset(1e-6));
            assertThat(d.toJson().getAsJsonObject("tensors").get(name).getAsDouble()).isCloseTo(0.1, offset(1e-5));
            assertThat(d.toString()).startsWith("moved ").contains("1 tensors changed");
        }
    }
}

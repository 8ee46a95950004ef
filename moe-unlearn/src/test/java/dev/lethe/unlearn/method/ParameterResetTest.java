package dev.lethe.unlearn.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.data.LabeledData;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class ParameterResetTest {

    /** The expert whose parameters the tests reset: expert 1 of the first MoE layer. */
    private static Block expert(Model m) {
        MoeBlock layer = ((MoeResNet) m.getBlock()).moeLayers().get(0);
        return layer.expert(1);
    }

    private static float[] values(Block block, String suffix) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getKey().endsWith(suffix)) {
                return p.getValue().getArray().toFloatArray();
            }
        }
        throw new AssertionError("no parameter ending in " + suffix);
    }

    private static double std(float[] v) {
        double mean = 0;
        for (float x : v) {
            mean += x;
        }
        mean /= v.length;
        double s = 0;
        for (float x : v) {
            s += (x - mean) * (x - mean);
        }
        return Math.sqrt(s / v.length);
    }

    private static double correlation(float[] a, float[] b) {
        double ma = mean(a);
        double mb = mean(b);
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - ma) * (b[i] - mb);
        }
        return s / a.length / (std(a) * std(b));
    }

    private static double mean(float[] v) {
        double m = 0;
        for (float x : v) {
            m += x;
        }
        return m / v.length;
    }

    @Test
    void reinitialize_expert_returnsToItsInitialDistribution_andTouchesNothingElse() throws Exception {
        TrainedModel t = TrainedModel.shared();
        try (Model m = Models.copy(t.model)) {
            Map<String, float[]> before = TrainedModel.values(m);
            Block expert = expert(m);
            // the trained expert: BatchNorm scales and shifts moved away from 1 and 0, statistics learnt
            float[] trainedGamma = values(expert, "gamma");
            float[] trainedVar = values(expert, "runningVar");
            assertThat(trainedGamma).isNotEqualTo(new float[trainedGamma.length]).doesNotContain(1f);
            assertThat(trainedVar).doesNotContain(1f);

            ParameterReset.reinitialize(11, List.of(expert), Map.of());

            // BatchNorm: exactly its initial values
            for (Pair<String, Parameter> p : expert.getParameters()) {
                String name = p.getKey();
                float[] v = p.getValue().getArray().toFloatArray();
                if (name.endsWith("gamma") || name.endsWith("runningVar")) {
                    assertThat(v).as(name).containsOnly(1f);
                } else if (name.endsWith("beta") || name.endsWith("runningMean")) {
                    assertThat(v).as(name).containsOnly(0f);
                }
            }
            // convolutions: He-normal, std sqrt(2 / fan_in), fan_in = 9 * 8 channels, as a fresh model's
            // expert (and not as the trained one's, which moved by training)
            float[] conv = values(expert, "01SequentialBlock_01Conv2d_weight");
            float[] trainedConv = values(expert(t.model), "01SequentialBlock_01Conv2d_weight");
            double he = Math.sqrt(2.0 / (9 * 8));
            // (measured: std 0.164 against He's 0.167; the trained weights' std is alike, 0.162, but
            // the reset weights are new draws, uncorrelated with them)
            assertThat(std(conv)).isCloseTo(he, Offset.offset(0.15 * he));
            assertThat(Math.abs(correlation(conv, trainedConv))).as("correlation with the trained weights").isLessThan(0.2);
            assertThat(mean(conv)).isCloseTo(0.0, Offset.offset(0.1 * he));
            Engine.getInstance().setRandomSeed(3);
            try (Model fresh = MoeResNet.newModel(TrainedModel.config())) {
                double freshStd = std(values(expert(fresh), "01SequentialBlock_01Conv2d_weight"));
                assertThat(std(conv)).isCloseTo(freshStd, Offset.offset(0.15 * freshStd));
            }
            // nothing outside the expert changed
            java.util.Set<String> inExpert = new java.util.HashSet<>();
            for (Pair<String, Parameter> p : expert.getParameters()) {
                inExpert.add(p.getValue().getId());
            }
            for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
                float[] now = p.getValue().getArray().toFloatArray();
                if (inExpert.contains(p.getValue().getId())) {
                    if (!p.getKey().endsWith("beta") && !p.getKey().endsWith("runningMean")) {
                        assertThat(now).as("%s was reset", p.getKey()).isNotEqualTo(before.get(p.getKey()));
                    }
                } else {
                    assertThat(now).as("%s is outside the reset", p.getKey()).containsExactly(before.get(p.getKey()));
                }
            }

            // seeded: the same seed draws the same values, another seed others
            float[] first = conv.clone();
            ParameterReset.reinitialize(11, List.of(expert), Map.of());
            assertThat(values(expert, "01SequentialBlock_01Conv2d_weight")).containsExactly(first);
            ParameterReset.reinitialize(12, List.of(expert), Map.of());
            assertThat(values(expert, "01SequentialBlock_01Conv2d_weight")).isNotEqualTo(first);
        }
    }

    @Test
    void reinitialize_headRow_redrawsOnlyThatRow_andZeroesItsBias() throws Exception {
        TrainedModel t = TrainedModel.shared();
        try (Model m = Models.copy(t.model)) {
            MoeResNet net = (MoeResNet) m.getBlock();
            Map<Parameter, Integer> rows = ResetRetrain.headRows(net, 2);
            assertThat(rows).hasSize(2).containsValues(2, 2);
            float[] w0 = values(net.classifier(), "weight");
            float[] b0 = values(net.classifier(), "bias");
            ParameterReset.reinitialize(5, List.of(), rows);
            float[] w1 = values(net.classifier(), "weight");
            float[] b1 = values(net.classifier(), "bias");
            int d = net.embeddingSize();
            for (int c = 0; c < 4; c++) {
                float[] before = java.util.Arrays.copyOfRange(w0, c * d, (c + 1) * d);
                float[] after = java.util.Arrays.copyOfRange(w1, c * d, (c + 1) * d);
                if (c == 2) {
                    assertThat(after).isNotEqualTo(before);
                    assertThat(b1[c]).isZero();
                } else {
                    assertThat(after).containsExactly(before);
                    assertThat(b1[c]).isEqualTo(b0[c]);
                }
            }
            assertThat(b0[2]).isNotZero();
            assertThatThrownBy(() -> ParameterReset.reinitialize(5, List.of(), Map.of(rows.keySet().iterator().next(), 4)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("row (4) of")
                    .hasMessageContaining("must be in [0, 4)");
        }
    }

    @Test
    void reestimateBatchNorm_isTheCumulativeAverageOfTheBatchStatistics_andRestoresEveryOtherStatistic() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            int n = 48;
            int channels = 2;
            int pixels = 16;
            Random random = new Random(4);
            float[] x = new float[n * channels * pixels];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (random.nextGaussian() * (1 + i % 3) + (i / (channels * pixels)) * 0.05);
            }
            ArrayDataset dataset = new ArrayDataset.Builder()
                    .setData(manager.create(x, new Shape(n, channels, 4, 4)))
                    .optLabels(manager.create(new float[n]))
                    .setSampling(16, false)
                    .build();
            LabeledData data = LabeledData.of(dataset, new int[n], List.of("a", "b"));
            // the target has a fast running average (0.6 of each batch), the other layer the default
            Block target = BatchNorm.builder().optMomentum(0.4f).build();
            Block other = BatchNorm.builder().build();
            SequentialBlock network = new SequentialBlock().add(target).add(other);
            network.initialize(manager, DataType.FLOAT32, new Shape(16, channels, 4, 4));
            float[] otherMean = values(other, "runningMean");
            float[] otherVar = values(other, "runningVar");

            int[] items = java.util.stream.IntStream.range(0, n).toArray();
            int estimated = ParameterReset.reestimateBatchNorm(network, List.of(target), data, items, 16);

            assertThat(estimated).isEqualTo(1);
            // expected: per batch of 16, each channel's mean and unbiased variance over (B, H, W); then
            // their plain average over the 3 batches
            double[] mean = new double[channels];
            double[] var = new double[channels];
            for (int batch = 0; batch < 3; batch++) {
                for (int c = 0; c < channels; c++) {
                    double s = 0;
                    int count = 16 * pixels;
                    for (int i = batch * 16; i < (batch + 1) * 16; i++) {
                        for (int p = 0; p < pixels; p++) {
                            s += x[(i * channels + c) * pixels + p];
                        }
                    }
                    double m = s / count;
                    double ss = 0;
                    for (int i = batch * 16; i < (batch + 1) * 16; i++) {
                        for (int p = 0; p < pixels; p++) {
                            double dlt = x[(i * channels + c) * pixels + p] - m;
                            ss += dlt * dlt;
                        }
                    }
                    mean[c] += m / 3;
                    var[c] += ss / (count - 1) / 3;
                }
            }
            float[] gotMean = values(target, "runningMean");
            float[] gotVar = values(target, "runningVar");
            for (int c = 0; c < channels; c++) {
                assertThat((double) gotMean[c]).as("mean of channel %d", c).isCloseTo(mean[c], Offset.offset(1e-4));
                assertThat((double) gotVar[c]).as("variance of channel %d", c).isCloseTo(var[c], Offset.offset(1e-3 * var[c]));
            }
            // the layer that was not a target is bit-identical
            assertThat(values(other, "runningMean")).containsExactly(otherMean);
            assertThat(values(other, "runningVar")).containsExactly(otherVar);
        }
    }
}

package dev.lethe.unlearn.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.train.ParameterSelection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SalUnTest {

    @Test
    void trainable_keepsTheFractionOfWeightsWithTheLargestForgetGradient() throws Exception {
        TrainedModel t = TrainedModel.shared();
        UnlearningSettings settings = UnlearningSettings.defaults().withMethod(Method.SALUN)
                .withMethodOptions(SalUn.Options.defaults().withFraction(0.3f));
        ParameterSelection selection;
        long total = MoeBlocks.countParameters(t.model.getBlock());
        try (UnlearningContext context = UnlearningContext.of(settings, t.model, t.train, 3, List.of())) {
            selection = ((SalUn) Method.SALUN.strategy()).trainable(context);
            context.rollback();
        }
        assertThat(selection.count()).isEqualTo((long) Math.ceil(0.3 * total));

        // the test's own saliency: |d CE(forget images) / d w|, in one pass
        Map<String, float[]> saliency = new LinkedHashMap<>();
        try (Model copy = Models.copy(t.model); NDManager manager = NDManager.newBaseManager()) {
            MoeBlocks.setTrainable(copy.getBlock(), true);
            int[] forget = t.train.indicesOf(3);
            try (Batch batch = t.train.batch(manager, forget); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = copy.getBlock().forward(new ParameterStore(manager, false), batch.getData(), false).head();
                gc.backward(logits.logSoftmax(1).get(":, 3").sum().neg());
            }
            for (Pair<String, Parameter> p : copy.getBlock().getParameters()) {
                if (selection.names().contains(p.getKey())) {
                    float[] g = p.getValue().getArray().getGradient().toFloatArray();
                    for (int i = 0; i < g.length; i++) {
                        g[i] = Math.abs(g[i]);
                    }
                    saliency.put(p.getKey(), g);
                }
            }
        }
        List<Float> all = new ArrayList<>();
        saliency.values().forEach(g -> {
            for (float v : g) {
                all.add(v);
            }
        });
        float[] sorted = new float[all.size()];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = all.get(i);
        }
        Arrays.sort(sorted);
        float threshold = sorted[(int) (sorted.length - Math.ceil(0.3 * sorted.length))];
        // every element clearly above the threshold trains, every one clearly below does not (the two
        // passes sum the gradient in another order, so values at the threshold may go either way)
        int checked = 0;
        for (Map.Entry<String, float[]> e : saliency.entrySet()) {
            float[] mask = selection.mask(e.getKey()).orElseGet(() -> ones(e.getValue().length));
            for (int i = 0; i < mask.length; i++) {
                float s = e.getValue()[i];
                if (s > threshold * 1.001f + 1e-12f) {
                    assertThat(mask[i]).as("%s[%d], saliency %s above %s", e.getKey(), i, s, threshold).isEqualTo(1f);
                    checked++;
                } else if (s < threshold * 0.999f) {
                    assertThat(mask[i]).as("%s[%d], saliency %s below %s", e.getKey(), i, s, threshold).isEqualTo(0f);
                    checked++;
                }
            }
        }
        assertThat(checked).isGreaterThan((int) (0.95 * total));
    }

    @Test
    void retrain_salun_changesOnlyTheMaskedWeights_andForgets() throws Exception {
        TrainedModel t = TrainedModel.shared();
        Map<String, float[]> original = TrainedModel.values(t.model);
        UnlearningResult result = Unlearner.forClass(3).from(t.model).using(t.train).method(Method.SALUN)
                .optBatchSize(16).optEpochs(4).optSeed(1).optLearningRate(1e-2f).retrain();
        try (Model forgotten = result.model()) {
            assertThat(result.removal()).isEqualTo(Removal.SUPPRESS);
            long total = MoeBlocks.countParameters(forgotten.getBlock());
            assertThat(result.trainableParameters()).isEqualTo((long) Math.ceil(0.5 * total));
            // at most the masked half moved (BatchNorm statistics, which training mode updates, aside)
            long moved = 0;
            for (Pair<String, Parameter> p : forgotten.getBlock().getParameters()) {
                if (MoeBlocks.isFixed(p.getValue())) {
                    continue;
                }
                float[] a = original.get(p.getKey());
                float[] b = p.getValue().getArray().toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    moved += Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i]) ? 1 : 0;
                }
            }
            assertThat(moved).isPositive().isLessThanOrEqualTo(result.trainableParameters());
            // (measured at lr 1e-2: 0 % on the class, 100 % on the others)
            assertThat(t.accuracy(forgotten, 3)).isLessThan(0.1);
            assertThat(t.accuracyExcept(forgotten, 3)).isGreaterThan(0.9);
            assertThat(result.audit().configuration()).contains("\"options\":{\"fraction\":0.5}");
        }
        assertThatThrownBy(() -> SalUn.Options.defaults().withFraction(0f)).hasMessage("fraction (0.0) must be in (0, 1]");
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        Arrays.fill(a, 1f);
        return a;
    }
}

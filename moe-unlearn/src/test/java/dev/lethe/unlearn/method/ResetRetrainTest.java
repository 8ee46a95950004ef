package dev.lethe.unlearn.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.Pair;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ResetRetrainTest {

    /** Records the working model's values when the first phase's trainer opens: after the reset, before any step. */
    private static final class BeforeTraining extends TrainingListenerAdapter {
        Map<String, float[]> values;

        @Override
        public void onTrainingBegin(Trainer trainer) {
            if (values == null) {
                Block view = trainer.getModel().getBlock();
                Block net = view.getChildren().values().get(0);
                values = new LinkedHashMap<>();
                for (Pair<String, Parameter> p : net.getParameters()) {
                    values.put(p.getKey(), p.getValue().getArray().toFloatArray());
                }
            }
        }
    }

    @Test
    void retrain_resetRetrain_resetsTheClassExpertsAndHeadRow_thenRetrainsThemOnly() throws Exception {
        TrainedModel t = TrainedModel.shared();
        Map<String, float[]> original = TrainedModel.values(t.model);
        BeforeTraining before = new BeforeTraining();
        UnlearningResult result = Unlearner.forClass(3).from(t.model).using(t.train).method(Method.RESET_RETRAIN)
                .optBatchSize(16).optEpochs(4).optSeed(1).optListeners(before).retrain();
        try (Model forgotten = result.model()) {
            assertThat(result.removal()).isEqualTo(Removal.ERASE);
            assertThat(result.toJson().get("removal").getAsString()).isEqualTo("ERASE");
            assertThat(result.scope()).isEqualTo(Scope.EXPERTS_ROUTER_AND_HEAD);

            // which parameters are whose
            MoeResNet net = (MoeResNet) forgotten.getBlock();
            Map<String, MoeBlock> layers = MoeBlocks.find(net);
            Set<String> reset = new HashSet<>();
            Set<String> inScope = new HashSet<>();
            for (var e : result.selection().orElseThrow().experts().entrySet()) {
                for (int x : e.getValue()) {
                    names(net, layers.get(e.getKey()).expert(x), reset);
                }
                if (!e.getValue().isEmpty()) {
                    names(net, layers.get(e.getKey()).router(), inScope);
                }
            }
            assertThat(reset).isNotEmpty();
            inScope.addAll(reset);
            names(net, net.classifier(), inScope);

            // before the first step: the reset experts are back at their initial values (BatchNorm
            // scale 1, shift 0) with statistics re-estimated on retain images
            Map<String, float[]> start = before.values;
            for (String name : reset) {
                float[] v = start.get(name);
                if (name.endsWith("gamma")) {
                    assertThat(v).as(name).containsOnly(1f);
                } else if (name.endsWith("beta")) {
                    assertThat(v).as(name).containsOnly(0f);
                } else if (name.endsWith("runningVar")) {
                    assertThat(v).as("%s is re-estimated, not the initial 1", name).doesNotContain(1f);
                    for (float x : v) {
                        assertThat(x).as(name).isPositive().isFinite();
                    }
                } else if (name.endsWith("weight")) {
                    assertThat(v).as("%s is a new draw", name).isNotEqualTo(original.get(name));
                }
            }
            // the head's row of class 3 is a new draw with bias 0; the other rows are the trained ones
            String headWeight = firstEnding(start, "head_weight");
            String headBias = firstEnding(start, "head_bias");
            int d = net.embeddingSize();
            assertThat(slice(start.get(headWeight), 3, d)).isNotEqualTo(slice(original.get(headWeight), 3, d));
            assertThat(start.get(headBias)[3]).isZero();
            for (int c = 0; c < 3; c++) {
                assertThat(slice(start.get(headWeight), c, d)).containsExactly(slice(original.get(headWeight), c, d));
            }
            // before and after, everything outside the scope is bit-identical (BatchNorm statistics of
            // the trunk and of the other experts included)
            Map<String, float[]> after = TrainedModel.values(forgotten);
            for (String name : original.keySet()) {
                if (!inScope.contains(name)) {
                    assertThat(start.get(name)).as("%s before training", name).containsExactly(original.get(name));
                    assertThat(after.get(name)).as("%s after", name).containsExactly(original.get(name));
                }
            }
            // the running statistics of the reset experts do not move in training (inference mode)
            for (String name : reset) {
                if (name.endsWith("runningMean") || name.endsWith("runningVar")) {
                    assertThat(after.get(name)).as(name).containsExactly(start.get(name));
                }
            }

            // it forgets and keeps the other classes
            assertThat(t.accuracy(forgotten, 3)).isLessThan(0.1);
            assertThat(t.accuracyExcept(forgotten, 3)).isGreaterThan(t.accuracyExcept(t.model, 3) - 0.05);
            // it moves far from the original weights, which the result reports per tensor
            assertThat(result.weightDistance().relativeL2()).isGreaterThan(0.1);
            assertThat(result.weightDistance().changedTensors().keySet()).isSubsetOf(inScope).containsAll(
                    reset.stream().filter(n -> n.endsWith("weight")).toList());
            JsonObject json = result.toJson().getAsJsonObject("weightDistance");
            assertThat(json.get("relativeL2").getAsDouble()).isEqualTo(result.weightDistance().relativeL2());
            JsonObject audited = JsonParser.parseString(result.audit().configuration()).getAsJsonObject();
            assertThat(audited.getAsJsonObject("options").get("distillWeight").getAsFloat()).isEqualTo(1f);
            assertThat(audited.get("loss").getAsString()).startsWith("retain_only").contains("distill=1.00");
        }
    }

    @Test
    void retrain_resetRetrain_sameSeed_sameModel() throws Exception {
        TrainedModel t = TrainedModel.shared();
        Unlearner u = Unlearner.forClass(2).from(t.model).using(t.train).method(Method.RESET_RETRAIN)
                .optBatchSize(32).optEpochs(1).optSeed(4)
                .optMethodOptions(ResetRetrain.Options.defaults().withDistillation(0f, 2f).withBatchNormImages(128));
        try (Model a = u.retrain().model(); Model b = u.retrain().model()) {
            Map<String, float[]> va = TrainedModel.values(a);
            assertThat(TrainedModel.values(b)).allSatisfy((k, v) -> assertThat(v).as(k).containsExactly(va.get(k)));
        }
    }

    @Test
    void retrain_resetRetrain_withAScopeWithoutExperts_isRejected() throws Exception {
        TrainedModel t = TrainedModel.shared();
        assertThatThrownBy(() -> Unlearner.forClass(3).from(t.model).using(t.train).method(Method.RESET_RETRAIN)
                        .optScope(Scope.HEAD_ONLY).retrain())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its scope must name experts")
                .hasMessageContaining("not HEAD_ONLY");
        // it is the default method, so a scope without experts alone says which method takes it
        assertThatThrownBy(() -> Unlearner.forClass(3).from(t.model).using(t.train).optScope(Scope.HEAD_ONLY).retrain())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("RESET_RETRAIN (the default method)")
                .hasMessageContaining("method(Method.EXPERT_TARGETED)");
        assertThatThrownBy(() -> ResetRetrain.Options.defaults().withBatchNormImages(1))
                .hasMessage("batchNormImages (1) must be >= 2");
        assertThatThrownBy(() -> ResetRetrain.Options.defaults().withDistillation(-1f, 2f))
                .hasMessage("distillWeight (-1.0) must be finite and >= 0");
    }

    private static void names(Block root, Block part, Set<String> out) {
        Set<String> ids = new HashSet<>();
        for (Pair<String, Parameter> p : part.getParameters()) {
            ids.add(p.getValue().getId());
        }
        for (Pair<String, Parameter> p : root.getParameters()) {
            if (ids.contains(p.getValue().getId())) {
                out.add(p.getKey());
            }
        }
    }

    private static String firstEnding(Map<String, float[]> values, String suffix) {
        return values.keySet().stream().filter(k -> k.endsWith(suffix)).findFirst().orElseThrow();
    }

    private static float[] slice(float[] v, int row, int width) {
        return java.util.Arrays.copyOfRange(v, row * width, (row + 1) * width);
    }

}

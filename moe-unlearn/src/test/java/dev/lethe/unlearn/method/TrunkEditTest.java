package dev.lethe.unlearn.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import org.junit.jupiter.api.Test;

class TrunkEditTest {

    private static Unlearner trunkEdit(TrainedModel t) {
        return Unlearner.forClass(3).from(t.model).using(t.train).method(Method.TRUNK_EDIT)
                .optBatchSize(16).optEpochs(4).optSeed(1).optLearningRate(3e-3f);
    }

    @Test
    void retrain_trunkEdit_changesTheSharedLayers_forgets_andKeepsTheOthers() throws Exception {
        TrainedModel t = TrainedModel.shared();
        UnlearningResult result = trunkEdit(t).retrain();
        UnlearningResult headOnly = Unlearner.forClass(3).from(t.model).using(t.train).method(Method.EXPERT_TARGETED).optScope(Scope.HEAD_ONLY)
                .optBatchSize(16).optEpochs(4).optSeed(1).retrain();
        try (Model edited = result.model(); Model suppressed = headOnly.model()) {
            assertThat(result.removal()).isEqualTo(Removal.ERASE);
            assertThat(result.scope()).isEqualTo(Scope.ALL);
            System.out.printf("trunk edit: forget %.3f, others %.3f, distance %.4f%n", t.accuracy(edited, 3),
                    t.accuracyExcept(edited, 3), result.weightDistance().relativeL2());
            assertThat(t.accuracy(edited, 3)).isLessThan(0.1);
            assertThat(t.accuracyExcept(edited, 3)).isGreaterThan(t.accuracyExcept(t.model, 3) - 0.05);
            // the stem convolution (the first layer of the trunk) moved; head-only left it
            String stem = "01features_01SequentialBlock_01Conv2d_weight";
            assertThat(result.weightDistance().changedTensors()).containsKey(stem);
            assertThat(headOnly.weightDistance().changedTensors()).doesNotContainKey(stem);
            JsonObject audited = JsonParser.parseString(result.audit().configuration()).getAsJsonObject();
            JsonObject options = audited.getAsJsonObject("options");
            assertThat(options.get("collapseWeight").getAsFloat()).isEqualTo(1f);
            assertThat(options.get("adversaryWeight").getAsFloat()).isEqualTo(1f);
            assertThat(options.get("distanceWeight").getAsFloat()).isZero();
            assertThat(audited.get("loss").getAsString()).startsWith("correct_penalty").contains("distill=1.00");
        }
    }

    @Test
    void retrain_trunkEdit_withTheDistanceTerm_movesToTheTargetDistance() throws Exception {
        TrainedModel t = TrainedModel.shared();
        UnlearningResult plain = trunkEdit(t).retrain();
        UnlearningResult far = trunkEdit(t).optMethodOptions(TrunkEdit.Options.defaults().withDistance(1f, 0.3f)).retrain();
        try (Model a = plain.model(); Model b = far.model()) {
            System.out.printf("distance: without %.4f, with (target 0.3) %.4f; others %.3f / %.3f%n",
                    plain.weightDistance().relativeL2(), far.weightDistance().relativeL2(), t.accuracyExcept(a, 3),
                    t.accuracyExcept(b, 3));
            assertThat(plain.weightDistance().relativeL2()).isLessThan(0.25);
            assertThat(far.weightDistance().relativeL2()).isGreaterThan(0.27);
            assertThat(t.accuracy(b, 3)).isLessThan(0.1);
        }
        assertThatThrownBy(() -> TrunkEdit.Options.defaults().withDistance(1f, 0f))
                .hasMessage("targetDistance (0.0) must be finite and > 0");
        assertThatThrownBy(() -> TrunkEdit.Options.defaults().withCollapseWeight(Float.NaN))
                .hasMessage("collapseWeight (NaN) must be finite and >= 0");
    }
}

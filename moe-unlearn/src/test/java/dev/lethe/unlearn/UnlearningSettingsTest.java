package dev.lethe.unlearn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.loss.ForgettingLoss;
import org.junit.jupiter.api.Test;

class UnlearningSettingsTest {

    @Test
    void defaults_areTheDocumentedOnes() {
        UnlearningSettings s = UnlearningSettings.defaults();
        assertThat(s.method()).isEqualTo(Method.RESET_RETRAIN);
        assertThat(s.strategy().removal()).isEqualTo(Removal.ERASE);
        assertThat(s.scope()).isEmpty();
        assertThat(s.effectiveScope()).isEqualTo(Scope.EXPERTS_ROUTER_AND_HEAD);
        assertThat(s.epochs()).isEqualTo(2);
        assertThat(s.batchSize()).isEqualTo(64);
        assertThat(s.retainRatio()).isEqualTo(1f);
        assertThat(s.retainFocus()).isEqualTo(0.5f);
        assertThat(s.profileRetainSample()).isEqualTo(2000);
        assertThat(s.routerAnchor()).isZero();
        assertThat(s.inPlace()).isFalse();
        assertThat(s.retrainRecipe()).isEmpty();
        JsonObject json = s.toJson();
        assertThat(json.get("scope").getAsString()).isEqualTo("EXPERTS_ROUTER_AND_HEAD");
        assertThat(json.get("learningRate").getAsFloat()).isEqualTo(3e-3f);
        assertThat(json.get("loss").getAsString()).isEqualTo(ForgettingLoss.retainOnly().withDistillation(1f, 2f).describe());
        assertThat(json.get("selector").getAsString()).isEqualTo("coverage(0.90)");
        // the suppression method keeps its own defaults
        JsonObject ours = s.withMethod(Method.EXPERT_TARGETED).toJson();
        assertThat(ours.get("scope").getAsString()).isEqualTo("EXPERTS_ROUTER_AND_HEAD");
        assertThat(ours.get("learningRate").getAsFloat()).isEqualTo(3e-4f);
        assertThat(ours.get("loss").getAsString()).isEqualTo(ForgettingLoss.contrastive().withDistillation(1f, 2f).describe());
        assertThat(json.has("retrainRecipe")).isFalse();
    }

    @Test
    void with_returnsACopy_andLeavesTheOriginal() {
        UnlearningSettings a = UnlearningSettings.defaults();
        UnlearningSettings b = a.withEpochs(5).withScope(Scope.HEAD_ONLY).withLearningRate(1e-2f);
        assertThat(a.epochs()).isEqualTo(2);
        assertThat(a.effectiveScope()).isEqualTo(Scope.EXPERTS_ROUTER_AND_HEAD);
        assertThat(b.epochs()).isEqualTo(5);
        assertThat(b.effectiveScope()).isEqualTo(Scope.HEAD_ONLY);
        assertThat(b.learningRate()).contains(1e-2f);
        assertThat(b).isNotEqualTo(a).isEqualTo(UnlearningSettings.defaults().withLearningRate(1e-2f).withScope(Scope.HEAD_ONLY).withEpochs(5));
    }

    @Test
    void methods_bringTheirOwnDefaults_noMatterTheScopeOrLoss() {
        UnlearningSettings s = UnlearningSettings.defaults().withScope(Scope.HEAD_ONLY).withLoss(ForgettingLoss.uniformKl());
        // the expert-targeted method takes the loss it is given; the default method trains with its own
        assertThat(s.withMethod(Method.EXPERT_TARGETED).toJson().get("loss").getAsString()).startsWith("uniform_kl");
        assertThat(s.toJson().get("loss").getAsString()).startsWith("retain_only");
        JsonObject ft = s.withMethod(Method.FINE_TUNE).toJson();
        assertThat(ft.get("scope").getAsString()).isEqualTo("ALL");
        assertThat(ft.get("learningRate").getAsFloat()).isEqualTo(1e-3f);
        assertThat(ft.get("loss").getAsString()).startsWith("retain_only");
        JsonObject ga = s.withMethod(Method.GRADIENT_ASCENT).toJson();
        assertThat(ga.get("learningRate").getAsFloat()).isEqualTo(1e-4f);
        assertThat(ga.get("loss").getAsString()).startsWith("gradient_ascent");
        assertThat(s.withMethod(Method.RANDOM_LABELS).toJson().get("loss").getAsString()).startsWith("random_labels");
        JsonObject retrain = s.withMethod(Method.RETRAIN).withRetrainRecipe(TrainingRecipe.plain()).toJson();
        assertThat(retrain.get("scope").getAsString()).isEqualTo("ALL");
        assertThat(retrain.has("learningRate")).isFalse();
        assertThat(retrain.get("retrainRecipe").getAsString()).isEqualTo(TrainingRecipe.plain().toJson());
        assertThat(s.withMethod(Method.RETRAIN).strategy().removal()).isEqualTo(Removal.RETRAIN);
        assertThat(s.withMethod(Method.FINE_TUNE).strategy().removal()).isEqualTo(Removal.SUPPRESS);
    }

    @Test
    void with_invalidValues_clearErrors() {
        UnlearningSettings s = UnlearningSettings.defaults();
        assertThatThrownBy(() -> s.withEpochs(0)).hasMessage("epochs (0) must be >= 1");
        assertThatThrownBy(() -> s.withLearningRate(0f)).hasMessage("learningRate (0.0) must be finite and > 0");
        assertThatThrownBy(() -> s.withLearningRate(Float.NaN)).hasMessage("learningRate (NaN) must be finite and > 0");
        assertThatThrownBy(() -> s.withBatchSize(1)).hasMessage("batchSize (1) must be >= 2");
        assertThatThrownBy(() -> s.withRetainRatio(-1f)).hasMessage("retainRatio (-1.0) must be finite and >= 0");
        assertThatThrownBy(() -> s.withRetainFocus(1.5f)).hasMessage("retainFocus (1.5) must be in [0, 1]");
        assertThatThrownBy(() -> s.withProfileRetainSample(-1)).hasMessage("profileRetainSample (-1) must be >= 0");
        assertThatThrownBy(() -> s.withRouterAnchor(Float.POSITIVE_INFINITY)).hasMessage("routerAnchor (Infinity) must be finite and >= 0");
        assertThatThrownBy(() -> s.withScope(null)).hasMessage("scope must not be null");
        assertThatThrownBy(() -> s.withMethod(null)).hasMessage("method must not be null");
    }

    @Test
    void unlearner_isAFacadeOverTheSettings() {
        Unlearner u = Unlearner.forClass(2).optEpochs(3).optRouterAnchor(0.5f).method(Method.FINE_TUNE);
        assertThat(u.settings()).isEqualTo(UnlearningSettings.defaults().withEpochs(3).withRouterAnchor(0.5f).withMethod(Method.FINE_TUNE));
        JsonObject c = u.configuration();
        assertThat(c.get("forgetClass").getAsInt()).isEqualTo(2);
        JsonObject withoutClass = c.deepCopy();
        withoutClass.remove("forgetClass");
        assertThat(withoutClass).isEqualTo(u.settings().toJson());
        Unlearner v = Unlearner.forClass(2).withSettings(u.settings());
        assertThat(v.configuration()).isEqualTo(c);
    }
}

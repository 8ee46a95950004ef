package dev.lethe.unlearn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.unlearn.method.ResetRetrain;
import dev.lethe.unlearn.method.SalUn;
import dev.lethe.unlearn.method.Scrub;
import dev.lethe.unlearn.method.TrunkEdit;
import org.junit.jupiter.api.Test;

class MethodOptionsTest {

    @Test
    void withMethodOptions_applyToTheirMethodOnly_andAreRecordedWhenItRuns() {
        UnlearningSettings s = UnlearningSettings.defaults()
                .withMethodOptions(SalUn.Options.defaults().withFraction(0.3f))
                .withMethodOptions(Scrub.Options.defaults().withMaxEpochs(1));
        // the expert-targeted method has no options: none recorded; the default method records its own
        assertThat(s.withMethod(Method.EXPERT_TARGETED).toJson().has("options")).isFalse();
        assertThat(s.toJson().getAsJsonObject("options").get("distillWeight").getAsFloat()).isEqualTo(1f);
        assertThat(s.withMethod(Method.SALUN).toJson().getAsJsonObject("options").get("fraction").getAsFloat()).isEqualTo(0.3f);
        assertThat(s.withMethod(Method.SCRUB).toJson().getAsJsonObject("options").get("maxEpochs").getAsInt()).isEqualTo(1);
        // a method without options set records its defaults; a second setting for a method replaces the first
        assertThat(s.withMethod(Method.TRUNK_EDIT).toJson().getAsJsonObject("options").get("collapseWeight").getAsFloat())
                .isEqualTo(1f);
        UnlearningSettings replaced = s.withMethodOptions(SalUn.Options.defaults());
        assertThat(replaced.methodOptions(Method.SALUN)).contains(SalUn.Options.defaults());
        assertThat(replaced.methodOptions(Method.SCRUB)).contains(Scrub.Options.defaults().withMaxEpochs(1));
        assertThat(replaced.methodOptions(Method.RESET_RETRAIN)).isEmpty();
        // settings are values: options take part in equality through the JSON of the method that runs
        assertThat(s.withMethod(Method.SALUN)).isNotEqualTo(replaced.withMethod(Method.SALUN));
        assertThat(Unlearner.forClass(1).optMethodOptions(ResetRetrain.Options.defaults().withBatchNormImages(64))
                .method(Method.RESET_RETRAIN).configuration().getAsJsonObject("options").get("batchNormImages").getAsInt())
                .isEqualTo(64);
        assertThatThrownBy(() -> s.withMethodOptions(null)).hasMessage("options must not be null");
    }

    @Test
    void defaults_ofEveryMethodWithOptions_areTheDocumentedOnes() {
        assertThat(SalUn.Options.defaults().fraction()).isEqualTo(0.5f);
        assertThat(Scrub.Options.defaults()).isEqualTo(new Scrub.Options(2, 4f, 0.001f, 0.99f));
        assertThat(ResetRetrain.Options.defaults()).isEqualTo(new ResetRetrain.Options(1f, 2f, 1024));
        assertThat(TrunkEdit.Options.defaults()).isEqualTo(new TrunkEdit.Options(1f, 1f, 0f, 0.05f, 1f));
        assertThat(Method.RESET_RETRAIN.strategy().removal()).isEqualTo(Removal.ERASE);
        assertThat(Method.TRUNK_EDIT.strategy().removal()).isEqualTo(Removal.ERASE);
        assertThat(Method.SALUN.strategy().removal()).isEqualTo(Removal.SUPPRESS);
        assertThat(Method.SCRUB.strategy().removal()).isEqualTo(Removal.SUPPRESS);
    }
}

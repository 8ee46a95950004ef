package dev.lethe.moe;

import dev.lethe.moe.model.MoeResNet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.nn.Block;
import org.junit.jupiter.api.Test;

class MoeBlockBuilderTest {

    @Test
    void build_topKLargerThanExperts_namesBothValues() {
        assertThatThrownBy(
                        () ->
                                MoeBlock.builder()
                                        .setNumExperts(2)
                                        .setExpertFactory(ConvExperts.residual(4))
                                        .optTopK(3)
                                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("topK (3) must be <= numExperts (2)");
    }

    @Test
    void setNumExperts_zero_rejected() {
        assertThatThrownBy(() -> MoeBlock.builder().setNumExperts(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("numExperts (0) must be >= 1");
    }

    @Test
    void optTopK_zero_rejected() {
        assertThatThrownBy(() -> MoeBlock.builder().optTopK(0))
                .hasMessage("topK (0) must be >= 1");
    }

    @Test
    void build_withoutExperts_saysWhatIsMissing() {
        assertThatThrownBy(() -> MoeBlock.builder().setExpertFactory(ConvExperts.residual(4)).build())
                .hasMessage("numExperts must be set (setNumExperts) before build()");
        assertThatThrownBy(() -> MoeBlock.builder().setNumExperts(4).build())
                .hasMessage("expertFactory must be set (setExpertFactory) before build()");
    }

    @Test
    void optNoise_negative_rejected() {
        assertThatThrownBy(() -> MoeBlock.builder().optNoise(-0.5f, 0f))
                .hasMessage("noise ratio (-0.5) must be finite and >= 0");
        assertThatThrownBy(() -> MoeBlock.builder().optNoise(0.5f, Float.NaN))
                .hasMessage("noise floor (NaN) must be finite and >= 0");
    }

    @Test
    void optRouterScale_zero_rejected() {
        assertThatThrownBy(() -> MoeBlock.builder().optRouterScale(0f))
                .hasMessage("routerScale (0.0) must be finite and > 0");
    }

    @Test
    void build_factoryReturningSharedBlock_rejected() {
        Block shared = ConvExperts.residual(4).create(0);
        assertThatThrownBy(
                        () -> MoeBlock.builder().setNumExperts(2).setExpertFactory(i -> shared).build())
                .hasMessageContaining("the same Block instance for expert 1");
    }

    @Test
    void build_defaults_areDocumented() {
        MoeBlock moe =
                MoeBlock.builder().setNumExperts(4).setExpertFactory(ConvExperts.residual(4)).build();
        assertThat(moe.getTopK()).isEqualTo(2);
        assertThat(moe.getDispatch()).isEqualTo(Dispatch.SPARSE);
        assertThat(moe.getNoiseRatio()).isEqualTo(0.5f);
        assertThat(moe.experts()).hasSize(4);
        assertThat(moe.getChildren().keys()).containsExactly("01router", "02expert0", "03expert1", "04expert2", "05expert3");
    }

    @Test
    void maskExpert_leavingFewerThanK_rejected() {
        MoeBlock moe =
                MoeBlock.builder().setNumExperts(3).setExpertFactory(ConvExperts.residual(4)).build();
        moe.maskExpert(0, true);
        assertThatThrownBy(() -> moe.maskExpert(1, true))
                .hasMessage("masking expert 1 would leave 1 selectable experts, fewer than topK (2)");
        assertThatThrownBy(() -> moe.expert(3))
                .isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("expert index (3) must be less than size (3)");
    }

    @Test
    void resNetConfig_invalid_namesSetting() {
        assertThatThrownBy(() -> MoeResNet.Config.builder().optTopK(9).build())
                .hasMessage("topK (9) must be in [1, numExperts (8)]");
        assertThatThrownBy(() -> MoeResNet.Config.builder().optMoeStages(4).build())
                .hasMessage("moeStages [4] must be in 1..3");
    }
}

package dev.lethe.unlearn.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import dev.lethe.moe.ConvExperts;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.routing.RoutingStats;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ExpertSelectorTest {

    private NDManager manager;
    private SequentialBlock model;
    private String layer;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        model = new SequentialBlock().add(MoeBlock.builder().setNumExperts(4).setExpertFactory(ConvExperts.residual(2)).optTopK(1).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(1, 2, 4, 4));
        layer = MoeBlocks.find(model).keySet().iterator().next();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** Class 0 -> E0; class 1 -> E1 (80 %), E2 (20 %); class 2 -> E1 (50 %), E3 (50 %). */
    private ActivationProfile handMade() {
        RoutingStats stats = handMadeStats();
        return new ActivationProfile(Map.of(layer, stats), List.of("a", "b", "c"));
    }

    @Test
    void coverage_takesSmallestSetCoveringTheFraction_andReportsCollateral() {
        ExpertSelection s = ExpertSelector.coverage(0.9).select(handMade(), 1, model);
        assertThat(s.experts().get(layer)).containsExactly(1, 2);
        assertThat(s.coverage().get(layer)).isCloseTo(1.0, offset(1e-9));
        // the others (classes 0 and 2, equally weighted) put 0.25 of their mass on E1 and 0 on E2
        assertThat(s.collateral().get(layer)).isCloseTo(0.25, offset(1e-9));
        assertThat(s.isClassSpecific()).isTrue();
        assertThat(s.warning()).isEmpty();
        long perExpert = MoeBlocks.countParameters(((MoeBlock) model.getChildren().get(0).getValue()).expert(0));
        assertThat(s.parameters()).isEqualTo(2 * perExpert);
        assertThat(s.toTable()).contains("E1(0.80)").contains("E2(0.20)").contains("collateral 0.25");
    }

    @Test
    void topN_andSpecificity_rankAsDocumented() {
        ActivationProfile p = handMade();
        ExpertSelection top = ExpertSelector.topN(1).select(p, 0, model);
        assertThat(top.experts().get(layer)).containsExactly(0);
        assertThat(top.collateral().get(layer)).isCloseTo(0.0, offset(1e-9));
        // class 2: specificity E3 = infinite (no other class uses it), E1 = 0.5 / 0.4 = 1.25
        assertThat(p.specificity(layer, 2)[1]).isCloseTo(1.25, offset(1e-9));
        assertThat(ExpertSelector.specificity(2, 3).select(p, 2, model).experts().get(layer)).containsExactly(3);
        assertThat(ExpertSelector.specificity(1, 3).select(p, 2, model).experts().get(layer)).containsExactly(1, 3);
    }

    @Test
    void select_sharedTrunk_saysSoPlainly() {
        long[] experts = new long[20];
        int[] labels = new int[20];
        for (int i = 0; i < 20; i++) {
            labels[i] = i % 2;
        }
        float[] gates = new float[20];
        java.util.Arrays.fill(gates, 1f);
        RoutingStats stats = RoutingStats.accumulator(4, 2).add(Routing.ofHostArrays(4, 1, experts, gates), labels).snapshot();
        ActivationProfile p = new ActivationProfile(Map.of(layer, stats), List.of("a", "b"));
        ExpertSelection s = ExpertSelector.coverage(0.9).select(p, 0, model);
        assertThat(s.meanCollateral()).isCloseTo(1.0, offset(1e-9));
        assertThat(s.isClassSpecific()).isFalse();
        // the selection does not know the model's recipe, so it gives no recipe advice (issue 10, item 9)
        assertThat(s.warning()).startsWith("NOT CLASS-SPECIFIC").contains("100%").contains("shared trunk")
                .doesNotContain("forgetReady");
    }

    @Test
    void select_badRequests_clearErrors() {
        ActivationProfile p = handMade();
        assertThatThrownBy(() -> ExpertSelector.topN(1).select(p, 5, model))
                .hasMessageContaining("forgetClass (5) must be less than size (3)");
        assertThatThrownBy(() -> ExpertSelector.onLayers(java.util.Set.of("nope"), ExpertSelector.topN(1)).select(p, 0, model))
                .hasMessageContaining("unknown MoE layer 'nope'");
        assertThatThrownBy(() -> ExpertSelector.topN(0)).hasMessage("n (0) must be >= 1");
    }

    /** 4 experts, top-1, 10 images per class: class 0 -> E0; class 1 -> E1 (8), E2 (2); class 2 -> E1 (5), E3 (5). */
    static RoutingStats handMadeStats() {
        long[] experts = new long[30];
        int[] labels = new int[30];
        for (int i = 0; i < 10; i++) {
            experts[i] = 0;
            labels[i] = 0;
            experts[10 + i] = i < 8 ? 1 : 2;
            labels[10 + i] = 1;
            experts[20 + i] = i < 5 ? 1 : 3;
            labels[20 + i] = 2;
        }
        float[] gates = new float[30];
        java.util.Arrays.fill(gates, 1f);
        return RoutingStats.accumulator(4, 3).add(Routing.ofHostArrays(4, 1, experts, gates), labels).snapshot();
    }
}

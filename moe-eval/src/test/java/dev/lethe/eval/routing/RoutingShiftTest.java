package dev.lethe.eval.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonParser;
import dev.lethe.eval.ForgetFixture;
import dev.lethe.moe.MoeBlocks;
import org.junit.jupiter.api.Test;

class RoutingShiftTest {

    private static final int FORGET = ForgetFixture.FORGET;

    @Test
    void totalVariation_handExample() {
        // ½ (|0.5 − 0.2| + |0.5 − 0.3| + |0 − 0.5|) = ½ (0.3 + 0.2 + 0.5)
        assertThat(RoutingShift.totalVariation(new double[] {0.5, 0.5, 0}, new double[] {0.2, 0.3, 0.5}))
                .isCloseTo(0.5, within(1e-12));
        assertThat(RoutingShift.totalVariation(new double[] {1, 0}, new double[] {0, 1})).isEqualTo(1.0);
        assertThatThrownBy(() -> RoutingShift.totalVariation(new double[] {1}, new double[] {0.5, 0.5}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("the distributions have 1 and 2 entries");
    }

    @Test
    void measure_headOnlyEdit_movesNoRouting_whileAnotherModelRoutesDifferently() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        int[] images = f.test.indicesOf(FORGET);
        RoutingShift same = RoutingShift.measure(f.original, f.suppressed, f.test, images, FORGET, 64);
        assertThat(same.layerNames()).containsExactlyElementsOf(MoeBlocks.find(f.original.getBlock()).keySet());
        // the suppressed model changed only the head: the class is routed exactly as before
        assertThat(same.meanTotalVariation()).isZero();
        RoutingShift other = RoutingShift.measure(f.original, f.retrain, f.test, images, FORGET, 64);
        assertThat(other.meanTotalVariation()).isGreaterThan(0.05);
        RoutingShift.Layer layer = other.layer(other.layerNames().get(0));
        assertThat(layer.before()).hasSize(3);
        assertThat(java.util.Arrays.stream(layer.before()).sum()).isCloseTo(1.0, within(1e-6));
        assertThat(layer.totalVariation()).isEqualTo(RoutingShift.totalVariation(layer.before(), layer.after()));

        RoutingShift back = RoutingShift.fromJson(JsonParser.parseString(other.toJson().toString()).getAsJsonObject());
        assertThat(back).isEqualTo(other);
        assertThat(back.classId()).isEqualTo(FORGET);
        assertThatThrownBy(() -> other.layer("nope")).hasMessageStartingWith("no MoE layer 'nope'; layers: [");
    }
}

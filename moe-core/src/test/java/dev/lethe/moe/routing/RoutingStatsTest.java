package dev.lethe.moe.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.List;
import org.junit.jupiter.api.Test;

class RoutingStatsTest {

    /**
     * 4 images, E = 4, k = 2. Class 0 (images 0, 1) goes to experts {0, 1} with gates (0.75,
     * 0.25); class 1 (images 2, 3) goes to {2, 0} with gates (0.5, 0.5). Expert 3 is dead.
     */
    private static RoutingStats handMade() {
        Routing r =
                Routing.ofHostArrays(
                        4,
                        2,
                        new long[] {0, 1, 0, 1, 2, 0, 2, 0},
                        new float[] {0.75f, 0.25f, 0.75f, 0.25f, 0.5f, 0.5f, 0.5f, 0.5f});
        return RoutingStats.accumulator(4, 2).add(r, new int[] {0, 0, 1, 1}).snapshot();
    }

    @Test
    void loadMeasures_handMadeBatch() {
        RoutingStats s = handMade();
        assertThat(s.images()).isEqualTo(4);
        assertThat(s.assignments()).containsExactly(4, 2, 2, 0);
        assertThat(s.assignmentFractions()).containsExactly(0.5, 0.25, 0.25, 0.0);
        assertThat(s.loadOverIdeal()).containsExactly(2.0, 1.0, 1.0, 0.0);
        // mean 2, std sqrt((4+0+0+4)/4) = sqrt 2
        assertThat(s.coefficientOfVariation()).isCloseTo(Math.sqrt(2) / 2, offset(1e-12));
        assertThat(s.maxOverMean()).isEqualTo(2.0);
        // gate mass: E0 = 1.5 + 1.0, E1 = 0.5, E2 = 1.0 -> shares 0.625, 0.125, 0.25, 0
        assertThat(s.gateMassFractions()).containsExactly(0.625, 0.125, 0.25, 0.0);
        assertThat(s.deadExperts(0.02)).containsExactly(3);
        double h = -(0.625 * Math.log(0.625) + 0.125 * Math.log(0.125) + 0.25 * Math.log(0.25));
        assertThat(s.normalizedEntropy()).isCloseTo(h / Math.log(4), offset(1e-12));
    }

    @Test
    void classMeasures_handMadeBatch() {
        RoutingStats s = handMade();
        assertThat(s.classShares(0)).containsExactly(0.75, 0.25, 0.0, 0.0);
        assertThat(s.classShares(1)).containsExactly(0.5, 0.0, 0.5, 0.0);
        assertThat(s.expertsCovering(0, 0.8)).isEqualTo(2);
        assertThat(s.expertsCovering(0, 0.75)).isEqualTo(1);
        double h = -(0.625 * Math.log(0.625) + 0.125 * Math.log(0.125) + 0.25 * Math.log(0.25));
        double h0 = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
        double h1 = Math.log(2);
        double mi = h - 0.5 * h0 - 0.5 * h1;
        assertThat(s.mutualInformation()).isCloseTo(mi, offset(1e-12));
        assertThat(s.mutualInformationShare()).isCloseTo(mi / h, offset(1e-12));
        assertThat(s.toTable(List.of("cat", "dog"))).contains("cat").contains("dog").contains("k80");
    }

    @Test
    void add_mismatchedLabels_rejected() {
        Routing r = Routing.ofHostArrays(2, 1, new long[] {0, 1}, new float[] {1, 1});
        assertThatThrownBy(() -> RoutingStats.accumulator(2, 2).add(r, new int[] {0}))
                .hasMessage("labels has 1 entries but the routing has 2 images");
        assertThatThrownBy(() -> RoutingStats.accumulator(3, 2).add(r))
                .hasMessage("routing has 2 experts but the accumulator 3");
        assertThatThrownBy(() -> Routing.ofHostArrays(2, 1, new long[] {2}, new float[] {1}))
                .hasMessage("expert index (2) must be in [0, 2)");
    }
}

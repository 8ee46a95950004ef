package dev.lethe.unlearn.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import org.junit.jupiter.api.Test;

class ParameterSelectionTest {

    @Test
    void all_leavesOutFixedConstants_soThatTheWhiteningFiltersNeverTrain() {
        try (Model m = MoeResNet.newModel(MoeResNet.Config.builder().optStyle(MoeResNet.Style.FAST).optWidths(4, 8, 8)
                .optNumExperts(2).optTopK(1).optNumClasses(4).build())) {
            ParameterSelection all = ParameterSelection.all(m.getBlock(), "every weight");
            assertThat(all.names()).noneMatch(n -> n.contains("fixed"));
            assertThat(all.names()).anyMatch(n -> n.contains("PatchWhitening") && n.endsWith("bias"));
            // nor the BatchNorm scales the fast layout keeps at 1
            assertThat(all.names()).noneMatch(n -> n.endsWith("gamma"));
            assertThat(all.count()).isEqualTo(MoeBlocks.countParameters(m.getBlock())
                    - m.getBlock().getParameters().stream()
                            .filter(p -> p.getKey().contains("fixed") || p.getKey().endsWith("gamma"))
                            .mapToLong(p -> p.getValue().getArray().size()).sum());
        }
    }
}

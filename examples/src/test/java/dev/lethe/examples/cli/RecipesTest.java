package dev.lethe.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import org.junit.jupiter.api.Test;

/** The recipe registry: names, the library recipes they stand for, and what they need of the architecture. */
class RecipesTest {

    @Test
    void parse_classAssignedRecipes_areTheLibrarysIsolatedRecipes() {
        assertThat(Recipes.parse("isolated")).isEqualTo(TrainingRecipe.isolated());
        assertThat(Recipes.parse("fast-isolated")).isEqualTo(TrainingRecipe.isolated(TrainingRecipe.fast()));
        assertThat(Recipes.parse("fast-isolated").classRouting()).isTrue();
        assertThat(Recipes.parse("fast-isolated").nesterov()).isTrue();
        // the exact configurations train their phases with the same recipes
        assertThat(Recipes.parse("exact")).isEqualTo(Recipes.parse("isolated"));
        assertThat(Recipes.parse("fast-exact")).isEqualTo(Recipes.parse("fast-isolated"));
        assertThat(Recipes.parse("plain").classRouting()).isFalse();
    }

    @Test
    void withEpochs_shortRunWarmsUpOverItsFirstHalf_longRunKeepsTheRecipesWarmUp() {
        TrainingRecipe fast = TrainingRecipe.fast();
        assertThat(Recipes.withEpochs(fast.toBuilder(), fast, 1).build().warmupEpochs()).isEqualTo(0.5f);
        assertThat(Recipes.withEpochs(fast.toBuilder(), fast, 3).build().warmupEpochs()).isEqualTo(1.5f);
        TrainingRecipe eight = Recipes.withEpochs(fast.toBuilder(), fast, 8).build();
        assertThat(eight.epochs()).isEqualTo(8);
        assertThat(eight.warmupEpochs()).isEqualTo(fast.warmupEpochs());
        // the fast layout preset is what the demo and --layout fast build on
        MoeResNet.Config layout = MoeResNet.Config.builder().optFastLayout().build();
        assertThat(layout.style()).isEqualTo(MoeResNet.Style.FAST);
        assertThat(layout.widths()).containsExactly(64, 256, 256);
        assertThat(layout.moeStages()).containsExactly(3);
        assertThat(layout.logitScale()).isEqualTo(0.125f);
    }

    @Test
    void names_trainingRecipesLeaveOutThePhasedConfigurations_whichOnlyTheProtocolTakes() {
        assertThat(Recipes.names()).containsExactly("plain", "forget-ready", "fast", "fast-forget-ready", "isolated",
                "fast-isolated");
        assertThat(Recipes.protocolNames()).containsExactly("plain", "forget-ready", "fast", "fast-forget-ready",
                "isolated", "fast-isolated", "assigned", "fast-assigned", "exact", "fast-exact");
        assertThat(Recipes.isExact("fast-exact")).isTrue();
        assertThat(Recipes.isPhased("fast-exact")).isTrue();
        assertThat(Recipes.isExact("fast-assigned")).isFalse();
        assertThat(Recipes.isPhased("fast-assigned")).isTrue();
        assertThat(Recipes.isExact("fast-isolated")).isFalse();
        assertThat(Recipes.isPhased("fast-isolated")).isFalse();
        assertThat(Recipes.reference("fast-assigned")).contains("fast");
        assertThat(Recipes.reference("fast-exact")).contains("fast");
        assertThat(Recipes.reference("isolated@0.1")).contains("plain");
        assertThat(Recipes.reference("forget-ready")).isEmpty();
        assertThatThrownBy(() -> Recipes.needs("magic")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown recipe 'magic'").hasMessageContaining("fast-exact");
    }

    @Test
    void needs_classAssignedRecipes_setOneExpertPerClassTopOneAndASharedExpert() {
        MoeResNet.Config plain = MoeResNet.Config.builder().optNumClasses(10).optNumExperts(8).optTopK(2).build();
        assertThat(Recipes.needs("plain")).isEqualTo(ArchitectureNeeds.NONE);
        assertThat(Recipes.needs("plain").apply(plain)).isSameAs(plain);
        for (String name : new String[] {"isolated", "fast-isolated", "exact", "fast-exact"}) {
            ArchitectureNeeds needs = Recipes.needs(name);
            assertThat(needs.isMetBy(plain)).as(name).isFalse();
            MoeResNet.Config c = needs.apply(plain);
            assertThat(c.numExperts()).as(name).isEqualTo(10);
            assertThat(c.topK()).as(name).isEqualTo(1);
            assertThat(c.sharedExpert()).as(name).isTrue();
            assertThat(c.widths()).as(name).isEqualTo(plain.widths());
            assertThat(needs.isMetBy(c)).as(name).isTrue();
            assertThat(needs.options(10)).isEqualTo("--experts 10 --top-k 1 --shared-expert");
        }
    }
}

package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.eval.tuning.MethodGrids;
import dev.lethe.examples.cli.Converters;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The protocol's method registry: a name maps to the Unlearner settings it runs with, and to the base models it runs on. */
class ProtocolMethodsTest {

    /** Ours' chosen candidate in these tests: the first of its grid (Adam at 1e-4, 2 epochs). */
    private static final Candidate OURS = MethodGrids.of(Method.EXPERT_TARGETED).get(0);
    /** Fine-tuning's chosen candidate: the last of its grid (3e-3, 2 passes). */
    private static final Candidate FINE_TUNE = MethodGrids.of(Method.FINE_TUNE).get(5);
    private static final ChosenSettings CHOSEN = ChosenSettings.defaults().with(Method.EXPERT_TARGETED, OURS)
            .with(Method.FINE_TUNE, FINE_TUNE);

    private static ProtocolMethod method(String name) {
        return ProtocolMethods.resolve(List.of(name)).get(0);
    }

    private static UnlearningSettings settings(String name, ChosenSettings chosen) {
        return method(name).settings(chosen);
    }

    private static float learningRate(UnlearningSettings s) {
        return s.toJson().get("learningRate").getAsFloat();
    }

    @Test
    void resolve_everyLibraryMethodButOursRetrainAndExact_isABaselineWithTheLibrarysDefaultsUntilTuned() {
        List<String> baselines = new ArrayList<>();
        for (Method m : Method.values()) {
            if (m == Method.EXPERT_TARGETED || m == Method.RETRAIN || m == Method.EXACT) {
                continue;
            }
            String name = Converters.cliName(m);
            baselines.add(name);
            JsonObject expected = Unlearner.forClass(0).method(m).settings().toJson();
            assertThat(settings(name, ChosenSettings.defaults()).toJson()).as(name).isEqualTo(expected);
            assertThat(method(name).tunedBy()).as(name).isEqualTo(m);
            assertThat(method(name).settingsName(ChosenSettings.defaults())).as(name).isEqualTo("library defaults");
            assertThat(method(name).runsOn(false)).as(name).isTrue();
        }
        assertThat(baselines).contains("fine-tune", "gradient-ascent", "random-labels", "salun", "scrub", "reset-retrain",
                "trunk-edit");
        assertThat(ProtocolMethods.names()).containsAll(baselines).doesNotContain("retrain", "expert-targeted");
        // a tuned baseline runs its chosen candidate: fine-tuning at 3e-3 for 2 passes
        UnlearningSettings tuned = settings("fine-tune", CHOSEN);
        assertThat(tuned.method()).isEqualTo(Method.FINE_TUNE);
        assertThat(learningRate(tuned)).isEqualTo(3e-3f);
        assertThat(tuned.epochs()).isEqualTo(2);
        assertThat(method("fine-tune").settingsName(CHOSEN)).isEqualTo(FINE_TUNE.name());
    }

    @Test
    void configure_oursVariants_runTheExpertTargetedMethodWithItsChosenCandidateInTheirScope() {
        String[][] scopes = {
            {"ours-experts", "EXPERTS"}, {"ours-router", "EXPERTS_AND_ROUTER"}, {"ours-head", "EXPERTS_ROUTER_AND_HEAD"},
            {"ours-all", "ALL"}, {"head-only-ours", "HEAD_ONLY"}};
        for (String[] s : scopes) {
            UnlearningSettings u = settings(s[0], CHOSEN);
            assertThat(u.method()).as(s[0]).isEqualTo(Method.EXPERT_TARGETED);
            assertThat(u.effectiveScope()).as(s[0]).isEqualTo(Scope.valueOf(s[1]));
            assertThat(learningRate(u)).as(s[0]).isEqualTo(1e-4f);
            // exactly ours' candidate in that scope, nothing else
            assertThat(u.toJson()).as(s[0]).isEqualTo(OURS.apply(Unlearner.forClass(0)).optScope(Scope.valueOf(s[1]))
                    .settings().toJson());
            assertThat(method(s[0]).tunedBy()).as(s[0]).isEqualTo(Method.EXPERT_TARGETED);
            assertThat(method(s[0]).settingsName(CHOSEN)).as(s[0]).isEqualTo(OURS.name());
        }
        // untuned, ours is what a user gets from Unlearner with the suppression method and no other option
        assertThat(settings("ours-head", ChosenSettings.defaults()).toJson())
                .isEqualTo(Unlearner.forClass(0).method(Method.EXPERT_TARGETED).settings().toJson());
        // and reset-retrain untuned is the library's default, nothing set
        assertThat(settings("reset-retrain", ChosenSettings.defaults()).toJson()).isEqualTo(Unlearner.forClass(0).settings().toJson());
    }

    @Test
    void configure_headOnly_keepsTheSettingsFixedBeforeAnyRun_whileFineTuneOursTakesOursLearningRate() {
        UnlearningSettings headOnly = settings("head-only", CHOSEN);
        assertThat(headOnly.method()).isEqualTo(Method.EXPERT_TARGETED);
        assertThat(headOnly.effectiveScope()).isEqualTo(Scope.HEAD_ONLY);
        assertThat(learningRate(headOnly)).isEqualTo(1e-3f);
        assertThat(headOnly.retainFocus()).isZero();
        assertThat(headOnly.toJson().get("loss").getAsString()).isEqualTo(ForgettingLoss.contrastive().describe());
        assertThat(method("head-only").tuned()).isFalse();

        UnlearningSettings fineTuneOurs = settings("fine-tune-ours", CHOSEN);
        assertThat(fineTuneOurs.method()).isEqualTo(Method.FINE_TUNE);
        assertThat(fineTuneOurs.effectiveScope()).isEqualTo(Scope.ALL);
        assertThat(learningRate(fineTuneOurs)).isEqualTo(1e-4f);
        assertThat(learningRate(settings("fine-tune", ChosenSettings.defaults()))).isNotEqualTo(1e-4f);
    }

    @Test
    void runsOn_exactDeletionOnlyOnExactBases_whereOnlyFineTuneAndOursHeadRunBesideIt() {
        ProtocolMethod exact = method("exact");
        assertThat(exact.method()).isEqualTo(Method.EXACT);
        assertThat(exact.runsOn(true)).isTrue();
        assertThat(exact.runsOn(false)).isFalse();
        assertThat(exact.tuned()).isFalse();
        assertThat(exact.settings(CHOSEN).method()).isEqualTo(Method.EXACT);
        List<String> onExact = new ArrayList<>();
        ProtocolMethods.all().forEach(m -> {
            if (m.runsOn(true)) {
                onExact.add(m.name());
            }
        });
        assertThat(onExact).containsExactlyInAnyOrder("exact", "fine-tune", "ours-head");
        // what --tune sweeps: each tuned method's library method, once; none for exact deletion
        List<ProtocolMethod> chosen = ProtocolMethods.resolve(List.of("ours-router", "ours-head", "fine-tune-ours",
                "head-only", "scrub", "exact"));
        assertThat(ProtocolMethods.tunedMethods(chosen, false)).containsExactly(Method.EXPERT_TARGETED, Method.SCRUB);
        assertThat(ProtocolMethods.tunedMethods(chosen, true)).containsExactly(Method.EXPERT_TARGETED);
    }

    @Test
    void resolve_all_isEveryMethodInTheReportsOrderOnce_andAnUnknownNameIsNamed() {
        List<String> all = new ArrayList<>();
        ProtocolMethods.resolve(List.of("all", "ours-head")).forEach(m -> all.add(m.name()));
        assertThat(all).isEqualTo(ProtocolMethods.names()).doesNotHaveDuplicates()
                .contains("ours-experts", "ours-router", "ours-head", "ours-all", "head-only", "head-only-ours",
                        "fine-tune-ours", "exact");
        assertThatThrownBy(() -> ProtocolMethods.resolve(List.of("ours-router", "magic")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("unknown method 'magic'; choose from [")
                .hasMessageContaining("ours-router").hasMessageEndingWith("] or all");
    }
}

package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.examples.cli.Converters;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The protocol's method registry: a name maps to the Unlearner settings it runs with. */
class ProtocolMethodsTest {

    /** Ours' chosen settings in these tests: learning rate 1e-4, retain focus 0.5, distillation 1. */
    private static final Candidate OURS = OursGrid.candidate(0.5f, 1f, 1f, 1e-4f);

    private static UnlearningSettings settings(String name) {
        return ProtocolMethods.resolve(List.of(name)).get(0).settings(OURS);
    }

    private static float learningRate(UnlearningSettings s) {
        return s.toJson().get("learningRate").getAsFloat();
    }

    @Test
    void resolve_everyLibraryMethodButOursAndRetrain_isABaselineWithTheLibrarysDefaults() {
        List<String> baselines = new ArrayList<>();
        for (Method m : Method.values()) {
            if (m == Method.EXPERT_TARGETED || m == Method.RETRAIN) {
                continue;
            }
            String name = Converters.cliName(m);
            baselines.add(name);
            JsonObject expected = Unlearner.forClass(0).method(m).settings().toJson();
            assertThat(settings(name).toJson()).as(name).isEqualTo(expected);
            assertThat(ProtocolMethods.resolve(List.of(name)).get(0).tuned()).as(name).isFalse();
        }
        assertThat(baselines).contains("fine-tune", "gradient-ascent", "random-labels");
        assertThat(ProtocolMethods.names()).containsAll(baselines).doesNotContain("retrain", "expert-targeted");
    }

    @Test
    void configure_oursVariants_runTheExpertTargetedMethodWithTheChosenSettingsInTheirScope() {
        String[][] scopes = {
            {"ours-experts", "EXPERTS"}, {"ours-router", "EXPERTS_AND_ROUTER"}, {"ours-head", "EXPERTS_ROUTER_AND_HEAD"},
            {"ours-all", "ALL"}, {"head-only-ours", "HEAD_ONLY"}};
        for (String[] s : scopes) {
            UnlearningSettings u = settings(s[0]);
            assertThat(u.method()).as(s[0]).isEqualTo(Method.EXPERT_TARGETED);
            assertThat(u.effectiveScope()).as(s[0]).isEqualTo(Scope.valueOf(s[1]));
            assertThat(learningRate(u)).as(s[0]).isEqualTo(1e-4f);
            assertThat(u.retainFocus()).as(s[0]).isEqualTo(0.5f);
            // exactly ours' candidate in that scope, nothing else
            assertThat(u.toJson()).as(s[0]).isEqualTo(OURS.apply(Unlearner.forClass(0)).optScope(Scope.valueOf(s[1]))
                    .settings().toJson());
            assertThat(ProtocolMethods.resolve(List.of(s[0])).get(0).tuned()).as(s[0]).isTrue();
        }
    }

    @Test
    void configure_headOnly_keepsTheSettingsFixedBeforeAnyRun_whileFineTuneOursTakesOursLearningRate() {
        UnlearningSettings headOnly = settings("head-only");
        assertThat(headOnly.method()).isEqualTo(Method.EXPERT_TARGETED);
        assertThat(headOnly.effectiveScope()).isEqualTo(Scope.HEAD_ONLY);
        assertThat(learningRate(headOnly)).isEqualTo(1e-3f);
        assertThat(headOnly.retainFocus()).isZero();
        assertThat(ProtocolMethods.resolve(List.of("head-only")).get(0).tuned()).isFalse();

        UnlearningSettings fineTuneOurs = settings("fine-tune-ours");
        assertThat(fineTuneOurs.method()).isEqualTo(Method.FINE_TUNE);
        assertThat(fineTuneOurs.effectiveScope()).isEqualTo(Scope.ALL);
        assertThat(learningRate(fineTuneOurs)).isEqualTo(1e-4f);
        assertThat(learningRate(settings("fine-tune"))).isNotEqualTo(1e-4f); // the library's own
    }

    @Test
    void resolve_all_isEveryMethodInTheReportsOrder_andAnUnknownNameIsNamed() {
        List<String> all = new ArrayList<>();
        ProtocolMethods.resolve(List.of("all")).forEach(m -> all.add(m.name()));
        assertThat(all).isEqualTo(ProtocolMethods.names()).doesNotHaveDuplicates()
                .contains("ours-experts", "ours-router", "ours-head", "ours-all", "head-only", "head-only-ours",
                        "fine-tune-ours");
        assertThatThrownBy(() -> ProtocolMethods.resolve(List.of("ours-router", "magic")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("unknown method 'magic'; choose from [")
                .hasMessageContaining("ours-router").hasMessageEndingWith("] or all");
    }
}

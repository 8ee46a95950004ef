package dev.lethe.eval.tuning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonParser;
import dev.lethe.eval.ForgetFixture;
import dev.lethe.eval.Predictions;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ValidationSweepTest {

    private static final List<Candidate> GRID = List.of(
            Candidate.of("a", u -> u), Candidate.of("b", u -> u), Candidate.of("c", u -> u), Candidate.of("d", u -> u));

    private static ValidationSweep sweep() throws Exception {
        return ValidationSweep.builder().setValidationData(ForgetFixture.shared().heldOut).optBatchSize(64).build();
    }

    @Test
    void choose_bestOtherAccuracyAmongThoseThatForgot_tiesToTheFasterRun() throws Exception {
        ValidationSweep s = sweep();
        ValidationScore chosen = s.choose(List.of(
                new ValidationScore("a", 0.0, 70.0, 30),
                new ValidationScore("b", 5.0, 80.0, 30), // higher, but the class is still recognised
                new ValidationScore("c", 1.0, 72.0, 40),
                new ValidationScore("d", 0.2, 72.0, 35))); // the same accuracy as c, faster
        assertThat(chosen.candidate()).isEqualTo("d");
        // with a looser threshold b counts as forgotten and wins
        ValidationSweep loose = ValidationSweep.builder().setValidationData(ForgetFixture.shared().heldOut)
                .optMaxForgetAccuracy(5.0).build();
        assertThat(loose.choose(List.of(new ValidationScore("a", 0.0, 70.0, 30), new ValidationScore("b", 5.0, 80.0, 30)))
                .candidate()).isEqualTo("b");
    }

    @Test
    void choose_whenNoneForgot_takesTheLowestForgetAccuracy_andIgnoresNamesOutsideTheGrid() throws Exception {
        ValidationSweep s = sweep();
        ValidationScore unknown = new ValidationScore("a setting no longer in the grid", 0.0, 99.0, 1);
        Candidate chosen = s.choose(GRID, List.of(
                new ValidationScore("a", 9.0, 70, 1), new ValidationScore("b", 3.0, 60, 1), unknown));
        assertThat(chosen).isSameAs(GRID.get(1));
        assertThatThrownBy(() -> s.choose(GRID, List.of(unknown)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no scored candidate of the grid among 1 scores");
    }

    @Test
    void checkSameBudget_namesTheMethodsThatDiffer() {
        Map<String, List<Candidate>> grids = new LinkedHashMap<>();
        grids.put("ours", GRID);
        grids.put("fine-tune", GRID.subList(0, 4));
        ValidationSweep.checkSameBudget(grids);
        grids.put("salun", GRID.subList(0, 3));
        assertThatThrownBy(() -> ValidationSweep.checkSameBudget(grids))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("every method must have the same number of candidates, but 'ours' has 4 and 'salun' has 3");
        assertThatThrownBy(() -> ValidationSweep.checkSameBudget(Map.of("x", List.of(Candidate.of("a", u -> u), Candidate.of("a", u -> u)))))
                .hasMessage("the grid names candidate 'a' twice");
        assertThatThrownBy(() -> Candidate.of(" ", u -> u)).hasMessage("name must not be blank");
    }

    @Test
    void run_scoresEveryCandidateOnTheValidationData_andTheRuleChoosesOne() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        ValidationSweep s = sweep();
        List<Candidate> grid = List.of(
                Candidate.of("fine-tune, lr 1e-3", u -> u.method(Method.FINE_TUNE).optLearningRate(1e-3f)),
                Candidate.of("fine-tune, lr 1e-2", u -> u.method(Method.FINE_TUNE).optLearningRate(1e-2f)));
        Unlearner base = Unlearner.forClass(ForgetFixture.FORGET).from(f.original).using(f.train)
                .optEpochs(1).optBatchSize(32).optSeed(2);
        List<ValidationScore> seen = new ArrayList<>();
        List<ValidationScore> scores = s.run(base, grid, seen::add);
        assertThat(scores).extracting(ValidationScore::candidate).containsExactly("fine-tune, lr 1e-3", "fine-tune, lr 1e-2");
        assertThat(seen).isEqualTo(scores);
        assertThat(scores).allSatisfy(sc -> assertThat(sc.seconds()).isPositive());
        // the original model is untouched (each run works on a copy), so it still scores 100 % / 100 %
        ValidationScore before = s.score("original", f.original, ForgetFixture.FORGET, 0);
        Predictions p = Predictions.all(f.original, f.heldOut, 64);
        assertThat(before.forgetAccuracy()).isEqualTo(p.accuracyOf(ForgetFixture.FORGET)).isGreaterThan(95.0);
        assertThat(before.otherAccuracy()).isEqualTo(p.accuracyExcept(ForgetFixture.FORGET));
        assertThat(s.choose(grid, scores)).isSameAs(grid.get(scores.indexOf(s.choose(scores))));

        ValidationScore back = ValidationScore.fromJson(JsonParser.parseString(scores.get(0).toJson().toString()).getAsJsonObject());
        assertThat(back).isEqualTo(scores.get(0));
        assertThat(scores.get(0).toJson().keySet()).containsExactly("candidate", "valForgetAccuracy", "valOtherAccuracy", "seconds");
    }

    @Test
    void build_withoutValidationData_isRejected() {
        assertThatThrownBy(() -> ValidationSweep.builder().build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("setValidationData is required");
        assertThatThrownBy(() -> ValidationSweep.builder().optMaxForgetAccuracy(101))
                .hasMessage("maxForgetAccuracy (101.0) must be in [0, 100]");
    }
}

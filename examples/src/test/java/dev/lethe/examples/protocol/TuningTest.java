package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.cifar.CifarVariant;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.eval.tuning.MethodGrids;
import dev.lethe.eval.tuning.ValidationScore;
import dev.lethe.eval.tuning.ValidationSweep;
import dev.lethe.examples.SyntheticCifar;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.unlearn.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The protocol's tuning: every method's grid of the library, with the same budget, under the library's one rule. */
class TuningTest {

    private static ValidationScore scored(Candidate c, double forget, double other, double seconds) {
        return new ValidationScore(c.name(), forget, other, seconds);
    }

    @Test
    void grids_ofEveryTunedMethod_haveTheSameNumberOfCandidates_andRetrainHasNone() {
        List<Method> tuned = ProtocolMethods.tunedMethods(ProtocolMethods.all(), false);
        assertThat(tuned).contains(Method.EXPERT_TARGETED, Method.FINE_TUNE, Method.GRADIENT_ASCENT, Method.RANDOM_LABELS,
                Method.SALUN, Method.SCRUB, Method.RESET_RETRAIN, Method.TRUNK_EDIT).doesNotContain(Method.RETRAIN, Method.EXACT);
        Map<Method, List<Candidate>> grids = Tuning.grids(tuned);
        assertThat(grids.keySet()).containsExactlyElementsOf(tuned);
        grids.forEach((m, g) -> {
            assertThat(g).as(m.name()).hasSize(MethodGrids.SIZE);
            // every candidate runs its own method
            g.forEach(c -> assertThat(c.apply(dev.lethe.unlearn.Unlearner.forClass(0)).settings().method()).isEqualTo(m));
        });
        assertThatThrownBy(() -> Tuning.grids(List.of(Method.RETRAIN)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RETRAIN has no validation grid");
    }

    @Test
    void choose_ofTheLibrary_picksTheBestOtherAccuracyAmongThoseThatForgot(@TempDir Path tmp) throws Exception {
        List<Candidate> g = MethodGrids.of(Method.SCRUB);
        CifarSplits splits = CifarSplits.of(CifarSplits.load(SyntheticCifar.write(tmp, 20), CifarVariant.CIFAR10), 0, 0);
        ValidationSweep sweep = ValidationSweep.builder().setValidationData(splits.labeledValidation()).build();
        List<ValidationScore> scores = new ArrayList<>(List.of(
                scored(g.get(0), 0.0, 70.0, 30),
                scored(g.get(1), 5.0, 80.0, 30), // higher, but the class is still recognised
                scored(g.get(2), 1.0, 72.0, 40),
                scored(g.get(3), 0.2, 72.0, 35), // same accuracy as g(2), faster
                new ValidationScore("a setting no longer in the grid", 0.0, 99.0, 1)));
        assertThat(sweep.choose(g, scores)).isSameAs(g.get(3));
    }
}

package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.cifar.CifarVariant;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.eval.tuning.ValidationScore;
import dev.lethe.eval.tuning.ValidationSweep;
import dev.lethe.examples.SyntheticCifar;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The protocol's tuning: ours' grid ({@link OursGrid}) under the library's one selection rule. */
class ValidationSweepTest {

    private static ValidationScore scored(Candidate c, double forget, double other, double seconds) {
        return new ValidationScore(c.name(), forget, other, seconds);
    }

    @Test
    void choose_ofTheLibrary_picksAmongOursGrid_theBestOtherAccuracyAmongThoseThatForgot(@TempDir Path tmp)
            throws Exception {
        List<Candidate> g = OursGrid.GRID;
        ValidationSweep.checkSameBudget(java.util.Map.of("ours", g)); // distinct names, not empty
        CifarSplits splits = CifarSplits.of(CifarSplits.load(SyntheticCifar.write(tmp, 20), CifarVariant.CIFAR10), 0, 0);
        ValidationSweep sweep = ValidationSweep.builder().setValidationData(splits.labeledValidation()).build();
        Candidate chosen = sweep.choose(g, List.of(
                scored(g.get(0), 0.0, 70.0, 30),
                scored(g.get(1), 5.0, 80.0, 30), // higher, but the class is still recognised
                scored(g.get(2), 1.0, 72.0, 40),
                scored(g.get(3), 0.2, 72.0, 35), // same accuracy as g(2), faster
                new ValidationScore("a setting no longer in the grid", 0.0, 99.0, 1)));
        assertThat(chosen).isSameAs(g.get(3));
    }

    @Test
    void grid_namesAreDistinct_andLibraryDefaultsAreTheUnlearnersDefaults() {
        Set<String> names = new HashSet<>();
        OursGrid.GRID.forEach(c -> names.add(c.name()));
        assertThat(names).hasSameSizeAs(OursGrid.GRID);

        // the protocol's "library defaults" must be what a user gets from Unlearner without options
        UnlearningSettings defaults = Unlearner.forClass(0).settings();
        UnlearningSettings applied = OursGrid.libraryDefaults().apply(Unlearner.forClass(0)).settings();
        assertThat(applied.toJson().toString()).isEqualTo(defaults.toJson().toString());
        assertThat(defaults.toJson().get("loss").getAsString())
                .isEqualTo(ForgettingLoss.contrastive().withDistillation(1f, 2f).describe());
        // the settings fixed before any CIFAR run: Adam at 1e-3, no retain focus, no distillation
        UnlearningSettings baseline = OursGrid.baseline().apply(Unlearner.forClass(0)).settings();
        assertThat(baseline.toJson().get("learningRate").getAsFloat()).isEqualTo(1e-3f);
        assertThat(baseline.retainFocus()).isZero();
        assertThat(baseline.toJson().get("loss").getAsString()).isEqualTo(ForgettingLoss.contrastive().describe());
    }
}

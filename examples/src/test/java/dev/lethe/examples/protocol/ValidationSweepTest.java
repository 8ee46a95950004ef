package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.loss.ForgettingLoss;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ValidationSweepTest {

    private static JsonObject scored(ValidationSweep.Candidate c, double forget, double other, double seconds) {
        JsonObject o = new JsonObject();
        o.addProperty("candidate", c.name());
        o.addProperty("valForgetAccuracy", forget);
        o.addProperty("valOtherAccuracy", other);
        o.addProperty("seconds", seconds);
        return o;
    }

    @Test
    void choose_bestOtherAccuracyAmongThoseThatForgot() {
        List<ValidationSweep.Candidate> g = ValidationSweep.GRID;
        ValidationSweep.Candidate chosen = ValidationSweep.choose(List.of(
                scored(g.get(0), 0.0, 70.0, 30),
                scored(g.get(1), 5.0, 80.0, 30), // higher, but the class is still recognised
                scored(g.get(2), 1.0, 72.0, 40),
                scored(g.get(3), 0.2, 72.0, 35))); // same accuracy as g(2), faster
        assertThat(chosen).isEqualTo(g.get(3));
    }

    @Test
    void choose_whenNoneForgot_takesTheLowestForgetAccuracy_andIgnoresUnknownNames() {
        List<ValidationSweep.Candidate> g = ValidationSweep.GRID;
        JsonObject unknown = scored(g.get(0), 0.0, 99.0, 1);
        unknown.addProperty("candidate", "a setting no longer in the grid");
        assertThat(ValidationSweep.choose(List.of(scored(g.get(0), 9.0, 70, 1), scored(g.get(1), 3.0, 60, 1), unknown)))
                .isEqualTo(g.get(1));
        assertThatThrownBy(() -> ValidationSweep.choose(List.of(unknown)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no scored candidate");
    }

    @Test
    void grid_namesAreDistinct_andLibraryDefaultsAreTheUnlearnersDefaults() {
        Set<String> names = new HashSet<>();
        ValidationSweep.GRID.forEach(c -> names.add(c.name()));
        assertThat(names).hasSameSizeAs(ValidationSweep.GRID);

        // the protocol's "library defaults" must be what a user gets from Unlearner without options
        JsonObject defaults = Unlearner.forClass(0).configuration();
        JsonObject applied = ValidationSweep.Candidate.libraryDefaults().apply(Unlearner.forClass(0)).configuration();
        assertThat(applied.toString()).isEqualTo(defaults.toString());
        assertThat(defaults.get("loss").getAsString()).isEqualTo(ForgettingLoss.contrastive().withDistillation(1f, 2f).describe());
        assertThat(ValidationSweep.Candidate.baseline().apply(Unlearner.forClass(0)).configuration().get("learningRate").getAsFloat())
                .isEqualTo(1e-3f);
    }
}

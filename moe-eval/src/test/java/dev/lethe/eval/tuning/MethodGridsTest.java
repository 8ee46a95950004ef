package dev.lethe.eval.tuning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.method.EditingMethod;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MethodGridsTest {

    @Test
    void all_givesEveryMethodButRetrainTheSameNumberOfCandidates() {
        Map<String, List<Candidate>> grids = MethodGrids.all();
        assertThat(grids.keySet()).containsExactly("EXPERT_TARGETED", "FINE_TUNE", "GRADIENT_ASCENT", "RANDOM_LABELS",
                "SALUN", "SCRUB", "RESET_RETRAIN", "TRUNK_EDIT");
        assertThat(grids.values()).allSatisfy(g -> assertThat(g).hasSize(MethodGrids.SIZE));
        ValidationSweep.checkSameBudget(grids);
        assertThatThrownBy(() -> MethodGrids.of(Method.RETRAIN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("RETRAIN has no validation grid: the Retrain oracle is trained with the model's recipe");
    }

    @Test
    void of_eachCandidateSetsItsMethodLearningRateAndBudget_andTheDefaultsAreACandidate() {
        for (Method m : Method.values()) {
            if (!MethodGrids.has(m)) {
                continue;
            }
            Set<Float> rates = new HashSet<>();
            Set<Integer> epochs = new HashSet<>();
            for (Candidate c : MethodGrids.of(m)) {
                UnlearningSettings s = c.apply(Unlearner.forClass(0)).settings();
                assertThat(s.method()).as(c.name()).isEqualTo(m);
                assertThat(c.name()).startsWith(m.name() + " lr ");
                rates.add(s.learningRate().orElseThrow());
                epochs.add(s.epochs());
            }
            assertThat(rates).as("%s learning rates", m).hasSize(3);
            assertThat(epochs).as("%s budgets", m).hasSize(2);
            float defaultRate = ((EditingMethod) m.strategy()).defaultLearningRate();
            assertThat(rates).as("%s grid holds its default learning rate", m).contains(defaultRate);
            assertThat(epochs).as("%s grid holds the default budget", m).contains(UnlearningSettings.defaults().epochs());
        }
        assertThat(MethodGrids.of(Method.FINE_TUNE)).extracting(Candidate::name).containsExactly(
                "FINE_TUNE lr 3e-4, 1 pass over the retain set", "FINE_TUNE lr 3e-4, 2 passes over the retain set",
                "FINE_TUNE lr 1e-3, 1 pass over the retain set", "FINE_TUNE lr 1e-3, 2 passes over the retain set",
                "FINE_TUNE lr 3e-3, 1 pass over the retain set", "FINE_TUNE lr 3e-3, 2 passes over the retain set");
        assertThat(MethodGrids.of(Method.SCRUB).get(0).name()).isEqualTo("SCRUB lr 2e-4, 2 epochs");
    }
}

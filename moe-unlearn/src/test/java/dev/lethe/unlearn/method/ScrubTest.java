package dev.lethe.unlearn.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ScrubLoss;
import dev.lethe.unlearn.train.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScrubTest {

    @Test
    void phases_maxPassesInTheFirstEpochsThenMinPasses_sharingOneOptimizer() throws Exception {
        TrainedModel t = TrainedModel.shared();
        UnlearningSettings settings = UnlearningSettings.defaults().withMethod(Method.SCRUB).withEpochs(3).withBatchSize(16);
        try (UnlearningContext context = UnlearningContext.of(settings, t.model, t.train, 3, List.of())) {
            List<Phase> phases = Method.SCRUB.strategy() instanceof Scrub s ? s.phases(context) : List.of();
            assertThat(phases).extracting(Phase::name).containsExactly(
                    "SCRUB max, epoch 1", "SCRUB min, epoch 1", "SCRUB max, epoch 2", "SCRUB min, epoch 2", "SCRUB min, epoch 3");
            assertThat(phases).extracting(p -> ((ScrubLoss) p.loss()).isMaxStep()).containsExactly(true, false, true, false, false);
            assertThat(phases).allSatisfy(p -> assertThat(p.optimizer()).isSameAs(phases.get(0).optimizer()));
            assertThat(phases).allSatisfy(p -> assertThat(p.needsTeacher()).isTrue());
            // 128 forget images in steps of 16: 8 steps per pass
            assertThat(phases).allSatisfy(p -> assertThat(p.plan().stepsPerEpoch()).isEqualTo(8));
            context.rollback();
        }
    }

    @Test
    void retrain_scrub_forgets_keepsTheOthers_andRecordsItsOptions() throws Exception {
        TrainedModel t = TrainedModel.shared();
        UnlearningResult result = Unlearner.forClass(3).from(t.model).using(t.train).method(Method.SCRUB)
                .optBatchSize(16).optEpochs(4).optSeed(1).optLearningRate(1e-2f)
                .optMethodOptions(Scrub.Options.defaults().withMaxEpochs(3)).retrain();
        try (Model forgotten = result.model()) {
            assertThat(result.removal()).isEqualTo(Removal.SUPPRESS);
            // 3 max passes and 4 min passes of 8 steps; max steps read 16 forget images, min steps 32 retain
            assertThat(result.steps()).isEqualTo(7 * 8);
            assertThat(result.imagesSeen()).isEqualTo(3 * 8 * 16 + 4 * 8 * 32);
            System.out.printf("SCRUB: forget %.3f, others %.3f%n", t.accuracy(forgotten, 3), t.accuracyExcept(forgotten, 3));
            assertThat(t.accuracy(forgotten, 3)).isLessThan(0.1);
            assertThat(t.accuracyExcept(forgotten, 3)).isGreaterThan(0.9);
            JsonObject audited = JsonParser.parseString(result.audit().configuration()).getAsJsonObject();
            assertThat(audited.getAsJsonObject("options").get("maxEpochs").getAsInt()).isEqualTo(3);
            assertThat(audited.get("loss").getAsString()).contains("scrubMax").contains("scrubMin");
        }
        assertThatThrownBy(() -> Scrub.Options.defaults().withMaxEpochs(-1)).hasMessage("maxEpochs (-1) must be >= 0");
    }
}

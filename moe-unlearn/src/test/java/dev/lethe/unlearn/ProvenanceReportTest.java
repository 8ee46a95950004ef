package dev.lethe.unlearn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import com.google.gson.JsonObject;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.provenance.ProvenanceLedger;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProvenanceReportTest {

    private static final MoeResNet.Config CONFIG =
            MoeResNet.Config.builder().optWidths(4, 4, 4).optNumExperts(2).optTopK(1).optNumClasses(3).build();

    @Test
    void aRunThatTrainsOnTheClassesImages_listsWhatItAddedApart() {
        try (Model model = MoeResNet.newModel(CONFIG)) {
            ProvenanceLedger empty = emptyLedger(model);
            List<String> names = empty.tensors();
            String expert = firstExpert(empty);
            String head = names.get(names.size() - 1);
            // in training, the head learnt from classes 1 and 2 first; then class 0 reached one expert only
            ProvenanceLedger trained = empty.withEdit(List.of(head), List.of(1, 2), "head")
                    .withEdit(List.of(expert), List.of(0), "unit 0");
            // an unlearning loss on the forget images (class 0) and retain images edits the head
            ProvenanceLedger suppressed = trained.withEdit(List.of(head), List.of(0, 1, 2), "unlearning SUPPRESS");

            ProvenanceReport report = ProvenanceReport.of(0, Optional.of(trained), Optional.of(suppressed));

            assertThat(report.touched()).containsExactly(expert);
            assertThat(report.remaining()).containsExactlyInAnyOrder(expert, head);
            assertThat(report.introduced()).containsExactly(head);
            assertThat(report.introducedShare()).isEqualTo(trained.share(List.of(head)));
            assertThat(report.remainingShare()).isGreaterThan(report.touchedShare());
            assertThat(report.toTable()).contains("of which 1 (").contains("only because this run trained them");
            assertThat(report.isErased()).isFalse();
        }
    }

    @Test
    void aRunThatResetsAndRetrainsWithoutTheClass_introducesNothing_andIsErased() {
        try (Model model = MoeResNet.newModel(CONFIG)) {
            ProvenanceLedger empty = emptyLedger(model);
            String expert = firstExpert(empty);
            ProvenanceLedger trained = empty.withEdit(List.of(expert), List.of(0), "unit 0");
            ProvenanceLedger deleted = trained.withReset(List.of(expert), "exact deletion of class 0")
                    .withEdit(List.of(expert), List.of(1), "retrain without class 0");

            ProvenanceReport report = ProvenanceReport.of(0, Optional.of(trained), Optional.of(deleted));

            assertThat(report.rederived()).containsExactly(expert);
            assertThat(report.remaining()).isEmpty();
            assertThat(report.introduced()).isEmpty();
            assertThat(report.introducedShare()).isZero();
            assertThat(report.toTable()).doesNotContain("only because");
            assertThat(report.isErased()).isTrue();
        }
    }

    @Test
    void json_roundTrips_andARecordWrittenBeforeIntroducedExisted_stillReads() {
        try (Model model = MoeResNet.newModel(CONFIG)) {
            ProvenanceLedger empty = emptyLedger(model);
            List<String> names = empty.tensors();
            String expert = firstExpert(empty);
            String head = names.get(names.size() - 1);
            ProvenanceLedger trained = empty.withEdit(List.of(expert), List.of(0), "unit 0");
            ProvenanceReport report = ProvenanceReport.of(0, Optional.of(trained),
                    Optional.of(trained.withEdit(List.of(head), List.of(0, 1), "unlearning")));

            assertThat(ProvenanceReport.fromJson(report.toJson())).isEqualTo(report);

            JsonObject old = report.toJson();
            old.remove("introduced");
            ProvenanceReport back = ProvenanceReport.fromJson(old);
            assertThat(back.introduced()).containsExactly(head);
            assertThat(back.introducedShare()).isNaN();
            assertThat(back.remaining()).isEqualTo(report.remaining());
        }
    }

    private static ProvenanceLedger emptyLedger(Model model) {
        return ProvenanceLedger.empty(model.getBlock(), 3, ProvenanceLedger.Origin.INITIALISED);
    }

    private static String firstExpert(ProvenanceLedger ledger) {
        return ledger.tensors().stream().filter(t -> t.contains("expert0")).findFirst().orElseThrow();
    }
}

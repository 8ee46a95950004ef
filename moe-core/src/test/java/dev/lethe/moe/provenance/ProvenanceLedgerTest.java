package dev.lethe.moe.provenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import dev.lethe.moe.model.MoeResNet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ProvenanceLedgerTest {

    @Test
    void events_giveDirectClassesAndDependencies() {
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 4, 4).optNumExperts(2).optTopK(1).optNumClasses(3).build();
        try (Model model = MoeResNet.newModel(config)) {
            ProvenanceLedger empty = ProvenanceLedger.empty(model.getBlock(), 3, ProvenanceLedger.Origin.INITIALISED);
            List<String> names = empty.tensors();
            String trunk = names.get(0);
            String expert = names.stream().filter(t -> t.contains("expert0")).findFirst().orElseThrow();
            String head = names.get(names.size() - 1);
            assertThat(empty.classesOf(trunk)).isEmpty();

            ProvenanceLedger trunkTrained = empty.withEdit(List.of(trunk, head), List.of(0, 1), "trunk");
            assertThat(trunkTrained.classesOf(trunk)).containsExactly(0, 1);
            assertThat(trunkTrained.dependenciesOf(expert)).isEmpty();
            // the expert learns from class 2 only, on top of a trunk that classes 0 and 1 trained
            ProvenanceLedger expertTrained = trunkTrained.withEdit(List.of(expert), List.of(2), "unit 2");
            assertThat(expertTrained.classesOf(expert)).containsExactly(2);
            assertThat(expertTrained.dependenciesOf(expert)).containsExactly(0, 1, 2);
            assertThat(expertTrained.dependenciesOf(trunk)).containsExactly(0, 1);
            ProvenanceLedger headReset = expertTrained.withReset(List.of(head), "head phase");
            assertThat(headReset.classesOf(head)).isEmpty();
            assertThat(headReset.touchedBy(0)).containsExactly(trunk);
            assertThat(headReset.influencedBy(2)).containsExactly(expert);
            assertThat(headReset.unitOf(expert)).endsWith("expert0");
            assertThat(headReset.phases()).containsExactly("trunk", "unit 2");
            assertThat(headReset.share(List.of(trunk))).isEqualTo(
                    headReset.size(trunk) / (double) headReset.tensors().stream().filter(t -> !headReset.isStatistic(t))
                            .mapToLong(headReset::size).sum());

            ProvenanceLedger back = ProvenanceLedger.fromJson(headReset.toJson());
            assertThat(back).isEqualTo(headReset);
            assertThat(back.dependenciesOf(expert)).containsExactly(0, 1, 2);
            back.checkMatches(model.getBlock());

            // a model trained before the ledger began: every tensor counts as touched by every class
            ProvenanceLedger unknown = ProvenanceLedger.empty(model.getBlock(), 3, ProvenanceLedger.Origin.UNKNOWN);
            assertThat(unknown.isComplete()).isFalse();
            assertThat(unknown.classesOf(trunk)).containsExactly(0, 1, 2);
            assertThat(unknown.withReset(List.of(trunk), "re-initialised").classesOf(trunk)).isEmpty();
        }
    }

    @Test
    void fromJson_malformed_namesTheProblem() {
        assertThatThrownBy(() -> ProvenanceLedger.fromJson("{}")).hasMessage("the provenance ledger has no field 'format'");
        assertThatThrownBy(() -> ProvenanceLedger.fromJson("{\"format\":9}"))
                .hasMessage("provenance ledger format 9 is not supported (this library reads 1)");
        assertThatThrownBy(() -> ProvenanceLedger.fromJson("[1]")).hasMessage("a provenance ledger is a JSON object");
        String json = "{\"format\":1,\"numClasses\":2,\"origin\":\"INITIALISED\",\"tensors\":[[0,\"a\",3,0]],\"units\":[],"
                + "\"events\":[{\"reset\":\"0-4\",\"why\":\"\"}]}";
        assertThatThrownBy(() -> ProvenanceLedger.fromJson(json)).hasMessage("range '0-4' must lie in [0, 1)");
    }

    @Test
    void checkMatches_otherArchitecture_namesTheTensor() {
        MoeResNet.Config a = MoeResNet.Config.builder().optWidths(4, 4, 4).optNumExperts(2).optTopK(1).optNumClasses(3).build();
        MoeResNet.Config b = a.toBuilder().optNumExperts(3).build();
        try (Model ma = MoeResNet.newModel(a); Model mb = MoeResNet.newModel(b)) {
            ProvenanceLedger ledger = ProvenanceLedger.empty(ma.getBlock(), 3, ProvenanceLedger.Origin.INITIALISED);
            assertThatThrownBy(() -> ledger.writeTo(mb))
                    .hasMessageStartingWith("the ledger describes another architecture: tensor");
        }
    }

    /** DJL writes model properties with writeUTF: each must stay below 64 KiB. */
    @Test
    void ledger_ofAnExactTenClassModel_staysCompact() {
        MoeResNet.Config config = MoeResNet.Config.builder().optStyle(MoeResNet.Style.FAST).optWidths(4, 4, 4)
                .optBlocksPerStage(2).optNumExperts(10).optTopK(1).optSharedExpert(true).optNumClasses(10).build();
        try (Model model = MoeResNet.newModel(config)) {
            ProvenanceLedger ledger = ProvenanceLedger.empty(model.getBlock(), 10, ProvenanceLedger.Origin.INITIALISED);
            List<String> all = ledger.tensors();
            List<Integer> pub = List.of(0, 1, 2, 3, 4);
            List<String> trunk = all.stream().filter(t -> !t.contains("expert") || pub.stream().anyMatch(c -> t.contains("expert" + c + "_")))
                    .filter(t -> !t.contains("router")).collect(Collectors.toList());
            ledger = ledger.withEdit(trunk, pub, "trunk");
            List<String> head = all.stream().filter(t -> t.contains("head") || t.contains("router")).collect(Collectors.toList());
            for (int c = 5; c < 10; c++) {
                int cls = c;
                List<String> unit = new ArrayList<>(all.stream().filter(t -> t.contains("expert" + cls + "_")).collect(Collectors.toList()));
                unit.addAll(head);
                List<Integer> classes = new ArrayList<>(pub);
                classes.add(c);
                ledger = ledger.withReset(head, "temporary head").withEdit(unit, classes, "unit " + c);
            }
            ledger = ledger.withReset(head, "head phase").withEdit(head, List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), "head");
            for (int d = 5; d < 8; d++) {
                int cls = d;
                ledger = ledger.withReset(all.stream().filter(t -> t.contains("expert" + cls + "_")).collect(Collectors.toList()), "deletion")
                        .withReset(head, "head phase").withEdit(head, List.of(0, 1), "head");
            }
            int bytes = ledger.toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            assertThat(all).hasSizeGreaterThan(250);
            assertThat(bytes).as("%s tensors", all.size()).isLessThan(16 * 1024);
            assertThat(ProvenanceLedger.fromJson(ledger.toJson())).isEqualTo(ledger);
            assertThat(Set.copyOf(ledger.influencedBy(9))).containsAll(head);
        }
    }
}

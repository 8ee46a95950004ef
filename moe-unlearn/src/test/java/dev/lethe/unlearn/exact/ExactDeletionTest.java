package dev.lethe.unlearn.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.AuditRecord;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.ProvenanceReport;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.SyntheticImages;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ExactDeletionTest {

    private static final MoeResNet.Config CONFIG = MoeResNet.Config.builder().optStyle(MoeResNet.Style.FAST)
            .optWidths(4, 8, 8).optNumExperts(4).optTopK(1).optSharedExpert(true).optNumClasses(4).optLogitScale(0.125f).build();

    private static NDManager manager;
    private static LabeledData train;
    private static ExactPlan plan;
    /** Trained on all four classes; 0 and 1 public, 2 and 3 deletable. */
    private static Model model;

    @BeforeAll
    static void trainModel() throws Exception {
        manager = NDManager.newBaseManager();
        train = SyntheticImages.make(manager, 16, 1);
        // the fast recipe: flips, translations and a weight average, all keyed by image content
        TrainingRecipe recipe = TrainingRecipe.isolated(TrainingRecipe.fast()).toBuilder()
                .optEpochs(2).optWarmupEpochs(0.5f).optBatchSize(8).optLearningRate(0.05f).optWeightAverage(0.9f, 1)
                .optSeed(11).build();
        plan = ExactPlan.of(List.of(0, 1), recipe);
        Engine.getInstance().setRandomSeed(1);
        model = MoeResNet.newModel(CONFIG);
        ExactTraining.fit(model, train, plan, null);
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    @Test
    void exact_deletedModel_isBitIdenticalToTrainingWithoutTheClass() throws Exception {
        UnlearningResult result = Unlearner.forClass(3).from(model).using(train).method(Method.EXACT).retrain();
        // the same images without class 3, built anew and in reverse order: only content matters
        LabeledData again = SyntheticImages.make(manager, 16, 1);
        int[] kept = again.indicesExcept(3);
        int[] reversed = new int[kept.length];
        for (int i = 0; i < kept.length; i++) {
            reversed[i] = kept[kept.length - 1 - i];
        }
        LabeledData without = again.subset(reversed);
        Engine.getInstance().setRandomSeed(77);
        try (Model deleted = result.model(); Model scratch = MoeResNet.newModel(CONFIG)) {
            ExactTraining.fit(scratch, without, plan, null);

            Map<String, float[]> a = values(deleted);
            Map<String, float[]> b = values(scratch);
            assertThat(a.keySet()).containsExactlyElementsOf(b.keySet());
            for (Map.Entry<String, float[]> e : a.entrySet()) {
                assertThat(e.getValue()).as(e.getKey()).containsExactly(b.get(e.getKey()));
            }
            for (int l = 0; l < 2; l++) {
                MoeBlock x = ((MoeResNet) deleted.getBlock()).moeLayers().get(l);
                MoeBlock y = ((MoeResNet) scratch.getBlock()).moeLayers().get(l);
                for (int e = 0; e < 4; e++) {
                    assertThat(x.isExpertMasked(e)).isEqualTo(y.isExpertMasked(e)).isEqualTo(e == 3);
                }
            }
            // the control: the model before the deletion differs from the one trained without the class
            Map<String, float[]> original = values(model);
            long differing = original.entrySet().stream()
                    .filter(e -> !java.util.Arrays.equals(e.getValue(), b.get(e.getKey()))).count();
            assertThat(differing).isGreaterThan(3);

            assertThat(result.removal()).isEqualTo(Removal.EXACT);
            assertThat(result.status()).isEqualTo(UnlearningResult.Status.DONE);
            ProvenanceReport report = result.provenance().orElseThrow();
            assertThat(report.isRecorded()).isTrue();
            assertThat(report.isErased()).isTrue();
            assertThat(report.remaining()).isEmpty();
            assertThat(report.touched()).anyMatch(t -> t.contains("expert3")).noneMatch(t -> t.contains("expert2"));
            assertThat(report.rederived()).containsAll(report.touched()).contains("02head_01Linear_weight");
            assertThat(report.touchedShare()).isBetween(0.01, 0.9);
            assertThat(ProvenanceLedger.of(deleted).orElseThrow().influencedBy(3)).isEmpty();
            assertThat(result.toTable()).contains("still carrying its influence: 0 tensors");
            AuditRecord audit = AuditRecord.fromJson(result.audit().toJson());
            assertThat(audit.provenance()).contains(report);
            assertThat(audit.removal()).contains(Removal.EXACT);
            // the exact deletion's changes are exactly what it says it re-derived
            assertThat(report.rederived()).containsAll(result.audit().changedParameters().stream()
                    .filter(t -> !t.endsWith("runningMean") && !t.endsWith("runningVar"))
                    .filter(t -> !t.endsWith(AuditRecord.MASK_SUFFIX)).toList());
            // and it masked the class's experts, which the audit records
            assertThat(result.audit().changedParameters()).filteredOn(t -> t.endsWith(AuditRecord.MASK_SUFFIX)).hasSize(2);
        }
    }

    @Test
    void exact_inPlace_reportsWhatTheClassTouchedBeforeTheRun() throws Exception {
        try (Model copy = Models.copy(model)) {
            UnlearningResult result =
                    Unlearner.forClass(3).from(copy).using(train).method(Method.EXACT).optInPlace(true).retrain();
            assertThat(result.model()).isSameAs(copy);
            ProvenanceReport report = result.provenance().orElseThrow();
            // the report is read from the ledger as it was before the deletion rewrote it in the model
            assertThat(report.touched()).anyMatch(t -> t.contains("expert3")).contains("02head_01Linear_weight");
            assertThat(report.rederived()).containsAll(report.touched());
            assertThat(report.remaining()).isEmpty();
            assertThat(report.isErased()).isTrue();
            assertThat(ProvenanceLedger.of(copy).orElseThrow().influencedBy(3)).isEmpty();
            assertThat(AuditRecord.fromJson(result.audit().toJson()).provenance()).contains(report);
        }
    }

    @Test
    void exact_publicClass_refusesNamingTheTrunk() {
        assertThatThrownBy(() -> Unlearner.forClass(0).from(model).using(train).method(Method.EXACT).retrain())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("class 0 is public in this model (public classes [0, 1])")
                .hasMessageContaining("01features_01PatchWhitening")
                .hasMessageContaining("use Method.RETRAIN");
    }

    @Test
    void exact_scopeWithoutHeadOrFrozenHead_refusesNamingTheTensors() throws Exception {
        assertThatThrownBy(() -> Unlearner.forClass(2).from(model).using(train).method(Method.EXACT).optScope(Scope.EXPERTS).retrain())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("must re-derive")
                .hasMessageContaining("that scope EXPERTS leaves out")
                .hasMessageContaining("02head_01Linear_weight")
                .hasMessageContaining("01router_weight");
        try (Model copy = Models.copy(model)) {
            MoeBlocks.setTrainable(((MoeResNet) copy.getBlock()).classifier(), false);
            assertThatThrownBy(() -> Unlearner.forClass(2).from(copy).using(train).method(Method.EXACT).retrain())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("an exact deletion of class 2 must re-derive 1 tensors that are frozen in the given model:"
                            + " 02head_01Linear_weight; unfreeze them or use another method");
        }
    }

    @Test
    void exact_otherData_refuses() {
        LabeledData other = SyntheticImages.make(manager, 16, 5);
        assertThatThrownBy(() -> Unlearner.forClass(2).from(model).using(other).method(Method.EXACT).retrain())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("are not those the model was trained on");
    }

    @Test
    void exact_jointlyTrainedOrUnrecordedModel_refusesAndSaysWhy() throws Exception {
        TrainingRecipe recipe = TrainingRecipe.isolated().toBuilder().optEpochs(1).optBatchSize(16).optWarmupEpochs(0.5f).build();
        Engine.getInstance().setRandomSeed(2);
        try (Model joint = MoeResNet.newModel(CONFIG)) {
            MoeTraining.fit(joint, train.view(train.indicesExcept(java.util.Set.of()), 16, false), null, recipe, TrainingProgress.silent());
            // the ledger: class 3 touched only its experts among the experts, but the trunk carries every class
            assertThatThrownBy(() -> Unlearner.forClass(3).from(joint).using(train).method(Method.EXACT).retrain())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("was not trained by ExactTraining")
                    .hasMessageContaining("trained jointly with the rest")
                    .hasMessageContaining("01features_01PatchWhitening_bias");
            joint.setProperty(ProvenanceLedger.MODEL_PROPERTY, "");
            assertThatThrownBy(() -> Unlearner.forClass(3).from(joint).using(train).method(Method.EXACT).retrain())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("the model records no provenance ledger");
            // another method on a model without a ledger: the report says so instead of guessing
            UnlearningResult r = Unlearner.forClass(3).from(joint).using(train).method(Method.FINE_TUNE).optEpochs(1).retrain();
            try (Model m = r.model()) {
                ProvenanceReport report = r.provenance().orElseThrow();
                assertThat(report.isRecorded()).isFalse();
                assertThat(report.note()).contains("records no provenance ledger");
                assertThat(r.toTable()).contains("provenance: the model records no provenance ledger");
            }
        }
    }

    @Test
    void fineTune_onLedgerModel_recordsTheEditAndReportsTheInfluenceAsRemaining() throws Exception {
        UnlearningResult r = Unlearner.forClass(2).from(model).using(train).method(Method.FINE_TUNE).optEpochs(1).retrain();
        try (Model m = r.model()) {
            ProvenanceReport report = r.provenance().orElseThrow();
            assertThat(report.isRecorded()).isTrue();
            assertThat(report.rederived()).isEmpty();
            assertThat(report.remaining()).containsAll(report.touched());
            assertThat(report.isErased()).isFalse();
            ProvenanceLedger after = ProvenanceLedger.of(m).orElseThrow();
            assertThat(after.phases()).last().isEqualTo("unlearning FINE_TUNE");
            // the fine-tuned trunk now counts as reached by the retain classes and the class itself
            assertThat(after.classesOf("01features_03SequentialBlock_01Conv2d_weight")).containsExactly(0, 1, 2, 3);
        }
    }

    @Test
    void plan_jsonRoundTrip_andRecordedInTheModel(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        assertThat(ExactPlan.fromJson(plan.toJson())).isEqualTo(plan);
        assertThat(ExactTraining.planOf(model)).contains(plan);
        // plan and ledger are saved and loaded with the model
        MoeResNet.save(model, tmp.resolve("exact"), Map.of());
        try (Model loaded = MoeResNet.load(tmp.resolve("exact"))) {
            assertThat(ExactTraining.planOf(loaded)).contains(plan);
            assertThat(ProvenanceLedger.of(loaded)).isEqualTo(ProvenanceLedger.of(model));
        }
        assertThat(plan.headEpochs()).isEqualTo(1);
        assertThatThrownBy(() -> ExactPlan.of(List.of())).hasMessage("publicClasses must name at least one class: the trunk is trained on them");
        // the ledger: a deletable class's experts depend on it and the public classes only
        ProvenanceLedger ledger = ProvenanceLedger.of(model).orElseThrow();
        String expert2 = ledger.tensors().stream().filter(t -> t.contains("expert2_")).findFirst().orElseThrow();
        assertThat(ledger.classesOf(expert2)).containsExactly(0, 1, 2);
        assertThat(ledger.dependenciesOf(expert2)).containsExactly(0, 1, 2);
        assertThat(ledger.dependenciesOf("01features_01PatchWhitening_bias")).containsExactly(0, 1);
        assertThat(ledger.dependenciesOf("02head_01Linear_weight")).containsExactly(0, 1, 2, 3);
    }

    @Test
    void assigned_everyClassPublic_routesEachClassToItsOwnExpertAndRefusesExactDeletion() throws Exception {
        ExactPlan assigned = ExactPlan.assigned(4, plan.recipe());
        assertThat(assigned.publicClasses()).containsExactly(0, 1, 2, 3);
        assertThat(assigned.withPublicClasses(List.of(0, 1))).isEqualTo(plan);
        assertThatThrownBy(() -> ExactPlan.assigned(1, plan.recipe())).hasMessage("numClasses (1) must be >= 2");
        try (Model m = MoeResNet.newModel(CONFIG)) {
            ExactTraining.fit(m, train, assigned, null);
            // the routers learned the assignment: the expert tells the class (on this 16-image toy
            // model one class may share another's expert in a layer; CIFAR-10: docs/results)
            ActivationProfile profile = ActivationProfiler.profile(m, train, null, 16);
            for (String layer : profile.layerNames()) {
                assertThat(profile.layer(layer).mutualInformationShare()).as(layer).isGreaterThan(0.8);
                long own = IntStream.range(0, 4).filter(c -> profile.share(layer, c)[c] > 0.5).count();
                assertThat(own).as("classes routed mostly to their own expert in %s", layer).isGreaterThanOrEqualTo(3);
            }
            // every class trained the trunk: no class can be deleted exactly, and the ledger says so
            ProvenanceLedger ledger = ProvenanceLedger.of(m).orElseThrow();
            assertThat(ledger.dependenciesOf("01features_01PatchWhitening_bias")).containsExactly(0, 1, 2, 3);
            assertThatThrownBy(() -> Unlearner.forClass(2).from(m).using(train).method(Method.EXACT).retrain())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("class 2 is public in this model (public classes [0, 1, 2, 3])");
        }
    }

    private static Map<String, float[]> values(Model m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }
}

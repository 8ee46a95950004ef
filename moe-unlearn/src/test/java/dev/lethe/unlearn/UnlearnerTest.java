package dev.lethe.unlearn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.dataset.Batch;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class UnlearnerTest {

    private static NDManager manager;
    private static LabeledData train;
    private static LabeledData test;
    private static Model model;
    /** The trained model's test accuracy on classes 0-2 (about 0.55: the tiny model is under-trained). */
    private static double baseRetainAccuracy;

    @BeforeAll
    static void trainModel() throws Exception {
        Engine.getInstance().setRandomSeed(7);
        manager = NDManager.newBaseManager();
        train = SyntheticImages.make(manager, 128, 1);
        test = SyntheticImages.make(manager, 64, 2);
        model = MoeResNet.newModel(MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4).optTopK(2).optNumClasses(4).build());
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(3).optBatchSize(32).optLearningRate(0.1f)
                .optAugmentation(TrainingRecipe.Flip.NONE, 0) // colour blobs: nothing to augment
                .optWarmupEpochs(0.5f).optMutualInformation(0.5f, 0.5f).build();
        MoeTraining.fit(model, train.view(allIndices(train.size()), 32, true), null, recipe, TrainingProgress.silent());
        assertThat(accuracy(model, test, 3)).isGreaterThan(0.9);
        baseRetainAccuracy = retainAccuracy(model, test, 3);
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    @Test
    void retrain_forgetsClass_keepsOthers_andLeavesEverythingOutsideScopeBitIdentical() throws Exception {
        Map<String, float[]> original = values(model);
        UnlearningResult result = Unlearner.forClass("yellow").from(model).using(train).method(Method.EXPERT_TARGETED)
                .optBatchSize(16).optEpochs(4).optLearningRate(5e-3f).optSeed(1).retrain();
        try (Model forgotten = result.model()) {
            assertThat(result.status()).isEqualTo(UnlearningResult.Status.DONE);
            assertThat(result.forgetClass()).isEqualTo(3);
            // the default scope is the one of the README's numbers, and the removal is a suppression
            assertThat(result.scope()).isEqualTo(Scope.EXPERTS_ROUTER_AND_HEAD);
            assertThat(result.removal()).isEqualTo(Removal.SUPPRESS);
            assertThat(result.toJson().get("removal").getAsString()).isEqualTo("SUPPRESS");
            assertThat(accuracy(forgotten, test, 3)).as("forgotten class accuracy").isLessThan(0.1);
            // the other classes keep (at least nearly) the accuracy they had
            assertThat(retainAccuracy(forgotten, test, 3)).as("retain accuracy").isGreaterThan(baseRetainAccuracy - 0.05);

            // the original is untouched
            assertThat(values(model)).allSatisfy((k, v) -> assertThat(v).containsExactly(original.get(k)));

            // everything outside the selected experts, their routers and the head is bit-identical
            var selection = result.selection().orElseThrow();
            Map<String, float[]> after = values(forgotten);
            Map<String, MoeBlock> layers = dev.lethe.moe.MoeBlocks.find(forgotten.getBlock());
            java.util.Set<String> allowed = new java.util.HashSet<>();
            for (Pair<String, Parameter> p : ((MoeResNet) forgotten.getBlock()).classifier().getParameters()) {
                allowed.add(p.getValue().getId());
            }
            for (var e : selection.experts().entrySet()) {
                MoeBlock layer = layers.get(e.getKey());
                for (int x : e.getValue()) {
                    for (Pair<String, Parameter> p : layer.expert(x).getParameters()) {
                        allowed.add(p.getValue().getId());
                    }
                }
                if (!e.getValue().isEmpty()) {
                    for (Pair<String, Parameter> p : layer.router().getParameters()) {
                        allowed.add(p.getValue().getId());
                    }
                }
            }
            int changed = 0;
            for (Pair<String, Parameter> p : forgotten.getBlock().getParameters()) {
                boolean same = java.util.Arrays.equals(after.get(p.getKey()), original.get(p.getKey()));
                boolean stat = p.getValue().getType() == Parameter.Type.RUNNING_MEAN || p.getValue().getType() == Parameter.Type.RUNNING_VAR;
                if (!allowed.contains(p.getValue().getId()) || stat) {
                    assertThat(same).as("%s is outside the scope", p.getKey()).isTrue();
                } else if (!same) {
                    changed++;
                }
            }
            assertThat(changed).isPositive();
            assertThat(result.audit().changedParameters()).hasSize(changed);
            assertThat(result.parametersRetrainedFraction()).isBetween(0.0, 0.9);
            assertThat(result.toJson().get("forgetClass").getAsJsonObject().get("name").getAsString()).isEqualTo("yellow");
        }
    }

    @Test
    void retrain_routerAnchor_keepsRetainRoutingCloserToTheOriginal() throws Exception {
        int[] retain = test.indicesExcept(3);
        double[] shift = new double[2];
        float[] weights = {0f, 3f};
        for (int i = 0; i < 2; i++) {
            UnlearningResult result = Unlearner.forClass(3).from(model).using(train).method(Method.EXPERT_TARGETED)
                    .optScope(Scope.EXPERTS_AND_ROUTER).optRouterAnchor(weights[i])
                    .optBatchSize(16).optEpochs(4).optLearningRate(5e-3f).retrain();
            try (Model forgotten = result.model()) {
                assertThat(accuracy(forgotten, test, 3)).as("forgotten class accuracy, anchor %s", weights[i]).isLessThan(0.15);
                assertThat(retainAccuracy(forgotten, test, 3)).isGreaterThan(baseRetainAccuracy - 0.05);
                assertThat(result.audit().configuration()).contains("\"routerAnchor\":" + weights[i]).contains("distill=1.00");
                shift[i] = routerShift(model, forgotten, test, retain);
            }
        }
        System.out.printf("router shift on retain images: no anchor %.5f, anchor %.5f%n", shift[0], shift[1]);
        assertThat(shift[0]).as("the routers move without the anchor").isGreaterThan(1e-4);
        assertThat(shift[1]).as("with the anchor, retain routing stays closer to the original").isLessThan(0.5 * shift[0]);
    }

    @Test
    void retrain_withRetainFocus_drawsTheExposedClasses_andStillForgets() throws Exception {
        List<String> lines = new java.util.ArrayList<>();
        UnlearningResult result = Unlearner.forClass(3).from(model).using(train).method(Method.EXPERT_TARGETED).optRetainFocus(1f)
                .optBatchSize(16).optEpochs(4).optLearningRate(5e-3f).optProgress(lines::add).retrain();
        try (Model forgotten = result.model()) {
            assertThat(accuracy(forgotten, test, 3)).isLessThan(0.15);
            assertThat(retainAccuracy(forgotten, test, 3)).isGreaterThan(baseRetainAccuracy - 0.05);
            assertThat(result.audit().configuration()).contains("\"retainFocus\":1.0");
        }
        String drawn = lines.stream().filter(l -> l.startsWith("retain classes drawn with probabilities")).findFirst().orElseThrow();
        double[] p = java.util.Arrays.stream(drawn.replaceAll(".*\\[|\\]", "").split(", ")).mapToDouble(Double::parseDouble).toArray();
        assertThat(p).hasSize(4);
        assertThat(p[3]).as("the forgotten class is never drawn as retain").isZero();
        assertThat(java.util.Arrays.stream(p).sum()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.01));
        assertThatThrownBy(() -> Unlearner.forClass(3).optRetainFocus(1.5f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retainFocus (1.5) must be in [0, 1]");
    }

    @Test
    void retrain_headOnly_changesOnlyTheHead() throws Exception {
        Map<String, float[]> original = values(model);
        UnlearningResult result = Unlearner.forClass(0).from(model).using(train).method(Method.EXPERT_TARGETED).optScope(Scope.HEAD_ONLY).optEpochs(1).retrain();
        try (Model forgotten = result.model()) {
            assertThat(result.selection()).isEmpty();
            for (String name : result.audit().changedParameters()) {
                assertThat(name).contains("head");
            }
            assertThat(result.audit().changedParameters()).isNotEmpty();
            assertThat(values(forgotten).get(firstName(forgotten))).containsExactly(original.get(firstName(forgotten)));
        }
    }

    @Test
    void retrain_twoRequestsInARow_bothStayForgotten_andRepeatIsReported() throws Exception {
        UnlearningResult first = Unlearner.forClass(3).from(model).using(train).method(Method.EXPERT_TARGETED).optBatchSize(16).optEpochs(4).optLearningRate(5e-3f).retrain();
        try (Model m1 = first.model()) {
            UnlearningResult second = Unlearner.forClass(2).from(m1).using(train).method(Method.EXPERT_TARGETED).optBatchSize(16).optEpochs(4).optLearningRate(5e-3f).retrain();
            try (Model m2 = second.model()) {
                assertThat(second.forgottenClasses()).containsExactly(3, 2);
                assertThat(accuracy(m2, test, 3)).isLessThan(0.15);
                assertThat(accuracy(m2, test, 2)).isLessThan(0.15);
                assertThat(accuracy(m2, test, 0)).isGreaterThan(0.8);
                UnlearningResult again = Unlearner.forClass(3).from(m2).using(train).retrain();
                try (Model unchanged = again.model()) {
                    assertThat(again.status()).isEqualTo(UnlearningResult.Status.ALREADY_FORGOTTEN);
                    assertThat(again.message()).contains("already forgotten");
                }
            }
        }
    }

    @Test
    void retrain_alreadyForgotten_resultModelIsTheCallersToClose_withoutClosingTheirs() throws Exception {
        UnlearningResult first = Unlearner.forClass(3).from(model).using(train).method(Method.EXPERT_TARGETED).optScope(Scope.HEAD_ONLY).optEpochs(1).retrain();
        try (Model m1 = first.model()) {
            Map<String, float[]> before = values(m1);
            double accuracyBefore = retainAccuracy(m1, test, 3);
            UnlearningResult again = Unlearner.forClass(3).from(m1).using(train).retrain();
            assertThat(again.status()).isEqualTo(UnlearningResult.Status.ALREADY_FORGOTTEN);
            Model returned = again.model();
            assertThat(returned).isNotSameAs(m1);
            assertThat(values(returned)).allSatisfy((k, v) -> assertThat(v).containsExactly(before.get(k)));
            assertThat(Unlearner.forgottenClasses(returned)).containsExactly(3);
            returned.close();
            // the caller's model still works, unchanged, after the result's model is closed
            assertThat(retainAccuracy(m1, test, 3)).isEqualTo(accuracyBefore);
            assertThat(values(m1)).allSatisfy((k, v) -> assertThat(v).containsExactly(before.get(k)));

            // in place, the result is explicitly the caller's own model
            UnlearningResult inPlace = Unlearner.forClass(3).from(m1).using(train).optInPlace(true).retrain();
            assertThat(inPlace.model()).isSameAs(m1);
        }
    }

    @Test
    void retrain_methodRetrain_usesTheRecipeTheModelWasTrainedWith_andSaysSo() throws Exception {
        TrainingRecipe recorded = TrainingRecipe.of(model).orElseThrow();
        UnlearningResult result = Unlearner.forClass(3).from(model).using(train).method(Method.RETRAIN).optSeed(5).retrain();
        try (Model retrained = result.model()) {
            assertThat(result.removal()).isEqualTo(Removal.RETRAIN);
            var oracle = result.oracle().orElseThrow();
            assertThat(oracle.source()).isEqualTo(dev.lethe.unlearn.method.RetrainOracle.Source.MODEL);
            assertThat(oracle.recipe()).isEqualTo(recorded);
            assertThat(oracle.seed()).isEqualTo(5);
            // the model's budget: 3 epochs of ceil(384 / 32) steps (the old default was 10 x ceil(384 / 128) = 30)
            int retainImages = train.indicesExcept(3).length;
            assertThat(result.steps()).isEqualTo(3 * ((retainImages + 31) / 32)).isEqualTo(36);
            assertThat(TrainingRecipe.of(retrained)).contains(recorded);
            assertThat(result.toTable()).contains("Retrain oracle: recipe forget-ready from the model, 3 epochs, batch 32, seed 5");
            JsonObject audited = com.google.gson.JsonParser.parseString(result.audit().configuration()).getAsJsonObject();
            assertThat(audited.getAsJsonObject("oracle").get("epochs").getAsInt()).isEqualTo(3);
            assertThat(audited.getAsJsonObject("oracle").get("source").getAsString()).isEqualTo("MODEL");
            assertThat(accuracy(retrained, test, 3)).as("never saw the class").isLessThan(0.05);
        }
        // an explicit recipe wins, and says where it came from
        TrainingRecipe explicit = recorded.toBuilder().optEpochs(1).build();
        UnlearningResult given = Unlearner.forClass(3).from(model).using(train).method(Method.RETRAIN).optRetrainRecipe(explicit).retrain();
        try (Model retrained = given.model()) {
            assertThat(given.oracle().orElseThrow().source()).isEqualTo(dev.lethe.unlearn.method.RetrainOracle.Source.SETTINGS);
            assertThat(given.steps()).isEqualTo(12);
        }
        // a model that records no recipe, and none given: a clear error, not a silent default
        try (Model untrained = MoeResNet.newModel(((MoeResNet) model.getBlock()).config())) {
            assertThatThrownBy(() -> Unlearner.forClass(3).from(untrained).using(train).method(Method.RETRAIN).retrain())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("the model records no recipe")
                    .hasMessageContaining("optRetrainRecipe");
        }
    }

    @Test
    void audit_recordsTheDataAndVerifiesModels_andReadsBackFromJson() throws Exception {
        LabeledData named = train.withIdentity("synthetic colours, seed 1, 128 per class");
        UnlearningResult result = Unlearner.forClass(2).from(model).using(named).method(Method.EXPERT_TARGETED).optScope(Scope.HEAD_ONLY).optEpochs(1).retrain();
        try (Model forgotten = result.model()) {
            AuditRecord audit = result.audit();
            assertThat(audit.removal()).contains(Removal.SUPPRESS);
            var data = audit.data().orElseThrow();
            assertThat(data.items()).isEqualTo(512);
            assertThat(data.labelsSha256()).isEqualTo(train.fingerprint()).hasSize(64);
            assertThat(data.source()).contains("synthetic colours, seed 1, 128 per class");
            assertThat(data.forgetClass()).isEqualTo(2);
            assertThat(data.forgetItems()).isEqualTo(128);
            assertThat(data.retainItems()).isEqualTo(384);
            assertThat(data.forgetIndicesSha256()).isEqualTo(LabeledData.sha256(train.indicesOf(2)));
            assertThat(data.matches(train)).isTrue();
            assertThat(data.matches(test)).isFalse();

            // the model it made verifies; the original verifies against "before" and differs exactly where the run changed it
            assertThat(audit.verify(forgotten).verified()).isTrue();
            assertThat(audit.verifyOriginal(model).verified()).isTrue();
            AuditVerification original = audit.verify(model);
            assertThat(original.verified()).isFalse();
            assertThat(original.mismatched().keySet()).containsExactlyElementsOf(audit.changedParameters());
            assertThat(original.toTable()).startsWith("NOT VERIFIED");

            // tampering with one tensor is caught by name
            String name = firstName(forgotten);
            Parameter p = forgotten.getBlock().getParameters().get(name);
            float[] v = p.getArray().toFloatArray();
            float[] untampered = v.clone();
            v[0] += 1e-3f;
            p.getArray().set(v);
            AuditVerification tampered = audit.verify(forgotten);
            assertThat(tampered.mismatched().keySet()).containsExactly(name);
            p.getArray().set(untampered);
            assertThat(audit.verify(forgotten).verified()).isTrue();

            // so is a masked expert, which changes the outputs without changing a parameter
            Map.Entry<String, MoeBlock> layer = dev.lethe.moe.MoeBlocks.find(forgotten.getBlock()).entrySet().iterator().next();
            layer.getValue().maskExpert(1, true);
            AuditVerification masked = audit.verify(forgotten);
            assertThat(masked.verified()).isFalse();
            assertThat(masked.unexpected()).containsExactly(layer.getKey() + AuditRecord.MASK_SUFFIX);
            layer.getValue().maskExpert(1, false);
            p.getArray().set(v);

            // JSON round trip keeps everything, and the read-back record verifies the same way
            AuditRecord read = AuditRecord.fromJson(audit.toJson().toString());
            assertThat(read).isEqualTo(audit);
            assertThat(read.data()).contains(data);
            assertThat(read.verifyOriginal(model).verified()).isTrue();
            assertThat(read.verify(forgotten).mismatched().keySet()).containsExactly(name);
            assertThatThrownBy(() -> AuditRecord.fromJson("{\"seed\": 1}")).hasMessageContaining("no field 'parameterHashes'");
        }
    }

    @Test
    void retrain_divergingLoss_abortsAndKeepsOriginalIntact() throws Exception {
        Map<String, float[]> original = values(model);
        assertThatThrownBy(() -> Unlearner.forClass(1).from(model).using(train).method(Method.GRADIENT_ASCENT)
                        .optLearningRate(1e30f).optEpochs(20).optInPlace(true).retrain())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("unlearning diverged")
                .hasMessageContaining("original model is unchanged");
        assertThat(values(model)).allSatisfy((k, v) -> assertThat(v).containsExactly(original.get(k)));
    }

    @Test
    void retrain_inPlaceFailure_putsBackFrozenParametersMasksAndProperties() throws Exception {
        try (Model copy = Models.copy(model)) {
            MoeBlock first = dev.lethe.moe.MoeBlocks.find(copy.getBlock()).values().iterator().next();
            first.freezeExpert(0, true);
            first.maskExpert(3, true);
            copy.setProperty("owner", "team-a");
            Map<String, Boolean> trainable = trainableFlags(copy);
            Map<String, String> properties = new HashMap<>(copy.getProperties());
            Map<String, float[]> original = values(copy);

            assertThatThrownBy(() -> Unlearner.forClass(1).from(copy).using(train).method(Method.GRADIENT_ASCENT)
                    .optLearningRate(1e30f).optEpochs(20).optInPlace(true).retrain())
                    .hasMessageContaining("unlearning diverged");

            assertThat(values(copy)).allSatisfy((k, v) -> assertThat(v).as(k).containsExactly(original.get(k)));
            // the user's frozen expert stays frozen (a rollback used to make every parameter trainable)
            assertThat(first.isExpertFrozen(0)).isTrue();
            assertThat(trainableFlags(copy)).isEqualTo(trainable);
            assertThat(first.isExpertMasked(3)).isTrue();
            assertThat(copy.getProperties()).isEqualTo(properties);
        }
    }

    private static Map<String, Boolean> trainableFlags(Model m) {
        Map<String, Boolean> out = new HashMap<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            out.put(p.getKey(), p.getValue().requiresGradient());
        }
        return out;
    }

    @Test
    void invalidRequests_clearErrors() {
        assertThatThrownBy(() -> Unlearner.forClass(9).from(model).using(train))
                .hasMessage("class id (9) must be < the number of classes (4)");
        assertThatThrownBy(() -> Unlearner.forClass("purple").from(model).using(train))
                .hasMessageContaining("unknown class name 'purple'");
        LabeledData noYellow = train.subset(train.indicesExcept(3));
        assertThatThrownBy(() -> Unlearner.forClass(3).from(model).using(noYellow))
                .hasMessageContaining("no image of class 3 (yellow)");
        assertThatThrownBy(() -> Unlearner.forClass(1).retrain())
                .hasMessage("call from(model) before retrain()");
        try (Model plain = Model.newInstance("plain")) {
            plain.setBlock(MoeResNet.of(MoeResNet.Config.builder().optWidths(4, 8, 8).optMoeStages().optNumClasses(4).build()));
            plain.getBlock().initialize(plain.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new ai.djl.ndarray.types.Shape(1, 3, 32, 32));
            assertThatThrownBy(() -> Unlearner.forClass(1).from(plain).using(train).retrain())
                    .hasMessageContaining("the model has no MoeBlock");
        }
        assertThatThrownBy(() -> ExpertSelector.coverage(0)).hasMessage("fraction (0.0) must be in (0, 1]");
        assertThatThrownBy(() -> Unlearner.forClass(1).optEpochs(0)).hasMessage("epochs (0) must be >= 1");
    }

    static double accuracy(Model m, LabeledData data, int classId) throws Exception {
        int[] idx = data.indicesOf(classId);
        return correct(m, data, idx) / (double) idx.length;
    }

    static double retainAccuracy(Model m, LabeledData data, int forgotten) throws Exception {
        int[] idx = data.indicesExcept(forgotten);
        return correct(m, data, idx) / (double) idx.length;
    }

    private static int correct(Model m, LabeledData data, int[] idx) throws Exception {
        try (NDManager scope = NDManager.newBaseManager(); Batch b = data.batch(scope, idx)) {
            long[] pred = m.getBlock().forward(new ParameterStore(scope, false), b.getData(), false).head().argMax(1).toLongArray();
            int[] labels = MoeTraining.toIntLabels(b.getLabels().head());
            int ok = 0;
            for (int i = 0; i < pred.length; i++) {
                ok += pred[i] == labels[i] ? 1 : 0;
            }
            return ok;
        }
    }

    static Map<String, float[]> values(Model m) {
        Map<String, float[]> out = new HashMap<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    private static String firstName(Model m) {
        return m.getBlock().getParameters().keys().get(0);
    }

    static int[] allIndices(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    /** mean over MoE layers and images of sum_e (p_e - p0_e)^2, the router anchor's quantity */
    static double routerShift(Model original, Model edited, LabeledData data, int[] idx) throws Exception {
        Map<String, float[]> p0 = routing(original, data, idx);
        Map<String, float[]> p1 = routing(edited, data, idx);
        double sum = 0;
        for (Map.Entry<String, float[]> e : p0.entrySet()) {
            float[] a = e.getValue();
            float[] b = p1.get(e.getKey());
            double d = 0;
            for (int i = 0; i < a.length; i++) {
                d += (a[i] - b[i]) * (a[i] - b[i]);
            }
            sum += d / idx.length;
        }
        return sum / p0.size();
    }

    private static Map<String, float[]> routing(Model m, LabeledData data, int[] idx) throws Exception {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        try (NDManager scope = NDManager.newBaseManager(); Batch b = data.batch(scope, idx)) {
            m.getBlock().forward(new ParameterStore(scope, false), b.getData(), false);
            for (Map.Entry<String, MoeBlock> e : dev.lethe.moe.MoeBlocks.find(m.getBlock()).entrySet()) {
                out.put(e.getKey(), e.getValue().lastRouting().orElseThrow().probabilities().toFloatArray());
            }
        }
        return out;
    }
}

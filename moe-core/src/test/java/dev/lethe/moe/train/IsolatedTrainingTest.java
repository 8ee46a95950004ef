package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.SharedExpertMoe;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.moe.routing.RoutingStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IsolatedTrainingTest {

    private static MoeResNet.Config isolatedConfig(MoeResNet.Style style) {
        return MoeResNet.Config.builder().optStyle(style).optWidths(4, 8, 8).optNumExperts(3).optTopK(1)
                .optSharedExpert(true).optNumClasses(3).build();
    }

    private static TrainingRecipe smallIsolated() {
        return TrainingRecipe.isolated().toBuilder().optEpochs(3).optBatchSize(32).optLearningRate(0.1f)
                .optWarmupEpochs(0.5f).build();
    }

    @Test
    void fit_isolatedRecipe_eachExpertIsTouchedOnlyByItsClass_andRoutingCarriesTheClass() throws Exception {
        Engine.getInstance().setRandomSeed(3);
        try (Model model = MoeResNet.newModel(isolatedConfig(MoeResNet.Style.RESNET)); NDManager m = NDManager.newBaseManager()) {
            TrainingHistory h = MoeTraining.fit(model, MoeTrainingTest.colours(m, 384, 1, 32), MoeTrainingTest.colours(m, 120, 2, 60),
                    smallIsolated(), TrainingProgress.silent());
            assertThat(TrainingRecipe.of(model).orElseThrow().name()).isEqualTo("isolated");
            assertThat(h.last().trainLosses()).containsKey("routerSupervision").doesNotContainKey("mutualInformation");
            assertThat(h.last().validationAccuracy()).isGreaterThan(0.9);
            for (RoutingStats stats : h.last().validationRouting().values()) {
                // inference routing (the router alone) follows the classes
                assertThat(stats.mutualInformationShare()).isGreaterThan(0.8);
                assertThat(stats.deadExperts(RoutingStats.DEFAULT_DEAD_THRESHOLD)).isEmpty();
            }

            ProvenanceLedger ledger = ProvenanceLedger.of(model).orElseThrow();
            assertThat(ledger.isComplete()).isTrue();
            assertThat(ledger.phases()).containsExactly("isolated");
            Map<String, String> names = names(model.getBlock());
            List<MoeBlock> layers = ((MoeResNet) model.getBlock()).moeLayers();
            assertThat(layers).hasSize(2);
            for (MoeBlock layer : layers) {
                for (int e = 0; e < 3; e++) {
                    for (String tensor : tensors(layer.expert(e), names)) {
                        // only its own class ever reached expert e: gradient and BatchNorm statistics
                        assertThat(ledger.classesOf(tensor)).as(tensor).containsExactly(e);
                        // but it was trained on a trunk every class trained: its value depends on all
                        assertThat(ledger.dependenciesOf(tensor)).as(tensor).containsExactly(0, 1, 2);
                    }
                }
                for (String tensor : tensors(layer.router(), names)) {
                    assertThat(ledger.classesOf(tensor)).as(tensor).containsExactly(0, 1, 2);
                }
            }
            for (Block shared : sharedExperts(model.getBlock())) {
                for (String tensor : tensors(shared, names)) {
                    assertThat(ledger.classesOf(tensor)).as(tensor).containsExactly(0, 1, 2);
                }
            }
            for (String tensor : tensors(((MoeResNet) model.getBlock()).classifier(), names)) {
                assertThat(ledger.classesOf(tensor)).containsExactly(0, 1, 2);
            }
            String expert1 = tensors(layers.get(0).expert(1), names).get(0);
            assertThat(ledger.unitOf(expert1)).endsWith("expert1");
            assertThat(ledger.touchedBy(1)).contains(expert1);
            assertThat(ledger.touchedBy(0)).doesNotContain(expert1);
            // a class's data reaches the trunk, the shared experts, the routers, the head and its own experts
            double share = ledger.sharesByClass().get(0);
            assertThat(share).isBetween(0.2, 0.9);
            assertThat(ledger.share(ledger.tensors())).isEqualTo(1.0);
        }
    }

    @Test
    void fit_plainRecipe_expertsAreTouchedBySeveralClasses() throws Exception {
        // the control: without class routing, nothing keeps a class out of another's expert
        Engine.getInstance().setRandomSeed(3);
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optNumClasses(3).build();
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(1).optBatchSize(32).optLearningRate(0.1f).optWarmupEpochs(0.5f).build();
        try (Model model = MoeResNet.newModel(config); NDManager m = NDManager.newBaseManager()) {
            MoeTraining.fit(model, MoeTrainingTest.colours(m, 128, 1, 32), null, recipe, TrainingProgress.silent());
            ProvenanceLedger ledger = ProvenanceLedger.of(model).orElseThrow();
            Map<String, String> names = names(model.getBlock());
            int mixed = 0;
            for (MoeBlock layer : ((MoeResNet) model.getBlock()).moeLayers()) {
                for (int e = 0; e < 3; e++) {
                    mixed += ledger.classesOf(tensors(layer.expert(e), names).get(0)).size() > 1 ? 1 : 0;
                }
            }
            assertThat(mixed).isPositive();
        }
    }

    @Test
    void fit_isolatedRecipe_onTopTwoModel_refusesNamingTheLayer() throws Exception {
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optNumClasses(3).build();
        try (Model model = MoeResNet.newModel(config); NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> MoeTraining.fit(model, MoeTrainingTest.colours(m, 64, 1, 32), null, smallIsolated(), TrainingProgress.silent()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("routes each image to one expert, but MoE layer")
                    .hasMessageContaining("has topK 2");
        }
    }

    @Test
    void ledger_savedAndLoadedWithTheModel() throws Exception {
        Engine.getInstance().setRandomSeed(4);
        TrainingRecipe recipe = smallIsolated().toBuilder().optEpochs(1).build();
        try (Model model = MoeResNet.newModel(isolatedConfig(MoeResNet.Style.FAST)); NDManager m = NDManager.newBaseManager()) {
            MoeTraining.fit(model, MoeTrainingTest.colours(m, 96, 1, 32), null, recipe, TrainingProgress.silent());
            ProvenanceLedger ledger = ProvenanceLedger.of(model).orElseThrow();
            Path dir = tmp.resolve("model");
            MoeResNet.save(model, dir, Map.of());
            try (Model loaded = MoeResNet.load(dir)) {
                ProvenanceLedger back = ProvenanceLedger.of(loaded).orElseThrow();
                assertThat(back).isEqualTo(ledger);
                assertThat(back.toJson()).isEqualTo(ledger.toJson());
                back.checkMatches(loaded.getBlock());
                // the whitening filters were computed from the images of every class
                String filters = back.tensors().stream().filter(t -> t.endsWith("fixedWeight")).findFirst().orElseThrow();
                assertThat(back.classesOf(filters)).containsExactly(0, 1, 2);
            }
            // a second run continues the same ledger
            MoeTraining.fit(model, MoeTrainingTest.colours(m, 64, 3, 32), null, recipe, TrainingProgress.silent());
            assertThat(ProvenanceLedger.of(model).orElseThrow().phases()).containsExactly("isolated", "isolated");
        }
    }

    @TempDir
    Path tmp;

    @Test
    void fit_frozenParts_stayBitIdentical_withWeightAverage() throws Exception {
        Engine.getInstance().setRandomSeed(5);
        TrainingRecipe recipe = TrainingRecipe.isolated(TrainingRecipe.fast()).toBuilder().optEpochs(1).optWarmupEpochs(0.3f).optBatchSize(32).build();
        assertThat(recipe.name()).isEqualTo("fast-isolated");
        try (Model model = MoeResNet.newModel(isolatedConfig(MoeResNet.Style.FAST)); NDManager m = NDManager.newBaseManager()) {
            MoeResNet net = (MoeResNet) model.getBlock();
            // fit the whitening first, so that only training could change the frozen parts
            MoeTraining.fit(model, MoeTrainingTest.colours(m, 64, 1, 32), null, recipe, TrainingProgress.silent());
            Block stage1 = net.features().getChildren().get(2).getValue();
            List<Block> frozen = new ArrayList<>(sharedExperts(net));
            frozen.add(stage1);
            frozen.add(net.moeLayers().get(0).expert(2));
            for (Block b : frozen) {
                MoeBlocks.setTrainable(b, false);
            }
            Map<String, float[]> before = values(frozen);
            ProvenanceLedger first = ProvenanceLedger.of(model).orElseThrow();
            MoeTraining.fit(model, MoeTrainingTest.colours(m, 96, 2, 32), null, recipe, TrainingProgress.silent());
            Map<String, float[]> after = values(frozen);
            assertThat(after).hasSameSizeAs(before);
            for (Map.Entry<String, float[]> e : before.entrySet()) {
                assertThat(after.get(e.getKey())).as(e.getKey()).containsExactly(e.getValue());
            }
            // and the ledger says the second run did not reach them
            ProvenanceLedger ledger = ProvenanceLedger.of(model).orElseThrow();
            Map<String, String> names = names(net);
            int reached = 0;
            for (Block b : frozen) {
                for (String tensor : tensors(b, names)) {
                    assertThat(ledger.classesOf(tensor)).as(tensor).isEqualTo(first.classesOf(tensor));
                    reached += first.classesOf(tensor).isEmpty() ? 0 : 1;
                }
            }
            assertThat(reached).isPositive();
            assertThat(ledger.classesOf(tensors(net.moeLayers().get(0).expert(1), names).get(0))).containsExactly(1);
            MoeBlocks.setTrainable(net, true);
        }
    }

    @Test
    void recipe_isolated_composesWithFastAndKeepsOldJson() {
        TrainingRecipe fastIsolated = TrainingRecipe.isolated(TrainingRecipe.fast());
        assertThat(fastIsolated.nesterov()).isTrue();
        assertThat(fastIsolated.classRouting()).isTrue();
        assertThat(fastIsolated.teacherForcing()).isEqualTo(0.5f);
        assertThat(fastIsolated.routerSupervision()).isEqualTo(1f);
        assertThat(fastIsolated.balance()).isZero();
        assertThat(TrainingRecipe.fromJson(fastIsolated.toJson())).isEqualTo(fastIsolated);
        assertThat(TrainingRecipe.plain().toJson()).doesNotContain("teacherForcing");
        assertThat(TrainingRecipe.isolated().expertAssignment(10, 10).toArray()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(TrainingRecipe.isolated().expertAssignment(4, 2).toArray()).containsExactly(0, 0, 1, 1);
        assertThatThrownBy(() -> TrainingRecipe.builder().optClassRouting(2f, 1f).build())
                .hasMessage("teacherForcing (2.0) must be in [0, 1]");
        assertThatThrownBy(() -> TrainingRecipe.builder().optExpertAssignment(0, 1).build())
                .hasMessage("an expert assignment needs class routing (optClassRouting)");
    }

    static Map<String, String> names(Block root) {
        Map<String, String> out = new HashMap<>();
        for (Pair<String, Parameter> p : root.getParameters()) {
            out.put(p.getValue().getId(), p.getKey());
        }
        return out;
    }

    static List<String> tensors(Block part, Map<String, String> names) {
        List<String> out = new ArrayList<>();
        for (Pair<String, Parameter> p : part.getParameters()) {
            out.add(names.get(p.getValue().getId()));
        }
        return out;
    }

    static List<Block> sharedExperts(Block root) {
        List<Block> out = new ArrayList<>();
        collect(root, out);
        return out;
    }

    private static void collect(Block block, List<Block> out) {
        if (block instanceof SharedExpertMoe) {
            out.add(((SharedExpertMoe) block).shared());
        }
        for (Pair<String, Block> child : block.getChildren()) {
            collect(child.getValue(), out);
        }
    }

    private static Map<String, float[]> values(List<Block> blocks) {
        Map<String, float[]> out = new HashMap<>();
        for (Block b : blocks) {
            for (Pair<String, Parameter> p : b.getParameters()) {
                out.put(p.getValue().getId(), p.getValue().getArray().toFloatArray());
            }
        }
        return out;
    }

    static Set<Integer> all(int n) {
        Set<Integer> out = new java.util.TreeSet<>();
        for (int i = 0; i < n; i++) {
            out.add(i);
        }
        return out;
    }
}

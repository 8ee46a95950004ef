package dev.lethe.unlearn.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.SyntheticImages;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.loss.UnlearningBatch;
import dev.lethe.unlearn.loss.UnlearningLoss;
import dev.lethe.unlearn.profile.RetainSampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ForgettingLoopTest {

    private NDManager manager;
    private LabeledData data;
    private Model model;
    private MoeResNet net;
    private int[] forget;
    private RetainSampler retain;

    @BeforeEach
    void setUp() {
        Engine.getInstance().setRandomSeed(3);
        manager = NDManager.newBaseManager();
        data = SyntheticImages.make(manager, 16, 4);
        model = MoeResNet.newModel(MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4).optTopK(2).optNumClasses(4).build());
        net = (MoeResNet) model.getBlock();
        forget = data.indicesOf(3);
        retain = RetainSampler.uniform(data.indicesExcept(3));
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    private Phase.Builder headPhase(ParameterSelection trainable, int epochs) {
        return Phase.builder()
                .setTrainable(trainable)
                .setLoss(UnlearningLoss.of(ForgettingLoss.correctPenalty().forClass(3)), false)
                .setLearningRate(1e-2f)
                .optTrainingMode(false)
                .setPlan(BatchPlan.overForgetImages(forget, retain, epochs, 8, 1f, BatchComposer.FORGET_AND_RETAIN));
    }

    @Test
    void run_elementMask_keepsMaskedElementsBitIdentical_andTrainsTheRest() throws Exception {
        // the hook a saliency-masked method (SalUn) needs: train only some elements of a tensor
        ParameterSelection head = ParameterSelection.of(net, "head", List.of(net.classifier()));
        String weight = head.names().stream().filter(n -> n.endsWith("weight")).findFirst().orElseThrow();
        long size = net.classifier().getParameters().valueAt(0).getArray().getShape().size();
        float[] mask = new float[(int) size];
        for (int i = 0; i < mask.length; i += 2) {
            mask[i] = 1f;
        }
        ParameterSelection masked = head.withMask(weight, mask);
        assertThat(masked.count()).isEqualTo(head.count() - size / 2);

        Map<String, float[]> before = values(model);
        ForgettingLoop.Result r = ForgettingLoop.builder(model, data).build()
                .run(List.of(headPhase(masked, 2).build()), new SplittableRandom(1));
        Map<String, float[]> after = values(model);

        assertThat(r.steps()).isEqualTo(4); // 2 epochs of 16 forget images in steps of 8
        assertThat(r.images()).isEqualTo(4 * 16);
        assertThat(r.trainableParameters()).isEqualTo(masked.count());
        float[] w0 = before.get(weight);
        float[] w1 = after.get(weight);
        int moved = 0;
        for (int i = 0; i < w0.length; i++) {
            if (mask[i] == 0f) {
                assertThat(Float.floatToIntBits(w1[i])).as("masked element %d", i).isEqualTo(Float.floatToIntBits(w0[i]));
            } else {
                moved += w1[i] != w0[i] ? 1 : 0;
            }
        }
        assertThat(moved).as("unmasked elements that moved").isGreaterThan(mask.length / 4);
        for (String name : before.keySet()) {
            if (!head.names().contains(name)) {
                assertThat(after.get(name)).as("%s is outside the selection", name).containsExactly(before.get(name));
            }
        }
        // every parameter is trainable again afterwards
        for (Pair<String, Parameter> p : net.getParameters()) {
            Parameter.Type t = p.getValue().getType();
            if (t != Parameter.Type.RUNNING_MEAN && t != Parameter.Type.RUNNING_VAR) {
                assertThat(p.getValue().requiresGradient()).as(p.getKey()).isTrue();
            }
        }
    }

    @Test
    void run_twoPhases_runInOrder_andListenersSeeNamedBatches() throws Exception {
        List<String> events = new ArrayList<>();
        List<String> labelNames = new ArrayList<>();
        List<String> predictionNames = new ArrayList<>();
        TrainingListener listener = new TrainingListenerAdapter() {
            @Override
            public void onTrainingBegin(Trainer trainer) {
                events.add("begin");
            }

            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                events.add("batch");
                if (labelNames.isEmpty()) {
                    batchData.getLabels().values().iterator().next().forEach(a -> labelNames.add(a.getName()));
                    batchData.getPredictions().values().iterator().next().forEach(a -> predictionNames.add(a.getName()));
                }
            }

            @Override
            public void onEpoch(Trainer trainer) {
                events.add("epoch");
            }

            @Override
            public void onTrainingEnd(Trainer trainer) {
                events.add("end");
            }
        };
        ParameterSelection head = ParameterSelection.of(net, "head", List.of(net.classifier()));
        Phase first = headPhase(head, 1).optName("first").build();
        Phase second = Phase.builder()
                .optName("second")
                .setTrainable(ParameterSelection.all(net, "all"))
                .setLoss(UnlearningLoss.of(ForgettingLoss.retainOnly().forClass(3)), false)
                .setLearningRate(1e-3f)
                .setPlan(BatchPlan.overForgetImages(forget, retain, 2, 16, 1f, BatchComposer.RETAIN_ONLY))
                .build();
        List<String> progress = new ArrayList<>();
        ForgettingLoop.Result r = ForgettingLoop.builder(model, data).optListeners(List.of(listener)).optProgress(progress::add).build()
                .run(List.of(first, second), new SplittableRandom(1));

        assertThat(r.steps()).isEqualTo(2 + 2);
        assertThat(r.images()).isEqualTo(2 * 16 + 2 * 32);
        assertThat(r.trainableParameters()).isEqualTo(ParameterSelection.all(net, "all").count());
        assertThat(events).containsExactly(
                "begin", "batch", "batch", "epoch", "end",
                "begin", "batch", "epoch", "batch", "epoch", "end");
        assertThat(labelNames).containsExactly(UnlearningBatch.LABELS, UnlearningBatch.IS_FORGET);
        assertThat(predictionNames).startsWith(UnlearningBatch.LOGITS, UnlearningBatch.EMBEDDINGS)
                .hasSize(2 + net.moeLayers().size())
                .allSatisfy(n -> assertThat(n).matches("logits|embeddings|routing:.+"));
        assertThat(progress).last().asString().startsWith("step 4/4");
    }

    /** Trains the last MoE layer and the head with distillation and the router anchor, in inference mode. */
    private List<Phase> lastStagePhases(MoeResNet target) {
        ParameterSelection lastStage = ParameterSelection.of(
                target, "last stage and head", List.of(target.moeLayers().get(target.moeLayers().size() - 1), target.classifier()));
        return List.of(Phase.builder()
                .setTrainable(lastStage)
                .setLoss(UnlearningLoss.of(ForgettingLoss.retainOnly().withDistillation(1f, 2f).forClass(3)).withRouterAnchor(0.5f), true)
                .setLearningRate(1e-2f)
                .optTrainingMode(false)
                .setPlan(BatchPlan.overForgetImages(forget, retain, 2, 8, 1f, BatchComposer.RETAIN_ONLY))
                .build());
    }

    private Map<String, float[]> runDistilled(Model teacher, boolean share) throws Exception {
        try (Model working = Models.copy(model)) {
            ForgettingLoop.builder(working, data).optTeacher(teacher).shareFrozenPrefix(share).build()
                    .run(lastStagePhases((MoeResNet) working.getBlock()), new SplittableRandom(5));
            return values(working);
        }
    }

    @Test
    void run_distillationInInferenceMode_sharedFrozenPrefix_isBitIdenticalToRunningBothModelsWhole() throws Exception {
        assertSharedPrefixIsBitIdentical();
    }

    @Test
    void run_sharedFrozenPrefix_fastLayout_withMoeInTheLastStageOnly_isBitIdentical() throws Exception {
        // the layout of the default recipe: the shared part ends in pooled stages, whose output is
        // not an image (the view must not re-initialise the network from its shape)
        model.close();
        model = MoeResNet.newModel(MoeResNet.Config.builder().optStyle(MoeResNet.Style.FAST).optWidths(4, 8, 8)
                .optNumExperts(4).optTopK(2).optMoeStages(2, 3).optNumClasses(4).build());
        net = (MoeResNet) model.getBlock();
        assertSharedPrefixIsBitIdentical();
    }

    private void assertSharedPrefixIsBitIdentical() throws Exception {
        try (Model teacher = Models.copy(model)) {
            MoeResNet w = (MoeResNet) model.getBlock();
            lastStagePhases(w).get(0).trainable().apply(w);
            FrozenPrefix prefix = FrozenPrefix.of(w, (MoeResNet) teacher.getBlock());
            MoeBlocks.setTrainable(w, true);
            // the stem, stage 1 and stage 2 (an MoE layer whose routing the step reads from the working model)
            assertThat(prefix.length()).isGreaterThan(0);
            assertThat(net.moeLayers()).anySatisfy(l -> assertThat(prefix.contains(l)).isTrue());

            Map<String, float[]> whole = runDistilled(teacher, false);
            Map<String, float[]> shared = runDistilled(teacher, true);
            assertSameValues(shared, whole);
            int moved = 0;
            Map<String, float[]> start = values(model);
            for (String name : whole.keySet()) {
                moved += Arrays.equals(whole.get(name), start.get(name)) ? 0 : 1;
            }
            assertThat(moved).as("tensors the run changed").isGreaterThan(0);
        }
    }

    @Test
    void frozenPrefix_stopsAtTheFirstPartThatDiffersFromTheOriginal() throws Exception {
        try (Model teacher = Models.copy(model)) {
            MoeResNet t = (MoeResNet) teacher.getBlock();
            lastStagePhases(net).get(0).trainable().apply(net);
            int full = FrozenPrefix.of(net, t).length();
            // an original that differs from the working model in its first part: nothing is shared
            Parameter first = t.features().getChildren().valueAt(0).getParameters().valueAt(0);
            first.getArray().addi(1f);
            assertThat(FrozenPrefix.of(net, t).length()).isZero();
            MoeBlocks.setTrainable(net, true);
            assertThat(full).isGreaterThan(0);
            // and the run then reads the original's own forward pass: still the result of running both whole
            assertSameValues(runDistilled(teacher, true), runDistilled(teacher, false));
        }
    }

    @Test
    void run_misuse_clearErrors() {
        ParameterSelection nothing = ParameterSelection.of(net, "scope EXPERTS", List.of());
        assertThatThrownBy(() -> ForgettingLoop.builder(model, data).build().run(List.of(headPhase(nothing, 1).build()), new SplittableRandom(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("nothing is trainable in scope EXPERTS");
        Phase needsTeacher = headPhase(ParameterSelection.all(net, "all"), 1)
                .setLoss(UnlearningLoss.of(ForgettingLoss.contrastive().withDistillation(1f, 2f).forClass(3)), true)
                .optName("distilled")
                .build();
        assertThatThrownBy(() -> ForgettingLoop.builder(model, data).build().run(List.of(needsTeacher), new SplittableRandom(1)))
                .hasMessage("phase 'distilled' needs the original model's outputs, but no teacher was given");
        Phase diverging = Phase.builder()
                .setTrainable(ParameterSelection.all(net, "all"))
                .setLoss(UnlearningLoss.of(ForgettingLoss.gradientAscent().forClass(3)), false)
                .setLearningRate(1e30f)
                .setPlan(BatchPlan.overForgetImages(forget, retain, 20, 8, 0f, BatchComposer.FORGET_ONLY))
                .build();
        assertThatThrownBy(() -> ForgettingLoop.builder(model, data).build().run(List.of(diverging), new SplittableRandom(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("unlearning diverged")
                .hasMessageContaining("of 40")
                .hasMessageContaining("lower the learning rate (1.0E30)");
        assertThatThrownBy(() -> Phase.builder().setTrainable(nothing).build()).hasMessage("the loss is not set (setLoss)");
        assertThatThrownBy(() -> nothing.withMask("nope", new float[1])).hasMessageContaining("parameter 'nope' is not selected");
    }

    private static void assertSameValues(Map<String, float[]> actual, Map<String, float[]> expected) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (String name : expected.keySet()) {
            assertThat(actual.get(name)).as(name).containsExactly(expected.get(name));
        }
    }

    private static Map<String, float[]> values(Model m) {
        Map<String, float[]> out = new HashMap<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }
}

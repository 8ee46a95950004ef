package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FusedSgdTest {

    /** The gradients of three steps, fed to every optimizer below. */
    private static final float[][] GRADIENTS = {{0.5f, 1f}, {-1f, 2f}, {0.25f, 0f}};

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void update_heavyBall_matchesHandComputedSteps() {
        // v <- 0.9 v + g; w <- w - 0.1 v; from w = (1, -2)
        Optimizer sgd = FusedSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f)).build();
        assertSteps(sgd, new float[][] {{0.95f, -2.1f}, {1.005f, -2.39f}, {1.0295f, -2.651f}});
    }

    @Test
    void update_nesterov_matchesHandComputedSteps() {
        // v <- 0.9 v + g; w <- w - 0.1 (g + 0.9 v)
        Optimizer sgd =
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.1f))
                        .optNesterov(true)
                        .build();
        assertSteps(sgd, new float[][] {{0.905f, -2.19f}, {1.0545f, -2.651f}, {1.05155f, -2.8859f}});
    }

    @Test
    void update_decoupledDecay_shrinksTheWeightOutsideTheMomentum() {
        // w <- (1 - 0.1 * 0.5) w - 0.1 v: the decay never enters v
        Optimizer heavyBall =
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.1f))
                        .optWeightDecays(0.5f)
                        .build();
        assertSteps(heavyBall, new float[][] {{0.9f, -2f}, {0.91f, -2.19f}, {0.889f, -2.3415f}});
        Optimizer nesterov =
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.1f))
                        .optNesterov(true)
                        .optWeightDecays(0.5f)
                        .build();
        assertSteps(
                nesterov,
                new float[][] {{0.855f, -2.09f}, {0.96175f, -2.4465f}, {0.9107125f, -2.559075f}});
    }

    @Test
    void update_coupledDecay_entersTheMomentum() {
        // g' = g + 0.5 w; v <- 0.9 v + g'; w <- w - 0.1 v (torch.optim.SGD's weight_decay)
        Optimizer sgd =
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.1f))
                        .optWeightDecays(0.5f)
                        .optDecoupledWeightDecay(false)
                        .build();
        // step 1: g' = (1, 0), v = (1, 0), w = (0.9, -2)
        // step 2: g' = (-0.55, 1), v = (0.35, 1), w = (0.865, -2.1)
        // step 3: g' = (0.6825, -1.05), v = (0.9975, -0.15), w = (0.76525, -2.085)
        assertSteps(sgd, new float[][] {{0.9f, -2f}, {0.865f, -2.1f}, {0.76525f, -2.085f}});
    }

    @Test
    void update_clip_clampsBothSigns() {
        // gradients (5, -5), (5, -5) clipped to (1, -1); no momentum: w <- w - 0.1 g
        Optimizer sgd =
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.1f))
                        .optMomentum(0f)
                        .optClipGrad(1f)
                        .build();
        NDArray w = weight(1f, -2f);
        for (int i = 0; i < 2; i++) {
            step(sgd, "w", w, new float[] {5f, -5f});
        }
        assertThat(w.toFloatArray()).containsExactly(new float[] {0.8f, -1.8f}, within(1e-6f));
    }

    @Test
    void update_groups_useTheirMultiplierDecayAndClip() {
        Parameter routed = Parameter.builder().setName("router").setType(Parameter.Type.WEIGHT).build();
        Parameter fast = Parameter.builder().setName("bias").setType(Parameter.Type.WEIGHT).build();
        Optimizer sgd =
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.1f))
                        .optMomentum(0f)
                        .optWeightDecays(0.5f)
                        .optGroup(FusedSgd.group("routers", List.of(routed)).withWeightDecay(0f))
                        .optGroup(
                                FusedSgd.group("biases", List.of(fast))
                                        .withLearningRateMultiplier(2f)
                                        .withClipGrad(0.5f))
                        .build();
        NDArray a = weight(1f, -2f);
        NDArray b = weight(1f, -2f);
        NDArray c = weight(1f, -2f);
        step(sgd, routed.getId(), a, new float[] {1f, 1f});
        step(sgd, fast.getId(), b, new float[] {1f, 1f});
        step(sgd, "other", c, new float[] {1f, 1f});
        // no decay: w - 0.1 g
        assertThat(a.toFloatArray()).containsExactly(new float[] {0.9f, -2.1f}, within(1e-6f));
        // lr 0.2, decay 0.5 (the default), gradient clipped to 0.5: 0.9 w - 0.2 * 0.5
        assertThat(b.toFloatArray()).containsExactly(new float[] {0.8f, -1.9f}, within(1e-6f));
        // lr 0.1, decay 0.5: 0.95 w - 0.1 g
        assertThat(c.toFloatArray()).containsExactly(new float[] {0.85f, -2.0f}, within(1e-6f));
    }

    @Test
    void update_zeroesTheGradientAndLeavesNoArrayBehind() {
        // a schedule changes the rate every step: the cached rate scalars are replaced, not piled up
        Optimizer sgd =
                FusedSgd.builder()
                        .setLearningRateTracker(
                                Tracker.factor().setBaseValue(0.1f).setFactor(0.5f).build())
                        .optNesterov(true)
                        .optWeightDecays(0.1f)
                        .optClipGrad(1f)
                        .build();
        NDArray w = weight(1f, -2f);
        step(sgd, "w", w, GRADIENTS[0]);
        int arrays = manager.getManagedArrays().size();
        for (float[] g : GRADIENTS) {
            step(sgd, "w", w, g);
            try (NDArray gradient = w.getGradient()) {
                assertThat(gradient.toFloatArray()).containsExactly(0f, 0f);
            }
        }
        assertThat(manager.getManagedArrays().size()).isEqualTo(arrays);
    }

    @Test
    void trainer_coupledHeavyBall_matchesDjlSgd() throws Exception {
        float[][] fused = train(
                FusedSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(0.05f))
                        .optWeightDecays(1e-2f)
                        .optDecoupledWeightDecay(false)
                        .build());
        float[][] djl = train(
                Optimizer.sgd()
                        .setLearningRateTracker(Tracker.fixed(0.05f))
                        .optMomentum(0.9f)
                        .optWeightDecays(1e-2f)
                        .build());
        for (int i = 0; i < djl.length; i++) {
            assertThat(fused[i]).containsExactly(djl[i], within(1e-6f));
        }
        assertThat(fused[0]).isNotEqualTo(initialLinear()[0]);
    }

    @Test
    void build_invalidSettings_throwNamingTheRule() {
        assertThatThrownBy(() -> FusedSgd.builder().build())
                .hasMessageContaining("learningRateTracker must be set");
        assertThatThrownBy(
                        () ->
                                FusedSgd.builder()
                                        .setLearningRateTracker(Tracker.fixed(0.1f))
                                        .optMomentum(0f)
                                        .optNesterov(true)
                                        .build())
                .hasMessage("Nesterov momentum needs momentum > 0, but momentum is 0.0");
        assertThatThrownBy(
                        () ->
                                FusedSgd.builder()
                                        .setLearningRateTracker(Tracker.fixed(0.1f))
                                        .optMomentum(1f)
                                        .build())
                .hasMessage("momentum (1.0) must be in [0, 1)");
        assertThatThrownBy(
                        () ->
                                FusedSgd.builder()
                                        .setLearningRateTracker(Tracker.fixed(0.1f))
                                        .optWeightDecays(-1f)
                                        .build())
                .hasMessage("weightDecays (-1.0) must be finite and >= 0");
        Parameter p = Parameter.builder().setName("w").setType(Parameter.Type.WEIGHT).build();
        assertThatThrownBy(
                        () ->
                                FusedSgd.builder()
                                        .setLearningRateTracker(Tracker.fixed(0.1f))
                                        .optGroup(FusedSgd.group("a", List.of(p)))
                                        .optGroup(FusedSgd.group("b", List.of(p)))
                                        .build())
                .hasMessage("parameter " + p.getId() + " is in two groups: a and b");
        assertThatThrownBy(() -> FusedSgd.group("a", List.of(p)).withLearningRateMultiplier(-1f))
                .hasMessage("learning-rate multiplier of group a (-1.0) must be finite and >= 0");
    }

    /** Runs the three GRADIENTS through the optimizer from w = (1, -2), checking w after each. */
    @Test
    void close_freesTheMomentumBuffersAndConstantsKeptInTheParametersManager() {
        NDArray w = weight(1f, -2f);
        NDArray b = weight(0.5f);
        int before = manager.getManagedArrays().size();
        FusedSgd sgd = FusedSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f)).optNesterov(true)
                .optWeightDecays(0.5f).build();
        step(sgd, "w", w, GRADIENTS[0]);
        step(sgd, "b", b, new float[] {1f});
        // a momentum buffer per parameter and the group's constants, in the parameters' manager
        assertThat(manager.getManagedArrays().size()).isGreaterThanOrEqualTo(before + 2);
        sgd.close();
        assertThat(manager.getManagedArrays()).hasSize(before);
        // usable again, from zero momentum: the first step of a fresh optimizer
        float[] again = w.toFloatArray();
        step(sgd, "w", w, GRADIENTS[0]);
        // w <- (1 - 0.05) w - 0.1 (g + 0.9 g) with g = (0.5, 1)
        assertThat(w.toFloatArray()).containsExactly(
                new float[] {0.95f * again[0] - 0.095f, 0.95f * again[1] - 0.19f}, within(1e-6f));
        sgd.close();
    }

    private void assertSteps(Optimizer sgd, float[][] expected) {
        NDArray w = weight(1f, -2f);
        for (int i = 0; i < GRADIENTS.length; i++) {
            step(sgd, "w", w, GRADIENTS[i]);
            assertThat(w.toFloatArray()).as("step %s", i + 1).containsExactly(expected[i], within(1e-6f));
        }
    }

    private NDArray weight(float... values) {
        NDArray w = manager.create(values);
        w.setRequiresGradient(true);
        return w;
    }

    /**
     * One step as DJL's trainer runs it: a backward pass that leaves {@code grad} in w's gradient,
     * then {@code update} with a copy of the gradient.
     */
    private void step(Optimizer sgd, String id, NDArray w, float[] grad) {
        try (NDManager scope = manager.newSubManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(scope.create(grad).mul(w).sum());
            }
            NDArray g = w.getGradient();
            NDArray copy = g.duplicate();
            g.close();
            sgd.update(id, w, copy);
            copy.close();
        }
    }

    private static float[][] initialLinear() throws Exception {
        return train(null);
    }

    /** Three trainer steps of a 3 -> 2 linear layer (fixed seed), its parameters afterwards. */
    private static float[][] train(Optimizer optimizer) throws Exception {
        Engine.getInstance().setRandomSeed(11);
        try (Model model = Model.newInstance("linear")) {
            model.setBlock(Linear.builder().setUnits(2).build());
            model.getBlock().initialize(model.getNDManager(), DataType.FLOAT32, new Shape(4, 3));
            if (optimizer != null) {
                DefaultTrainingConfig config =
                        new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer);
                try (Trainer trainer = model.newTrainer(config)) {
                    NDManager m = trainer.getManager();
                    NDArray x = m.create(new float[] {1, 2, 3, -1, 0, 2, 0.5f, -2, 1, 3, 1, -1}, new Shape(4, 3));
                    NDArray y = m.create(new float[] {1, 0, -1, 2, 0.5f, 0.5f, 2, -1}, new Shape(4, 2));
                    for (int i = 0; i < 3; i++) {
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray pred = trainer.forward(new NDList(x)).singletonOrThrow();
                            gc.backward(trainer.getLoss().evaluate(new NDList(y), new NDList(pred)));
                        }
                        trainer.step();
                    }
                }
            }
            List<Parameter> params = model.getBlock().getParameters().values();
            float[][] out = new float[params.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = params.get(i).getArray().toFloatArray();
            }
            return out;
        }
    }
}

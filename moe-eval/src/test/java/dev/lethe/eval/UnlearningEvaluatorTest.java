package dev.lethe.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import com.google.gson.JsonParser;
import dev.lethe.eval.attack.MembershipInference;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.unlearn.data.LabeledData;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * End to end on tinted images (3 classes, forget class 2 = "blue"): a model trained on every class
 * (the "original") and one trained without class 2 (the "retrain", the oracle of class forgetting).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UnlearningEvaluatorTest {

    private static final int BLUE = 2;

    private NDManager manager;
    private LabeledData train;
    private LabeledData test;
    private LabeledData heldOut;
    private Model original;
    private Model retrain;
    private UnlearningEvaluator evaluator;

    @BeforeAll
    void train() throws Exception {
        manager = NDManager.newBaseManager();
        train = TintedImages.make(manager, 480, 1);
        test = TintedImages.make(manager, 150, 2);
        heldOut = TintedImages.make(manager, 150, 3);
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(3).optBatchSize(32).optLearningRate(0.1f)
                .optAugmentation(TrainingRecipe.Flip.NONE, 0) // colour blobs: nothing to augment
                .optWarmupEpochs(0.5f).build();
        original = fit(train.view(range(train.size()), 32, true), recipe);
        retrain = fit(train.view(train.indicesExcept(BLUE), 32, true), recipe);
        evaluator = UnlearningEvaluator.builder().setTrainData(train).setTestData(test).optProbeData(heldOut)
                .optBatchSize(64).optSeed(5).build();
    }

    private Model fit(ai.djl.training.dataset.RandomAccessDataset data, TrainingRecipe recipe) throws Exception {
        Engine.getInstance().setRandomSeed(1);
        Model model = MoeResNet.newModel(MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optNumClasses(3).build());
        MoeTraining.fit(model, data, null, recipe, TrainingProgress.silent());
        return model;
    }

    @AfterAll
    void close() {
        original.close();
        retrain.close();
        manager.close();
    }

    private static int[] range(int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = i;
        }
        return out;
    }

    @Test
    void evaluate_originalModel_remembersTheClass() throws Exception {
        UnlearningEvaluation e = evaluator.evaluate(original, BLUE);

        assertThat(e.forgetClass()).isEqualTo(BLUE);
        assertThat(e.forgetClassName()).isEqualTo("blue");
        assertThat(e.ua()).isLessThan(10.0);
        assertThat(e.ra()).isGreaterThan(90.0);
        assertThat(e.ta()).isGreaterThan(90.0);
        assertThat(e.forgetTestAccuracy()).isGreaterThan(90.0);
        assertThat(e.probeForgetAccuracy()).isGreaterThan(90.0);
        assertThat(e.probeRetainAccuracy()).isGreaterThan(90.0);
        // sizes: D_f and D_r partition the training set; MIA trains on the other classes' test images
        assertThat(e.forgetSize()).isEqualTo(train.indicesOf(BLUE).length);
        assertThat(e.retainSize()).isEqualTo(train.size() - e.forgetSize());
        assertThat(e.testSize()).isEqualTo(150);
        assertThat(e.miaTrainPerSide()).isEqualTo(test.indicesExcept(BLUE).length).isLessThan(150);
        assertThat(e.probeTrainSize()).isEqualTo(150);
        assertThat(e.seed()).isEqualTo(5);
        assertThat(e.seconds()).isPositive();

        // the per-class accuracies agree with TA and the forgotten class's accuracy
        double[] perClass = e.perClassTestAccuracy();
        assertThat(perClass).hasSize(3);
        assertThat(perClass[BLUE]).isEqualTo(e.forgetTestAccuracy());
        int n0 = test.indicesOf(0).length;
        int n1 = test.indicesOf(1).length;
        assertThat(e.ta()).isCloseTo((perClass[0] * n0 + perClass[1] * n1) / (n0 + n1), within(1e-9));
    }

    @Test
    void evaluate_retrainedWithoutTheClass_scoresFullForgetting() throws Exception {
        UnlearningEvaluation e = evaluator.evaluate(retrain, BLUE);

        assertThat(e.ua()).isGreaterThan(98.0);
        assertThat(e.forgetTestAccuracy()).isLessThan(2.0);
        assertThat(e.ra()).isGreaterThan(90.0);
        assertThat(e.ta()).isGreaterThan(90.0);
        // the model generalises perfectly: retain images (members) and the other classes' test images
        // (non-members) look alike, so the attacker is at chance and its efficacy means nothing
        // whatever it is; the attacker's accuracy is there to say so
        assertThat(e.miaAttackerAccuracy()).isBetween(35.0, 65.0);
        assertThat(e.mia()).isBetween(0.0, 100.0);
        // output accuracy 0, yet the colour is still linearly readable in the features: the probe
        // recovers the class even from the oracle, which is why probe recovery is reported beside Retrain's
        assertThat(e.probeForgetAccuracy()).isGreaterThan(80.0);
        assertThat(e.probeRetainAccuracy()).isGreaterThan(90.0);

        // the original model is a UA gap of 100 away from Retrain; its other gaps are small but for
        // MIA, which is arbitrary here (see above)
        UnlearningEvaluation before = evaluator.evaluate(original, BLUE);
        assertThat(before.avgGap(e)).isCloseTo((100 - before.ua() + Math.abs(before.mia() - e.mia())) / 4, within(2.0));
    }

    @Test
    void evaluate_samplesAndCaps_recordTheSizesUsed() throws Exception {
        UnlearningEvaluator fast = evaluator.toBuilder().optRetainSample(100).optMiaTrainPerSide(40).build();
        UnlearningEvaluation e = fast.evaluate(original, BLUE);
        assertThat(e.retainSize()).isEqualTo(100);
        assertThat(e.miaTrainPerSide()).isEqualTo(40);
        assertThat(e.forgetSize()).isEqualTo(train.indicesOf(BLUE).length);
        // the same seed draws the same sample
        assertThat(fast.evaluate(original, BLUE).ra()).isEqualTo(e.ra());
        assertThat(Indices.sample(range(10), 4, 5)).containsExactly(Indices.sample(range(10), 4, 5))
                .doesNotHaveDuplicates().isSorted();
        assertThat(fast.toString()).contains("retainSample=100", "miaTrainPerSide=40", "seed=5");
    }

    @Test
    void evaluate_invalidClass_namesValueAndRange() {
        assertThatThrownBy(() -> evaluator.evaluate(original, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("forgetClass (3) must be in [0, 3)");
        LabeledData noBlue = train.subset(train.indicesExcept(BLUE));
        UnlearningEvaluator e = UnlearningEvaluator.builder().setTrainData(noBlue).setTestData(test).build();
        assertThatThrownBy(() -> e.evaluate(original, BLUE))
                .hasMessage("forgetClass 2 (blue) has no training images, so the forget set would be empty");
    }

    @Test
    void evaluate_probeOnPlainBlock_explainsWhatIsNeeded() throws Exception {
        try (Model plain = Model.newInstance("plain")) {
            SequentialBlock block = new SequentialBlock().add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(3).build());
            plain.setBlock(block);
            block.initialize(plain.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 32, 32));
            assertThatThrownBy(() -> evaluator.evaluate(plain, BLUE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the linear probes need penultimate features")
                    .hasMessageContaining("not a dev.lethe.moe.model.EmbeddingClassifier")
                    .hasMessageContaining("without optProbeData");
            UnlearningEvaluation e = UnlearningEvaluator.builder().setTrainData(train).setTestData(test).build()
                    .evaluate(plain, BLUE);
            assertThat(e.hasProbe()).isFalse();
            assertThat(e.probeForgetAccuracy()).isNaN();
        }
    }

    @Test
    void build_mismatchedClasses_isRejected() {
        LabeledData renamed = LabeledData.of(test.dataset(), test.labels(), List.of("r", "g", "b"));
        assertThatThrownBy(() -> UnlearningEvaluator.builder().setTrainData(train).setTestData(renamed).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the test data's classes [r, g, b] differ from the training data's [red, green, blue]");
        assertThatThrownBy(() -> UnlearningEvaluator.builder().setTrainData(train).build())
                .hasMessage("setTestData is required");
        assertThatThrownBy(() -> UnlearningEvaluator.builder().optRetainSample(0))
                .hasMessage("retainSample (0) must be >= 1");
    }

    @Test
    void membershipSets_leaveTheForgottenClassOutOfTheNonMembers() {
        MembershipInference.Sets sets = evaluator.membershipSets(BLUE);
        assertThat(sets.nonMembers()).containsExactly(test.indicesExcept(BLUE));
        for (int i : sets.nonMembers()) {
            assertThat(test.label(i)).isNotEqualTo(BLUE);
        }
        assertThat(sets.members()).hasSameSizeAs(sets.nonMembers());
        for (int i : sets.members()) {
            assertThat(train.label(i)).isNotEqualTo(BLUE);
        }
        assertThat(sets.forget()).containsExactly(train.indicesOf(BLUE));
    }

    @Test
    void evaluate_suppressedClass_passesTheOutputMetricsButNotTheAttackerGradeOnes() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        UnlearningEvaluator striped = UnlearningEvaluator.builder().setTrainData(f.train).setTestData(f.test)
                .optProbeData(f.heldOut).optBatchSize(64).optSeed(5)
                .optRelearning(RelearningTest.builder().optSteps(0, 10, 20, 40).optLearningRate(3e-3f).optSeed(3).build())
                .build();
        UnlearningEvaluation retrained = striped.evaluate(f.retrain, ForgetFixture.FORGET, f.original);
        UnlearningEvaluation suppressed = striped.evaluate(f.suppressed, ForgetFixture.FORGET, f.original);

        // at the output the suppressed model is Retrain: UA, RA, TA all alike
        assertThat(suppressed.ua()).isGreaterThan(99.0);
        assertThat(retrained.ua()).isGreaterThan(99.0);
        assertThat(Math.abs(suppressed.ra() - retrained.ra())).isLessThan(2.0);
        assertThat(Math.abs(suppressed.ta() - retrained.ta())).isLessThan(2.0);

        // the attacker-grade measures catch it
        assertThat(suppressed.probeGaps(retrained).get(LayerFeatures.PENULTIMATE)).isGreaterThan(10.0);
        assertThat(suppressed.classAttackGap(retrained)).isGreaterThan(5.0);
        assertThat(suppressed.relearningGap(retrained, RelearningTest.Mode.FEW_SHOT)).isGreaterThan(20.0);
        // and its routing did not move at all: only the head changed
        assertThat(suppressed.routingShift().orElseThrow().meanTotalVariation()).isZero();
        assertThat(retrained.routingShift().orElseThrow().meanTotalVariation()).isPositive();

        // everything it measured is in the table and survives JSON
        assertThat(suppressed.probes()).hasSize(3);
        assertThat(suppressed.toTable()).contains("probe, MoE layer 1", "probe, penultimate", "class attack",
                "relearn few-shot @40", "relearn retain-only @40", "routing shift");
        UnlearningEvaluation back = UnlearningEvaluation.fromJson(
                JsonParser.parseString(suppressed.toJson().toString()).getAsJsonObject());
        assertThat(back).isEqualTo(suppressed);
        assertThat(back.relearningGap(retrained, RelearningTest.Mode.FEW_SHOT))
                .isEqualTo(suppressed.relearningGap(retrained, RelearningTest.Mode.FEW_SHOT));
    }
}

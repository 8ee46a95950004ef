package dev.lethe.eval;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.relearn.RelearningCurve;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The erasure methods of moe-unlearn against the attacks of this module, on {@link ForgetFixture}'s
 * hidden class ("striped": the other classes' tints plus stripes; linearly decodable at every depth
 * of the original, 4 % at the penultimate layer of the Retrain model).
 */
class ErasureMethodsTest {

    private static final int FORGET = ForgetFixture.FORGET;

    private static double penultimateProbe(ForgetFixture f, Model model) throws Exception {
        Predictions held = Predictions.compute(model, f.heldOut, IntStream.range(0, f.heldOut.size()).toArray(), 64,
                Predictions.Capture.LAYERS);
        Predictions test = Predictions.compute(model, f.test, IntStream.range(0, f.test.size()).toArray(), 64,
                Predictions.Capture.LAYERS);
        List<LayerProbes.Depth> depths = LayerProbes.measure(held, test, FORGET, 4, 5);
        return depths.get(depths.size() - 1).forgetAccuracy();
    }

    private static Unlearner base(ForgetFixture f) {
        return Unlearner.forClass(FORGET).from(f.original).using(f.train).optBatchSize(32).optSeed(1).optLearningRate(3e-3f);
    }

    @Test
    void trunkEdit_defaults_readTheClassLessAtThePenultimateLayer_thanHeadOnlySuppression() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        UnlearningResult headOnly = base(f).method(Method.EXPERT_TARGETED).optScope(Scope.HEAD_ONLY).optEpochs(2).retrain();
        double suppressedProbe;
        try (Model suppressed = headOnly.model()) {
            suppressedProbe = penultimateProbe(f, suppressed);
        }
        // every seed tried (measured after 16 epochs: 34, 100, 100, 70 %; Retrain 34 %): the effect is
        // real on average but not on every run, which is why the claim is about the mean
        double[] probes = new double[4];
        for (int seed = 1; seed <= 4; seed++) {
            UnlearningResult edit = base(f).method(Method.TRUNK_EDIT).optEpochs(16).optSeed(seed).retrain();
            try (Model erased = edit.model()) {
                assertThat(edit.removal()).isEqualTo(Removal.ERASE);
                probes[seed - 1] = penultimateProbe(f, erased);
                Predictions out = Predictions.all(erased, f.test, 64);
                assertThat(out.accuracyOf(FORGET)).as("seed %d, forgotten class", seed).isLessThan(5.0);
                assertThat(out.accuracyExcept(FORGET)).as("seed %d, other classes", seed).isGreaterThan(95.0);
            }
        }
        double mean = java.util.Arrays.stream(probes).average().orElseThrow();
        System.out.printf("penultimate probe on the class: head-only %.1f %%, trunk edit %s (mean %.1f %%)%n",
                suppressedProbe, java.util.Arrays.toString(probes), mean);
        assertThat(suppressedProbe).isGreaterThan(95.0);
        for (double p : probes) {
            assertThat(p).isLessThanOrEqualTo(suppressedProbe);
        }
        assertThat(mean).isLessThan(suppressedProbe - 10);
    }

    @Test
    void trunkEdit_defaults_resistRelearning_whereASuppressedClassComesBack() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        RelearningTest attack = RelearningTest.builder().optSteps(0, 10, 20, 40).optLearningRate(3e-3f).optSeed(3).build();
        UnlearningResult edit = base(f).method(Method.TRUNK_EDIT).optEpochs(8).retrain();
        try (Model erased = edit.model()) {
            RelearningCurve suppressed = attack.run(f.suppressed, f.train, f.test, FORGET, RelearningTest.Mode.FEW_SHOT);
            RelearningCurve edited = attack.run(erased, f.train, f.test, FORGET, RelearningTest.Mode.FEW_SHOT);
            System.out.printf("relearning (0, 10, 20, 40 steps): suppressed %s, trunk edit %s%n",
                    java.util.Arrays.toString(suppressed.forgetAccuracy()), java.util.Arrays.toString(edited.forgetAccuracy()));
            assertThat(edited.forgetAccuracyAt(0)).isLessThan(5.0);
            assertThat(suppressed.forgetAccuracyAt(10)).isGreaterThan(90.0);
            assertThat(edited.forgetAccuracyAt(40)).isLessThan(50.0);
            assertThat(edited.meanForgetGap(suppressed)).isLessThan(-30.0);
        }
    }
}

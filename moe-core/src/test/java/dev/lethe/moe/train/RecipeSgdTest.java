package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.tracker.Tracker;
import org.junit.jupiter.api.Test;

class RecipeSgdTest {

    /** Three steps on w = [1, -2] with gradients g_t, against PyTorch's documented update. */
    @Test
    void update_nesterovWithDecoupledDecay_matchesHandComputation() {
        float lr = 0.1f;
        float m = 0.9f;
        float wd = 0.5f;
        float[][] grads = {{0.5f, -1f}, {0.2f, 0.4f}, {-0.3f, 0.1f}};
        double[] w = {1, -2};
        double[] v = {0, 0};
        RecipeSgd sgd = new RecipeSgd(Tracker.fixed(lr), m, true, true, id -> new RecipeSgd.Group(2f, wd, 0f));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray weight = manager.create(new float[] {1f, -2f});
            for (float[] g : grads) {
                sgd.update("p", weight, manager.create(g));
                double rate = lr * 2;
                for (int i = 0; i < 2; i++) {
                    v[i] = m * v[i] + g[i];
                    double step = g[i] + m * v[i];
                    w[i] = w[i] * (1 - rate * wd) - rate * step;
                }
            }
            float[] got = weight.toFloatArray();
            assertThat((double) got[0]).isCloseTo(w[0], within(1e-5));
            assertThat((double) got[1]).isCloseTo(w[1], within(1e-5));
        }
    }

    @Test
    void update_heavyBallWithL2AndClip_matchesHandComputation() {
        float lr = 0.05f;
        RecipeSgd sgd = new RecipeSgd(Tracker.fixed(lr), 0.5f, false, false, id -> new RecipeSgd.Group(1f, 0.1f, 1f));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray weight = manager.create(new float[] {2f});
            sgd.update("p", weight, manager.create(new float[] {3f}));
            sgd.update("p", weight, manager.create(new float[] {-0.5f}));
            double w = 2;
            double v = 0;
            for (double g : new double[] {3, -0.5}) {
                double c = Math.max(-1, Math.min(1, g)) + 0.1 * w;
                v = 0.5 * v + c;
                w -= lr * v;
            }
            assertThat((double) weight.getFloat()).isCloseTo(w, within(1e-6));
        }
    }

    /** A defect: the gradients of the PyTorch engine added up over steps, so step t used their sum. */
    @Test
    void step_throughTrainer_usesEachStepsGradientAlone() {
        RecipeSgd sgd = new RecipeSgd(Tracker.fixed(0f), 0f, false, false, id -> new RecipeSgd.Group(1f, 0f, 0f));
        try (ai.djl.Model model = ai.djl.Model.newInstance("sgd"); NDManager manager = NDManager.newBaseManager()) {
            model.setBlock(ai.djl.nn.core.Linear.builder().setUnits(2).build());
            try (ai.djl.training.Trainer trainer = model.newTrainer(
                    new ai.djl.training.DefaultTrainingConfig(ai.djl.training.loss.Loss.l2Loss()).optOptimizer(sgd))) {
                trainer.initialize(new ai.djl.ndarray.types.Shape(1, 3));
                NDArray x = manager.ones(new ai.djl.ndarray.types.Shape(1, 3));
                NDArray weight = model.getBlock().getParameters().get("weight").getArray();
                for (int step = 0; step < 3; step++) {
                    try (ai.djl.training.GradientCollector gc = trainer.newGradientCollector()) {
                        gc.backward(trainer.forward(new ai.djl.ndarray.NDList(x)).head().sum());
                    }
                    // d sum(W x + b) / dW = 1 for each of the 2 x 3 weights, every step
                    assertThat(weight.getGradient().sum().getFloat()).as("step %s", step).isEqualTo(6f);
                    trainer.step();
                }
            }
        }
    }

    @Test
    void triangular_risesThenFalls() {
        TriangularTracker t = new TriangularTracker(1f, 0.1f, 10, 30);
        assertThat(t.getNewValue(0)).isCloseTo(0.1f, within(1e-6f));
        assertThat(t.getNewValue(5)).isCloseTo(0.55f, within(1e-6f));
        assertThat(t.getNewValue(10)).isCloseTo(1f, within(1e-6f));
        assertThat(t.getNewValue(20)).isCloseTo(0.55f, within(1e-6f));
        assertThat(t.getNewValue(30)).isCloseTo(0.1f, within(1e-6f));
        assertThat(t.getNewValue(99)).isCloseTo(0.1f, within(1e-6f));
    }
}

package dev.lethe.moe.loss;

import dev.lethe.moe.MoeTestSupport;

import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.Dispatch;
import dev.lethe.moe.ConvExperts;

import dev.lethe.moe.routing.Routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MoeLossesTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private Routing routing(float[][] logits, long[] experts, int k) {
        int b = logits.length;
        int e = logits[0].length;
        NDArray l = manager.create(logits);
        NDArray p = l.softmax(1);
        float[] gates = new float[experts.length];
        java.util.Arrays.fill(gates, 1f / k);
        return new Routing(e, k, true, experts, gates, l, p, manager.create(gates).reshape(b, k));
    }

    @Test
    void loadBalancing_handComputed() {
        // probabilities [[0.7, 0.3], [0.4, 0.6]] from logits ln(p); both images routed to expert 0
        float[][] logits = {
            {(float) Math.log(0.7), (float) Math.log(0.3)},
            {(float) Math.log(0.4), (float) Math.log(0.6)}
        };
        Routing r = routing(logits, new long[] {0, 0}, 1);
        // f = [1, 0], P = [0.55, 0.45]  ->  E * sum f P = 2 * 0.55
        assertThat(MoeLosses.loadBalancing(r).getFloat()).isCloseTo(1.1f, offset(1e-5f));
        Routing balanced = routing(logits, new long[] {0, 1}, 1);
        assertThat(MoeLosses.loadBalancing(balanced).getFloat()).isCloseTo(1.0f, offset(1e-5f));
    }

    @Test
    void loadBalancing_gradientSurvivesGarbageCollections() {
        // d/dlogits of E * sum_i f_i * mean_b p_bi with f = [1, 0], E = 2: the gradient of p_b0
        // w.r.t. logit_b0 is p0 * p1, so dL/dlogit_b0 = E * f0 / B * p0 p1 = p0 p1 and the row sums to 0
        for (int trial = 0; trial < 5; trial++) {
            NDArray logits = manager.create(new float[][] {{0.5f, -0.5f}, {0f, 1f}});
            logits.setRequiresGradient(true);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray p = logits.softmax(1);
                Routing r =
                        new Routing(2, 1, true, new long[] {0, 0}, new float[] {1f, 1f}, logits, p,
                                manager.ones(new Shape(2, 1)));
                NDArray loss = MoeLosses.loadBalancing(r);
                byte[][] junk = new byte[64][];
                for (int i = 0; i < junk.length; i++) {
                    junk[i] = new byte[1 << 20];
                }
                System.gc();
                System.gc();
                collector.backward(loss);
            }
            float[] g = logits.getGradient().toFloatArray();
            float[] p = logits.stopGradient().softmax(1).toFloatArray();
            assertThat(g[0]).isCloseTo(p[0] * p[1], offset(1e-6f));
            assertThat(g[1]).isCloseTo(-p[0] * p[1], offset(1e-6f));
            assertThat(g[2]).isCloseTo(p[2] * p[3], offset(1e-6f));
            assertThat(g[3]).isCloseTo(-p[2] * p[3], offset(1e-6f));
        }
    }

    @Test
    void zLoss_handComputed() {
        Routing r = routing(new float[][] {{1, 2}, {0, 0}}, new long[] {1, 0}, 1);
        assertThat(MoeLosses.zLoss(r).getFloat()).isCloseTo(2.9158163f, offset(1e-5f));
    }

    @Test
    void mutualInformation_handComputed() {
        float[][] logits = {{2, 0, 0}, {1, 0, 0}, {0, 0, 2}, {0, 1, 1}};
        Routing r = routing(logits, new long[] {0, 0, 2, 2}, 1);
        NDArray labels = manager.create(new float[] {0, 0, 1, 1});
        assertThat(MoeLosses.mutualInformation(r, labels, 0.5f).getFloat())
                .isCloseTo(-0.42480623f, offset(1e-5f));
    }

    @Test
    void mutualInformation_badArguments_rejected() {
        Routing r = routing(new float[][] {{1, 2}, {0, 0}}, new long[] {1, 0}, 1);
        assertThatThrownBy(() -> MoeLosses.mutualInformation(r, manager.create(new float[] {0}), 0.5f))
                .hasMessage("labels has 1 elements but the routing has 2 images");
        assertThatThrownBy(() -> MoeLosses.mutualInformation(r, manager.create(new float[] {0, 1}), 0f))
                .hasMessage("temperature (0.0) must be finite and > 0");
        Routing hostOnly = Routing.ofHostArrays(2, 1, new long[] {0}, new float[] {1f});
        assertThatThrownBy(() -> MoeLosses.zLoss(hostOnly))
                .hasMessageContaining("has no NDArray views");
    }

    /**
     * On a task where the class is visible in the pooled input, the mutual-information loss makes
     * routing carry the class; without it, the zero-initialised router sends every class to one
     * expert.
     */
    @Test
    void mutualInformation_raisesClassConcentration_onSeparableTask() throws Exception {
        double withMi = trainAndMeasureMiShare(1f);
        double without = trainAndMeasureMiShare(0f);
        // measured: 0.47 with the loss; 0.00 without (every class on one expert, as in the probe)
        assertThat(withMi).isGreaterThan(0.35);
        assertThat(without).isLessThan(0.15);
    }

    private double trainAndMeasureMiShare(float miWeight) throws Exception {
        Engine.getInstance().setRandomSeed(42);
        int classes = 4;
        MoeBlock moe =
                MoeBlock.builder()
                        .setNumExperts(4)
                        .setExpertFactory(ConvExperts.convBnRelu(4))
                        .optTopK(1)
                        .optSeed(3)
                        .build();
        SequentialBlock net =
                new SequentialBlock()
                        .add(moe)
                        .add(Pool.globalAvgPool2dBlock())
                        .add(Blocks.batchFlattenBlock())
                        .add(Linear.builder().setUnits(classes).build());
        Random random = new Random(9);
        try (Model model = Model.newInstance("mi")) {
            model.setBlock(net);
            Loss loss =
                    MoeTrainingLoss.builder(Loss.softmaxCrossEntropyLoss(), net)
                            .optBalance(1e-2f)
                            .optMutualInformation(miWeight, 0.5f)
                            .build();
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(loss)
                            .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.02f)).build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(32, 4, 4, 4));
                for (int step = 0; step < 200; step++) {
                    try (NDManager scope = trainer.getManager().newSubManager()) {
                        float[][] batch = separableBatch(random, 64, classes);
                        NDArray x = scope.create(batch[0], new Shape(64, 4, 4, 4));
                        NDArray y = scope.create(batch[1]);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray pred = trainer.forward(new NDList(x)).singletonOrThrow();
                            gc.backward(trainer.getLoss().evaluate(new NDList(y), new NDList(pred)));
                        }
                        trainer.step();
                    }
                }
                RoutingStats.Accumulator acc = RoutingStats.accumulator(4, classes);
                ParameterStore ps = new ParameterStore(trainer.getManager(), false);
                for (int i = 0; i < 8; i++) {
                    try (NDManager scope = trainer.getManager().newSubManager()) {
                        float[][] batch = separableBatch(random, 32, classes);
                        NDArray x = scope.create(batch[0], new Shape(32, 4, 4, 4));
                        net.forward(ps, new NDList(x), false);
                        int[] labels = new int[32];
                        for (int j = 0; j < 32; j++) {
                            labels[j] = (int) batch[1][j];
                        }
                        acc.add(moe.lastRouting().orElseThrow(), labels);
                    }
                }
                return acc.snapshot().mutualInformationShare();
            }
        }
    }

    /**
     * Class c has channel c raised by 0.7 on top of a shared offset of 3: the class is visible to
     * the router, but every class points in almost the same direction, so a router that is not
     * asked to carry the class sends all classes to the same few experts.
     */
    static float[][] separableBatch(Random random, int n, int classes) {
        float[] x = new float[n * 4 * 16];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            int c = random.nextInt(classes);
            y[i] = c;
            for (int ch = 0; ch < 4; ch++) {
                for (int p = 0; p < 16; p++) {
                    x[(i * 4 + ch) * 16 + p] =
                            (float) random.nextGaussian() + 3f + (ch == c ? 0.7f : 0f);
                }
            }
        }
        return new float[][] {x, y};
    }

    @Test
    void moeTrainingLoss_noMoeBlock_rejected() {
        assertThatThrownBy(
                        () ->
                                MoeTrainingLoss.builder(
                                                Loss.softmaxCrossEntropyLoss(),
                                                Linear.builder().setUnits(2).build())
                                        .build())
                .hasMessage("the model has no MoeBlock; use the task loss alone");
        assertThatThrownBy(
                        () ->
                                MoeTrainingLoss.builder(Loss.l2Loss(), new SequentialBlock())
                                        .optBalance(-1f))
                .hasMessage("balance weight (-1.0) must be finite and >= 0");
    }

    @Test
    void moeTrainingLoss_reportsUnweightedValues() {
        MoeBlock moe = MoeTestSupport.smallMoe(3, 1, Dispatch.SPARSE, 2);
        SequentialBlock net =
                new SequentialBlock().add(moe).add(Pool.globalAvgPool2dBlock()).add(Blocks.batchFlattenBlock());
        net.initialize(manager, DataType.FLOAT32, new Shape(4, 2, 4, 4));
        ParameterStore ps = new ParameterStore(manager, false);
        NDArray x = MoeTestSupport.randomInput(manager, 1, 4, 2, 4, 4);
        NDArray pred = net.forward(ps, new NDList(x), true).singletonOrThrow();
        NDArray labels = manager.create(new float[] {0, 1, 0, 1});
        MoeTrainingLoss loss =
                MoeTrainingLoss.builder(Loss.softmaxCrossEntropyLoss(), net)
                        .optBalance(0.5f)
                        .optZLoss(0.25f)
                        .optMutualInformation(2f, 0.5f)
                        .build();
        float total = loss.evaluate(new NDList(labels), new NDList(pred)).getFloat();
        var v = loss.lastValues();
        Routing r = moe.lastRouting().orElseThrow();
        assertThat(v.get("balance")).isCloseTo(MoeLosses.loadBalancing(r).getFloat(), offset(1e-6f));
        assertThat(v.get("zLoss")).isCloseTo(MoeLosses.zLoss(r).getFloat(), offset(1e-6f));
        assertThat(total)
                .isCloseTo(
                        v.get("task") + 0.5f * v.get("balance") + 0.25f * v.get("zLoss")
                                + 2f * v.get("mutualInformation"),
                        offset(1e-5f));
    }
}

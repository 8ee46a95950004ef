package dev.lethe.moe;

import dev.lethe.moe.loss.MoeLosses;

import dev.lethe.moe.routing.Routing;

import static dev.lethe.moe.MoeTestSupport.randomInput;
import static dev.lethe.moe.MoeTestSupport.smallMoe;
import static dev.lethe.moe.MoeTestSupport.snapshot;
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
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MoeBlockTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        Engine.getInstance().setRandomSeed(1234);
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void forward_sparseAndDenseInInference_bitIdentical() throws Exception {
        for (int k : new int[] {1, 2, 3}) {
            MoeBlock sparse = smallMoe(4, k, Dispatch.SPARSE, 6);
            MoeBlock dense = smallMoe(4, k, Dispatch.DENSE, 6);
            Shape shape = new Shape(16, 6, 8, 8);
            sparse.initialize(manager, DataType.FLOAT32, shape);
            dense.initialize(manager, DataType.FLOAT32, shape);
            copyParameters(sparse, dense);

            NDArray x = randomInput(manager, 3, 16, 6, 8, 8);
            ParameterStore ps = new ParameterStore(manager, false);
            float[] ys = sparse.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
            float[] yd = dense.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();

            assertThat(ys).as("k=%s", k).containsExactly(yd);
            assertThat(sparse.getOutputShapes(new Shape[] {shape})[0]).isEqualTo(shape);
            Routing routing = sparse.lastRouting().orElseThrow();
            assertThat(routing.batchSize()).isEqualTo(16);
            assertThat(routing.isTraining()).isFalse();
            for (int b = 0; b < 16; b++) {
                float sum = 0;
                for (int s = 0; s < k; s++) {
                    sum += routing.gate(b, s);
                }
                assertThat(sum).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void dispatch_matchesAHandComputedWeightedSum_forwardAndBackward() {
        // B = 4 images of 3 values, k = 2, E = 4; expert e maps v to (e + 1) v + e; expert 2 gets
        // no image, image 1 goes to expert 3 twice
        long[] experts = {0, 1, 3, 3, 1, 0, 0, 3};
        float[] gateValues = {0.25f, 0.75f, 1.5f, -0.5f, 0.5f, 0.5f, 2f, 1f};
        float[] xs = {1f, -2f, 0.5f, 3f, 0f, -1f, 2f, 2f, -0.25f, -3f, 1f, 4f};
        float[] ws = {0.5f, 1f, -1f, 2f, -0.5f, 0.25f, 1f, 1f, -2f, 0.75f, 0.5f, -1f};
        for (Dispatch mode : Dispatch.values()) {
            try (NDManager scope = manager.newSubManager()) {
                NDArray x = scope.create(xs, new Shape(4, 3));
                NDArray gates = scope.create(gateValues, new Shape(4, 2));
                x.setRequiresGradient(true);
                gates.setRequiresGradient(true);
                int[] rowsSeen = new int[4];
                float[] y;
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray out =
                            MoeBlock.dispatch(
                                    x,
                                    experts,
                                    gates,
                                    4,
                                    mode,
                                    (e, rows) -> {
                                        rowsSeen[e] += (int) rows.getShape().get(0);
                                        return rows.mul(e + 1).add(e);
                                    });
                    y = out.toFloatArray();
                    gc.backward(out.mul(scope.create(ws, new Shape(4, 3))).sum());
                }
                double[] yExpected = new double[12];
                double[] gateGrad = new double[8];
                double[] xGrad = new double[12];
                for (int b = 0; b < 4; b++) {
                    for (int s = 0; s < 2; s++) {
                        int e = (int) experts[b * 2 + s];
                        double g = gateValues[b * 2 + s];
                        for (int d = 0; d < 3; d++) {
                            double f = (e + 1) * (double) xs[b * 3 + d] + e;
                            yExpected[b * 3 + d] += g * f;
                            gateGrad[b * 2 + s] += ws[b * 3 + d] * f;
                            xGrad[b * 3 + d] += g * (e + 1) * ws[b * 3 + d];
                        }
                    }
                }
                assertThat(y).as("%s y", mode).containsExactly(toFloats(yExpected), within(1e-5f));
                assertThat(gates.getGradient().toFloatArray())
                        .as("%s dL/dgates", mode)
                        .containsExactly(toFloats(gateGrad), within(1e-5f));
                assertThat(x.getGradient().toFloatArray())
                        .as("%s dL/dx", mode)
                        .containsExactly(toFloats(xGrad), within(1e-5f));
                if (mode == Dispatch.SPARSE) {
                    assertThat(rowsSeen).as("rows per expert").containsExactly(3, 2, 0, 3);
                } else {
                    assertThat(rowsSeen).as("rows per expert").containsExactly(4, 4, 4, 4);
                }
            }
        }
    }

    @Test
    void dispatch_invalidArguments_throwNamingTheRule() {
        NDArray x = manager.zeros(new Shape(2, 3));
        NDArray gates = manager.ones(new Shape(2, 2));
        assertThatThrownBy(
                        () -> MoeBlock.dispatch(x, new long[] {0, 1, 1}, gates, 2, Dispatch.SPARSE,
                                (e, rows) -> rows))
                .hasMessage("experts has 3 entries but B * k = 2 * 2 = 4");
        assertThatThrownBy(
                        () -> MoeBlock.dispatch(x, new long[] {0, 1, 2, 1}, gates, 2, Dispatch.SPARSE,
                                (e, rows) -> rows))
                .hasMessage("experts[2] = 2 is not in [0, numExperts = 2)");
        assertThatThrownBy(
                        () -> MoeBlock.dispatch(x, new long[] {0, 1, 1, 1}, manager.ones(new Shape(3, 2)),
                                2, Dispatch.DENSE, (e, rows) -> rows))
                .hasMessage("gates must be (B, k) with B = 2 but has shape (3, 2)");
    }

    @Test
    void forward_inference_isEachImagesExpertsWeightedByItsGates() {
        // the block against its definition, image by image, without the dispatch code
        MoeBlock moe = smallMoe(4, 2, Dispatch.SPARSE, 4);
        moe.initialize(manager, DataType.FLOAT32, new Shape(6, 4, 8, 8));
        NDArray x = randomInput(manager, 21, 6, 4, 8, 8);
        ParameterStore ps = new ParameterStore(manager, false);
        float[] y = moe.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
        Routing routing = moe.lastRouting().orElseThrow();
        int per = 4 * 8 * 8;
        for (int b = 0; b < 6; b++) {
            double[] expected = new double[per];
            NDArray image = x.get(b).expandDims(0);
            for (int s = 0; s < 2; s++) {
                int e = routing.expertIndex(b, s);
                float[] f =
                        moe.expert(e).forward(ps, new NDList(image), false).singletonOrThrow().toFloatArray();
                for (int i = 0; i < per; i++) {
                    expected[i] += routing.gate(b, s) * (double) f[i];
                }
            }
            float[] actual = Arrays.copyOfRange(y, b * per, (b + 1) * per);
            assertThat(actual).as("image %s", b).containsExactly(toFloats(expected), within(1e-4f));
        }
    }

    @Test
    void backward_sparseAndDenseInTraining_sameGradients() throws Exception {
        // experts without BatchNorm (whose batch statistics differ between the modes) and no
        // noise: both modes compute the same function, so their gradients must agree
        MoeBlock sparse = plainMoe(Dispatch.SPARSE);
        MoeBlock dense = plainMoe(Dispatch.DENSE);
        Shape shape = new Shape(12, 4, 8, 8);
        // the same seed gives both the same parameters (loadParameters would drop requiresGradient)
        Engine.getInstance().setRandomSeed(5);
        sparse.initialize(manager, DataType.FLOAT32, shape);
        Engine.getInstance().setRandomSeed(5);
        dense.initialize(manager, DataType.FLOAT32, shape);
        assertThat(snapshot(sparse).values()).usingRecursiveComparison().isEqualTo(snapshot(dense).values());
        NDArray w = randomInput(manager, 8, 12, 4, 8, 8);
        float[][] xGrad = new float[2][];
        MoeBlock[] blocks = {sparse, dense};
        for (int i = 0; i < 2; i++) {
            NDArray x = randomInput(manager, 7, 12, 4, 8, 8);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = blocks[i].forward(new ParameterStore(manager, false), new NDList(x), true)
                        .singletonOrThrow();
                gc.backward(y.mul(w).sum());
            }
            xGrad[i] = x.getGradient().toFloatArray();
        }
        for (int b = 0; b < 12; b++) {
            for (int s = 0; s < 2; s++) {
                assertThat(sparse.lastRouting().orElseThrow().expertIndex(b, s))
                        .isEqualTo(dense.lastRouting().orElseThrow().expertIndex(b, s));
            }
        }
        assertThat(xGrad[0]).containsExactly(xGrad[1], within(1e-5f));
        ai.djl.nn.ParameterList a = sparse.getParameters();
        ai.djl.nn.ParameterList b = dense.getParameters();
        for (int p = 0; p < a.size(); p++) {
            float[] gb = b.valueAt(p).getArray().getGradient().toFloatArray();
            NDArray sparseWeight = a.valueAt(p).getArray();
            // an expert SPARSE never ran has no gradient; DENSE gives it zeros
            float[] ga = sparseWeight.hasGradient()
                    ? sparseWeight.getGradient().toFloatArray()
                    : new float[gb.length];
            assertThat(ga).as(a.keyAt(p)).containsExactly(gb, within(1e-5f));
        }
    }

    private static MoeBlock plainMoe(Dispatch dispatch) {
        return MoeBlock.builder()
                .setNumExperts(4)
                .setExpertFactory(
                        index ->
                                new SequentialBlock()
                                        .add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                                                .optPadding(new Shape(1, 1)).setFilters(4).build())
                                        .add(Activation::relu))
                .optTopK(2)
                .optDispatch(dispatch)
                .optRouterInitStd(0.5f)
                .optNoise(0f, 0f)
                .build();
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    @Test
    void forward_inference_isDeterministic() {
        MoeBlock moe = smallMoe(4, 2, Dispatch.SPARSE, 4);
        moe.initialize(manager, DataType.FLOAT32, new Shape(8, 4, 8, 8));
        NDArray x = randomInput(manager, 5, 8, 4, 8, 8);
        ParameterStore ps = new ParameterStore(manager, false);
        float[] a = moe.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
        float[] b = moe.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
        assertThat(a).containsExactly(b);
    }

    @Test
    void backward_gradientsReachRouterAndRoutedExperts_notUnroutedOne() {
        for (Dispatch dispatch : Dispatch.values()) {
            MoeBlock moe = smallMoe(4, 2, dispatch, 4);
            moe.initialize(manager, DataType.FLOAT32, new Shape(12, 4, 8, 8));
            moe.maskExpert(3, true);
            NDArray x = randomInput(manager, 11, 12, 4, 8, 8);
            ParameterStore ps = new ParameterStore(manager, false);
            Routing routing;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = moe.forward(ps, new NDList(x), true).singletonOrThrow();
                routing = moe.lastRouting().orElseThrow();
                // a loss that depends on the gates: weight each output channel differently
                gc.backward(y.mul(randomInput(manager, 12, 1, 4, 1, 1)).sum());
            }
            int[] counts = routing.expertCounts();
            assertThat(counts[3]).as("masked expert is never routed").isZero();
            assertThat(maxAbsGradient(moe.router())).as("%s router", dispatch).isGreaterThan(0f);
            for (int e = 0; e < 3; e++) {
                if (counts[e] > 0) {
                    assertThat(maxAbsGradient(moe.expert(e)))
                            .as("%s expert %s routed %s images", dispatch, e, counts[e])
                            .isGreaterThan(0f);
                }
            }
            assertThat(maxAbsGradient(moe.expert(3))).as("%s unrouted expert", dispatch).isZero();
        }
    }

    @Test
    void forward_inScopedBatches_leavesNoArrayInTheParametersManager() {
        for (boolean cosine : new boolean[] {true, false}) {
            try (NDManager params = NDManager.newBaseManager()) {
                MoeBlock moe = MoeBlock.builder().setNumExperts(3).setExpertFactory(ConvExperts.residual(4))
                        .optCosineRouter(cosine).build();
                moe.initialize(params, DataType.FLOAT32, new Shape(8, 4, 8, 8));
                int before = params.getManagedArrays().size();
                for (int i = 0; i < 5; i++) {
                    try (NDManager scope = NDManager.newBaseManager()) {
                        NDArray x = randomInput(scope, i, 8, 4, 8, 8);
                        moe.forward(new ParameterStore(scope, false), new NDList(x), i % 2 == 0);
                    }
                }
                assertThat(params.getManagedArrays().size()).as("cosine=%s", cosine).isEqualTo(before);
            }
        }
    }

    @Test
    void routerLosses_reachTheInputOnlyWhenNotDetached() {
        for (boolean detach : new boolean[] {true, false}) {
            MoeBlock moe = MoeBlock.builder().setNumExperts(3).setExpertFactory(ConvExperts.residual(4))
                    .optRouterInitStd(0.5f).optDetachRouterInput(detach).build();
            moe.initialize(manager, DataType.FLOAT32, new Shape(6, 4, 8, 8));
            NDArray x = randomInput(manager, 3, 6, 4, 8, 8);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                moe.forward(new ParameterStore(manager, false), new NDList(x), true);
                gc.backward(MoeLosses.zLoss(moe.lastRouting().orElseThrow()));
            }
            float inputGradient = x.getGradient().abs().max().getFloat();
            if (detach) {
                assertThat(inputGradient).isZero();
            } else {
                assertThat(inputGradient).isGreaterThan(0f);
            }
            assertThat(maxAbsGradient(moe.router())).isGreaterThan(0f);
        }
    }

    @Test
    void maskExpert_neverSelected_inTrainingOrInference() {
        MoeBlock moe = smallMoe(4, 2, Dispatch.SPARSE, 4);
        moe.initialize(manager, DataType.FLOAT32, new Shape(32, 4, 8, 8));
        ParameterStore ps = new ParameterStore(manager, false);
        NDArray x = randomInput(manager, 1, 32, 4, 8, 8);
        int[] before = runAndCount(moe, ps, x, false);
        int favourite = argMax(before);
        moe.maskExpert(favourite, true);
        for (int round = 0; round < 5; round++) {
            NDArray xi = randomInput(manager, 100 + round, 32, 4, 8, 8);
            assertThat(runAndCount(moe, ps, xi, round % 2 == 0)[favourite]).isZero();
        }
        moe.maskExpert(favourite, false);
        assertThat(runAndCount(moe, ps, x, false)).containsExactly(before);
    }

    @Test
    void freezeExpert_receivingImagesInTraining_staysBitIdentical() throws Exception {
        MoeBlock moe = smallMoe(4, 2, Dispatch.SPARSE, 4);
        SequentialBlock net =
                new SequentialBlock()
                        .add(moe)
                        .add(Pool.globalAvgPool2dBlock())
                        .add(Blocks.batchFlattenBlock())
                        .add(Linear.builder().setUnits(3).build());
        try (Model model = Model.newInstance("frozen")) {
            model.setBlock(net);
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(0.05f))
                                            .build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(16, 4, 8, 8));
                moe.freezeExpert(1, true);
                assertThat(moe.isExpertFrozen(1)).isTrue();
                assertThat(moe.isExpertFrozen(0)).isFalse();
                Map<String, float[]> frozenBefore = snapshot(moe.expert(1));
                Map<String, float[]> otherBefore = snapshot(moe.expert(0));
                int[] received = new int[4];
                try (AutoCloseable listener =
                        moe.addRoutingListener(
                                r -> {
                                    int[] c = r.expertCounts();
                                    for (int e = 0; e < 4; e++) {
                                        received[e] += c[e];
                                    }
                                })) {
                    for (int step = 0; step < 8; step++) {
                        try (NDManager scope = trainer.getManager().newSubManager()) {
                            NDArray x = randomInput(scope, step, 16, 4, 8, 8);
                            NDArray y = scope.randomInteger(0, 3, new Shape(16), DataType.INT64);
                            try (GradientCollector gc = trainer.newGradientCollector()) {
                                NDArray pred = trainer.forward(new NDList(x)).singletonOrThrow();
                                gc.backward(trainer.getLoss().evaluate(new NDList(y), new NDList(pred)));
                            }
                            trainer.step();
                        }
                    }
                }
                assertThat(received[1]).as("frozen expert received images").isPositive();
                assertThat(received[0]).isPositive();
                Map<String, float[]> frozenAfter = snapshot(moe.expert(1));
                for (String name : frozenBefore.keySet()) {
                    assertThat(frozenAfter.get(name)).as(name).containsExactly(frozenBefore.get(name));
                }
                Map<String, float[]> otherAfter = snapshot(moe.expert(0));
                boolean changed = false;
                for (String name : otherBefore.keySet()) {
                    changed |= !Arrays.equals(otherBefore.get(name), otherAfter.get(name));
                }
                assertThat(changed).as("an unfrozen expert that got images changes").isTrue();

                moe.freezeExpert(1, false);
                for (Pair<String, Parameter> p : moe.expert(1).getParameters()) {
                    boolean stat = p.getValue().getType() == Parameter.Type.RUNNING_MEAN
                            || p.getValue().getType() == Parameter.Type.RUNNING_VAR;
                    assertThat(p.getValue().requiresGradient()).as(p.getKey()).isEqualTo(!stat);
                }
            }
        }
    }

    @Test
    void freezeRouter_routerWeightsUnchanged() throws Exception {
        MoeBlock moe = smallMoe(4, 2, Dispatch.SPARSE, 4);
        try (Model model = Model.newInstance("router")) {
            model.setBlock(moe);
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.l2Loss())
                            .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.05f)).build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(8, 4, 8, 8));
                moe.freezeRouter(true);
                assertThat(moe.isRouterFrozen()).isTrue();
                Map<String, float[]> before = snapshot(moe.router());
                for (int step = 0; step < 3; step++) {
                    try (NDManager scope = trainer.getManager().newSubManager()) {
                        NDArray x = randomInput(scope, step, 8, 4, 8, 8);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray pred = trainer.forward(new NDList(x)).singletonOrThrow();
                            gc.backward(trainer.getLoss().evaluate(new NDList(x.zerosLike()), new NDList(pred)));
                        }
                        trainer.step();
                    }
                }
                Map<String, float[]> after = snapshot(moe.router());
                for (String name : before.keySet()) {
                    assertThat(after.get(name)).as(name).containsExactly(before.get(name));
                }
            }
        }
    }

    private int[] runAndCount(MoeBlock moe, ParameterStore ps, NDArray x, boolean training) {
        try (NDManager scope = manager.newSubManager()) {
            x.tempAttach(scope);
            moe.forward(ps, new NDList(x), training);
            return moe.lastRouting().orElseThrow().expertCounts();
        }
    }

    private static int argMax(int[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static float maxAbsGradient(ai.djl.nn.Block block) {
        float max = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (!p.getValue().requiresGradient()) {
                continue;
            }
            NDArray grad = p.getValue().getArray().getGradient();
            max = Math.max(max, grad.abs().max().getFloat());
        }
        return max;
    }

    static void copyParameters(ai.djl.nn.Block from, ai.djl.nn.Block to) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        from.saveParameters(new DataOutputStream(bytes));
        to.loadParameters(
                to.getParameters().valueAt(0).getArray().getManager(),
                new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
    }

    static List<String> names(ai.djl.nn.Block block) {
        List<String> names = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            names.add(p.getKey());
        }
        return names;
    }
}

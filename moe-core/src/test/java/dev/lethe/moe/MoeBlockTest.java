package dev.lethe.moe;

import dev.lethe.moe.loss.MoeLosses;

import dev.lethe.moe.routing.Routing;

import static dev.lethe.moe.MoeTestSupport.randomInput;
import static dev.lethe.moe.MoeTestSupport.smallMoe;
import static dev.lethe.moe.MoeTestSupport.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
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

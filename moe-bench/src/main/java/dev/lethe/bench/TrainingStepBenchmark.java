package dev.lethe.bench;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.lethe.moe.Dispatch;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.loss.MoeTrainingLoss;
import dev.lethe.moe.train.FusedSgd;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step of the ready MoE CNN ({@link MoeResNet}) on a random 32×32×3 batch: forward,
 * {@link MoeTrainingLoss} (cross-entropy + router balancing 1e-2), backward, SGD with heavy-ball
 * momentum 0.9, lr 0.01: {@link FusedSgd} by default, DJL's {@code Sgd} with {@code -p
 * optimizer=djl} (the same update, two more libtorch ops per parameter).
 * images/s = batch / (ms/op) × 1000; achieved GFLOP/s = 3 × {@code flopsPerImage()} × batch / time
 * (backward ≈ 2× forward).
 *
 * <p>Baseline ({@link #matmulCeiling}): a square float32 matmul (2048² by default, 2·n³ FLOPs) on
 * the same device and thread count, measured in the same run: the practical ceiling of the
 * machine, against which the training step's GFLOP/s is read.
 *
 * <p>Each step runs in a sub-manager of the trainer's manager and reads the loss and one updated
 * weight to the host.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1",
            "-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=error"
        })
public class TrainingStepBenchmark {

    /** A model, its trainer and one fixed batch. */
    @State(Scope.Benchmark)
    public static class Step extends BenchEnv {

        /** Width of stage 1; stages 2 and 3 are 2× and 4× (16 → widths 16, 32, 64). */
        @Param({"16"})
        public int width;

        /** E per MoE stage (stages 2 and 3). */
        @Param({"8"})
        public int experts;

        /** k. */
        @Param({"2"})
        public int topK;

        /** Dispatch of the MoE stages. */
        @Param({"SPARSE"})
        public Dispatch dispatch;

        /** Images per step. */
        @Param({"128"})
        public int batch;

        /** {@code fused} ({@link FusedSgd}) or {@code djl} (DJL's Sgd): the same heavy-ball update. */
        @Param({"fused"})
        public String optimizer;

        NDManager base;
        Model model;
        Trainer trainer;
        NDArray images;
        NDArray labels;
        Parameter probe;

        @Setup(Level.Trial)
        public void setUp() {
            base = openTrial();
            base.getEngine().setRandomSeed(5);
            MoeResNet.Config config =
                    MoeResNet.Config.builder()
                            .optWidths(width, 2 * width, 4 * width)
                            .optNumExperts(experts)
                            .optTopK(topK)
                            .optDispatch(dispatch)
                            .optSeed(3)
                            .build();
            model = MoeResNet.newModel(config);
            if (!base.getDevice().equals(model.getNDManager().getDevice())) {
                throw new IllegalStateException(
                        "model on " + model.getNDManager().getDevice() + ", batch on "
                                + base.getDevice() + ": use Device.gpu() as DJL's default device");
            }
            Loss loss =
                    MoeTrainingLoss.builder(Loss.softmaxCrossEntropyLoss(), model.getBlock())
                            .optBalance(1e-2f)
                            .build();
            DefaultTrainingConfig training =
                    new DefaultTrainingConfig(loss)
                            .optOptimizer(optimizer())
                            .optDevices(new Device[] {base.getDevice()});
            trainer = model.newTrainer(training);
            probe = model.getBlock().getParameters().get(0).getValue();
            images = base.randomNormal(new Shape(batch, 3, 32, 32));
            labels = base.randomInteger(0, config.numClasses(), new Shape(batch), DataType.INT64);
            System.out.printf(
                    "[lethe-bench] MoeResNet widths %d,%d,%d E=%d k=%d: %d forward FLOPs per image%n",
                    width, 2 * width, 4 * width, experts, topK, config.flopsPerImage());
        }

        private Optimizer optimizer() {
            switch (optimizer) {
                case "fused":
                    return FusedSgd.builder()
                            .setLearningRateTracker(Tracker.fixed(0.01f))
                            .optMomentum(0.9f)
                            .build();
                case "djl":
                    return Optimizer.sgd()
                            .setLearningRateTracker(Tracker.fixed(0.01f))
                            .optMomentum(0.9f)
                            .build();
                default:
                    throw new IllegalArgumentException(
                            "optimizer must be fused or djl, not " + optimizer);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            trainer.close();
            model.close();
            base.close();
        }
    }

    /** Two n×n float32 matrices. */
    @State(Scope.Benchmark)
    public static class Matmul extends BenchEnv {

        /** n. */
        @Param({"2048"})
        public int n;

        NDManager base;
        NDArray a;
        NDArray b;

        @Setup(Level.Trial)
        public void setUp() {
            base = openTrial();
            a = base.randomNormal(new Shape(n, n));
            b = base.randomNormal(new Shape(n, n));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            base.close();
        }
    }

    /**
     * @param s the model state
     * @return the loss plus one updated weight (materialised)
     */
    @Benchmark
    public float trainingStep(Step s) {
        try (NDManager step = s.trainer.getManager().newSubManager()) {
            s.images.tempAttach(step);
            s.labels.tempAttach(step);
            float loss;
            try (GradientCollector gc = s.trainer.newGradientCollector()) {
                NDArray pred = s.trainer.forward(new NDList(s.images)).singletonOrThrow();
                NDArray l = s.trainer.getLoss().evaluate(new NDList(s.labels), new NDList(pred));
                gc.backward(l);
                loss = l.getFloat();
            }
            s.trainer.step();
            NDArray flat = s.probe.getArray().reshape(-1);
            flat.attach(step);
            return loss + flat.get(0).getFloat();
        }
    }

    /**
     * @param m the matrices
     * @return one element of the product (materialised)
     */
    @Benchmark
    public float matmulCeiling(Matmul m) {
        try (NDManager step = m.base.newSubManager()) {
            m.a.tempAttach(step);
            m.b.tempAttach(step);
            return m.a.matMul(m.b).getFloat(0, 0);
        }
    }
}

package dev.lethe.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.lethe.moe.ConvExperts;
import dev.lethe.moe.Dispatch;
import dev.lethe.moe.MoeBlock;
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
 * One forward + backward pass of an MoE layer of residual conv experts, in training mode, on a
 * (batch, channels, size, size) input: {@link MoeBlock} with SPARSE or DENSE dispatch.
 *
 * <p>Baseline ({@link #plainBaseline}): a plain stack of {@code topK} residual blocks
 * ({@code ConvExperts.residual(channels).create(i)}, i &lt; k) on the same input. It does the same
 * per-image expert work as the MoE layer (each image passes through k experts), without routing,
 * gathering or the gate-weighted sum, so SPARSE / baseline is the overhead of sparse dispatch and
 * DENSE / SPARSE approaches E / k when routing costs nothing.
 *
 * <p>The loss is {@code sum(y * w)} with a fixed random {@code w}, so the gate and expert gradients
 * are not trivial. Each call reads the loss and one parameter gradient to the host (materialised,
 * synchronised on a GPU) and runs inside its own sub-manager.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1",
            "-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=error"
        })
public class MoeLayerBenchmark {

    /** The input and loss weights shared by both variants. */
    @State(Scope.Benchmark)
    public abstract static class Layer extends BenchEnv {

        /** Images per batch. */
        @Param({"32", "128"})
        public int batch;

        /** Channels of the input and of every expert. */
        @Param({"64"})
        public int channels;

        /** Height and width of the input. */
        @Param({"16"})
        public int size;

        /** k: experts per image (for the baseline: residual blocks in sequence). */
        @Param({"1", "2"})
        public int topK;

        NDManager base;
        Block block;
        NDArray x;
        NDArray lossWeights;
        ParameterStore store;

        abstract Block build();

        @Setup(Level.Trial)
        public void setUp() {
            base = openTrial();
            Shape shape = new Shape(batch, channels, size, size);
            base.getEngine().setRandomSeed(7);
            block = build();
            block.initialize(base, DataType.FLOAT32, shape);
            x = base.randomNormal(shape);
            lossWeights = base.randomNormal(shape);
            store = new ParameterStore(base, false);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            base.close();
        }

        float forwardBackward() {
            try (NDManager step = base.newSubManager()) {
                x.tempAttach(step);
                lossWeights.tempAttach(step);
                float loss;
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray y = block.forward(store, new NDList(x), true).singletonOrThrow();
                    NDArray l = y.mul(lossWeights).sum();
                    gc.backward(l);
                    loss = l.getFloat();
                }
                return loss + gradientProbe(block, step);
            }
        }
    }

    /** The MoE layer: E residual experts, top-k routing, SPARSE or DENSE dispatch. */
    @State(Scope.Benchmark)
    public static class Moe extends Layer {

        /** SPARSE (each expert on its own images) or DENSE (every expert on every image). */
        @Param({"SPARSE", "DENSE"})
        public Dispatch dispatch;

        /** E: number of experts. */
        @Param({"4", "8", "16"})
        public int experts;

        @Override
        Block build() {
            return MoeBlock.builder()
                    .setNumExperts(experts)
                    .setExpertFactory(ConvExperts.residual(channels))
                    .optTopK(topK)
                    .optDispatch(dispatch)
                    .optSeed(11)
                    .build();
        }
    }

    /** The baseline: k plain residual blocks in sequence (the per-image work of k experts). */
    @State(Scope.Benchmark)
    public static class Plain extends Layer {

        @Override
        Block build() {
            SequentialBlock blocks = new SequentialBlock();
            for (int i = 0; i < topK; i++) {
                blocks.add(ConvExperts.residual(channels).create(i));
            }
            return blocks;
        }
    }

    /**
     * @param moe the MoE layer state
     * @return the loss plus one gradient element (materialised)
     */
    @Benchmark
    public float moeForwardBackward(Moe moe) {
        return moe.forwardBackward();
    }

    /**
     * @param plain the baseline state
     * @return the loss plus one gradient element (materialised)
     */
    @Benchmark
    public float plainBaseline(Plain plain) {
        return plain.forwardBackward();
    }
}

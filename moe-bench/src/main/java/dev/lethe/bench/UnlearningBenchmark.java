package dev.lethe.bench;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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
 * The unlearning engine's own costs on the MoE CNN (widths 16, 32, 64, E = 8, k = 2), on 512
 * synthetic 32×32 images of 10 classes (the numbers do not depend on what the pixels show):
 *
 * <ul>
 *   <li>{@code inferenceBaseline}: one inference pass over the 512 images in batches of 256, the
 *       floor of any profiling;
 *   <li>{@code profilerPass}: {@link ActivationProfiler} over the same images (the same forward plus
 *       the class × expert accounting);
 *   <li>{@code unlearnSteps}: a whole {@code Unlearner.retrain()} with 4 optimizer steps (forget
 *       class of 256 images, 64 forget + 64 retain images per step, 1 epoch): model copy,
 *       profiling of the 256 forget images, selection, 4 steps and the audit hashes. Divide by 4 for
 *       an upper bound of one step.
 * </ul>
 *
 * <p>Scores are ms per call; images/s = 512 / (ms / 1000) for the two passes.
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
public class UnlearningBenchmark {

    /** Trial state: a model and 512 labelled images. */
    @State(Scope.Benchmark)
    public static class Engine extends BenchEnv {

        @Param({"16"})
        public int width;

        NDManager base;
        Model model;
        LabeledData data;

        @Setup(Level.Trial)
        public void setUp() {
            base = openTrial();
            base.getEngine().setRandomSeed(5);
            model = MoeResNet.newModel(MoeResNet.Config.builder().optWidths(width, 2 * width, 4 * width).build());
            int n = 512;
            Random random = new Random(1);
            float[] x = new float[n * 3 * 32 * 32];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] y = new float[n];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                // class 3 takes half the images so that the forget set fills 4 steps of 64
                labels[i] = i % 2 == 0 ? 3 : (i / 2) % 10 == 3 ? 4 : (i / 2) % 10;
                y[i] = labels[i];
            }
            ArrayDataset ds = new ArrayDataset.Builder()
                    .setData(base.create(x, new Shape(n, 3, 32, 32)))
                    .optLabels(base.create(y))
                    .setSampling(256, false)
                    .build();
            List<String> names = new ArrayList<>();
            for (int c = 0; c < 10; c++) {
                names.add("class " + c);
            }
            data = LabeledData.of(ds, labels, names);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            model.close();
            base.close();
        }
    }

    @Benchmark
    public float inferenceBaseline(Engine e) throws IOException {
        float sum = 0;
        for (int start = 0; start < e.data.size(); start += 256) {
            int[] idx = new int[256];
            for (int i = 0; i < 256; i++) {
                idx[i] = start + i;
            }
            try (NDManager scope = e.base.newSubManager(); Batch b = e.data.batch(scope, idx)) {
                NDList out = e.model.getBlock().forward(new ParameterStore(scope, false), b.getData(), false);
                sum += out.head().getFloat(0, 0);
            }
        }
        return sum;
    }

    @Benchmark
    public long profilerPass(Engine e) throws IOException {
        ActivationProfile p = ActivationProfiler.profile(e.model, e.data, null, 256);
        return p.layer(p.layerNames().get(0)).images();
    }

    @Benchmark
    public double unlearnSteps(Engine e) throws IOException {
        UnlearningResult r = Unlearner.forClass(3).from(e.model).using(e.data)
                .optEpochs(1).optBatchSize(64).optProfileRetainSample(0).retrain();
        try (Model m = r.model()) {
            return r.lastLoss();
        }
    }
}

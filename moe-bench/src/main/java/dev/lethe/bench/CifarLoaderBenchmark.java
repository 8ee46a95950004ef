package dev.lethe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Images per second of one CIFAR training epoch: 50,000 synthetic in-memory images (random bytes, no
 * file needed), batches of 128, shuffled, augmented (pad-4 random crop + flip) and normalised into one
 * float32 (128, 3, 32, 32) NDArray per batch. Scores are images/s (one operation = one image).
 *
 * <ul>
 *   <li>{@code epoch}: the {@link CifarDataset} path that training uses.
 *   <li>{@code epochTensorNormalise} and {@code epochHostNormalise}: the two places normalisation can
 *       happen, compared on the same shuffled gather without augmentation: a uint8 NDArray cast and
 *       normalised by libtorch (the design {@code CifarDataset} uses), or a float[] normalised on the
 *       host through a look-up table and handed to libtorch as a float32 NDArray (4&times; the bytes).
 *   <li>{@code baseline}: reading each image's label byte only, the floor of any loader.
 * </ul>
 *
 * <p>Each batch is materialised (one float read back), and freed. One thread; libtorch is limited to
 * 1 thread in the fork, which runs offline ({@code ai.djl.offline=true}; JMH cannot set the {@code
 * OPT_OUT_TRACKING} environment variable).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1",
            "-Xmx2g"
        })
public class CifarLoaderBenchmark {
    private static final int IMAGES = 50_000;
    private static final int BATCH = 128;

    private NDManager manager;
    private CifarDataset train;
    private byte[] pixels;
    private byte[] labels;
    private NDArray mean;
    private NDArray std;
    private float[] lut;

    /** Builds 50,000 random images with labels {@code i % 10}, and the training view over them. */
    @Setup(Level.Trial)
    public void setUp() {
        pixels = new byte[IMAGES * 3072];
        new SplittableRandom(42).nextBytes(pixels);
        labels = new byte[IMAGES];
        for (int i = 0; i < IMAGES; i++) {
            labels[i] = (byte) (i % 10);
        }
        List<String> names = new ArrayList<>();
        for (int c = 0; c < 10; c++) {
            names.add("class" + c);
        }
        CifarData data = CifarData.of(CifarVariant.CIFAR10, LabelMode.FINE, names, labels, pixels,
                new byte[1], new byte[3072]);
        train = CifarDataset.builder()
                .optData(data)
                .optUsage(Dataset.Usage.TRAIN)
                .optValidationSize(0)
                .optAugment(true)
                .optAugmentSeed(1)
                .setSampling(BATCH, true)
                .build();
        manager = NDManager.newBaseManager();
        mean = manager.create(CifarVariant.CIFAR10.mean(), new Shape(1, 3, 1, 1));
        std = manager.create(CifarVariant.CIFAR10.std(), new Shape(1, 3, 1, 1));
        lut = new float[3 * 256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                lut[c * 256 + v] = (v / 255f - CifarVariant.CIFAR10.mean()[c]) / CifarVariant.CIFAR10.std()[c];
            }
        }
    }

    /** Frees the arrays. */
    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /**
     * One augmented, normalised epoch through {@link CifarDataset#getData}.
     *
     * @return a sum of one float per batch
     * @throws IOException never for in-memory data
     */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public float epoch() throws IOException {
        float sum = 0;
        try (NDManager epoch = manager.newSubManager()) {
            for (Batch batch : train.getData(epoch)) {
                try (batch) {
                    sum += batch.getData().head().getFloat(0, 0, 0, 0);
                }
            }
        }
        return sum;
    }

    /**
     * One epoch of gathered bytes normalised by libtorch ops (no augmentation).
     *
     * @return a sum of one float per batch
     */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public float epochTensorNormalise() {
        float sum = 0;
        byte[] gathered = new byte[BATCH * 3072];
        int[] order = shuffled();
        for (int start = 0; start < IMAGES; start += BATCH) {
            int n = Math.min(BATCH, IMAGES - start);
            for (int j = 0; j < n; j++) {
                System.arraycopy(pixels, order[start + j] * 3072, gathered, j * 3072, 3072);
            }
            try (NDManager step = manager.newSubManager()) {
                NDArray bytes = step.create(java.nio.ByteBuffer.wrap(gathered, 0, n * 3072), new Shape(n, 3, 32, 32),
                        DataType.UINT8);
                NDArray x = bytes.toType(DataType.FLOAT32, false).divi(255f).subi(mean).divi(std);
                sum += x.getFloat(0, 0, 0, 0);
            }
        }
        return sum;
    }

    /**
     * One epoch of gathered bytes normalised on the host into a float[] (no augmentation).
     *
     * @return a sum of one float per batch
     */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public float epochHostNormalise() {
        float sum = 0;
        int[] order = shuffled();
        for (int start = 0; start < IMAGES; start += BATCH) {
            int n = Math.min(BATCH, IMAGES - start);
            float[] out = new float[n * 3072];
            for (int j = 0; j < n; j++) {
                int src = order[start + j] * 3072;
                for (int k = 0; k < 3072; k++) {
                    out[j * 3072 + k] = lut[(k >> 10) * 256 + (pixels[src + k] & 0xff)];
                }
            }
            try (NDManager step = manager.newSubManager()) {
                NDArray x = step.create(out, new Shape(n, 3, 32, 32));
                sum += x.getFloat(0, 0, 0, 0);
            }
        }
        return sum;
    }

    private static int[] shuffled() {
        int[] order = new int[IMAGES];
        for (int i = 0; i < IMAGES; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(7);
        for (int i = IMAGES - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * The floor: touch each image's label once.
     *
     * @return the sum of the labels
     */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public int baseline() {
        int sum = 0;
        for (byte label : labels) {
            sum += label;
        }
        return sum;
    }
}

package dev.lethe.bench;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.lethe.moe.Dispatch;
import dev.lethe.moe.loss.MoeTrainingLoss;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.FusedSgd;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times the training step of {@link TrainingStepBenchmark} phase by phase, counts the page faults
 * of the process per step and, on request, records a few steps with libtorch's profiler (a Chrome
 * trace that {@code moe-bench/profile_ops.py} turns into op counts and self times).
 *
 * <pre>
 *   java -cp moe-bench/target/benchmarks.jar dev.lethe.bench.StepProfile \
 *       [--threads 1] [--warmup 5] [--steps 20] [--optimizer fused|djl|nesterov]
 *       [--dispatch SPARSE|DENSE] [--trace PREFIX] [--trace-steps 3] [--shapes]
 * </pre>
 *
 * <p>Prints one line per phase (median and min ms over the timed steps), the median step, the page
 * faults per step (minor + major, from {@code /proc/self/stat}) and the resident set size. With
 * {@code --trace PREFIX}, then records {@code --trace-steps} more steps, each phase in its own
 * profiler session: {@code PREFIX.forward.0.json}, {@code PREFIX.loss.0.json}, ...; {@code
 * --shapes} records the input shapes of every operator too.
 * {@code --optimizer}: {@code fused} (default) is {@link FusedSgd} with heavy-ball momentum 0.9 and
 * lr 0.01, the benchmark's optimizer; {@code djl} is DJL's {@code Sgd} with the same settings;
 * {@code nesterov} is {@link FusedSgd} with Nesterov momentum and decoupled weight decay 5e-4.
 */
public final class StepProfile {

    private StepProfile() {}

    /**
     * @param args see the class comment
     * @throws IOException if the trace cannot be written
     */
    public static void main(String[] args) throws IOException {
        int threads = 1;
        int warmup = 5;
        int steps = 20;
        String optimizer = "fused";
        Dispatch dispatch = Dispatch.SPARSE;
        String trace = null;
        int traceSteps = 3;
        boolean shapes = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads":
                    threads = Integer.parseInt(args[++i]);
                    break;
                case "--warmup":
                    warmup = Integer.parseInt(args[++i]);
                    break;
                case "--steps":
                    steps = Integer.parseInt(args[++i]);
                    break;
                case "--optimizer":
                    optimizer = args[++i];
                    break;
                case "--dispatch":
                    dispatch = Dispatch.valueOf(args[++i]);
                    break;
                case "--trace":
                    trace = args[++i];
                    break;
                case "--shapes":
                    shapes = true;
                    break;
                case "--trace-steps":
                    traceSteps = Integer.parseInt(args[++i]);
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Engine engine = Engine.getInstance();
        JniUtils.setNumThreads(threads);
        engine.setRandomSeed(5);
        try (NDManager base = NDManager.newBaseManager(Device.cpu())) {
            MoeResNet.Config config =
                    MoeResNet.Config.builder()
                            .optWidths(16, 32, 64)
                            .optNumExperts(8)
                            .optTopK(2)
                            .optDispatch(dispatch)
                            .optSeed(3)
                            .build();
            try (Model model = MoeResNet.newModel(config);
                    Trainer trainer = model.newTrainer(training(model, optimizer))) {
                NDArray images = base.randomNormal(new Shape(128, 3, 32, 32));
                NDArray labels = base.randomInteger(0, 10, new Shape(128), DataType.INT64);
                Parameter probe = model.getBlock().getParameters().get(0).getValue();
                for (int i = 0; i < warmup; i++) {
                    step(trainer, images, labels, probe, null);
                }
                long[] faults0 = faults();
                double[][] phases = new double[5][steps];
                double[][] cpu = new double[5][steps];
                long process0 = processCpuNanos();
                for (int i = 0; i < steps; i++) {
                    double[] t = new double[10];
                    step(trainer, images, labels, probe, t);
                    for (int p = 0; p < 5; p++) {
                        phases[p][i] = t[p];
                        cpu[p][i] = t[5 + p];
                    }
                }
                double processCpu = (processCpuNanos() - process0) / 1e6 / steps;
                long[] faults1 = faults();
                String[] names = {"forward", "loss", "backward", "optimizer", "step"};
                System.out.printf(
                        Locale.ROOT,
                        "[step-profile] optimizer %s, dispatch %s, threads %d, %d steps after %d"
                                + " warm-up; load %s%n",
                        optimizer, dispatch, threads, steps, warmup, load());
                for (int p = 0; p < 5; p++) {
                    double[] s = phases[p].clone();
                    Arrays.sort(s);
                    double[] c = cpu[p].clone();
                    Arrays.sort(c);
                    System.out.printf(
                            Locale.ROOT,
                            "[step-profile] %-9s median %8.2f ms  min %8.2f ms  thread CPU median"
                                    + " %8.2f ms  min %8.2f ms%n",
                            names[p], s[s.length / 2], s[0], c[c.length / 2], c[0]);
                }
                System.out.printf(
                        Locale.ROOT,
                        "[step-profile] process CPU per step (all threads): %.2f ms%n",
                        processCpu);
                System.out.printf(
                        Locale.ROOT,
                        "[step-profile] page faults per step: minor %.0f, major %.1f; RSS %d MB%n",
                        (faults1[0] - faults0[0]) / (double) steps,
                        (faults1[1] - faults0[1]) / (double) steps,
                        rssMegabytes());
                if (trace != null) {
                    for (int i = 0; i < traceSteps; i++) {
                        tracedStep(trainer, images, labels, trace + ".", i, shapes);
                    }
                    System.out.printf(
                            "[step-profile] %d steps traced to %s.{forward,loss,backward,optimizer}.N.json%n",
                            traceSteps, trace);
                }
            }
        }
    }

    private static DefaultTrainingConfig training(Model model, String optimizer) {
        Loss loss =
                MoeTrainingLoss.builder(Loss.softmaxCrossEntropyLoss(), model.getBlock())
                        .optBalance(1e-2f)
                        .build();
        Optimizer opt;
        switch (optimizer) {
            case "djl":
                opt =
                        Optimizer.sgd()
                                .setLearningRateTracker(Tracker.fixed(0.01f))
                                .optMomentum(0.9f)
                                .build();
                break;
            case "fused":
                opt =
                        FusedSgd.builder()
                                .setLearningRateTracker(Tracker.fixed(0.01f))
                                .optMomentum(0.9f)
                                .build();
                break;
            case "nesterov":
                opt =
                        FusedSgd.builder()
                                .setLearningRateTracker(Tracker.fixed(0.01f))
                                .optMomentum(0.9f)
                                .optNesterov(true)
                                .optWeightDecays(5e-4f)
                                .build();
                break;
            default:
                throw new IllegalArgumentException(
                        "--optimizer must be djl, fused or nesterov, not " + optimizer);
        }
        return new DefaultTrainingConfig(loss)
                .optOptimizer(opt)
                .optDevices(new Device[] {Device.cpu()});
    }

    /**
     * One step as in TrainingStepBenchmark; t (may be null) receives the wall times of the phases
     * in ms (0..4) and the calling thread's CPU times (5..9).
     */
    private static float step(
            Trainer trainer, NDArray images, NDArray labels, Parameter probe, double[] t) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long[] c = new long[6];
        c[0] = threads.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        long t1;
        long t2;
        long t3;
        long t4;
        float result;
        try (NDManager step = trainer.getManager().newSubManager()) {
            images.tempAttach(step);
            labels.tempAttach(step);
            float loss;
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDArray pred = trainer.forward(new NDList(images)).singletonOrThrow();
                t1 = System.nanoTime();
                c[1] = threads.getCurrentThreadCpuTime();
                NDArray l = trainer.getLoss().evaluate(new NDList(labels), new NDList(pred));
                loss = l.getFloat();
                t2 = System.nanoTime();
                c[2] = threads.getCurrentThreadCpuTime();
                gc.backward(l);
                t3 = System.nanoTime();
                c[3] = threads.getCurrentThreadCpuTime();
            }
            trainer.step();
            NDArray flat = probe.getArray().reshape(-1);
            flat.attach(step);
            result = loss + flat.get(0).getFloat();
            t4 = System.nanoTime();
            c[4] = threads.getCurrentThreadCpuTime();
        }
        long t5 = System.nanoTime();
        c[5] = threads.getCurrentThreadCpuTime();
        if (t != null) {
            t[0] = (t1 - t0) / 1e6;
            t[1] = (t2 - t1) / 1e6;
            t[2] = (t3 - t2) / 1e6;
            t[3] = (t4 - t3) / 1e6;
            t[4] = (t5 - t0) / 1e6;
            for (int p = 0; p < 4; p++) {
                t[5 + p] = (c[p + 1] - c[p]) / 1e6;
            }
            t[9] = (c[5] - c[0]) / 1e6;
        }
        return result;
    }

    /**
     * One step as {@link #step}, each phase in its own libtorch profiler session, written to
     * {@code prefix + phase + "." + index + ".json"}.
     */
    private static void tracedStep(
            Trainer trainer,
            NDArray images,
            NDArray labels,
            String prefix,
            int index,
            boolean shapes) {
        try (NDManager step = trainer.getManager().newSubManager()) {
            images.tempAttach(step);
            labels.tempAttach(step);
            try (GradientCollector gc = trainer.newGradientCollector()) {
                JniUtils.startProfile(false, shapes, false);
                NDArray pred = trainer.forward(new NDList(images)).singletonOrThrow();
                JniUtils.stopProfile(prefix + "forward." + index + ".json");
                JniUtils.startProfile(false, shapes, false);
                NDArray l = trainer.getLoss().evaluate(new NDList(labels), new NDList(pred));
                l.getFloat();
                JniUtils.stopProfile(prefix + "loss." + index + ".json");
                JniUtils.startProfile(false, shapes, false);
                gc.backward(l);
                JniUtils.stopProfile(prefix + "backward." + index + ".json");
            }
            JniUtils.startProfile(false, shapes, false);
            trainer.step();
            JniUtils.stopProfile(prefix + "optimizer." + index + ".json");
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** @return minor and major page faults of this process so far */
    static long[] faults() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        // fields after the command name, which is in parentheses and may contain spaces
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // field 10 (minflt) and 12 (majflt) of proc(5), counted from 1 with pid and comm first
        return new long[] {Long.parseLong(f[7]), Long.parseLong(f[9])};
    }

    static long rssMegabytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return -1;
    }

    static String load() throws IOException {
        List<String> f = new ArrayList<>(Arrays.asList(Files.readString(Path.of("/proc/loadavg")).split(" ")));
        return String.join(" ", f.subList(0, 3));
    }
}

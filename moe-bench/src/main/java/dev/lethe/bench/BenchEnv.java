package dev.lethe.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.Pair;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * Settings every benchmark shares: the libtorch thread count and the device. Both are JMH
 * parameters, so they are recorded in JMH's JSON next to every score.
 *
 * <p>{@code threads} is applied with libtorch's {@code set_num_threads} when the trial starts (each
 * fork is a fresh JVM, so it never leaks between trials). {@code device} is {@code cpu} or {@code
 * gpu}; {@code gpu} fails the trial when DJL finds no CUDA device.
 */
@State(Scope.Benchmark)
public abstract class BenchEnv {

    /** libtorch intra-op threads. */
    @Param({"1"})
    public int threads;

    /** {@code cpu} or {@code gpu} (DJL's {@code Device.gpu()}). */
    @Param({"cpu"})
    public String device;

    /**
     * Applies the thread count and opens a base manager on the chosen device.
     *
     * @return the trial's base manager; the caller closes it in its tear-down
     */
    NDManager openTrial() {
        Engine engine = Engine.getInstance();
        JniUtils.setNumThreads(threads);
        if (JniUtils.getNumThreads() != threads) {
            throw new IllegalStateException(
                    "libtorch runs " + JniUtils.getNumThreads() + " threads, asked " + threads);
        }
        Device d;
        switch (device) {
            case "cpu":
                d = Device.cpu();
                break;
            case "gpu":
                if (engine.getGpuCount() == 0) {
                    throw new IllegalStateException("device=gpu but DJL finds no CUDA device");
                }
                d = Device.gpu();
                break;
            default:
                throw new IllegalArgumentException("device must be cpu or gpu, not " + device);
        }
        System.out.printf(
                "%n[lethe-bench] engine %s %s, device %s, threads %d%n",
                engine.getEngineName(), engine.getVersion(), d, threads);
        return NDManager.newBaseManager(d);
    }

    /**
     * Reads one element of the gradient of the block's first trainable parameter to the host, so
     * that every kernel queued before it (on a GPU: the whole backward pass) has finished.
     *
     * @param block the block
     * @param scope the manager that owns the temporary arrays
     * @return the element
     */
    static float gradientProbe(Block block, NDManager scope) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter parameter = p.getValue();
            if (!parameter.requiresGradient()) {
                continue;
            }
            NDArray grad = parameter.getArray().getGradient();
            grad.attach(scope);
            return grad.reshape(-1).getFloat(0);
        }
        throw new IllegalStateException("block has no trainable parameter");
    }
}

package dev.lethe.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.LibUtils;

/**
 * Prints which libtorch DJL loaded, from where, and whether it sees a GPU, then multiplies two
 * small matrices on the default device. The GPU kit runs it first, so a failure to load the JNI
 * library shows its own error text instead of a failed benchmark fork.
 *
 * <p>{@code java -cp 'lib/*' dev.lethe.bench.EngineCheck}; exit status 0 when the product is
 * right, 1 otherwise.
 */
public final class EngineCheck {

    private EngineCheck() {}

    /**
     * @param args ignored
     */
    public static void main(String[] args) {
        Engine engine = Engine.getEngine("PyTorch");
        System.out.printf(
                "engine %s %s, libtorch %s from %s, GPUs %d, default device %s%n",
                engine.getEngineName(),
                engine.getVersion(),
                LibUtils.getVersion(),
                LibUtils.getLibtorchPath(),
                engine.getGpuCount(),
                engine.defaultDevice());
        Device device = engine.defaultDevice();
        try (NDManager manager = NDManager.newBaseManager(device)) {
            NDArray a = manager.arange(4f).reshape(new Shape(2, 2));
            float[] product = a.matMul(a).toFloatArray();
            boolean ok =
                    product[0] == 2f && product[1] == 3f && product[2] == 6f && product[3] == 11f;
            System.out.printf("matmul on %s: %s%n", device, ok ? "ok" : "WRONG");
            System.exit(ok ? 0 : 1);
        }
    }
}

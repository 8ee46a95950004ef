package dev.lethe.moe;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Small helpers shared by the MoE tests. */
public final class MoeTestSupport {

    private MoeTestSupport() {}

    public static MoeBlock smallMoe(int experts, int k, Dispatch dispatch, int channels) {
        return MoeBlock.builder()
                .setNumExperts(experts)
                .setExpertFactory(ConvExperts.residual(channels))
                .optTopK(k)
                .optDispatch(dispatch)
                .optRouterInitStd(0.5f)
                .optSeed(7)
                .build();
    }

    public static NDArray randomInput(NDManager manager, long seed, long... shape) {
        Random random = new Random(seed);
        Shape s = new Shape(shape);
        float[] data = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        return manager.create(data, s);
    }

    /** Copies every parameter (BatchNorm statistics included) of a block, keyed by name. */
    public static Map<String, float[]> snapshot(ai.djl.nn.Block block) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    public static void initialize(ai.djl.nn.Block block, NDManager manager, Shape shape) {
        block.initialize(manager, DataType.FLOAT32, shape);
    }
}

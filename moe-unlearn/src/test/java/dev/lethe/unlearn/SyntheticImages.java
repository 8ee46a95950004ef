package dev.lethe.unlearn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import dev.lethe.unlearn.data.LabeledData;
import java.util.List;
import java.util.Random;

/** 32×32 RGB images whose class is a colour mix plus noise: separable, learnt in seconds. */
public final class SyntheticImages {

    public static final List<String> NAMES = List.of("red", "green", "blue", "yellow");
    private static final float[][] MEANS = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};

    private SyntheticImages() {}

    public static LabeledData make(NDManager manager, int perClass, long seed) {
        Random r = new Random(seed);
        int classes = NAMES.size();
        int n = perClass * classes;
        float[] x = new float[n * 3 * 1024];
        float[] y = new float[n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int c = i % classes;
            y[i] = c;
            labels[i] = c;
            for (int ch = 0; ch < 3; ch++) {
                for (int p = 0; p < 1024; p++) {
                    x[(i * 3 + ch) * 1024 + p] = (float) r.nextGaussian() * 0.6f + MEANS[c][ch];
                }
            }
        }
        ArrayDataset ds =
                new ArrayDataset.Builder()
                        .setData(manager.create(x, new Shape(n, 3, 32, 32)))
                        .optLabels(manager.create(y))
                        .setSampling(32, false)
                        .build();
        return LabeledData.of(ds, labels, NAMES);
    }
}

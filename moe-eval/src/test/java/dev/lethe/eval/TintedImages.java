package dev.lethe.eval;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import dev.lethe.unlearn.data.LabeledData;
import java.util.List;
import java.util.Random;

/**
 * Synthetic 3-class images that a tiny network learns in a few epochs: an image of class c is
 * Gaussian noise (sd 0.6) over a random overall brightness, with its channel c tinted by +0.9.
 */
public final class TintedImages {

    public static final List<String> NAMES = List.of("red", "green", "blue");

    private TintedImages() {}

    /**
     * @param manager owns the arrays (keep it open while the data is used)
     * @param n the number of images
     * @param classes the classes to draw from, uniformly
     * @param seed the seed
     * @return (n, 3, 32, 32) images with labels, batch size 32, shuffled when iterated for training
     */
    public static LabeledData make(NDManager manager, int n, int[] classes, long seed) {
        Random random = new Random(seed);
        float[] pixels = new float[n * 3 * 1024];
        float[] y = new float[n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int c = classes[random.nextInt(classes.length)];
            labels[i] = c;
            y[i] = c;
            float brightness = (float) random.nextGaussian() * 0.2f;
            for (int ch = 0; ch < 3; ch++) {
                float tint = ch == c ? 0.9f : 0f;
                int base = (i * 3 + ch) * 1024;
                for (int p = 0; p < 1024; p++) {
                    pixels[base + p] = brightness + tint + (float) random.nextGaussian() * 0.6f;
                }
            }
        }
        ArrayDataset dataset =
                new ArrayDataset.Builder()
                        .setData(manager.create(pixels, new Shape(n, 3, 32, 32)))
                        .optLabels(manager.create(y))
                        .setSampling(32, true)
                        .build();
        return LabeledData.of(dataset, labels, NAMES);
    }

    public static LabeledData make(NDManager manager, int n, long seed) {
        return make(manager, n, new int[] {0, 1, 2}, seed);
    }
}

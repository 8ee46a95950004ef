package dev.lethe.eval;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import dev.lethe.unlearn.data.LabeledData;
import java.util.List;
import java.util.Random;

/**
 * Synthetic images that a tiny network learns in a few epochs: an image of class c in 0–2 is
 * Gaussian noise (sd 0.6) over a random overall brightness, with its channel c tinted by +0.9.
 *
 * <p>{@link #striped} adds a class that hides behind the others at the output: an image of class 3,
 * "striped", has the tint of a random one of classes 0–2 plus horizontal stripes (rows alternately
 * +0.8 and −0.8, zero mean). A model that never saw class 3 maps a striped image to its tint's
 * class, like any other image of it; a model that learnt class 3 has features that tell the stripes
 * apart.
 */
public final class TintedImages {

    /** The names of classes 0–2. */
    public static final List<String> NAMES = List.of("red", "green", "blue");

    /** The names of {@link #striped}'s classes. */
    public static final List<String> STRIPED_NAMES = List.of("red", "green", "blue", "striped");

    /** The hidden class of {@link #striped}. */
    public static final int STRIPED = 3;

    private TintedImages() {}

    /**
     * @param manager owns the arrays (keep it open while the data is used)
     * @param n the number of images
     * @param classes the classes to draw from, uniformly, among 0–2
     * @param seed the seed
     * @return (n, 3, 32, 32) images with labels, batch size 32, shuffled when iterated for training
     */
    public static LabeledData make(NDManager manager, int n, int[] classes, long seed) {
        return make(manager, n, classes, NAMES, seed);
    }

    /** {@link #make(NDManager, int, int[], long)} with every class 0–2. */
    public static LabeledData make(NDManager manager, int n, long seed) {
        return make(manager, n, new int[] {0, 1, 2}, seed);
    }

    /**
     * @param manager owns the arrays
     * @param n the number of images, classes 0–3 drawn uniformly
     * @param seed the seed
     * @return the images of {@link #STRIPED_NAMES}, as {@link #make(NDManager, int, int[], long)}
     */
    public static LabeledData striped(NDManager manager, int n, long seed) {
        return make(manager, n, new int[] {0, 1, 2, STRIPED}, STRIPED_NAMES, seed);
    }

    private static LabeledData make(NDManager manager, int n, int[] classes, List<String> names, long seed) {
        Random random = new Random(seed);
        float[] pixels = new float[n * 3 * 1024];
        float[] y = new float[n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int c = classes[random.nextInt(classes.length)];
            labels[i] = c;
            y[i] = c;
            int tinted = c == STRIPED ? random.nextInt(3) : c;
            float brightness = (float) random.nextGaussian() * 0.2f;
            for (int ch = 0; ch < 3; ch++) {
                float tint = ch == tinted ? 0.9f : 0f;
                int base = (i * 3 + ch) * 1024;
                for (int p = 0; p < 1024; p++) {
                    float stripe = c == STRIPED ? ((p / 32) % 2 == 0 ? 0.8f : -0.8f) : 0f;
                    pixels[base + p] = brightness + tint + stripe + (float) random.nextGaussian() * 0.6f;
                }
            }
        }
        ArrayDataset dataset =
                new ArrayDataset.Builder()
                        .setData(manager.create(pixels, new Shape(n, 3, 32, 32)))
                        .optLabels(manager.create(y))
                        .setSampling(32, true)
                        .build();
        return LabeledData.of(dataset, labels, names);
    }
}

package dev.lethe.moe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import java.util.SplittableRandom;

/**
 * The augmentation a {@link TrainingRecipe} asks for, applied to a batch of images: horizontal
 * flips ({@link TrainingRecipe.Flip}) and random translations of up to {@code translate} pixels
 * per axis with reflected borders.
 *
 * <p>Every decision is a function of (seed, epoch, image index) only — not of the batch it lands
 * in or of the other images — so the same image is augmented the same way whatever data it is
 * trained with, and runs are reproducible. Under {@link TrainingRecipe.Flip#ALTERNATING} an image
 * is flipped in epoch {@code e} iff {@code (h(seed, index) + e)} is odd: it is seen both ways every
 * two epochs.
 */
public final class BatchAugmentation {

    private final TrainingRecipe.Flip flip;
    private final int translate;
    private final long seed;

    /**
     * @param flip the flips
     * @param translate largest translation in pixels, &gt;= 0
     * @param seed the seed of the decisions
     */
    public BatchAugmentation(TrainingRecipe.Flip flip, int translate, long seed) {
        this.flip = Preconditions.checkNotNull(flip, "flip must not be null");
        Preconditions.checkArgument(translate >= 0, "translate (%s) must be >= 0", translate);
        this.translate = translate;
        this.seed = seed;
    }

    /**
     * @param recipe a recipe
     * @return its augmentation, with the recipe's seed
     */
    public static BatchAugmentation of(TrainingRecipe recipe) {
        return new BatchAugmentation(recipe.flip(), recipe.translate(), recipe.seed());
    }

    /** @return whether this augmentation changes anything */
    public boolean isIdentity() {
        return flip == TrainingRecipe.Flip.NONE && translate == 0;
    }

    /**
     * Whether image {@code index} is flipped in {@code epoch}.
     *
     * @param index the image's index in its data set
     * @param epoch the epoch, from 0
     * @return true to flip
     */
    public boolean flips(long index, int epoch) {
        switch (flip) {
            case RANDOM:
                return (mix(seed, index, epoch + 1L) & 1L) == 1L;
            case ALTERNATING:
                return ((mix(seed, index, 0L) + epoch) & 1L) == 1L;
            default:
                return false;
        }
    }

    /**
     * Applies the augmentation.
     *
     * @param images (B, C, H, W) images
     * @param indices the data-set index of each image, length B
     * @param epoch the epoch, from 0
     * @return the augmented images, a new array in {@code images}' manager (or {@code images}
     *     itself when {@link #isIdentity()})
     */
    public NDArray apply(NDArray images, long[] indices, int epoch) {
        if (isIdentity()) {
            return images;
        }
        Shape s = images.getShape();
        Preconditions.checkArgument(s.dimension() == 4, "images must be (B, C, H, W) but are %s", s);
        int b = Math.toIntExact(s.get(0));
        int c = Math.toIntExact(s.get(1));
        int h = Math.toIntExact(s.get(2));
        int w = Math.toIntExact(s.get(3));
        Preconditions.checkArgument(
                indices.length == b, "indices (%s) must have one entry per image (%s)", indices.length, b);
        Preconditions.checkArgument(
                translate < h && translate < w, "translate (%s) must be smaller than the image (%sx%s)", translate, h, w);
        float[] in = images.toType(DataType.FLOAT32, false).toFloatArray();
        float[] out = new float[in.length];
        int[] rows = new int[h];
        int[] cols = new int[w];
        for (int i = 0; i < b; i++) {
            int dy = 0;
            int dx = 0;
            if (translate > 0) {
                SplittableRandom r = new SplittableRandom(mix(seed, indices[i], -1L - epoch));
                dy = r.nextInt(2 * translate + 1) - translate;
                dx = r.nextInt(2 * translate + 1) - translate;
            }
            boolean flipped = flips(indices[i], epoch);
            for (int y = 0; y < h; y++) {
                rows[y] = reflect(y + dy, h);
            }
            for (int x = 0; x < w; x++) {
                int src = reflect(x + dx, w);
                cols[x] = flipped ? w - 1 - src : src;
            }
            for (int ch = 0; ch < c; ch++) {
                int plane = (i * c + ch) * h * w;
                for (int y = 0; y < h; y++) {
                    int from = plane + rows[y] * w;
                    int to = plane + y * w;
                    for (int x = 0; x < w; x++) {
                        out[to + x] = in[from + cols[x]];
                    }
                }
            }
        }
        NDManager manager = images.getManager();
        return manager.create(out, s);
    }

    /** Reflects a coordinate into [0, n) without repeating the edge (…, 2, 1, 0, 1, 2, …). */
    static int reflect(int i, int n) {
        if (i < 0) {
            return -i;
        }
        if (i >= n) {
            return 2 * (n - 1) - i;
        }
        return i;
    }

    /** A well-mixed 64-bit hash of three numbers (SplitMix64's finaliser). */
    static long mix(long a, long b, long c) {
        long z = a * 0x9E3779B97F4A7C15L + b * 0xC2B2AE3D27D4EB4FL + c * 0x165667B19E3779F9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "BatchAugmentation(flip=" + flip + ", translate=" + translate + ")";
    }
}

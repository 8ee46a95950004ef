package dev.lethe.eval;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.Random;

/**
 * Seeded choices of items, shared by every measure of this module so that the same seed draws the
 * same images everywhere: a function of the seed and of the index array only (never of a model).
 */
public final class Indices {

    private Indices() {}

    /**
     * A seeded permutation (Fisher–Yates with {@link Random}).
     *
     * @param values the values to permute (not modified)
     * @param seed the seed
     * @return a new array with the same values in a seeded order
     */
    public static int[] shuffled(int[] values, long seed) {
        return partialShuffle(values, values.length, seed);
    }

    /**
     * A seeded sample without replacement.
     *
     * @param values the values to draw from (not modified)
     * @param n how many, in [0, values.length]
     * @param seed the seed
     * @return n of the values, ascending; the first n of {@link #shuffled} with the same seed
     * @throws IllegalArgumentException if n is out of range
     */
    public static int[] sample(int[] values, int n, long seed) {
        Preconditions.checkArgument(
                n >= 0 && n <= values.length, "n (%s) must be in [0, %s]", n, values.length);
        int[] out = partialShuffle(values, n, seed);
        Arrays.sort(out);
        return out;
    }

    private static int[] partialShuffle(int[] values, int n, long seed) {
        int[] pool = values.clone();
        Random random = new Random(seed);
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(pool.length - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        return Arrays.copyOf(pool, n);
    }
}

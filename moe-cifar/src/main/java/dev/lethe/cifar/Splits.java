package dev.lethe.cifar;

import java.util.SplittableRandom;

/** The seeded, stratified validation hold-out. */
final class Splits {
    private Splits() {}

    /**
     * Marks {@code size} of the images as held out: class {@code c} with {@code n_c} of {@code N}
     * images gives {@code floor(size * n_c / N)} images plus one for the classes with the largest
     * remainders (ties to the lower class id), chosen uniformly within the class with a generator
     * seeded by {@code seed}.
     */
    static boolean[] stratifiedHoldOut(byte[] labels, int numClasses, int size, long seed) {
        int n = labels.length;
        boolean[] held = new boolean[n];
        if (size == 0) {
            return held;
        }
        int[] counts = new int[numClasses];
        for (byte label : labels) {
            counts[label & 0xff]++;
        }
        int[] quota = new int[numClasses];
        long[] remainder = new long[numClasses];
        int assigned = 0;
        for (int c = 0; c < numClasses; c++) {
            long share = (long) size * counts[c];
            quota[c] = (int) (share / n);
            remainder[c] = share % n;
            assigned += quota[c];
        }
        for (int left = size - assigned; left > 0; left--) {
            int best = -1;
            for (int c = 0; c < numClasses; c++) {
                if (quota[c] < counts[c] && (best < 0 || remainder[c] > remainder[best])) {
                    best = c;
                }
            }
            quota[best]++;
            remainder[best] = -1;
        }
        int[][] members = new int[numClasses][];
        int[] filled = new int[numClasses];
        for (int c = 0; c < numClasses; c++) {
            members[c] = new int[counts[c]];
        }
        for (int i = 0; i < n; i++) {
            int c = labels[i] & 0xff;
            members[c][filled[c]++] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int c = 0; c < numClasses; c++) {
            int[] m = members[c];
            // partial Fisher-Yates: the first quota[c] places get a uniform sample of the class
            for (int k = 0; k < quota[c]; k++) {
                int j = k + random.nextInt(m.length - k);
                int t = m[k];
                m[k] = m[j];
                m[j] = t;
                held[m[k]] = true;
            }
        }
        return held;
    }

    /** The ascending indices whose flag equals {@code value}. */
    static int[] select(boolean[] flags, boolean value) {
        int count = 0;
        for (boolean f : flags) {
            if (f == value) {
                count++;
            }
        }
        int[] out = new int[count];
        int at = 0;
        for (int i = 0; i < flags.length; i++) {
            if (flags[i] == value) {
                out[at++] = i;
            }
        }
        return out;
    }
}

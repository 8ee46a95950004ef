package dev.lethe.unlearn.exact;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Content keys of images: a 64-bit hash of an item's pixels (float32 bits) and label, so that data
 * order and augmentation in exact training depend on the images themselves, not on where they sit
 * in a data set, and the same image gets the same key in the full data and in the data without a
 * class.
 */
final class ImageKeys {

    private static final int CHUNK = 256;

    private ImageKeys() {}

    /**
     * @param data the data
     * @param items the items to key
     * @return the key of each item, in the given order
     * @throws IOException if the data cannot be read
     */
    static long[] of(LabeledData data, int[] items) throws IOException {
        long[] keys = new long[items.length];
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int from = 0; from < items.length; from += CHUNK) {
                int[] chunk = Arrays.copyOfRange(items, from, Math.min(items.length, from + CHUNK));
                try (NDManager scope = manager.newSubManager(); Batch batch = data.batch(scope, chunk)) {
                    NDArray images = batch.getData().head();
                    float[] pixels = images.toFloatArray();
                    int per = pixels.length / chunk.length;
                    for (int i = 0; i < chunk.length; i++) {
                        Hasher h = Hashing.murmur3_128().newHasher();
                        h.putInt(data.label(chunk[i]));
                        for (int p = i * per; p < (i + 1) * per; p++) {
                            h.putInt(Float.floatToIntBits(pixels[p]));
                        }
                        keys[from + i] = h.hash().asLong();
                    }
                }
            }
        }
        return keys;
    }

    /**
     * Sorts items by a key of each (ties, i.e. identical images of the same class, by item index:
     * interchangeable).
     *
     * @param items the items
     * @param keys their keys, same order
     * @return the items in key order
     */
    static int[] sortByKey(int[] items, long[] keys) {
        Integer[] order = IntStream.range(0, items.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> keys[i]).thenComparingInt(i -> items[i]));
        int[] out = new int[items.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = items[order[i]];
        }
        return out;
    }

    /** SplitMix64 finaliser of a mix of values: a stateless seeded key. */
    static long mix(long... values) {
        long h = 0x9E3779B97F4A7C15L;
        for (long v : values) {
            h ^= v;
            h += 0x9E3779B97F4A7C15L;
            h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
            h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
            h ^= h >>> 31;
        }
        return h;
    }
}

package dev.lethe.unlearn.train;

import com.google.common.base.Preconditions;
import java.util.Arrays;

/**
 * The items of one unlearning step: forget images and retain images (indices into the run's
 * {@code LabeledData}). The batch is read forget items first. Immutable.
 */
public final class BatchMix {

    private final int[] forget;
    private final int[] retain;

    private BatchMix(int[] forget, int[] retain) {
        this.forget = forget;
        this.retain = retain;
    }

    /**
     * @param forget forget items (may be empty)
     * @param retain retain items (may be empty)
     * @return the mix
     */
    public static BatchMix of(int[] forget, int[] retain) {
        Preconditions.checkNotNull(forget, "forget must not be null");
        Preconditions.checkNotNull(retain, "retain must not be null");
        return new BatchMix(forget.clone(), retain.clone());
    }

    /** @return the forget items (a copy) */
    public int[] forget() {
        return forget.clone();
    }

    /** @return the retain items (a copy) */
    public int[] retain() {
        return retain.clone();
    }

    /** @return the number of items */
    public int size() {
        return forget.length + retain.length;
    }

    /** @return forget items then retain items */
    public int[] items() {
        int[] out = Arrays.copyOf(forget, size());
        System.arraycopy(retain, 0, out, forget.length, retain.length);
        return out;
    }

    /** @return per item of {@link #items()}, whether it is a forget item */
    public boolean[] isForget() {
        boolean[] out = new boolean[size()];
        Arrays.fill(out, 0, forget.length, true);
        return out;
    }
}

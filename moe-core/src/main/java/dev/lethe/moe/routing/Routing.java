package dev.lethe.moe.routing;

import ai.djl.ndarray.NDArray;
import dev.lethe.moe.MoeBlock;
import com.google.common.base.Preconditions;
import java.util.Arrays;

/**
 * What one forward pass of a {@link MoeBlock} did with one batch: which experts each image went to
 * and with which gates.
 *
 * <p>The host-side arrays ({@link #expertIndex(int, int)}, {@link #gate(int, int)}, {@link
 * #expertCounts()}) are plain Java copies and stay valid forever. The {@link NDArray} views ({@link
 * #logits()}, {@link #probabilities()}, {@link #gates()}) belong to the batch's {@code NDManager}
 * and carry gradients: use them (for auxiliary losses) before that manager closes.
 *
 * <p>Position {@code p = b * k + s} denotes slot {@code s} of image {@code b}; slots are ordered by
 * decreasing gate.
 */
public final class Routing {

    private final int batchSize;
    private final int numExperts;
    private final int topK;
    private final boolean training;
    private final long[] experts;
    private final float[] gateValues;
    private final NDArray logits;
    private final NDArray probabilities;
    private final NDArray gates;
    private final boolean[] detached;

    /**
     * A routing record as a {@link MoeBlock} makes it in its forward pass.
     *
     * @param numExperts E
     * @param topK k
     * @param training whether the pass ran in training mode
     * @param experts the expert of each position {@code b * k + s}, length B * k
     * @param gateValues the renormalised gate of each position, length B * k
     * @param logits router logits (B, E), or null
     * @param probabilities router probabilities (B, E), or null
     * @param gates renormalised gates (B, k), or null
     */
    public Routing(
            int numExperts,
            int topK,
            boolean training,
            long[] experts,
            float[] gateValues,
            NDArray logits,
            NDArray probabilities,
            NDArray gates) {
        this(numExperts, topK, training, experts, gateValues, logits, probabilities, gates, null);
    }

    /**
     * A routing record of a class-routed training pass ({@link MoeBlock#setClassRouting}), which
     * also says which positions ran their expert detached: with its parameters' gradient stopped
     * and in inference mode, because the expert does not belong to the image's class.
     *
     * @param numExperts E
     * @param topK k
     * @param training whether the pass ran in training mode
     * @param experts the expert of each position {@code b * k + s}, length B * k
     * @param gateValues the renormalised gate of each position, length B * k
     * @param logits router logits (B, E), or null
     * @param probabilities router probabilities (B, E), or null
     * @param gates renormalised gates (B, k), or null
     * @param detached per position, whether the expert ran detached; null = none did
     */
    public Routing(
            int numExperts,
            int topK,
            boolean training,
            long[] experts,
            float[] gateValues,
            NDArray logits,
            NDArray probabilities,
            NDArray gates,
            boolean[] detached) {
        Preconditions.checkArgument(
                detached == null || detached.length == experts.length,
                "detached has %s positions but experts has %s",
                detached == null ? 0 : detached.length,
                experts.length);
        this.numExperts = numExperts;
        this.topK = topK;
        this.training = training;
        this.batchSize = experts.length / topK;
        this.experts = experts;
        this.gateValues = gateValues;
        this.logits = logits;
        this.probabilities = probabilities;
        this.gates = gates;
        this.detached = detached;
    }

    /**
     * Creates a routing record from host arrays only (no NDArray views), for statistics and tests.
     *
     * @param numExperts E
     * @param topK k
     * @param experts the expert of each position, length B * k, each in [0, E)
     * @param gates the gate of each position, length B * k
     * @return a routing record whose NDArray views are {@code null}
     */
    public static Routing ofHostArrays(int numExperts, int topK, long[] experts, float[] gates) {
        Preconditions.checkArgument(numExperts > 0, "numExperts (%s) must be > 0", numExperts);
        Preconditions.checkArgument(
                topK > 0 && topK <= numExperts,
                "topK (%s) must be in [1, numExperts (%s)]",
                topK,
                numExperts);
        Preconditions.checkArgument(
                experts.length == gates.length && experts.length % topK == 0,
                "experts (%s) and gates (%s) must have the same length, a multiple of topK (%s)",
                experts.length,
                gates.length,
                topK);
        for (long e : experts) {
            Preconditions.checkArgument(
                    e >= 0 && e < numExperts, "expert index (%s) must be in [0, %s)", e, numExperts);
        }
        return new Routing(
                numExperts,
                topK,
                false,
                experts.clone(),
                gates.clone(),
                null,
                null,
                null);
    }

    /** @return B, the number of images routed */
    public int batchSize() {
        return batchSize;
    }

    /** @return E, the number of experts of the layer */
    public int numExperts() {
        return numExperts;
    }

    /** @return k, the number of experts per image */
    public int topK() {
        return topK;
    }

    /** @return whether this routing came from a training forward pass (noise on, if enabled) */
    public boolean isTraining() {
        return training;
    }

    /**
     * @param image the image index b in [0, B)
     * @param slot the slot s in [0, k)
     * @return the expert that slot s of image b went to
     */
    public int expertIndex(int image, int slot) {
        return (int) experts[image * topK + slot];
    }

    /**
     * @param image the image index b in [0, B)
     * @param slot the slot s in [0, k)
     * @return the renormalised gate of slot s of image b (the k gates of an image sum to 1)
     */
    public float gate(int image, int slot) {
        return gateValues[image * topK + slot];
    }

    /**
     * Whether slot s of image b ran its expert detached (class routing: the router sent the image
     * to an expert of another class, which computed without gradient to its parameters and without
     * updating its BatchNorm statistics). Always false outside class-routed training.
     *
     * @param image the image index b in [0, B)
     * @param slot the slot s in [0, k)
     * @return whether that position's expert ran detached
     */
    public boolean isDetached(int image, int slot) {
        return detached != null && detached[image * topK + slot];
    }

    /** @return whether this pass routed by class, with detached positions possible */
    public boolean isClassRouted() {
        return detached != null;
    }

    /** @return how many images each expert received, length E */
    public int[] expertCounts() {
        int[] counts = new int[numExperts];
        for (long e : experts) {
            counts[(int) e]++;
        }
        return counts;
    }

    /** @return the summed gates each expert received, length E (sums to B) */
    public double[] expertGateMass() {
        double[] mass = new double[numExperts];
        for (int p = 0; p < experts.length; p++) {
            mass[(int) experts[p]] += gateValues[p];
        }
        return mass;
    }

    /**
     * The router logits (B, E) that entered the softmax, before training noise and masking; valid
     * until the batch's manager closes. {@code null} for host-only records.
     *
     * @return the logits, with gradient
     */
    public NDArray logits() {
        return logits;
    }

    /**
     * The router probabilities (B, E) from which the top-k was taken (noise and masking included);
     * valid until the batch's manager closes. {@code null} for host-only records.
     *
     * @return the probabilities, with gradient
     */
    public NDArray probabilities() {
        return probabilities;
    }

    /**
     * The renormalised top-k gates (B, k); valid until the batch's manager closes. {@code null} for
     * host-only records.
     *
     * @return the gates, with gradient
     */
    public NDArray gates() {
        return gates;
    }

    @Override
    public String toString() {
        return "Routing{B="
                + batchSize
                + ", E="
                + numExperts
                + ", k="
                + topK
                + ", training="
                + training
                + ", counts="
                + Arrays.toString(expertCounts())
                + '}';
    }
}

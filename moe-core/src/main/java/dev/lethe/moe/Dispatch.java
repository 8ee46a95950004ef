package dev.lethe.moe;

/**
 * How a {@link MoeBlock} runs its experts.
 *
 * <p>Both modes compute the same function: in inference mode their outputs are bit-identical.
 */
public enum Dispatch {
    /**
     * Sort the (image, expert) assignments by expert, gather all of them with one gather, run each
     * expert on its own contiguous block only, undo the permutation with one gather, and weight and
     * sum the k slots of each image with one batched product (see {@link MoeBlock#dispatch}). An
     * expert that receives no image does no work and gets no gradient. The default.
     */
    SPARSE,
    /**
     * Run every expert on every image and select the routed outputs. The reference implementation:
     * E/k times the expert compute of {@link #SPARSE}.
     */
    DENSE
}

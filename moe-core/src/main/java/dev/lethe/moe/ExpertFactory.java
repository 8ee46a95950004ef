package dev.lethe.moe;

import ai.djl.nn.Block;

/**
 * Builds the expert blocks of a {@link MoeBlock}. Any DJL {@link Block} may be an expert, as long
 * as every expert maps the layer input shape to the same output shape.
 *
 * @see ConvExperts
 */
@FunctionalInterface
public interface ExpertFactory {

    /**
     * Creates a new, uninitialised expert.
     *
     * @param expertIndex the index of the expert, from 0 to numExperts - 1
     * @return a new block; never shared between experts
     */
    Block create(int expertIndex);
}

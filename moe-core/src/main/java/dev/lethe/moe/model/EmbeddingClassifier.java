package dev.lethe.moe.model;

import ai.djl.nn.Block;

/**
 * A classifier made of a feature extractor and a head: {@code logits = classifier(features(x))}.
 * The output of {@link #features()} is the penultimate embedding (B, D) that unlearning pushes
 * around and that linear probes read.
 */
public interface EmbeddingClassifier extends Block {

    /** @return the block mapping inputs to the penultimate embedding (B, D) */
    Block features();

    /** @return the classification head mapping (B, D) to logits (B, numClasses) */
    Block classifier();

    /** @return D, the width of the embedding */
    int embeddingSize();

    /** @return the number of classes of the head */
    int numClasses();
}

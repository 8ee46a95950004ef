package dev.lethe.unlearn.train;

import dev.lethe.unlearn.profile.RetainSampler;
import java.util.SplittableRandom;

/**
 * How a step's batch is made from its share of forget images: the forget/retain mix of a method.
 * The three of the methods so far are constants; a method with another mix implements this.
 */
public interface BatchComposer {

    /**
     * Forget images with {@code retainPerStep} retain images (the expert-targeted method, random
     * labels).
     */
    BatchComposer FORGET_AND_RETAIN = new BatchComposer() {
        @Override
        public BatchMix compose(int[] forget, int retainPerStep, RetainSampler retain, SplittableRandom random) {
            return BatchMix.of(forget, retain.draw(retainPerStep, random));
        }

        @Override
        public String toString() {
            return "forget+retain";
        }
    };

    /**
     * Retain images only, as many as the forget images plus {@code retainPerStep}: the batch size
     * of the other methods without a forget image (fine-tuning).
     */
    BatchComposer RETAIN_ONLY = new BatchComposer() {
        @Override
        public BatchMix compose(int[] forget, int retainPerStep, RetainSampler retain, SplittableRandom random) {
            return BatchMix.of(new int[0], retain.draw(forget.length + retainPerStep, random));
        }

        @Override
        public String toString() {
            return "retain";
        }
    };

    /**
     * Forget images only (gradient ascent). It still draws {@code retainPerStep} retain images and
     * discards them, so that the random stream, and so the order of the forget images, is the one
     * the published results (docs/RESULTS.md) were measured with.
     */
    BatchComposer FORGET_ONLY = new BatchComposer() {
        @Override
        public BatchMix compose(int[] forget, int retainPerStep, RetainSampler retain, SplittableRandom random) {
            retain.draw(retainPerStep, random);
            return BatchMix.of(forget, new int[0]);
        }

        @Override
        public boolean usesRetain() {
            return false;
        }

        @Override
        public String toString() {
            return "forget";
        }
    };

    /**
     * @param forget this step's forget images
     * @param retainPerStep the retain images per step the settings ask for
     * @param retain draws retain images
     * @param random the run's generator
     * @return the step's items
     */
    BatchMix compose(int[] forget, int retainPerStep, RetainSampler retain, SplittableRandom random);

    /** @return whether batches hold retain images (a run without any retain image fails if so) */
    default boolean usesRetain() {
        return true;
    }
}

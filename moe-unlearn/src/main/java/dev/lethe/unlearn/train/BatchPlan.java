package dev.lethe.unlearn.train;

import com.google.common.base.Preconditions;
import dev.lethe.unlearn.profile.RetainSampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The steps of a {@link Phase}: how many epochs, and the items of each step of an epoch, drawn at
 * the epoch's start from the run's random generator.
 */
public interface BatchPlan {

    /** @return the number of epochs, &gt;= 1 */
    int epochs();

    /** @return the number of steps of an epoch (steps with no item are skipped) */
    int stepsPerEpoch();

    /**
     * @param epoch the epoch, from 0
     * @param random the run's generator
     * @return the items of each step of the epoch, in order
     */
    List<BatchMix> epoch(int epoch, SplittableRandom random);

    /**
     * Epochs over the forget images, the plan of every method so far: each epoch shuffles the
     * forget images and cuts them into steps of {@code min(batchSize, forget)} images, each step
     * made by the composer with {@code round(forgetPerStep * retainRatio)} retain images.
     *
     * @param forget the forget items, not empty
     * @param retain draws retain images
     * @param epochs passes over the forget images, &gt;= 1
     * @param batchSize forget images per step, &gt;= 1
     * @param retainRatio retain images per forget image, &gt;= 0
     * @param composer the forget/retain mix
     * @return the plan
     */
    static BatchPlan overForgetImages(
            int[] forget, RetainSampler retain, int epochs, int batchSize, float retainRatio, BatchComposer composer) {
        Preconditions.checkArgument(forget.length > 0, "there is no forget image");
        Preconditions.checkArgument(epochs >= 1, "epochs (%s) must be >= 1", epochs);
        Preconditions.checkArgument(batchSize >= 1, "batchSize (%s) must be >= 1", batchSize);
        int forgetPerStep = Math.min(batchSize, forget.length);
        int retainPerStep = Math.round(forgetPerStep * retainRatio);
        int steps = (forget.length + forgetPerStep - 1) / forgetPerStep;
        int[] items = forget.clone();
        return new BatchPlan() {
            @Override
            public int epochs() {
                return epochs;
            }

            @Override
            public int stepsPerEpoch() {
                return steps;
            }

            @Override
            public List<BatchMix> epoch(int epoch, SplittableRandom random) {
                int[] order = RetainSampler.shuffled(items, random);
                List<BatchMix> out = new ArrayList<>(steps);
                for (int k = 0; k < steps; k++) {
                    int[] f = Arrays.copyOfRange(order, k * forgetPerStep, Math.min(order.length, (k + 1) * forgetPerStep));
                    out.add(composer.compose(f, retainPerStep, retain, random));
                }
                return out;
            }

            @Override
            public String toString() {
                return String.format(
                        Locale.ROOT,
                        "%d epochs over %d forget images, %d steps of %d forget + %d retain (%s)",
                        epochs,
                        items.length,
                        steps,
                        forgetPerStep,
                        retainPerStep,
                        composer);
            }
        };
    }

    /**
     * Passes over the retain set (fine-tuning at a real budget): each epoch shuffles the retain
     * items and cuts them into steps of {@code stepSize} retain images (the last step may be
     * smaller), so that every retain image is seen once per epoch.
     *
     * @param retain the retain items, not empty
     * @param epochs passes over them, &gt;= 1
     * @param stepSize retain images per step, &gt;= 1
     * @return the plan
     */
    static BatchPlan overRetainImages(int[] retain, int epochs, int stepSize) {
        Preconditions.checkArgument(retain.length > 0, "there is no retain image");
        Preconditions.checkArgument(epochs >= 1, "epochs (%s) must be >= 1", epochs);
        Preconditions.checkArgument(stepSize >= 1, "stepSize (%s) must be >= 1", stepSize);
        int steps = (retain.length + stepSize - 1) / stepSize;
        int[] items = retain.clone();
        return new BatchPlan() {
            @Override
            public int epochs() {
                return epochs;
            }

            @Override
            public int stepsPerEpoch() {
                return steps;
            }

            @Override
            public List<BatchMix> epoch(int epoch, SplittableRandom random) {
                int[] order = RetainSampler.shuffled(items, random);
                List<BatchMix> out = new ArrayList<>(steps);
                for (int k = 0; k < steps; k++) {
                    int[] r = Arrays.copyOfRange(order, k * stepSize, Math.min(order.length, (k + 1) * stepSize));
                    out.add(BatchMix.of(new int[0], r));
                }
                return out;
            }

            @Override
            public String toString() {
                return String.format(
                        Locale.ROOT,
                        "%d passes over %d retain images, %d steps of %d retain",
                        epochs,
                        items.length,
                        steps,
                        stepSize);
            }
        };
    }
}

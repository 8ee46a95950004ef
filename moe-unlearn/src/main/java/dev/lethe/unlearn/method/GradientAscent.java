package dev.lethe.unlearn.method;

import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.train.BatchComposer;

/**
 * Gradient ascent ({@link dev.lethe.unlearn.Method#GRADIENT_ASCENT}; Thudi et al. 2022, "GA"):
 * every parameter trained to raise the cross-entropy of the forget images, on forget images only,
 * with Adam at {@value #DEFAULT_LEARNING_RATE}, stopped image by image at chance ({@link
 * ForgettingLoss#gradientAscentToChance()}).
 *
 * <p>Made the best version of itself, not a strawman: plain ascent is unbounded, and run for a fixed
 * number of steps it keeps pushing the forget images' logits down long after the class is gone,
 * wrecking the model (docs/RESULTS.md: retain accuracy 34 %). Here each forget image stops
 * contributing once its probability of the forgotten class falls below chance (1/C: another class
 * is then surely more probable), so the ascent ends by itself when the forget accuracy reaches 0,
 * which is the early stop of the literature's GA, taken per image and per step instead of per
 * epoch. It runs in inference mode: training mode would re-estimate the BatchNorm statistics on
 * batches of the forgotten class alone and cost every other class accuracy for no forgetting gain.
 * No retain term: that variant is NegGrad+ (Kurmanji et al. 2023), close to our random-label and
 * SCRUB baselines.
 */
public final class GradientAscent extends EditingMethod {

    /** The default learning rate: small, as ascent has no retain term to repair collateral damage. */
    public static final float DEFAULT_LEARNING_RATE = 1e-4f;

    @Override
    public float defaultLearningRate() {
        return DEFAULT_LEARNING_RATE;
    }

    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.gradientAscentToChance();
    }

    @Override
    public boolean trainingMode() {
        return false;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.FORGET_ONLY;
    }
}

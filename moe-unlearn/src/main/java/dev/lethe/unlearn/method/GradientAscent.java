package dev.lethe.unlearn.method;

import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.train.BatchComposer;

/**
 * Gradient ascent ({@link dev.lethe.unlearn.Method#GRADIENT_ASCENT}; Thudi et al. 2022, "GA"):
 * every parameter trained to raise the cross-entropy of the forget images, on forget images only,
 * in training mode, with Adam at 1e-4. Unbounded: stopped by its number of steps.
 */
public final class GradientAscent extends EditingMethod {

    @Override
    public float defaultLearningRate() {
        return 1e-4f;
    }

    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.gradientAscent();
    }

    @Override
    public boolean trainingMode() {
        return true;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.FORGET_ONLY;
    }
}

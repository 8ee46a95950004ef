package dev.lethe.unlearn.method;

import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.train.BatchComposer;

/**
 * Random labels ({@link dev.lethe.unlearn.Method#RANDOM_LABELS}; Golatkar et al. 2020, "RL"): every
 * parameter trained on forget images relabelled to random other classes (drawn from the settings'
 * seed) mixed with retain images, in training mode, with Adam at 1e-3.
 */
public final class RandomLabels extends EditingMethod {

    @Override
    public float defaultLearningRate() {
        return 1e-3f;
    }

    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.randomLabels(settings.seed());
    }

    @Override
    public boolean trainingMode() {
        return true;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.FORGET_AND_RETAIN;
    }
}

package dev.lethe.unlearn.method;

import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.train.BatchComposer;

/**
 * Fine-tuning ({@link dev.lethe.unlearn.Method#FINE_TUNE}; Warnecke et al. 2023, Jia et al. 2023
 * "FT"): every parameter trained on retain images only, in training mode, with Adam at 1e-3. Each
 * step has as many images as the other methods' steps ({@link BatchComposer#RETAIN_ONLY}).
 */
public final class FineTune extends EditingMethod {

    @Override
    public float defaultLearningRate() {
        return 1e-3f;
    }

    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.retainOnly();
    }

    @Override
    public boolean trainingMode() {
        return true;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.RETAIN_ONLY;
    }
}

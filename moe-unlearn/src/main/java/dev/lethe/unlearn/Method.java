package dev.lethe.unlearn;

import dev.lethe.unlearn.method.ExactDeletion;
import dev.lethe.unlearn.method.ExpertTargeted;
import dev.lethe.unlearn.method.FineTune;
import dev.lethe.unlearn.method.GradientAscent;
import dev.lethe.unlearn.method.RandomLabels;
import dev.lethe.unlearn.method.Retrain;
import dev.lethe.unlearn.method.UnlearningMethod;

/**
 * The unlearning methods, by name: ours and the standard baselines, all behind the same API and
 * metrics. Each constant names one strategy class in {@code dev.lethe.unlearn.method}, which holds
 * everything about the method (what it trains, its loss, defaults and batches); adding a method is
 * adding such a class and one constant here. Why an enum selects them: see {@link UnlearningMethod}.
 */
public enum Method {
    /**
     * Ours: profile the class's routing, select its experts, retrain only them (within the {@link
     * Scope}) with a forgetting loss. The default. See {@link ExpertTargeted}.
     */
    EXPERT_TARGETED(new ExpertTargeted()),
    /**
     * The oracle: the same architecture trained from scratch on the retain set only, with the
     * recipe the model was trained with. See {@link Retrain}.
     */
    RETRAIN(new Retrain()),
    /** Fine-tune every parameter on retain images only (Warnecke et al.; Jia et al. 2023 "FT"). */
    FINE_TUNE(new FineTune()),
    /** Gradient ascent on the forget images (Thudi et al. 2022; "GA"). */
    GRADIENT_ASCENT(new GradientAscent()),
    /** Train forget images towards random other labels, with retain images ("RL"). */
    RANDOM_LABELS(new RandomLabels()),
    /**
     * Exact deletion for a model trained by {@code ExactTraining}: reset the class's experts and
     * retrain the routers and head without it, so that the model is bit for bit one trained without
     * the class; refuses, naming the tensors, where the provenance ledger does not allow it. See
     * {@link ExactDeletion}.
     */
    EXACT(new ExactDeletion());

    private final UnlearningMethod strategy;

    Method(UnlearningMethod strategy) {
        this.strategy = strategy;
    }

    /** @return the method's implementation */
    public UnlearningMethod strategy() {
        return strategy;
    }
}

package dev.lethe.unlearn;

/** The unlearning method: ours and the standard baselines, all behind the same API and metrics. */
public enum Method {
    /**
     * Ours: profile the class's routing, select its experts, retrain only them (within the {@link
     * Scope}) with a forgetting loss. The default.
     */
    EXPERT_TARGETED,
    /** The oracle: the same model and recipe trained from scratch on the retain set only. */
    RETRAIN,
    /** Fine-tune every parameter on retain images only (Warnecke et al.; Jia et al. 2023 "FT"). */
    FINE_TUNE,
    /** Gradient ascent on the forget images (Thudi et al. 2022; "GA"). */
    GRADIENT_ASCENT,
    /** Train forget images towards random other labels, with retain images ("RL"). */
    RANDOM_LABELS
}

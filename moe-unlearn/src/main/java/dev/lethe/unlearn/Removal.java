package dev.lethe.unlearn;

/**
 * What kind of removal an unlearning run did: what a user may claim about the forgotten class
 * afterwards. Reported by every {@link UnlearningResult} and recorded in the {@link AuditRecord}.
 */
public enum Removal {
    /**
     * The model no longer predicts the class, but its knowledge may survive in the parameters
     * (relearning from a few images or a linear probe on the features can bring it back). What
     * fine-tuning-style methods do: the expert-targeted method and the fine-tune, gradient-ascent,
     * random-label, SalUn and SCRUB baselines.
     */
    SUPPRESS,
    /**
     * The parameters that carried the class were re-derived or moved so that attacks reading more
     * than the outputs (relearning curves, probes at every stage) find no more of the class than
     * in a model retrained without it; measured, not proven. What {@link Method#RESET_RETRAIN} and
     * {@link Method#TRUNK_EDIT} aim at (moe-eval's relearning curves and layer probes say whether a
     * run got there).
     */
    ERASE,
    /**
     * Every parameter the class's data ever touched (by the model's provenance ledger) was reset
     * and retrained without it: by construction the model is one trained without the class.
     */
    EXACT,
    /** A new model was trained from scratch without the class: the Retrain oracle. */
    RETRAIN
}

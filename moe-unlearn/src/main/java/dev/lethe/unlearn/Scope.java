package dev.lethe.unlearn;

/**
 * Which parameters an unlearning run may change. Everything outside the scope is frozen and stays
 * bit-identical (BatchNorm statistics included).
 *
 * <p>The scopes that name experts need an expert selection (the experts the class is routed to,
 * chosen from its activation profile); the baselines always train {@link #ALL}.
 */
public enum Scope {
    /** Only the selected experts. */
    EXPERTS,
    /** The selected experts and the routers of their layers. */
    EXPERTS_AND_ROUTER,
    /**
     * The selected experts, their routers and the classification head: the default scope of {@link
     * Method#RESET_RETRAIN} (the default method) and of {@link Method#EXPERT_TARGETED}.
     */
    EXPERTS_ROUTER_AND_HEAD,
    /**
     * Only the classification head: the baseline an expert-targeted method must beat ({@link
     * Method#EXPERT_TARGETED} only: {@link Method#RESET_RETRAIN} resets experts).
     */
    HEAD_ONLY,
    /** Every parameter (the scope of the fine-tune, gradient-ascent and random-label baselines). */
    ALL;

    /** @return whether the scope trains selected experts (and so needs an expert selection) */
    public boolean usesExperts() {
        return this == EXPERTS || this == EXPERTS_AND_ROUTER || this == EXPERTS_ROUTER_AND_HEAD;
    }

    /** @return whether the routers of the layers with a selected expert are trained */
    public boolean includesRouter() {
        return this == EXPERTS_AND_ROUTER || this == EXPERTS_ROUTER_AND_HEAD;
    }

    /** @return whether the classification head is trained (always with {@link #ALL}) */
    public boolean includesHead() {
        return this == EXPERTS_ROUTER_AND_HEAD || this == HEAD_ONLY;
    }
}

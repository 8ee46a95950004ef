package dev.lethe.unlearn;

/**
 * Which parameters an unlearning run may change. Everything outside the scope is frozen and stays
 * bit-identical (BatchNorm statistics included).
 */
public enum Scope {
    /** Only the selected experts. */
    EXPERTS,
    /** The selected experts and the routers of their layers. The default. */
    EXPERTS_AND_ROUTER,
    /** The selected experts, their routers and the classification head. */
    EXPERTS_ROUTER_AND_HEAD,
    /** Only the classification head: the baseline an expert-targeted method must beat. */
    HEAD_ONLY,
    /** Every parameter (the scope of the fine-tune, gradient-ascent and random-label baselines). */
    ALL;

    boolean usesExperts() {
        return this == EXPERTS || this == EXPERTS_AND_ROUTER || this == EXPERTS_ROUTER_AND_HEAD;
    }

    boolean includesRouter() {
        return this == EXPERTS_AND_ROUTER || this == EXPERTS_ROUTER_AND_HEAD;
    }

    boolean includesHead() {
        return this == EXPERTS_ROUTER_AND_HEAD || this == HEAD_ONLY;
    }
}

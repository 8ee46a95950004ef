package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;

/**
 * One method of the protocol, by the name {@code --methods} and the report use: how it configures
 * an {@link Unlearner}, which library method it runs, whose tuned settings it takes, and on which
 * base models it runs. The registry is {@link ProtocolMethods}.
 *
 * @param name the name, e.g. {@code ours-router} or {@code fine-tune}
 * @param method the library method it runs
 * @param tunedBy the library method whose chosen candidate ({@code --tune}) its settings take, or
 *     null when its settings are fixed (its runs are keyed and labelled by that candidate)
 * @param onJoint whether it runs on base models trained jointly (every recipe but the exact
 *     configurations)
 * @param onExact whether it runs on base models trained by {@code ExactTraining} ({@code exact},
 *     {@code fast-exact})
 * @param configuration sets the method and its settings on an unlearner that holds the class,
 *     epochs and seed
 */
record ProtocolMethod(String name, Method method, Method tunedBy, boolean onJoint, boolean onExact,
        Configuration configuration) {

    /** Sets a method's options on an unlearner. */
    @FunctionalInterface
    interface Configuration {
        /**
         * @param unlearner an unlearner with the class, epochs and seed every method shares
         * @param chosen the settings chosen on validation, per library method
         * @return a copy configured for the method
         */
        Unlearner apply(Unlearner unlearner, ChosenSettings chosen);
    }

    ProtocolMethod {
        Preconditions.checkArgument(name != null && !name.isBlank(), "name must not be empty");
        Preconditions.checkNotNull(method, "method of '%s' must not be null", name);
        Preconditions.checkArgument(onJoint || onExact, "method '%s' must run on some base model", name);
        Preconditions.checkNotNull(configuration, "configuration must not be null");
    }

    /** @return whether its settings depend on a candidate chosen on validation */
    boolean tuned() {
        return tunedBy != null;
    }

    /**
     * @param exactBase whether the base model was trained by {@code ExactTraining}
     * @return whether the method runs on it
     */
    boolean runsOn(boolean exactBase) {
        return exactBase ? onExact : onJoint;
    }

    /**
     * @param unlearner an unlearner with the class, epochs and seed every method shares
     * @param chosen the settings chosen on validation
     * @return a copy configured for this method
     */
    Unlearner configure(Unlearner unlearner, ChosenSettings chosen) {
        return Preconditions.checkNotNull(configuration.apply(unlearner, chosen), "method '%s' returned no unlearner", name);
    }

    /**
     * @param chosen the settings chosen on validation
     * @return the name of the settings it runs with: the candidate chosen for {@link #tunedBy()},
     *     or null when its settings are fixed
     */
    String settingsName(ChosenSettings chosen) {
        return tuned() ? chosen.name(tunedBy) : null;
    }

    /**
     * @param chosen the settings chosen on validation
     * @return the settings this method runs with (class 0, default epochs and seed), as the
     *     library resolves them
     */
    UnlearningSettings settings(ChosenSettings chosen) {
        return configure(Unlearner.forClass(0), chosen).settings();
    }

    /**
     * @param chosen the settings chosen on validation
     * @return the parameters it may change, as the library decides ({@link
     *     UnlearningSettings#effectiveScope()})
     */
    Scope scope(ChosenSettings chosen) {
        return settings(chosen).effectiveScope();
    }
}

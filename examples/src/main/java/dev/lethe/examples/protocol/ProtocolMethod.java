package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;

/**
 * One method of the protocol, by the name {@code --methods} and the report use: how it configures
 * an {@link Unlearner}. The registry is {@link ProtocolMethods}.
 *
 * @param name the name, e.g. {@code ours-router} or {@code fine-tune}
 * @param tuned whether its settings depend on ours' candidate chosen on validation ({@code --tune})
 *     (its runs are then keyed and labelled by that candidate)
 * @param configuration sets the method and its settings on an unlearner that holds the class,
 *     epochs and seed
 */
record ProtocolMethod(String name, boolean tuned, Configuration configuration) {

    /** Sets a method's options on an unlearner. */
    @FunctionalInterface
    interface Configuration {
        /**
         * @param unlearner an unlearner with the class, epochs and seed every method shares
         * @param ours the expert-targeted method's chosen settings
         * @return a copy configured for the method
         */
        Unlearner apply(Unlearner unlearner, Candidate ours);
    }

    ProtocolMethod {
        Preconditions.checkArgument(name != null && !name.isBlank(), "name must not be empty");
        Preconditions.checkNotNull(configuration, "configuration must not be null");
    }

    /**
     * @param unlearner an unlearner with the class, epochs and seed every method shares
     * @param ours the expert-targeted method's chosen settings
     * @return a copy configured for this method
     */
    Unlearner configure(Unlearner unlearner, Candidate ours) {
        return Preconditions.checkNotNull(configuration.apply(unlearner, ours), "method '%s' returned no unlearner", name);
    }

    /**
     * @param ours the expert-targeted method's chosen settings
     * @return the settings this method runs with (class 0, default epochs and seed), as the
     *     library resolves them
     */
    UnlearningSettings settings(Candidate ours) {
        return configure(Unlearner.forClass(0), ours).settings();
    }

    /**
     * @param ours the expert-targeted method's chosen settings
     * @return the parameters it may change, as the library decides ({@link
     *     UnlearningSettings#effectiveScope()})
     */
    Scope scope(Candidate ours) {
        return settings(ours).effectiveScope();
    }
}

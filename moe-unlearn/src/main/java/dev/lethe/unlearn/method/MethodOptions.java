package dev.lethe.unlearn.method;

import com.google.gson.JsonObject;
import dev.lethe.unlearn.Method;

/**
 * The options of one method that its {@link UnlearningMethod} reads beside the shared settings
 * (e.g. SalUn's saliency fraction, SCRUB's max-step epochs, the trunk edit's term weights). Each
 * method with options has an immutable {@code Options} value of its own, e.g. {@link
 * SalUn.Options}, with a {@code defaults()} and {@code with…} copies that check their value at
 * once; a run passes them with {@code Unlearner.optMethodOptions(options)}, and a method without
 * options set uses its defaults. The options of the method that runs are recorded in the run's
 * provenance ({@code options} in the settings' JSON); options set for another method are kept
 * but do not apply (as the scope does not apply to the baselines).
 */
public interface MethodOptions {

    /** @return the method these options configure */
    Method method();

    /** @return every option, as recorded in the run's provenance */
    JsonObject toJson();
}

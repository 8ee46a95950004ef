package dev.lethe.unlearn.method;

import com.google.gson.JsonObject;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import java.io.IOException;

/**
 * An unlearning method: what {@link dev.lethe.unlearn.Unlearner} runs for a {@link Method}. A new
 * method is a new class implementing this (most extend {@link EditingMethod}, which trains the
 * model through the {@link dev.lethe.unlearn.train.ForgettingLoop} and offers hooks for each
 * part of a method), plus one constant in {@link Method} that names it.
 *
 * <p>Why the enum stays the public selector: a method's name is recorded in results, audit
 * records, model metadata and the command line, and compared across runs (docs/RESULTS.md); a
 * closed, named set keeps every result attributable to one known implementation, while this
 * interface can still grow hooks (erasure, exact deletion) without breaking users' code. A
 * method's strategy is reached with {@link Method#strategy()}.
 *
 * <p>Implementations are stateless: one instance serves every run; the run's state is in the
 * {@link UnlearningContext}.
 */
public interface UnlearningMethod {

    /** @return the kind of removal this method does */
    Removal removal();

    /**
     * @param settings the run's settings
     * @return the parameters it may change with these settings (everything outside stays
     *     bit-identical)
     */
    Scope scope(UnlearningSettings settings);

    /**
     * Adds the settings that take effect for this method to the run's provenance JSON: at least
     * {@code scope}; {@link EditingMethod}s add {@code loss} and {@code learningRate}.
     *
     * @param settings the run's settings
     * @param out the JSON to add to
     */
    void describe(UnlearningSettings settings, JsonObject out);

    /**
     * Runs the method. The caller (the unlearner) has checked the request, restores the original
     * model if this throws, and builds the result and audit record from the outcome.
     *
     * @param context the run: settings, data, the original model and a working copy
     * @return the new model and what was done
     * @throws IOException if data cannot be read
     */
    UnlearningOutcome run(UnlearningContext context) throws IOException;
}

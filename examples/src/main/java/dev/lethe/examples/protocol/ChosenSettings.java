package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.unlearn.Method;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * The settings each library {@link Method} runs with in the protocol: the candidate of its
 * validation grid that {@code --tune} chose ({@link Tuning}), or the library's defaults for a
 * method that was not tuned. Immutable; {@link #with} makes a copy.
 */
final class ChosenSettings {

    /** The name of the settings of a method that was not tuned. */
    static final String LIBRARY_DEFAULTS = "library defaults";

    private final Map<Method, Candidate> chosen;

    private ChosenSettings(Map<Method, Candidate> chosen) {
        this.chosen = Collections.unmodifiableMap(chosen);
    }

    /** @return every method at the library's defaults */
    static ChosenSettings defaults() {
        return new ChosenSettings(new EnumMap<>(Method.class));
    }

    /**
     * @param method a method
     * @param candidate the candidate chosen for it
     * @return a copy with that choice
     */
    ChosenSettings with(Method method, Candidate candidate) {
        Preconditions.checkNotNull(method, "method must not be null");
        Preconditions.checkNotNull(candidate, "candidate must not be null");
        Map<Method, Candidate> m = new EnumMap<>(Method.class);
        m.putAll(chosen);
        m.put(method, candidate);
        return new ChosenSettings(m);
    }

    /**
     * @param method a method
     * @return its chosen candidate, or a candidate that only selects the method (the library's
     *     defaults, named {@value #LIBRARY_DEFAULTS})
     */
    Candidate of(Method method) {
        Candidate c = chosen.get(method);
        return c != null ? c : Candidate.of(LIBRARY_DEFAULTS, u -> u.method(method));
    }

    /**
     * @param method a method
     * @return whether a candidate was chosen for it on validation
     */
    boolean isTuned(Method method) {
        return chosen.containsKey(method);
    }

    /**
     * @param method a method
     * @return the name of the settings it runs with
     */
    String name(Method method) {
        return of(method).name();
    }
}

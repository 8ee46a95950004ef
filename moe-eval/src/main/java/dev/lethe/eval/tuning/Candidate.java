package dev.lethe.eval.tuning;

import com.google.common.base.Preconditions;
import dev.lethe.unlearn.Unlearner;
import java.util.function.UnaryOperator;

/**
 * One setting of an unlearning method in a validation sweep: a stable name (recorded with its
 * score, and usable as a cache key) and the options it sets on an {@link Unlearner}. Any method
 * can have a grid of candidates; {@link ValidationSweep} scores and chooses among them with one
 * rule.
 *
 * <pre>{@code
 * Candidate c = Candidate.of("fine-tune, lr 1e-3, 2 epochs",
 *         u -> u.method(Method.FINE_TUNE).optLearningRate(1e-3f).optEpochs(2));
 * }</pre>
 *
 * @param name a stable, readable name, unique within a grid
 * @param settings sets the candidate's options on a copy of an unlearner (Unlearner is immutable)
 */
public record Candidate(String name, UnaryOperator<Unlearner> settings) {

    /**
     * @throws IllegalArgumentException if the name is empty
     * @throws NullPointerException if an argument is null
     */
    public Candidate {
        Preconditions.checkNotNull(name, "name must not be null");
        Preconditions.checkArgument(!name.isBlank(), "name must not be blank");
        Preconditions.checkNotNull(settings, "settings must not be null");
    }

    /**
     * @param name a stable, readable name
     * @param settings the options it sets
     * @return the candidate
     */
    public static Candidate of(String name, UnaryOperator<Unlearner> settings) {
        return new Candidate(name, settings);
    }

    /**
     * @param unlearner an unlearner (with model, data and the options every candidate shares)
     * @return a copy with this candidate's options
     */
    public Unlearner apply(Unlearner unlearner) {
        Preconditions.checkNotNull(unlearner, "unlearner must not be null");
        return Preconditions.checkNotNull(settings.apply(unlearner), "candidate '%s' returned no unlearner", name);
    }
}

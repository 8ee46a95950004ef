package dev.lethe.eval.tuning;

import ai.djl.Model;
import com.google.common.base.Preconditions;
import dev.lethe.eval.Predictions;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Chooses a method's settings without looking at the test set: each {@link Candidate} of the
 * method's grid unlearns the class on the base model, is scored on held-out validation images
 * (never used for training or unlearning), and one rule picks the winner. The same rule and the
 * same number of candidates for every method is what makes a comparison of methods fair ({@link
 * #checkSameBudget}); tune on a class that is then not reported as evidence, or report it apart.
 *
 * <p><b>Selection rule</b> ({@link #choose(List)}): among the candidates that leave the forgotten
 * class at most {@code maxForgetAccuracy} % validation accuracy (default {@value
 * #DEFAULT_MAX_FORGET_ACCURACY}), the one with the highest validation accuracy on the other classes
 * (Retrain keeps or raises that accuracy, so the highest is the closest); ties go to the faster
 * run, then to the earlier candidate. If no candidate forgot, the one with the lowest forget
 * accuracy (ties as before).
 *
 * <pre>{@code
 * ValidationSweep sweep = ValidationSweep.builder().setValidationData(validation).build();
 * Unlearner base = Unlearner.forClass(3).from(model).using(train).optSeed(0);
 * List<ValidationScore> scores = sweep.run(base, grid);
 * Candidate chosen = sweep.choose(grid, scores);
 * }</pre>
 */
public final class ValidationSweep {

    /** The default largest validation accuracy (%) on the forgotten class that counts as forgotten. */
    public static final double DEFAULT_MAX_FORGET_ACCURACY = 1.0;

    private final LabeledData validation;
    private final double maxForgetAccuracy;
    private final int batchSize;

    private ValidationSweep(Builder b) {
        this.validation = b.validation;
        this.maxForgetAccuracy = b.maxForgetAccuracy;
        this.batchSize = b.batchSize;
    }

    /** @return a builder; the validation data is required */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the largest forget accuracy (%) that counts as forgotten */
    public double maxForgetAccuracy() {
        return maxForgetAccuracy;
    }

    /**
     * Scores a model after forgetting: validation accuracy on the forgotten class and on the others.
     *
     * @param candidate the candidate's name
     * @param after the model after unlearning (only read)
     * @param forgetClass the forgotten class
     * @param seconds the unlearning run's wall-clock time
     * @return the score
     * @throws IOException if the data cannot be read
     */
    public ValidationScore score(String candidate, Model after, int forgetClass, double seconds)
            throws IOException {
        Predictions p = Predictions.all(after, validation, batchSize);
        return new ValidationScore(candidate, p.accuracyOf(forgetClass), p.accuracyExcept(forgetClass), seconds);
    }

    /**
     * Runs every candidate of a grid and scores it. Each run works on a copy of the unlearner's
     * model ({@code optInPlace(false)} is forced), which is closed after scoring.
     *
     * @param unlearner the unlearner with the class, model, data and the options every candidate
     *     shares
     * @param grid the candidates, with distinct names
     * @return one score per candidate, in grid order
     * @throws IOException if data cannot be read
     * @throws IllegalArgumentException if names repeat, or the model already records the class as
     *     forgotten (nothing would be unlearned)
     */
    public List<ValidationScore> run(Unlearner unlearner, List<Candidate> grid) throws IOException {
        return run(unlearner, grid, s -> {});
    }

    /**
     * As {@link #run(Unlearner, List)}, reporting each score as it comes (e.g. to cache it).
     *
     * @param unlearner the unlearner
     * @param grid the candidates
     * @param onScore receives each score
     * @return one score per candidate, in grid order
     * @throws IOException if data cannot be read
     */
    public List<ValidationScore> run(Unlearner unlearner, List<Candidate> grid, Consumer<ValidationScore> onScore)
            throws IOException {
        Preconditions.checkNotNull(unlearner, "unlearner must not be null");
        checkNames(grid);
        List<ValidationScore> out = new ArrayList<>();
        for (Candidate c : grid) {
            UnlearningResult r = c.apply(unlearner).optInPlace(false).retrain();
            Preconditions.checkArgument(
                    r.status() == UnlearningResult.Status.DONE,
                    "candidate '%s' unlearned nothing: %s",
                    c.name(),
                    r.message());
            ValidationScore s;
            try (Model after = r.model()) {
                s = score(c.name(), after, r.forgetClass(), r.seconds());
            }
            onScore.accept(s);
            out.add(s);
        }
        return List.copyOf(out);
    }

    /**
     * The selection rule of the class description.
     *
     * @param scored scores, at least one
     * @return the chosen score
     * @throws IllegalArgumentException if there is none
     */
    public ValidationScore choose(List<ValidationScore> scored) {
        Preconditions.checkArgument(scored != null && !scored.isEmpty(), "no scored candidate to choose from");
        ValidationScore best = null;
        for (ValidationScore s : scored) {
            if (best == null || better(s, best)) {
                best = s;
            }
        }
        return best;
    }

    /**
     * The selection rule applied to the scores of a grid's candidates; scores whose name is not in
     * the grid (e.g. cached from an older grid) are ignored.
     *
     * @param grid the candidates
     * @param scored their scores
     * @return the chosen candidate
     * @throws IllegalArgumentException if no score names a candidate of the grid
     */
    public Candidate choose(List<Candidate> grid, List<ValidationScore> scored) {
        checkNames(grid);
        List<ValidationScore> known = new ArrayList<>();
        for (ValidationScore s : scored) {
            if (find(grid, s.candidate()) != null) {
                known.add(s);
            }
        }
        Preconditions.checkArgument(
                !known.isEmpty(), "no scored candidate of the grid among %s scores", scored.size());
        return find(grid, choose(known).candidate());
    }

    /**
     * Checks that every method gets the same tuning budget: the same number of candidates.
     *
     * @param grids method name → its candidates
     * @throws IllegalArgumentException naming the methods and sizes if they differ, or if a grid
     *     is empty or repeats a name
     */
    public static void checkSameBudget(Map<String, List<Candidate>> grids) {
        Preconditions.checkArgument(grids != null && !grids.isEmpty(), "grids must not be empty");
        int size = -1;
        String first = null;
        for (Map.Entry<String, List<Candidate>> e : grids.entrySet()) {
            checkNames(e.getValue());
            if (size < 0) {
                size = e.getValue().size();
                first = e.getKey();
            }
            Preconditions.checkArgument(
                    e.getValue().size() == size,
                    "every method must have the same number of candidates, but '%s' has %s and '%s' has %s",
                    first,
                    size,
                    e.getKey(),
                    e.getValue().size());
        }
    }

    private boolean better(ValidationScore a, ValidationScore b) {
        boolean aForgot = a.forgetAccuracy() <= maxForgetAccuracy;
        boolean bForgot = b.forgetAccuracy() <= maxForgetAccuracy;
        if (aForgot != bForgot) {
            return aForgot;
        }
        int cmp = aForgot
                ? Double.compare(a.otherAccuracy(), b.otherAccuracy())
                : Double.compare(b.forgetAccuracy(), a.forgetAccuracy());
        return cmp != 0 ? cmp > 0 : a.seconds() < b.seconds();
    }

    private static void checkNames(List<Candidate> grid) {
        Preconditions.checkArgument(grid != null && !grid.isEmpty(), "the grid must not be empty");
        Set<String> names = new HashSet<>();
        for (Candidate c : grid) {
            Preconditions.checkArgument(names.add(c.name()), "the grid names candidate '%s' twice", c.name());
        }
    }

    private static Candidate find(List<Candidate> grid, String name) {
        for (Candidate c : grid) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "ValidationSweep{validation=%d, maxForgetAccuracy=%s, batchSize=%d}",
                validation.size(),
                maxForgetAccuracy,
                batchSize);
    }

    /** Builds a {@link ValidationSweep}; {@code set} is required, {@code opt} optional. */
    public static final class Builder {
        private LabeledData validation;
        private double maxForgetAccuracy = DEFAULT_MAX_FORGET_ACCURACY;
        private int batchSize = 256;

        private Builder() {}

        /**
         * @param validation held-out images, never used for training or unlearning
         * @return this builder
         */
        public Builder setValidationData(LabeledData validation) {
            this.validation = Preconditions.checkNotNull(validation, "validation must not be null");
            return this;
        }

        /**
         * @param percent the largest validation accuracy on the forgotten class that counts as
         *     forgotten, in [0, 100] (default {@value ValidationSweep#DEFAULT_MAX_FORGET_ACCURACY})
         * @return this builder
         */
        public Builder optMaxForgetAccuracy(double percent) {
            Preconditions.checkArgument(
                    percent >= 0 && percent <= 100, "maxForgetAccuracy (%s) must be in [0, 100]", percent);
            this.maxForgetAccuracy = percent;
            return this;
        }

        /**
         * @param batchSize images per inference batch (default 256)
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            Preconditions.checkArgument(batchSize >= 1, "batchSize (%s) must be >= 1", batchSize);
            this.batchSize = batchSize;
            return this;
        }

        /**
         * @return the sweep
         * @throws IllegalArgumentException if the validation data is missing
         */
        public ValidationSweep build() {
            Preconditions.checkArgument(validation != null, "setValidationData is required");
            return new ValidationSweep(this);
        }
    }
}

package dev.lethe.unlearn;

import ai.djl.Model;
import com.google.common.collect.ImmutableList;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.unlearn.method.RetrainOracle;
import dev.lethe.unlearn.profile.ExpertSelection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The outcome of {@link Unlearner#retrain()}: the new model, what kind of removal was done, what
 * was retrained and why, how long it took, and the audit record. Printable as a table and as JSON.
 *
 * <p>Ownership of {@link #model()}: the caller closes it. Without {@code inPlace} it is always a
 * model of its own, a copy even when nothing had to be done ({@link Status#ALREADY_FORGOTTEN}), so
 * closing it never closes the caller's model; with {@code inPlace} it is the caller's model itself.
 */
public final class UnlearningResult {

    /** Whether the run did something. */
    public enum Status {
        /** The class was unlearned. */
        DONE,
        /** The model already records the class as forgotten; nothing was changed. */
        ALREADY_FORGOTTEN
    }

    private final Status status;
    private final String message;
    private final Model model;
    private final Method method;
    private final Removal removal;
    private final Scope scope;
    private final int forgetClass;
    private final String forgetClassName;
    private final List<Integer> forgottenClasses;
    private final ExpertSelection selection;
    private final RetrainOracle oracle;
    private final double seconds;
    private final int steps;
    private final long imagesSeen;
    private final long trainableParameters;
    private final long totalParameters;
    private final double firstLoss;
    private final double lastLoss;
    private final AuditRecord audit;
    private final ProvenanceReport provenance;
    private final WeightDistance weightDistance;

    private UnlearningResult(Builder b) {
        status = b.status;
        message = b.message;
        model = b.model;
        method = b.method;
        removal = b.removal;
        scope = b.scope;
        forgetClass = b.forgetClass;
        forgetClassName = b.forgetClassName;
        forgottenClasses = ImmutableList.copyOf(b.forgottenClasses);
        selection = b.selection;
        oracle = b.oracle;
        seconds = b.seconds;
        steps = b.steps;
        imagesSeen = b.imagesSeen;
        trainableParameters = b.trainableParameters;
        totalParameters = b.totalParameters;
        firstLoss = b.firstLoss;
        lastLoss = b.lastLoss;
        audit = b.audit;
        provenance = b.provenance;
        weightDistance = b.weightDistance;
    }

    static Builder builder() {
        return new Builder();
    }

    /** @return DONE, or ALREADY_FORGOTTEN when nothing had to be done */
    public Status status() {
        return status;
    }

    /** @return a human-readable summary line */
    public String message() {
        return message;
    }

    /**
     * @return the unlearned model; the caller closes it (see the class description: a model of its
     *     own unless in place)
     */
    public Model model() {
        return model;
    }

    /** @return the method */
    public Method method() {
        return method;
    }

    /**
     * @return what kind of removal the method does ({@link Removal#SUPPRESS} for the
     *     expert-targeted method and the fine-tuning-style baselines, {@link Removal#ERASE} for
     *     reset-and-retrain and the trunk edit, {@link Removal#EXACT} for {@link Method#EXACT},
     *     {@link Removal#RETRAIN} for the oracle)
     */
    public Removal removal() {
        return removal;
    }

    /** @return the Retrain oracle that made the model: its recipe, epochs and seed ({@link Method#RETRAIN}) */
    public Optional<RetrainOracle> oracle() {
        return Optional.ofNullable(oracle);
    }

    /** @return the scope (ALL for the fine-tune, gradient-ascent and random-label baselines) */
    public Scope scope() {
        return scope;
    }

    /** @return the class forgotten by this run */
    public int forgetClass() {
        return forgetClass;
    }

    /** @return its name */
    public String forgetClassName() {
        return forgetClassName;
    }

    /** @return every class the model has forgotten so far, this one included, in order */
    public List<Integer> forgottenClasses() {
        return forgottenClasses;
    }

    /** @return the experts that were selected (empty for baselines and head-only) */
    public Optional<ExpertSelection> selection() {
        return Optional.ofNullable(selection);
    }

    /** @return wall-clock seconds of the run (profiling, selection and training) */
    public double seconds() {
        return seconds;
    }

    /** @return optimizer steps taken */
    public int steps() {
        return steps;
    }

    /** @return images forwarded in training steps */
    public long imagesSeen() {
        return imagesSeen;
    }

    /** @return parameters that were trainable in the run */
    public long trainableParameters() {
        return trainableParameters;
    }

    /** @return all parameters of the model (BatchNorm statistics excluded) */
    public long totalParameters() {
        return totalParameters;
    }

    /** @return trainable / total parameters */
    public double parametersRetrainedFraction() {
        return totalParameters == 0 ? 0 : trainableParameters / (double) totalParameters;
    }

    /** @return the loss of the first step (NaN for Retrain) */
    public double firstLoss() {
        return firstLoss;
    }

    /** @return the loss of the last step (NaN for Retrain) */
    public double lastLoss() {
        return lastLoss;
    }

    /**
     * @return what the run did to the class's influence, by the provenance ledger: the tensors its
     *     data touched, those re-derived without it and those that still carry it (empty when
     *     nothing was done; a report that says so when the model records no ledger)
     */
    public Optional<ProvenanceReport> provenance() {
        return Optional.ofNullable(provenance);
    }

    /** @return the audit record */
    public AuditRecord audit() {
        return audit;
    }

    /**
     * @return how far the new model's weights are from the original's (0 when nothing was done;
     *     for Retrain, the distance of the new model from the original)
     */
    public WeightDistance weightDistance() {
        return weightDistance;
    }

    /** @return a printable summary table */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(message).append('\n');
        sb.append(
                String.format(
                        Locale.ROOT,
                        "method %s (%s)  scope %s  class %d (%s)  %.1f s  %d steps  %d images%n",
                        method,
                        removal,
                        scope,
                        forgetClass,
                        forgetClassName,
                        seconds,
                        steps,
                        imagesSeen));
        sb.append(
                String.format(
                        Locale.ROOT,
                        "parameters retrained %d of %d (%.2f%%), %d parameter tensors changed%n",
                        trainableParameters,
                        totalParameters,
                        100 * parametersRetrainedFraction(),
                        audit == null ? 0 : audit.changedParameters().size()));
        if (Double.isFinite(firstLoss)) {
            sb.append(String.format(Locale.ROOT, "loss %.4f -> %.4f%n", firstLoss, lastLoss));
        }
        if (weightDistance != null) {
            sb.append(weightDistance).append('\n');
        }
        if (oracle != null) {
            sb.append(oracle).append('\n');
        }
        if (provenance != null) {
            sb.append(provenance.toTable());
        }
        if (selection != null) {
            sb.append(selection.toTable());
        }
        return sb.toString();
    }

    /** @return the result as JSON (the audit record included) */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("status", status.name());
        o.addProperty("message", message);
        o.addProperty("method", method.name());
        o.addProperty("removal", removal.name());
        o.addProperty("scope", scope.name());
        JsonObject fc = new JsonObject();
        fc.addProperty("id", forgetClass);
        fc.addProperty("name", forgetClassName);
        o.add("forgetClass", fc);
        JsonArray all = new JsonArray();
        forgottenClasses.forEach(all::add);
        o.add("forgottenClasses", all);
        o.addProperty("seconds", seconds);
        o.addProperty("steps", steps);
        o.addProperty("imagesSeen", imagesSeen);
        o.addProperty("trainableParameters", trainableParameters);
        o.addProperty("totalParameters", totalParameters);
        o.addProperty("parametersRetrainedFraction", parametersRetrainedFraction());
        if (selection != null) {
            o.add("selection", selection.toJson());
        }
        if (oracle != null) {
            o.add("oracle", oracle.toJson());
        }
        if (provenance != null) {
            o.add("provenance", provenance.toJson());
        }
        if (weightDistance != null) {
            o.add("weightDistance", weightDistance.toJson());
        }
        if (audit != null) {
            o.add("audit", audit.toJson());
        }
        return o;
    }

    @Override
    public String toString() {
        return toTable();
    }

    /** @return pretty JSON */
    public String toJsonString() {
        return new GsonBuilder().setPrettyPrinting().create().toJson(toJson());
    }

    /** Collects a result's fields; package-private, used by the unlearning run. */
    static final class Builder {
        private Status status = Status.DONE;
        private String message;
        private Model model;
        private Method method;
        private Removal removal;
        private Scope scope;
        private int forgetClass;
        private String forgetClassName;
        private List<Integer> forgottenClasses = List.of();
        private ExpertSelection selection;
        private RetrainOracle oracle;
        private double seconds;
        private int steps;
        private long imagesSeen;
        private long trainableParameters;
        private long totalParameters;
        private double firstLoss = Double.NaN;
        private double lastLoss = Double.NaN;
        private AuditRecord audit;
        private ProvenanceReport provenance;
        private WeightDistance weightDistance;

        Builder status(Status status, String message) {
            this.status = status;
            this.message = message;
            return this;
        }

        Builder model(Model model) {
            this.model = model;
            return this;
        }

        Builder method(Method method, Removal removal, Scope scope) {
            this.method = method;
            this.removal = removal;
            this.scope = scope;
            return this;
        }

        Builder forgetClass(int id, String name, List<Integer> all) {
            this.forgetClass = id;
            this.forgetClassName = name;
            this.forgottenClasses = all;
            return this;
        }

        Builder selection(ExpertSelection selection) {
            this.selection = selection;
            return this;
        }

        Builder oracle(RetrainOracle oracle) {
            this.oracle = oracle;
            return this;
        }

        Builder training(double seconds, int steps, long imagesSeen, double firstLoss, double lastLoss) {
            this.seconds = seconds;
            this.steps = steps;
            this.imagesSeen = imagesSeen;
            this.firstLoss = firstLoss;
            this.lastLoss = lastLoss;
            return this;
        }

        Builder parameters(long trainable, long total) {
            this.trainableParameters = trainable;
            this.totalParameters = total;
            return this;
        }

        Builder audit(AuditRecord audit) {
            this.audit = audit;
            return this;
        }

        Builder provenance(ProvenanceReport provenance) {
            this.provenance = provenance;
            return this;
        }

        Builder weightDistance(WeightDistance distance) {
            this.weightDistance = distance;
            return this;
        }

        UnlearningResult build() {
            return new UnlearningResult(this);
        }
    }
}

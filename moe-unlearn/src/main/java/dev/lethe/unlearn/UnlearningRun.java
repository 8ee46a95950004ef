package dev.lethe.unlearn;

import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.unlearn.data.DataIdentity;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.method.UnlearningContext;
import dev.lethe.unlearn.method.UnlearningMethod;
import dev.lethe.unlearn.method.UnlearningOutcome;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One run of an {@link Unlearner}, the same for every method: checks the request, reports a class
 * already forgotten, hashes the parameters, runs the method's strategy in an {@link
 * UnlearningContext} (restoring the original if it fails), and builds the result and its audit
 * record. It keeps the model's provenance ledger true: a method that changes tensors without
 * recording it in the ledger (the gradient-step methods) gets the change recorded conservatively
 * ({@link ProvenanceLedger#withEdit}), and the {@link ProvenanceReport} compares the ledgers before
 * and after.
 */
final class UnlearningRun {

    private UnlearningRun() {}

    static UnlearningResult run(
            Model model,
            LabeledData data,
            int forgetClass,
            String forgetClassName,
            UnlearningSettings settings,
            JsonObject configuration)
            throws IOException {
        UnlearningMethod strategy = settings.strategy();
        Scope scope = strategy.scope(settings);
        if (scope.usesExperts()) {
            Preconditions.checkState(
                    !MoeBlocks.find(model.getBlock()).isEmpty(),
                    "the model has no MoeBlock, so there are no experts to retrain; use"
                            + " Scope.HEAD_ONLY or a baseline method");
        }
        List<Integer> forgotten = Unlearner.forgottenClasses(model);
        UnlearningResult.Builder result =
                UnlearningResult.builder().method(settings.method(), strategy.removal(), scope);
        if (forgotten.contains(forgetClass)) {
            String msg =
                    String.format(
                            Locale.ROOT,
                            "class %d (%s) is already forgotten by this model (%s = %s); nothing done",
                            forgetClass,
                            forgetClassName,
                            Unlearner.FORGOTTEN_PROPERTY,
                            model.getProperty(Unlearner.FORGOTTEN_PROPERTY));
            // the caller owns result.model(): never hand back their own model unless in place
            Model same = settings.inPlace() ? model : Models.copy(model, settings.modelFactory().orElse(null));
            return result.status(UnlearningResult.Status.ALREADY_FORGOTTEN, msg)
                    .model(same)
                    .weightDistance(WeightDistance.between(model, same))
                    .forgetClass(forgetClass, forgetClassName, forgotten)
                    .parameters(0, MoeBlocks.countParameters(model.getBlock()))
                    .training(0, 0, 0, Double.NaN, Double.NaN)
                    .build();
        }

        long start = System.nanoTime();
        Map<String, String> hashesBefore = AuditRecord.hashes(model.getBlock());
        // read before the run: an in-place run (EXACT re-derives tensors in the caller's model) rewrites it
        Optional<ProvenanceLedger> ledgerBefore = ProvenanceLedger.of(model);
        UnlearningOutcome outcome;
        DataIdentity identity;
        List<Integer> allForgotten;
        WeightDistance distance;
        try (UnlearningContext context = UnlearningContext.of(settings, model, data, forgetClass, forgotten)) {
            identity = DataIdentity.of(data, forgetClass, context.forgetIndices(), context.retainIndices());
            allForgotten = context.forgottenClasses();
            try {
                outcome = strategy.run(context);
            } catch (RuntimeException | IOException | Error e) {
                context.rollback();
                throw e;
            }
            distance = WeightDistance.between(context.originalValues(), outcome.model());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Model after = outcome.model();
        after.setProperty(Unlearner.FORGOTTEN_PROPERTY, join(allForgotten));
        Map<String, String> hashesAfter = AuditRecord.hashes(after.getBlock());
        recordUntracedEdit(ledgerBefore, after, hashesBefore, hashesAfter, data, forgetClass, forgotten, settings);
        ProvenanceReport provenance = ProvenanceReport.of(forgetClass, ledgerBefore, ProvenanceLedger.of(after));
        JsonObject configurationJson = configuration.deepCopy();
        for (Map.Entry<String, JsonElement> e : outcome.details().entrySet()) {
            configurationJson.add(e.getKey(), e.getValue());
        }
        AuditRecord audit =
                AuditRecord.of(
                        hashesBefore,
                        hashesAfter,
                        configurationJson.toString(),
                        settings.seed(),
                        strategy.removal(),
                        identity,
                        provenance);
        String warning =
                outcome.selection()
                        .filter(s -> !s.isClassSpecific())
                        .map(s -> " — WARNING: " + s.warning())
                        .orElse("");
        String msg = String.format(Locale.ROOT, "%s in %.1f s%s", outcome.summary(), seconds, warning);
        return result.status(UnlearningResult.Status.DONE, msg)
                .method(settings.method(), strategy.removal(), outcome.scope())
                .model(after)
                .forgetClass(forgetClass, forgetClassName, allForgotten)
                .selection(outcome.selection().orElse(null))
                .oracle(outcome.oracle().orElse(null))
                .training(seconds, outcome.steps(), outcome.imagesSeen(), outcome.firstLoss(), outcome.lastLoss())
                .parameters(outcome.trainableParameters(), MoeBlocks.countParameters(after.getBlock()))
                .audit(audit)
                .provenance(provenance)
                .weightDistance(distance)
                .build();
    }

    /**
     * When the method changed tensors but left the model's ledger as it was (it edits by gradient
     * steps without tracing them), records the change conservatively: each changed tensor as
     * reached by every class of the run's data.
     */
    private static void recordUntracedEdit(
            Optional<ProvenanceLedger> before,
            Model after,
            Map<String, String> hashesBefore,
            Map<String, String> hashesAfter,
            LabeledData data,
            int forgetClass,
            List<Integer> forgottenBefore,
            UnlearningSettings settings) {
        if (before.isEmpty()) {
            return;
        }
        Optional<ProvenanceLedger> now = ProvenanceLedger.of(after);
        if (now.isPresent() && !now.get().equals(before.get())) {
            return;
        }
        List<String> changed = new ArrayList<>();
        for (Map.Entry<String, String> e : hashesAfter.entrySet()) {
            if (!e.getValue().equals(hashesBefore.get(e.getKey()))) {
                changed.add(e.getKey());
            }
        }
        if (changed.isEmpty()) {
            return;
        }
        List<Integer> classes = new ArrayList<>();
        for (int c = 0; c < data.numClasses(); c++) {
            if ((c == forgetClass || !forgottenBefore.contains(c)) && data.indicesOf(c).length > 0) {
                classes.add(c);
            }
        }
        before.get().withEdit(changed, classes, "unlearning " + settings.method()).writeTo(after);
    }

    private static String join(List<Integer> ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : new LinkedHashSet<>(ids)) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(id);
        }
        return sb.toString();
    }
}

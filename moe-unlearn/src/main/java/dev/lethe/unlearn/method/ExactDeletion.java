package dev.lethe.unlearn.method;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.exact.ExactTraining;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Exact deletion ({@link dev.lethe.unlearn.Method#EXACT}): re-derives, without the forgotten
 * class, every tensor the model's provenance ledger says depends on it, so that the result is bit
 * for bit the model {@link ExactTraining} makes from the same plan on the data without the class
 * ({@link Removal#EXACT}).
 *
 * <p>For a model trained by {@link ExactTraining#fit}: the class's experts are reset to their
 * initial values and masked, and the routers and the head are retrained on the retain images
 * ({@link ExactTraining#rederivation}). It refuses, with an {@link IllegalStateException} that
 * names the tensors, when that is not possible or not allowed:
 *
 * <ul>
 *   <li>the model records no ledger, or was not trained by exact training (its ledger then shows
 *       the class's data in tensors trained jointly with everything else);
 *   <li>the class is public (it trained the trunk);
 *   <li>the tensors to re-derive include some outside the {@link Scope} (default {@link Scope#ALL}:
 *       {@code EXPERTS} leaves out the routers and the head, for instance) or that the caller froze
 *       in the given model;
 *   <li>the data is not the data the model was trained on (by content fingerprints per class).
 * </ul>
 *
 * <p>The loop settings (epochs, learning rate, loss) do not apply: the plan recorded with the
 * model decides.
 */
public final class ExactDeletion implements UnlearningMethod {

    @Override
    public Removal removal() {
        return Removal.EXACT;
    }

    @Override
    public Scope scope(UnlearningSettings settings) {
        return settings.scope().orElse(Scope.ALL);
    }

    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        out.addProperty("scope", scope(settings).name());
    }

    @Override
    public UnlearningOutcome run(UnlearningContext context) throws IOException {
        Model original = context.original();
        int forgetClass = context.forgetClass();
        ExactTraining.Rederivation plan = ExactTraining.rederivation(original, forgetClass);
        Scope scope = scope(context.settings());
        MoeResNet net = (MoeResNet) original.getBlock();
        Set<String> allowed = new HashSet<>();
        if (scope == Scope.ALL || scope.usesExperts()) {
            allowed.addAll(plan.reset());
        }
        List<String> routers = new ArrayList<>();
        List<String> head = new ArrayList<>();
        java.util.Map<String, String> names = new java.util.HashMap<>();
        for (Pair<String, Parameter> p : net.getParameters()) {
            names.put(p.getValue().getId(), p.getKey());
        }
        net.moeLayers().forEach(l -> l.router().getParameters().forEach(p -> routers.add(names.get(p.getValue().getId()))));
        net.classifier().getParameters().forEach(p -> head.add(names.get(p.getValue().getId())));
        if (scope == Scope.ALL || scope.includesRouter()) {
            allowed.addAll(routers);
        }
        if (scope == Scope.ALL || scope.includesHead()) {
            allowed.addAll(head);
        }
        List<String> outside = new ArrayList<>(plan.changed());
        outside.removeAll(allowed);
        if (!outside.isEmpty()) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "an exact deletion of class %d must re-derive %d tensors that scope %s leaves out: %s; use Scope.ALL"
                            + " (the default) or another method",
                    forgetClass,
                    outside.size(),
                    scope,
                    String.join(", ", outside)));
        }
        // frozen by the caller: not trainable now, though training taught it (never-trained ones, such
        // as an unused BatchNorm scale, do not count)
        ProvenanceLedger ledger = ProvenanceLedger.of(original).orElseThrow();
        List<String> frozen = new ArrayList<>();
        for (Pair<String, Parameter> p : net.getParameters()) {
            Parameter parameter = p.getValue();
            if (!ledger.isStatistic(p.getKey())
                    && !MoeBlocks.isFixed(parameter)
                    && !parameter.requiresGradient()
                    && !ledger.classesOf(p.getKey()).isEmpty()
                    && plan.changed().contains(p.getKey())) {
                frozen.add(p.getKey());
            }
        }
        if (!frozen.isEmpty()) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "an exact deletion of class %d must re-derive %d tensors that are frozen in the given model: %s;"
                            + " unfreeze them or use another method",
                    forgetClass,
                    frozen.size(),
                    String.join(", ", frozen)));
        }
        int[] retain = context.retainIndices();
        context.report("%s", plan);
        Model working = context.workingModel();
        plan.apply(working, context.data(), retain, context.settings().progress().orElse(null));
        long trainable = 0;
        for (Pair<String, Parameter> p : working.getBlock().getParameters()) {
            if (!ledger.isStatistic(p.getKey()) && plan.changed().contains(p.getKey())) {
                trainable += p.getValue().getArray().getShape().size();
            }
        }
        String summary = String.format(
                Locale.ROOT,
                "deleted class %d (%s) exactly: reset its experts (%.2f %% of the parameters), retrained the routers and"
                        + " the head (%.2f %%) on %d retain images",
                forgetClass,
                context.forgetClassName(),
                100 * plan.resetShare(),
                100 * plan.retrainedShare(),
                retain.length);
        return UnlearningOutcome.builder(working, summary, scope)
                .optTraining(trainable, plan.steps(retain.length), plan.images(retain.length))
                .addDetail("exact", plan.toJson())
                .build();
    }
}

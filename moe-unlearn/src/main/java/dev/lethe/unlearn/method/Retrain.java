package dev.lethe.unlearn.method;

import ai.djl.Model;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import java.io.IOException;
import java.util.Locale;

/**
 * The oracle as a method ({@link dev.lethe.unlearn.Method#RETRAIN}): a new model trained from
 * scratch without the class by the {@link RetrainOracle}. It does not edit the given model, so
 * {@code inPlace} does not apply and the loop settings (epochs, learning rate, loss, scope) are not
 * used: the recipe decides.
 */
public final class Retrain implements UnlearningMethod {

    @Override
    public Removal removal() {
        return Removal.RETRAIN;
    }

    @Override
    public Scope scope(UnlearningSettings settings) {
        return Scope.ALL;
    }

    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        out.addProperty("scope", Scope.ALL.name());
    }

    @Override
    public UnlearningOutcome run(UnlearningContext context) throws IOException {
        UnlearningSettings s = context.settings();
        RetrainOracle oracle = RetrainOracle.of(context.original(), s.retrainRecipe().orElse(null), s.seed());
        int[] retain = context.retainIndices();
        context.report("retraining from scratch on %d retain images: %s", retain.length, oracle);
        Model fresh =
                oracle.train(
                        context.original(),
                        context.modelFactory(),
                        context.data(),
                        retain,
                        s.progress().orElse(null));
        long total = MoeBlocks.countParameters(fresh.getBlock());
        String summary =
                String.format(
                        Locale.ROOT,
                        "retrained from scratch without class %d (%s)",
                        context.forgetClass(),
                        context.forgetClassName());
        return UnlearningOutcome.builder(fresh, summary, Scope.ALL)
                .optOracle(oracle)
                .optTraining(total, oracle.steps(retain.length), (long) retain.length * oracle.epochs())
                .addDetail("oracle", oracle.toJson())
                .build();
    }
}

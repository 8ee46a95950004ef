package dev.lethe.examples.protocol;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.relearn.RelearningCurve;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.examples.cli.Converters;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.profile.ExpertSelection;
import java.util.Map;

/**
 * The protocol's run records: one JSON object per evaluated model (a method's result, or the
 * Retrain oracle), made of the library's measures, and the comparison with the Retrain record of
 * the same cell, made by the library's comparisons ({@link UnlearningEvaluation#avgGap}, {@link
 * UnlearningEvaluation#probeGaps}, {@link UnlearningEvaluation#classAttackGap}, {@link
 * RelearningCurve#forgetAreaAbove}). Nothing is measured here.
 *
 * <p>A run record holds: {@code kind} ("run"), {@code method}, {@code scope}, {@code removal},
 * {@code recipe}, {@code forgetClass}, {@code forgetClassName}, {@code seed}, the headline
 * numbers ({@code ua}, {@code ra}, {@code ta}, {@code forgetTestAccuracy}, {@code mia}, {@code
 * miaAttackerAccuracy}, {@code probeRecovery} (penultimate probe), {@code classAttack}), {@code
 * probes} (one per MoE stage and the penultimate layer, {@link LayerProbes#toJson}), {@code
 * relearning} (the few-shot and retain-only curves, {@link RelearningCurve#toJson}), {@code
 * routingShift} (mean total variation, when measured), {@code seconds}, {@code
 * parametersRetrainedFraction}, {@code collateral}, {@code selection} and the full {@code
 * evaluation}. {@link #compare} adds {@code avgGap}, {@code retrainSeconds} and {@code vsRetrain}.
 */
final class Records {

    private Records() {}

    /**
     * The record of a model an unlearning method made.
     *
     * @param method the protocol method's name ({@link ProtocolMethods})
     * @param seed the run's seed
     * @param result the unlearning run that made the model
     * @param evaluation its evaluation (probes, class attack and relearning included)
     * @return the record
     */
    static JsonObject unlearned(String method, long seed, UnlearningResult result, UnlearningEvaluation evaluation) {
        JsonObject o = measures(method, seed, result.scope(), result.removal(), evaluation);
        o.addProperty("seconds", result.seconds());
        o.addProperty("parametersRetrainedFraction", result.parametersRetrainedFraction());
        o.addProperty("collateral", result.selection().map(ExpertSelection::meanCollateral).orElse(Double.NaN));
        result.selection().ifPresent(s -> o.add("selection", s.toJson()));
        return o;
    }

    /**
     * The record of a Retrain model (trained now or read from the model cache).
     *
     * @param seed the run's seed
     * @param seconds the Retrain run's wall-clock time
     * @param evaluation its evaluation
     * @return the record ({@code method} {@value ProtocolMethods#RETRAIN}, every parameter trained)
     */
    static JsonObject retrained(long seed, double seconds, UnlearningEvaluation evaluation) {
        JsonObject o = measures(ProtocolMethods.RETRAIN, seed, Scope.ALL, Removal.RETRAIN, evaluation);
        o.addProperty("seconds", seconds);
        o.addProperty("parametersRetrainedFraction", 1.0);
        o.addProperty("collateral", Double.NaN);
        return o;
    }

    private static JsonObject measures(String method, long seed, Scope scope, Removal removal, UnlearningEvaluation e) {
        JsonObject o = new JsonObject();
        o.addProperty("kind", "run");
        o.addProperty("method", method);
        o.addProperty("scope", Converters.cliName(scope));
        o.addProperty("removal", Converters.cliName(removal));
        o.addProperty("forgetClass", e.forgetClass());
        o.addProperty("forgetClassName", e.forgetClassName());
        o.addProperty("seed", seed);
        o.addProperty("ua", e.ua());
        o.addProperty("ra", e.ra());
        o.addProperty("ta", e.ta());
        o.addProperty("forgetTestAccuracy", e.forgetTestAccuracy());
        o.addProperty("mia", e.mia());
        o.addProperty("miaAttackerAccuracy", e.miaAttackerAccuracy());
        o.addProperty("probeRecovery", e.probeForgetAccuracy());
        o.addProperty("classAttack", e.classAttack().map(a -> a.accuracy()).orElse(Double.NaN));
        o.add("probes", LayerProbes.toJson(e.probes()));
        JsonObject relearning = new JsonObject();
        for (RelearningTest.Mode mode : RelearningTest.Mode.values()) {
            e.relearning(mode).ifPresent(c -> relearning.add(mode.jsonName(), c.toJson()));
        }
        o.add("relearning", relearning);
        e.routingShift().ifPresent(s -> o.addProperty("routingShift", s.meanTotalVariation()));
        o.add("evaluation", e.toJson());
        return o;
    }

    /**
     * A record under the name of the protocol method that asked for it: two methods whose settings
     * resolve to the same (e.g. {@code fine-tune-ours} when ours' learning rate is fine-tuning's
     * default) share one run and one cached record, and each gets its own row.
     *
     * @param record a run record
     * @param method the method's name
     * @param settings the name of ours' settings it used, or null when its settings are not tuned
     * @return a copy with {@code method} and {@code settings} set (or {@code settings} removed)
     */
    static JsonObject as(JsonObject record, String method, String settings) {
        JsonObject o = record.deepCopy();
        o.addProperty("method", method);
        o.remove("settings");
        if (settings != null) {
            o.addProperty("settings", settings);
        }
        return o;
    }

    /**
     * A run record with its comparison to the Retrain record of the same cell (recipe, seed,
     * class): {@code avgGap} (UA, RA, TA, MIA), {@code retrainSeconds}, and {@code vsRetrain}:
     * {@code probeGaps} (layer → probe accuracy minus Retrain's, in points), {@code
     * classAttackGap}, and per relearning mode {@code forgetArea} and {@code otherArea} (signed
     * areas between the curves, points × steps) and {@code meanForgetGap} (points). The Retrain
     * record compared with itself gives zeros.
     *
     * @param record a run record ({@link #run})
     * @param retrain the Retrain record, or null (the record is returned as is)
     * @return a copy with the comparison
     */
    static JsonObject compare(JsonObject record, JsonObject retrain) {
        JsonObject o = record.deepCopy();
        if (retrain == null) {
            return o;
        }
        UnlearningEvaluation e = UnlearningEvaluation.fromJson(record.getAsJsonObject("evaluation"));
        UnlearningEvaluation r = UnlearningEvaluation.fromJson(retrain.getAsJsonObject("evaluation"));
        o.addProperty("avgGap", e.avgGap(r));
        o.addProperty("retrainSeconds", retrain.get("seconds").getAsDouble());
        JsonObject vs = new JsonObject();
        JsonObject probes = new JsonObject();
        for (Map.Entry<String, Double> g : e.probeGaps(r).entrySet()) {
            probes.addProperty(g.getKey(), g.getValue());
        }
        vs.add("probeGaps", probes);
        vs.addProperty("classAttackGap", e.classAttackGap(r));
        JsonObject relearning = new JsonObject();
        for (RelearningTest.Mode mode : RelearningTest.Mode.values()) {
            var mine = e.relearning(mode);
            var theirs = r.relearning(mode);
            if (mine.isPresent() && theirs.isPresent()) {
                JsonObject m = new JsonObject();
                m.addProperty("forgetArea", mine.get().forgetAreaAbove(theirs.get()));
                m.addProperty("otherArea", mine.get().otherAreaAbove(theirs.get()));
                m.addProperty("meanForgetGap", e.relearningGap(r, mode));
                relearning.add(mode.jsonName(), m);
            }
        }
        vs.add("relearning", relearning);
        o.add("vsRetrain", vs);
        return o;
    }

    /**
     * The record as the results file keeps it: without the full evaluation and selection (they stay
     * in the cache), a base model's routing without its tables, every fractional number rounded to 4
     * decimals.
     *
     * @param record a record
     * @return a new, smaller object
     */
    static JsonObject slim(JsonObject record) {
        JsonObject slim = record.deepCopy();
        slim.remove("evaluation");
        slim.remove("selection");
        if (slim.has("routing")) {
            JsonObject routing = slim.getAsJsonObject("routing");
            slim.add("miShare", routing.get("miShare"));
            slim.add("deadExperts", routing.get("deadExperts"));
            for (String k : routing.keySet()) {
                if (routing.get(k).isJsonObject()) {
                    routing.getAsJsonObject(k).remove("table");
                }
            }
        }
        return rounded(slim).getAsJsonObject();
    }

    private static JsonElement rounded(JsonElement e) {
        if (e.isJsonObject()) {
            JsonObject o = new JsonObject();
            e.getAsJsonObject().entrySet().forEach(en -> o.add(en.getKey(), rounded(en.getValue())));
            return o;
        }
        if (e.isJsonArray()) {
            JsonArray a = new JsonArray();
            e.getAsJsonArray().forEach(x -> a.add(rounded(x)));
            return a;
        }
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            double v = e.getAsDouble();
            if (Double.isFinite(v) && v != Math.rint(v)) {
                return new JsonPrimitive(Math.round(v * 1e4) / 1e4);
            }
        }
        return e;
    }
}

package dev.lethe.examples.protocol;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.relearn.RelearningCurve;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.examples.cli.Converters;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.unlearn.ProvenanceReport;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.WeightDistance;
import dev.lethe.unlearn.profile.ExpertSelection;
import java.util.Map;
import java.util.Set;

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
 * parametersRetrainedFraction} (trainable in the run), {@code parametersChangedFraction} (whose
 * values changed), {@code weightDistance} (relative L2 from the original, {@link
 * UnlearningResult#weightDistance()}), {@code provenance} (by the ledger: the shares of parameters
 * the class touched, re-derived and remaining, {@link ProvenanceReport}), {@code collateral},
 * {@code selection} and the full {@code evaluation}. {@link #compare} adds {@code avgGap}, {@code
 * retrainSeconds} and {@code vsRetrain}.
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
        WeightDistance d = result.weightDistance();
        o.addProperty("parametersChangedFraction", d == null ? Double.NaN
                : changedShare(result.model(), d.changedTensors().keySet()));
        o.addProperty("weightDistance", d == null ? Double.NaN : d.relativeL2());
        result.provenance().ifPresent(p -> o.add("provenance", provenance(p)));
        o.addProperty("collateral", result.selection().map(ExpertSelection::meanCollateral).orElse(Double.NaN));
        result.selection().ifPresent(s -> o.add("selection", s.toJson()));
        return o;
    }

    /** The share of a model's weights (fixed constants and BatchNorm statistics left out) in some tensors. */
    private static double changedShare(Model model, Set<String> tensors) {
        long total = 0;
        long part = 0;
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            if (MoeBlocks.isFixed(p.getValue())) {
                continue;
            }
            long n = p.getValue().getArray().size();
            total += n;
            part += tensors.contains(p.getKey()) ? n : 0;
        }
        return total == 0 ? 0 : part / (double) total;
    }

    /** The ledger's account of a run, as shares (the tensor lists stay in the run's audit record). */
    static JsonObject provenance(ProvenanceReport p) {
        JsonObject o = new JsonObject();
        o.addProperty("recorded", p.isRecorded());
        if (p.isRecorded()) {
            o.addProperty("touched", p.touchedShare());
            o.addProperty("dependent", p.dependentShare());
            o.addProperty("rederived", p.rederivedShare());
            o.addProperty("remaining", p.remainingShare());
            o.addProperty("remainingTensors", p.remaining().size());
            o.addProperty("introduced", p.introducedShare());
            o.addProperty("erased", p.isErased());
        }
        if (!p.note().isEmpty()) {
            o.addProperty("note", p.note());
        }
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
        o.addProperty("parametersChangedFraction", 1.0);
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
     * @param settings the name of the settings it used (a chosen candidate, or "library defaults"), or null when
     *     its settings are fixed
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
     * {@code taGap} (TA minus Retrain's), {@code probeGaps} (layer → probe accuracy minus
     * Retrain's, in points), {@code classAttackGap}, and per relearning mode {@code forgetArea} and
     * {@code otherArea} (signed areas between the curves, points × steps), {@code meanForgetGap}
     * (points) and {@code forgetGaps} (the gap at each checkpoint). The Retrain record compared
     * with itself gives zeros.
     *
     * @param record a run record ({@link #unlearned} or {@link #retrained})
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
        vs.addProperty("taGap", e.ta() - r.ta());
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
                JsonArray gaps = new JsonArray(); // at each checkpoint both curves have
                for (int step : mine.get().steps()) {
                    if (java.util.Arrays.stream(theirs.get().steps()).anyMatch(x -> x == step)) {
                        JsonObject g = new JsonObject();
                        g.addProperty("step", step);
                        g.addProperty("gap", mine.get().forgetAccuracyAt(step) - theirs.get().forgetAccuracyAt(step));
                        gaps.add(g);
                    }
                }
                m.add("forgetGaps", gaps);
                relearning.add(mode.jsonName(), m);
            }
        }
        vs.add("relearning", relearning);
        o.add("vsRetrain", vs);
        return o;
    }

    /**
     * A sequential record ({@code kind} "sequential": {@code first} and {@code second}, the final
     * model's records for the first and the second class) compared, class by class, with the
     * Retrain without both ({@link #compare}).
     *
     * @param record a sequential record
     * @param retrain the Retrain's sequential record, or null (returned as is)
     * @return a copy with {@code first} and {@code second} compared
     */
    static JsonObject compareSequential(JsonObject record, JsonObject retrain) {
        JsonObject o = record.deepCopy();
        if (retrain == null) {
            return o;
        }
        for (String part : new String[] {"first", "second"}) {
            o.add(part, compare(record.getAsJsonObject(part), retrain.getAsJsonObject(part)));
        }
        o.addProperty("retrainSeconds", retrain.get("seconds").getAsDouble());
        o.addProperty("othersTestAccuracyGap", record.get("othersTestAccuracy").getAsDouble()
                - retrain.get("othersTestAccuracy").getAsDouble());
        return o;
    }

    /**
     * The record as the results file keeps it: without the full evaluation and selection (they stay
     * in the cache), a base model's routing as its summary (MI share, dead experts, mean collateral
     * and k80, per layer and overall; no tables, shares or per-class arrays), no per-class
     * accuracies; every fractional number rounded to 4 decimals. The relearning curves stay.
     *
     * @param record a record
     * @return a new, smaller object
     */
    static JsonObject slim(JsonObject record) {
        JsonObject slim = record.deepCopy();
        slim.remove("evaluation");
        slim.remove("selection");
        slim.remove("perClassTestAccuracy");
        if (slim.has("routing")) {
            JsonObject routing = slim.getAsJsonObject("routing");
            slim.add("miShare", routing.get("miShare"));
            slim.add("deadExperts", routing.get("deadExperts"));
            routing.remove("collateralPerClass");
            for (String k : routing.keySet()) {
                if (routing.get(k).isJsonObject()) {
                    JsonObject layer = routing.getAsJsonObject(k);
                    layer.remove("table");
                    layer.remove("shares");
                    if (layer.has("k80")) {
                        double sum = 0;
                        for (JsonElement v : layer.getAsJsonArray("k80")) {
                            sum += v.getAsDouble();
                        }
                        layer.addProperty("meanK80", sum / Math.max(1, layer.getAsJsonArray("k80").size()));
                        layer.remove("k80");
                    }
                }
            }
        }
        for (String part : new String[] {"first", "second"}) { // sequential records
            if (slim.has(part) && slim.get(part).isJsonObject()) {
                slim.getAsJsonObject(part).remove("evaluation");
                slim.getAsJsonObject(part).remove("selection");
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

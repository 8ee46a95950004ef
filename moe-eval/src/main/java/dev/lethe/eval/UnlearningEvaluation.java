package dev.lethe.eval;

import static dev.lethe.eval.JsonValues.number;
import static dev.lethe.eval.JsonValues.value;

import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.eval.attack.ClassMembershipAttack;
import dev.lethe.eval.attack.MembershipInference;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.probe.LinearProbe;
import dev.lethe.eval.relearn.RelearningCurve;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.eval.routing.RoutingShift;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The evaluation of one model after forgetting one class: the class-wise protocol of Jia et al.
 * (NeurIPS 2023, "Model Sparsity Can Simplify Machine Unlearning") and Fan et al. (ICLR 2024,
 * "SalUn"), and the measures a merely suppressed class cannot pass. Every accuracy and score is a
 * percentage in [0, 100]; a value that was not measured is NaN (written as JSON null) or absent.
 * Immutable; made by {@link UnlearningEvaluator#evaluate}.
 *
 * <ul>
 *   <li>UA = 100 − accuracy on the forget set D_f (the class's training images);
 *   <li>RA = accuracy on the retain set D_r (the other training images, or a seeded sample);
 *   <li>TA = test accuracy on the classes that remain;
 *   <li>MIA-Efficacy = share of D_f an SVM attacker calls non-member, with the attacker's own
 *       held-out accuracy beside it ({@link MembershipInference});
 *   <li>probes = accuracy on the class's test images of a {@link LinearProbe} refitted on held-out
 *       images at every MoE layer and at the penultimate embedding ({@link LayerProbes}); probe
 *       recovery is the penultimate one;
 *   <li>class attack = balanced accuracy of an attacker telling the class's images from the
 *       others' by the whole probability vector ({@link ClassMembershipAttack});
 *   <li>relearning = forget-class and other-class test accuracy while an attacker fine-tunes a
 *       copy, few-shot and retain-only ({@link RelearningTest});
 *   <li>routing shift = how far the class's expert shares moved from the original model's ({@link
 *       RoutingShift}).
 * </ul>
 *
 * <p>The last four mean something only beside the Retrain model's: compare with {@link #avgGap},
 * {@link #probeGaps}, {@link #classAttackGap} and {@link #relearningGap}.
 */
public final class UnlearningEvaluation {

    private final int forgetClass;
    private final String forgetClassName;
    private final double ua;
    private final double ra;
    private final double ta;
    private final double forgetTestAccuracy;
    private final double[] perClassTestAccuracy;
    private final double mia;
    private final double miaAttackerAccuracy;
    private final double probeForgetAccuracy;
    private final double probeRetainAccuracy;
    private final List<LayerProbes.Depth> probes;
    private final ClassMembershipAttack.Result classAttack;
    private final Map<RelearningTest.Mode, RelearningCurve> relearning;
    private final RoutingShift routingShift;
    private final double seconds;
    private final int forgetSize;
    private final int retainSize;
    private final int testSize;
    private final int miaTrainPerSide;
    private final int probeTrainSize;
    private final long seed;

    private UnlearningEvaluation(Builder b) {
        this.forgetClass = b.forgetClass;
        this.forgetClassName = Objects.requireNonNull(b.forgetClassName, "forgetClassName");
        this.ua = b.ua;
        this.ra = b.ra;
        this.ta = b.ta;
        this.forgetTestAccuracy = b.forgetTestAccuracy;
        this.perClassTestAccuracy = Objects.requireNonNull(b.perClassTestAccuracy, "perClass").clone();
        this.mia = b.mia;
        this.miaAttackerAccuracy = b.miaAttackerAccuracy;
        this.probeForgetAccuracy = b.probeForgetAccuracy;
        this.probeRetainAccuracy = b.probeRetainAccuracy;
        this.probes = List.copyOf(b.probes);
        this.classAttack = b.classAttack;
        EnumMap<RelearningTest.Mode, RelearningCurve> r = new EnumMap<>(RelearningTest.Mode.class);
        r.putAll(b.relearning);
        this.relearning = Collections.unmodifiableMap(r);
        this.routingShift = b.routingShift;
        this.seconds = b.seconds;
        this.forgetSize = b.forgetSize;
        this.retainSize = b.retainSize;
        this.testSize = b.testSize;
        this.miaTrainPerSide = b.miaTrainPerSide;
        this.probeTrainSize = b.probeTrainSize;
        this.seed = b.seed;
    }

    static Builder builder() {
        return new Builder();
    }

    /** @return the forgotten class's id */
    public int forgetClass() {
        return forgetClass;
    }

    /** @return the forgotten class's name */
    public String forgetClassName() {
        return forgetClassName;
    }

    /** @return UA, unlearning accuracy: 100 − accuracy on D_f, in percent */
    public double ua() {
        return ua;
    }

    /** @return RA, remaining accuracy: accuracy on D_r (or its sample), in percent */
    public double ra() {
        return ra;
    }

    /** @return TA, test accuracy on the classes that remain, in percent */
    public double ta() {
        return ta;
    }

    /** @return the forgotten class's test accuracy, in percent */
    public double forgetTestAccuracy() {
        return forgetTestAccuracy;
    }

    /** @return each class's test accuracy in percent, (numClasses); NaN for a class with no test images */
    public double[] perClassTestAccuracy() {
        return perClassTestAccuracy.clone();
    }

    /** @return MIA-Efficacy: the percentage of D_f the attacker calls non-member */
    public double mia() {
        return mia;
    }

    /**
     * @return the MIA attacker's held-out accuracy at telling members from non-members, in percent
     *     (50 = chance: the efficacy then says nothing beyond UA); NaN if not measured
     */
    public double miaAttackerAccuracy() {
        return miaAttackerAccuracy;
    }

    /**
     * @return probe recovery: the penultimate linear probe's accuracy on the forgotten class's test
     *     images, in percent; NaN if no probe was fitted
     */
    public double probeForgetAccuracy() {
        return probeForgetAccuracy;
    }

    /**
     * @return the penultimate linear probe's accuracy on the other classes' test images, in
     *     percent; NaN if no probe was fitted
     */
    public double probeRetainAccuracy() {
        return probeRetainAccuracy;
    }

    /** @return whether a probe was fitted */
    public boolean hasProbe() {
        return probeTrainSize > 0;
    }

    /**
     * @return the probes at every MoE layer and the penultimate embedding, in forward order; empty
     *     if no probe data was given (or for an evaluation read from an older JSON)
     */
    public List<LayerProbes.Depth> probes() {
        return probes;
    }

    /** @return the class-membership attack's result, if it ran (it needs probe data) */
    public Optional<ClassMembershipAttack.Result> classAttack() {
        return Optional.ofNullable(classAttack);
    }

    /**
     * @param mode the attacker's data
     * @return that relearning curve, if the relearning test ran
     */
    public Optional<RelearningCurve> relearning(RelearningTest.Mode mode) {
        return Optional.ofNullable(relearning.get(mode));
    }

    /** @return the routing shift from the original model, if it was measured */
    public Optional<RoutingShift> routingShift() {
        return Optional.ofNullable(routingShift);
    }

    /** @return the wall-clock time of the evaluation, in seconds */
    public double seconds() {
        return seconds;
    }

    /** @return |D_f|, the number of forget images UA and MIA-Efficacy were measured on */
    public int forgetSize() {
        return forgetSize;
    }

    /** @return the number of retain images RA was measured on */
    public int retainSize() {
        return retainSize;
    }

    /** @return the number of test images (all classes) */
    public int testSize() {
        return testSize;
    }

    /** @return the number of members (and of non-members) the MIA attacker was trained on */
    public int miaTrainPerSide() {
        return miaTrainPerSide;
    }

    /** @return the number of held-out images the probes were fitted on; 0 if none */
    public int probeTrainSize() {
        return probeTrainSize;
    }

    /** @return the seed of the retain sample, the probes and the attacks */
    public long seed() {
        return seed;
    }

    /**
     * Avg. Gap against the Retrain oracle: the mean of |UA − UA_r|, |RA − RA_r|, |TA − TA_r| and
     * |MIA − MIA_r|, in percentage points (Jia et al., NeurIPS 2023; Fan et al., ICLR 2024). 0 means
     * indistinguishable from retraining on these four metrics.
     *
     * @param retrain the evaluation of the model retrained without the class
     * @return the average gap, in percentage points
     * @throws IllegalArgumentException if the two evaluations forget different classes
     */
    public double avgGap(UnlearningEvaluation retrain) {
        checkSameClass(retrain);
        return (Math.abs(ua - retrain.ua)
                        + Math.abs(ra - retrain.ra)
                        + Math.abs(ta - retrain.ta)
                        + Math.abs(mia - retrain.mia))
                / 4;
    }

    /**
     * The forgotten class's probe accuracy minus Retrain's, at every depth.
     *
     * @param retrain the evaluation of the model retrained without the class, with probes at the
     *     same layers
     * @return layer → gap in points (> 0: more readable than in Retrain), forward order; empty if
     *     either has no probes
     * @throws IllegalArgumentException if the classes or the layers differ
     */
    public Map<String, Double> probeGaps(UnlearningEvaluation retrain) {
        checkSameClass(retrain);
        if (probes.isEmpty() || retrain.probes.isEmpty()) {
            return Map.of();
        }
        return LayerProbes.gaps(probes, retrain.probes);
    }

    /**
     * @param retrain the evaluation of the model retrained without the class
     * @return the class attack's accuracy minus Retrain's, in points (> 0: the outputs give the
     *     class away more than Retrain's do); NaN if either lacks the attack
     * @throws IllegalArgumentException if the classes differ
     */
    public double classAttackGap(UnlearningEvaluation retrain) {
        checkSameClass(retrain);
        if (classAttack == null || retrain.classAttack == null) {
            return Double.NaN;
        }
        return classAttack.accuracy() - retrain.classAttack.accuracy();
    }

    /**
     * @param retrain the evaluation of the model retrained without the class, relearned with the
     *     same test
     * @param mode the attacker's data
     * @return {@link RelearningCurve#meanForgetGap}: the mean over the attack of this model's
     *     forget-class accuracy minus Retrain's, in points (> 0: the class comes back faster than in
     *     Retrain); NaN if either lacks that curve
     * @throws IllegalArgumentException if the classes or the checkpoints differ
     */
    public double relearningGap(UnlearningEvaluation retrain, RelearningTest.Mode mode) {
        checkSameClass(retrain);
        RelearningCurve mine = relearning.get(mode);
        RelearningCurve theirs = retrain.relearning.get(mode);
        return mine == null || theirs == null ? Double.NaN : mine.meanForgetGap(theirs);
    }

    private void checkSameClass(UnlearningEvaluation retrain) {
        Preconditions.checkNotNull(retrain, "retrain must not be null");
        Preconditions.checkArgument(
                retrain.forgetClass == forgetClass,
                "retrain forgets class %s but this evaluation forgets class %s",
                retrain.forgetClass,
                forgetClass);
    }

    /** @return the evaluation as an aligned text table, one metric per line */
    public String toTable() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "forget class %d (%s)%n", forgetClass, forgetClassName));
        row(s, "UA", ua, "100 - accuracy on D_f, n = " + forgetSize);
        row(s, "RA", ra, "accuracy on D_r, n = " + retainSize);
        row(s, "TA", ta, "test accuracy, other classes");
        row(s, "forget-class test acc.", forgetTestAccuracy, "");
        row(s, "MIA-Efficacy", mia, "SVM trained on " + miaTrainPerSide + " + " + miaTrainPerSide);
        row(s, "MIA attacker accuracy", miaAttackerAccuracy, "held out, members vs non-members; 50 = chance");
        row(s, "probe recovery", probeForgetAccuracy,
                hasProbe() ? "probe on " + probeTrainSize + " held-out images" : "no probe data");
        row(s, "probe, other classes", probeRetainAccuracy, "");
        for (int i = 0; i < probes.size(); i++) {
            LayerProbes.Depth d = probes.get(i);
            boolean last = i == probes.size() - 1;
            row(s, last ? "probe, penultimate" : "probe, MoE layer " + (i + 1), d.forgetAccuracy(),
                    String.format(Locale.ROOT, "%s%d features; other classes %.2f %%",
                            last ? "" : d.layer() + ", ", d.features(), d.otherAccuracy()));
        }
        if (classAttack != null) {
            row(s, "class attack", classAttack.accuracy(), "balanced accuracy on the probability vector; 50 = chance");
        }
        for (RelearningCurve c : relearning.values()) {
            int[] steps = c.steps();
            double[] f = c.forgetAccuracy();
            double[] o = c.otherAccuracy();
            StringBuilder note = new StringBuilder("forget/other by step:");
            for (int i = 0; i < steps.length; i++) {
                note.append(String.format(Locale.ROOT, " %d: %.1f/%.1f", steps[i], f[i], o[i]));
            }
            row(s, (c.mode() == RelearningTest.Mode.FEW_SHOT ? "relearn few-shot @" : "relearn retain-only @")
                    + steps[steps.length - 1], f[f.length - 1], note.toString());
        }
        if (routingShift != null) {
            row(s, "routing shift", 100 * routingShift.meanTotalVariation(),
                    "gate mass moved (mean TV over " + routingShift.layerNames().size() + " MoE layers)");
        }
        for (int c = 0; c < perClassTestAccuracy.length; c++) {
            row(s, "test acc. class " + c, perClassTestAccuracy[c], c == forgetClass ? "forgotten" : "");
        }
        s.append(String.format(Locale.ROOT, "%-24s %8.1f s%n", "evaluation time", seconds));
        return s.toString();
    }

    private static void row(StringBuilder s, String name, double value, String note) {
        String v = Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.2f", value);
        s.append(String.format(Locale.ROOT, "%-24s %8s %%  %s", name, v, note).stripTrailing())
                .append(System.lineSeparator());
    }

    /**
     * @return the evaluation as JSON; NaN values are written as null, measures that did not run
     *     (probes, class attack, relearning, routing shift) are left out
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("forgetClassName", forgetClassName);
        o.add("ua", number(ua));
        o.add("ra", number(ra));
        o.add("ta", number(ta));
        o.add("forgetTestAccuracy", number(forgetTestAccuracy));
        o.add("mia", number(mia));
        o.add("miaAttackerAccuracy", number(miaAttackerAccuracy));
        JsonArray perClass = new JsonArray();
        for (double a : perClassTestAccuracy) {
            perClass.add(number(a));
        }
        o.add("perClassTestAccuracy", perClass);
        o.add("probeForgetAccuracy", number(probeForgetAccuracy));
        o.add("probeRetainAccuracy", number(probeRetainAccuracy));
        if (!probes.isEmpty()) {
            o.add("probes", LayerProbes.toJson(probes));
        }
        if (classAttack != null) {
            o.add("classAttack", classAttack.toJson());
        }
        if (!relearning.isEmpty()) {
            JsonObject r = new JsonObject();
            relearning.forEach((mode, curve) -> r.add(mode.jsonName(), curve.toJson()));
            o.add("relearning", r);
        }
        if (routingShift != null) {
            o.add("routingShift", routingShift.toJson());
        }
        o.add("seconds", number(seconds));
        o.addProperty("forgetSize", forgetSize);
        o.addProperty("retainSize", retainSize);
        o.addProperty("testSize", testSize);
        o.addProperty("miaTrainPerSide", miaTrainPerSide);
        o.addProperty("probeTrainSize", probeTrainSize);
        o.addProperty("seed", seed);
        return o;
    }

    /**
     * Reads an evaluation written by {@link #toJson()}, or by the version before the attacker-grade
     * measures (which lacks them: they read as not measured).
     *
     * @param json the JSON object
     * @return the evaluation
     * @throws IllegalArgumentException naming the field if a required one is missing
     */
    public static UnlearningEvaluation fromJson(JsonObject json) {
        Preconditions.checkNotNull(json, "json must not be null");
        JsonArray perClass = field(json, "perClassTestAccuracy").getAsJsonArray();
        double[] accuracies = new double[perClass.size()];
        for (int c = 0; c < accuracies.length; c++) {
            accuracies[c] = value(perClass.get(c));
        }
        Builder b = builder();
        b.forgetClass = field(json, "forgetClass").getAsInt();
        b.forgetClassName = field(json, "forgetClassName").getAsString();
        b.ua = value(field(json, "ua"));
        b.ra = value(field(json, "ra"));
        b.ta = value(field(json, "ta"));
        b.forgetTestAccuracy = value(field(json, "forgetTestAccuracy"));
        b.mia = value(field(json, "mia"));
        b.miaAttackerAccuracy = value(json.get("miaAttackerAccuracy"));
        b.perClassTestAccuracy = accuracies;
        b.probeForgetAccuracy = value(field(json, "probeForgetAccuracy"));
        b.probeRetainAccuracy = value(field(json, "probeRetainAccuracy"));
        if (json.has("probes")) {
            b.probes = LayerProbes.fromJson(json.getAsJsonArray("probes"));
        }
        if (json.has("classAttack")) {
            b.classAttack = ClassMembershipAttack.Result.fromJson(json.getAsJsonObject("classAttack"));
        }
        if (json.has("relearning")) {
            for (Map.Entry<String, JsonElement> e : json.getAsJsonObject("relearning").entrySet()) {
                b.relearning.put(
                        RelearningTest.Mode.fromJsonName(e.getKey()),
                        RelearningCurve.fromJson(e.getValue().getAsJsonObject()));
            }
        }
        if (json.has("routingShift")) {
            b.routingShift = RoutingShift.fromJson(json.getAsJsonObject("routingShift"));
        }
        b.seconds = value(field(json, "seconds"));
        b.forgetSize = field(json, "forgetSize").getAsInt();
        b.retainSize = field(json, "retainSize").getAsInt();
        b.testSize = field(json, "testSize").getAsInt();
        b.miaTrainPerSide = field(json, "miaTrainPerSide").getAsInt();
        b.probeTrainSize = field(json, "probeTrainSize").getAsInt();
        b.seed = field(json, "seed").getAsLong();
        return b.build();
    }

    private static JsonElement field(JsonObject json, String name) {
        Preconditions.checkArgument(json.has(name), "the evaluation JSON has no field '%s'", name);
        return json.get(name);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof UnlearningEvaluation)) {
            return false;
        }
        UnlearningEvaluation e = (UnlearningEvaluation) o;
        return forgetClass == e.forgetClass
                && forgetClassName.equals(e.forgetClassName)
                && Double.compare(ua, e.ua) == 0
                && Double.compare(ra, e.ra) == 0
                && Double.compare(ta, e.ta) == 0
                && Double.compare(forgetTestAccuracy, e.forgetTestAccuracy) == 0
                && Arrays.equals(perClassTestAccuracy, e.perClassTestAccuracy)
                && Double.compare(mia, e.mia) == 0
                && Double.compare(miaAttackerAccuracy, e.miaAttackerAccuracy) == 0
                && Double.compare(probeForgetAccuracy, e.probeForgetAccuracy) == 0
                && Double.compare(probeRetainAccuracy, e.probeRetainAccuracy) == 0
                && probes.equals(e.probes)
                && Objects.equals(classAttack, e.classAttack)
                && relearning.equals(e.relearning)
                && Objects.equals(routingShift, e.routingShift)
                && Double.compare(seconds, e.seconds) == 0
                && forgetSize == e.forgetSize
                && retainSize == e.retainSize
                && testSize == e.testSize
                && miaTrainPerSide == e.miaTrainPerSide
                && probeTrainSize == e.probeTrainSize
                && seed == e.seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(forgetClass, forgetClassName, ua, ra, ta, forgetTestAccuracy,
                Arrays.hashCode(perClassTestAccuracy), mia, miaAttackerAccuracy, probeForgetAccuracy,
                probeRetainAccuracy, probes, classAttack, relearning, routingShift, seconds, forgetSize,
                retainSize, testSize, miaTrainPerSide, probeTrainSize, seed);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "UnlearningEvaluation{class=%d (%s), UA=%.2f, RA=%.2f, TA=%.2f, forgetTest=%.2f,"
                        + " MIA=%.2f (attacker %.2f), probeForget=%.2f, probeRetain=%.2f, classAttack=%.2f, %.1fs}",
                forgetClass, forgetClassName, ua, ra, ta, forgetTestAccuracy, mia, miaAttackerAccuracy,
                probeForgetAccuracy, probeRetainAccuracy,
                classAttack == null ? Double.NaN : classAttack.accuracy(), seconds);
    }

    /** Collects the fields of an evaluation (package-private: evaluations come from the evaluator). */
    static final class Builder {
        int forgetClass;
        String forgetClassName;
        double ua = Double.NaN;
        double ra = Double.NaN;
        double ta = Double.NaN;
        double forgetTestAccuracy = Double.NaN;
        double[] perClassTestAccuracy = new double[0];
        double mia = Double.NaN;
        double miaAttackerAccuracy = Double.NaN;
        double probeForgetAccuracy = Double.NaN;
        double probeRetainAccuracy = Double.NaN;
        List<LayerProbes.Depth> probes = List.of();
        ClassMembershipAttack.Result classAttack;
        Map<RelearningTest.Mode, RelearningCurve> relearning = new EnumMap<>(RelearningTest.Mode.class);
        RoutingShift routingShift;
        double seconds = Double.NaN;
        int forgetSize;
        int retainSize;
        int testSize;
        int miaTrainPerSide;
        int probeTrainSize;
        long seed;

        UnlearningEvaluation build() {
            return new UnlearningEvaluation(this);
        }
    }
}

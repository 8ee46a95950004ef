package dev.lethe.unlearn.eval;

import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * The evaluation of one model after forgetting one class, by the class-wise protocol of Jia et al.
 * (NeurIPS 2023, "Model Sparsity Can Simplify Machine Unlearning") and Fan et al. (ICLR 2024,
 * "SalUn"), plus removal in the representation (linear-probe recovery). Every accuracy and score
 * is a percentage in [0, 100]; a value that was not measured (the probe without probe data) is
 * NaN, written as JSON null. Immutable; made by {@link UnlearningEvaluator#evaluate}.
 *
 * <ul>
 *   <li>UA = 100 − accuracy on the forget set D_f (the class's training images);
 *   <li>RA = accuracy on the retain set D_r (the other training images, or a seeded sample);
 *   <li>TA = test accuracy on the classes that remain;
 *   <li>MIA-Efficacy = share of D_f an SVM attacker calls non-member ({@link MembershipInference});
 *   <li>probe recovery = accuracy on the class's test images of a linear probe refitted on the
 *       penultimate features of held-out images ({@link LinearProbe}).
 * </ul>
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
    private final double probeForgetAccuracy;
    private final double probeRetainAccuracy;
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
        this.probeForgetAccuracy = b.probeForgetAccuracy;
        this.probeRetainAccuracy = b.probeRetainAccuracy;
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
     * @return probe recovery: the linear probe's accuracy on the forgotten class's test images, in
     *     percent; NaN if no probe was fitted
     */
    public double probeForgetAccuracy() {
        return probeForgetAccuracy;
    }

    /**
     * @return the linear probe's accuracy on the other classes' test images, in percent; NaN if no
     *     probe was fitted
     */
    public double probeRetainAccuracy() {
        return probeRetainAccuracy;
    }

    /** @return whether a probe was fitted */
    public boolean hasProbe() {
        return probeTrainSize > 0;
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

    /** @return the number of held-out images the probe was fitted on; 0 if none */
    public int probeTrainSize() {
        return probeTrainSize;
    }

    /** @return the seed of the retain sample and of the probe */
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
        Preconditions.checkNotNull(retrain, "retrain must not be null");
        Preconditions.checkArgument(
                retrain.forgetClass == forgetClass,
                "retrain forgets class %s but this evaluation forgets class %s",
                retrain.forgetClass,
                forgetClass);
        return (Math.abs(ua - retrain.ua)
                        + Math.abs(ra - retrain.ra)
                        + Math.abs(ta - retrain.ta)
                        + Math.abs(mia - retrain.mia))
                / 4;
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
        row(s, "probe recovery", probeForgetAccuracy,
                hasProbe() ? "probe on " + probeTrainSize + " held-out images" : "no probe data");
        row(s, "probe, other classes", probeRetainAccuracy, "");
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

    /** @return the evaluation as JSON; NaN values are written as null */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("forgetClassName", forgetClassName);
        o.add("ua", number(ua));
        o.add("ra", number(ra));
        o.add("ta", number(ta));
        o.add("forgetTestAccuracy", number(forgetTestAccuracy));
        o.add("mia", number(mia));
        JsonArray perClass = new JsonArray();
        for (double a : perClassTestAccuracy) {
            perClass.add(number(a));
        }
        o.add("perClassTestAccuracy", perClass);
        o.add("probeForgetAccuracy", number(probeForgetAccuracy));
        o.add("probeRetainAccuracy", number(probeRetainAccuracy));
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
     * Reads an evaluation written by {@link #toJson()}.
     *
     * @param json the JSON object
     * @return the evaluation
     * @throws IllegalArgumentException naming the field if one is missing
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
        b.perClassTestAccuracy = accuracies;
        b.probeForgetAccuracy = value(field(json, "probeForgetAccuracy"));
        b.probeRetainAccuracy = value(field(json, "probeRetainAccuracy"));
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

    private static JsonElement number(double value) {
        return Double.isNaN(value) ? JsonNull.INSTANCE : new JsonPrimitive(value);
    }

    private static double value(JsonElement e) {
        return e.isJsonNull() ? Double.NaN : e.getAsDouble();
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
                && Double.compare(probeForgetAccuracy, e.probeForgetAccuracy) == 0
                && Double.compare(probeRetainAccuracy, e.probeRetainAccuracy) == 0
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
                Arrays.hashCode(perClassTestAccuracy), mia, probeForgetAccuracy, probeRetainAccuracy,
                seconds, forgetSize, retainSize, testSize, miaTrainPerSide, probeTrainSize, seed);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "UnlearningEvaluation{class=%d (%s), UA=%.2f, RA=%.2f, TA=%.2f, forgetTest=%.2f,"
                        + " MIA=%.2f, probeForget=%.2f, probeRetain=%.2f, %.1fs}",
                forgetClass, forgetClassName, ua, ra, ta, forgetTestAccuracy, mia,
                probeForgetAccuracy, probeRetainAccuracy, seconds);
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
        double probeForgetAccuracy = Double.NaN;
        double probeRetainAccuracy = Double.NaN;
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

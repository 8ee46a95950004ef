package dev.lethe.eval.relearn;

import static dev.lethe.eval.JsonValues.number;
import static dev.lethe.eval.JsonValues.value;

import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * A relearning curve ({@link RelearningTest}): the forgotten class's test accuracy and the other
 * classes' test accuracy after 0, 5, 10, … attacker steps, with the settings that made it.
 * Accuracies in percent; immutable.
 *
 * <p><b>Area between curves.</b> {@link #forgetAreaAbove} compares this curve with a reference (the
 * Retrain model's, made with the same test settings): the integral over steps of this accuracy
 * minus the reference's, by the trapezoid rule on the checkpoints, from the first checkpoint to the
 * last, in accuracy points × steps. It is signed: > 0 means the class comes back faster (or is
 * higher to begin with) than in the Retrain model, the mark of suppression; ≈ 0 means
 * indistinguishable from Retrain; < 0 means it stays further away than in Retrain (which may also
 * mean the model was damaged, see {@link #otherAreaAbove}). {@link #meanForgetGap} divides it by
 * the length of the step range, giving the mean gap in accuracy points, comparable across step
 * schedules. Example: checkpoints 0, 10, 50 with accuracies 0, 60, 90 against Retrain's 0, 10, 50
 * give (0 + 50) / 2 × 10 + (50 + 40) / 2 × 40 = 2,050 points × steps, a mean gap of 41 points.
 */
public final class RelearningCurve {

    private final RelearningTest.Mode mode;
    private final int[] steps;
    private final double[] forgetAccuracy;
    private final double[] otherAccuracy;
    private final int forgetImages;
    private final int batchSize;
    private final float learningRate;
    private final long seed;
    private final int testImages;
    private final double seconds;

    RelearningCurve(
            RelearningTest.Mode mode,
            int[] steps,
            double[] forgetAccuracy,
            double[] otherAccuracy,
            int forgetImages,
            int batchSize,
            float learningRate,
            long seed,
            int testImages,
            double seconds) {
        Preconditions.checkArgument(
                steps.length == forgetAccuracy.length && steps.length == otherAccuracy.length,
                "a curve needs one accuracy per step: %s steps, %s forget and %s other accuracies",
                steps.length,
                forgetAccuracy.length,
                otherAccuracy.length);
        this.mode = Objects.requireNonNull(mode, "mode");
        this.steps = steps.clone();
        this.forgetAccuracy = forgetAccuracy.clone();
        this.otherAccuracy = otherAccuracy.clone();
        this.forgetImages = forgetImages;
        this.batchSize = batchSize;
        this.learningRate = learningRate;
        this.seed = seed;
        this.testImages = testImages;
        this.seconds = seconds;
    }

    /** @return the attacker's data */
    public RelearningTest.Mode mode() {
        return mode;
    }

    /** @return the checkpoints (attacker steps), ascending */
    public int[] steps() {
        return steps.clone();
    }

    /** @return the forgotten class's test accuracy at each checkpoint, in percent */
    public double[] forgetAccuracy() {
        return forgetAccuracy.clone();
    }

    /** @return the other classes' test accuracy at each checkpoint, in percent */
    public double[] otherAccuracy() {
        return otherAccuracy.clone();
    }

    /**
     * @param step one of {@link #steps()}
     * @return the forgotten class's test accuracy after that many steps
     * @throws IllegalArgumentException if the step is not a checkpoint
     */
    public double forgetAccuracyAt(int step) {
        return forgetAccuracy[index(step)];
    }

    /**
     * @param step one of {@link #steps()}
     * @return the other classes' test accuracy after that many steps
     * @throws IllegalArgumentException if the step is not a checkpoint
     */
    public double otherAccuracyAt(int step) {
        return otherAccuracy[index(step)];
    }

    /** @return the few-shot attacker's forget images; 0 for retain-only */
    public int forgetImages() {
        return forgetImages;
    }

    /** @return images per attacker step */
    public int batchSize() {
        return batchSize;
    }

    /** @return Adam's learning rate */
    public float learningRate() {
        return learningRate;
    }

    /** @return the seed of the batches */
    public long seed() {
        return seed;
    }

    /** @return the number of test images each checkpoint was measured on (all classes) */
    public int testImages() {
        return testImages;
    }

    /** @return the wall-clock time of the test, in seconds */
    public double seconds() {
        return seconds;
    }

    /**
     * The signed area between this curve's forgotten-class accuracy and a reference's (see the
     * class description).
     *
     * @param reference the reference curve (Retrain), with the same mode and checkpoints
     * @return the area in accuracy points × steps
     * @throws IllegalArgumentException if the modes or checkpoints differ
     */
    public double forgetAreaAbove(RelearningCurve reference) {
        checkComparable(reference);
        return areaBetween(steps, forgetAccuracy, reference.forgetAccuracy);
    }

    /**
     * As {@link #forgetAreaAbove} for the other classes' accuracy: < 0 means the attacker's
     * training costs this model more of the other classes than it costs the reference.
     *
     * @param reference the reference curve, with the same mode and checkpoints
     * @return the area in accuracy points × steps
     * @throws IllegalArgumentException if the modes or checkpoints differ
     */
    public double otherAreaAbove(RelearningCurve reference) {
        checkComparable(reference);
        return areaBetween(steps, otherAccuracy, reference.otherAccuracy);
    }

    /**
     * {@link #forgetAreaAbove} divided by the length of the step range (last − first checkpoint):
     * the mean gap to the reference over the attack, in accuracy points; with a single checkpoint,
     * the gap at it.
     *
     * @param reference the reference curve, with the same mode and checkpoints
     * @return the mean gap in accuracy points
     * @throws IllegalArgumentException if the modes or checkpoints differ
     */
    public double meanForgetGap(RelearningCurve reference) {
        checkComparable(reference);
        int span = steps[steps.length - 1] - steps[0];
        return span == 0
                ? forgetAccuracy[0] - reference.forgetAccuracy[0]
                : forgetAreaAbove(reference) / span;
    }

    /**
     * The trapezoid-rule integral of {@code curve − reference} over the steps.
     *
     * @param steps the abscissae, strictly ascending
     * @param curve a value per step
     * @param reference a value per step
     * @return sum over i of (steps[i+1] − steps[i]) × (d[i] + d[i+1]) / 2 with d = curve −
     *     reference; 0 for a single step; NaN if a value is NaN
     * @throws IllegalArgumentException if the lengths differ or the steps are not ascending
     */
    public static double areaBetween(int[] steps, double[] curve, double[] reference) {
        Preconditions.checkArgument(
                steps.length == curve.length && steps.length == reference.length,
                "steps (%s), curve (%s) and reference (%s) must have the same length",
                steps.length,
                curve.length,
                reference.length);
        double area = 0;
        for (int i = 0; i + 1 < steps.length; i++) {
            Preconditions.checkArgument(
                    steps[i + 1] > steps[i], "steps must be strictly ascending: %s", Arrays.toString(steps));
            double d0 = curve[i] - reference[i];
            double d1 = curve[i + 1] - reference[i + 1];
            area += (steps[i + 1] - steps[i]) * (d0 + d1) / 2;
        }
        return area;
    }

    private void checkComparable(RelearningCurve reference) {
        Preconditions.checkNotNull(reference, "reference must not be null");
        Preconditions.checkArgument(
                reference.mode == mode, "the reference is a %s curve but this is a %s curve", reference.mode, mode);
        Preconditions.checkArgument(
                Arrays.equals(reference.steps, steps),
                "the reference's checkpoints %s differ from this curve's %s",
                Arrays.toString(reference.steps),
                Arrays.toString(steps));
    }

    private int index(int step) {
        int i = Arrays.binarySearch(steps, step);
        Preconditions.checkArgument(
                i >= 0, "step %s is not a checkpoint of this curve %s", step, Arrays.toString(steps));
        return i;
    }

    /** @return the curve as JSON; NaN as null */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("mode", mode.jsonName());
        JsonArray s = new JsonArray();
        JsonArray f = new JsonArray();
        JsonArray r = new JsonArray();
        for (int i = 0; i < steps.length; i++) {
            s.add(steps[i]);
            f.add(number(forgetAccuracy[i]));
            r.add(number(otherAccuracy[i]));
        }
        o.add("steps", s);
        o.add("forgetAccuracy", f);
        o.add("otherAccuracy", r);
        o.addProperty("forgetImages", forgetImages);
        o.addProperty("batchSize", batchSize);
        o.addProperty("learningRate", learningRate);
        o.addProperty("seed", seed);
        o.addProperty("testImages", testImages);
        o.add("seconds", number(seconds));
        return o;
    }

    /**
     * @param json an object written by {@link #toJson()}
     * @return the curve
     * @throws IllegalArgumentException if a field is missing or the arrays differ in length
     */
    public static RelearningCurve fromJson(JsonObject json) {
        Preconditions.checkNotNull(json, "json must not be null");
        for (String field : new String[] {"mode", "steps", "forgetAccuracy", "otherAccuracy"}) {
            Preconditions.checkArgument(json.has(field), "the relearning curve JSON has no field '%s'", field);
        }
        JsonArray s = json.getAsJsonArray("steps");
        JsonArray f = json.getAsJsonArray("forgetAccuracy");
        JsonArray r = json.getAsJsonArray("otherAccuracy");
        int[] steps = new int[s.size()];
        double[] forget = new double[f.size()];
        double[] other = new double[r.size()];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = s.get(i).getAsInt();
        }
        for (int i = 0; i < forget.length; i++) {
            forget[i] = value(f.get(i));
        }
        for (int i = 0; i < other.length; i++) {
            other[i] = value(r.get(i));
        }
        return new RelearningCurve(
                RelearningTest.Mode.fromJsonName(json.get("mode").getAsString()),
                steps,
                forget,
                other,
                json.has("forgetImages") ? json.get("forgetImages").getAsInt() : 0,
                json.has("batchSize") ? json.get("batchSize").getAsInt() : 0,
                json.has("learningRate") ? json.get("learningRate").getAsFloat() : Float.NaN,
                json.has("seed") ? json.get("seed").getAsLong() : 0,
                json.has("testImages") ? json.get("testImages").getAsInt() : 0,
                value(json.get("seconds")));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RelearningCurve)) {
            return false;
        }
        RelearningCurve c = (RelearningCurve) o;
        return mode == c.mode
                && Arrays.equals(steps, c.steps)
                && Arrays.equals(forgetAccuracy, c.forgetAccuracy)
                && Arrays.equals(otherAccuracy, c.otherAccuracy)
                && forgetImages == c.forgetImages
                && batchSize == c.batchSize
                && Float.compare(learningRate, c.learningRate) == 0
                && seed == c.seed
                && testImages == c.testImages
                && Double.compare(seconds, c.seconds) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, Arrays.hashCode(steps), Arrays.hashCode(forgetAccuracy),
                Arrays.hashCode(otherAccuracy), forgetImages, batchSize, learningRate, seed, testImages, seconds);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < steps.length; i++) {
            sb.append(i == 0 ? "" : ", ")
                    .append(String.format(Locale.ROOT, "%d: %.1f/%.1f", steps[i], forgetAccuracy[i], otherAccuracy[i]));
        }
        return "RelearningCurve{" + mode.jsonName() + ", step: forget/other % = " + sb + "}";
    }
}

package dev.lethe.eval.attack;

import static dev.lethe.eval.JsonValues.number;
import static dev.lethe.eval.JsonValues.value;

import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.eval.Accuracy;
import dev.lethe.eval.Indices;
import dev.lethe.eval.Predictions;
import dev.lethe.eval.probe.LinearProbe;
import java.util.stream.IntStream;

/**
 * A class-membership attack on the full probability vector: can an attacker who sees only the
 * model's outputs tell an image of the forgotten class from an image of another class? In the
 * spirit of the class-membership inference attack of "Unlearning Isn't Forgetting" (ICML 2026),
 * which reads the neighbouring classes' probabilities, and always reported beside the Retrain
 * model's score.
 *
 * <p>The attacker is a logistic regression (a two-class {@link LinearProbe}) on the log-softmax
 * vector, log max(p_k, 1e-30) for every class k, trained on held-out images — every image of the
 * forgotten class (label 1) and as many images of the other classes, drawn with the seed (label 0)
 * — and scored on the test images by balanced accuracy, the mean of its accuracy on the forgotten
 * class's images and on the others' (50 % is chance, whatever the class sizes).
 *
 * <p>Why this attack and not an information measure such as IDI (Jeon et al., AAAI 2026; mutual
 * information between a layer's features and the forget label, relative to Retrain):
 *
 * <ul>
 *   <li>It needs the outputs only, the access MIA-Efficacy and UA assume, so it tests the claim the
 *       output metrics make with the information they ignore. MIA-Efficacy reads one number per
 *       image, the true label's probability; a model that only zeroes (or pushes down) the
 *       forgotten class's logit passes it, while the other classes' logits, computed from features
 *       that still encode the class, keep a pattern this attacker learns to read (Jeon et al. show
 *       such head-only edits pass every black-box metric they try).
 *   <li>The white-box view, the features themselves, is already covered by {@link
 *       dev.lethe.eval.probe.LayerProbes} at every MoE stage and the penultimate layer; an
 *       information measure there would re-measure with an estimator what the probes read directly.
 *   <li>It is deterministic for a seed, cheap (a K-feature logistic regression) and needs no
 *       density or mutual-information estimator, whose bias depends on sample size and dimension
 *       and would make numbers from different layers and models hard to compare.
 * </ul>
 *
 * <p>Reading it: a model that never saw the class still maps its images to a distinctive mix of
 * the neighbouring classes, so Retrain's score is above 50; what matters is the gap to it ({@link
 * Result#accuracy()} minus Retrain's). A suppressed class shows as a score well above Retrain's.
 */
public final class ClassMembershipAttack {

    /** The floor of a probability before its logarithm (float softmax can underflow to 0). */
    static final double FLOOR = 1e-30;

    private ClassMembershipAttack() {}

    /**
     * What the attack found.
     *
     * @param accuracy the attacker's balanced accuracy (0–100) on the test images; 50 is chance
     * @param trainPerSide the held-out images per side it was trained on (the forgotten class's
     *     held-out images, and as many of the others)
     * @param forgetTestImages the forgotten class's test images it was scored on
     * @param otherTestImages the other classes' test images it was scored on
     */
    public record Result(double accuracy, int trainPerSide, int forgetTestImages, int otherTestImages) {

        /** @return the result as JSON; NaN as null */
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.add("accuracy", number(accuracy));
            o.addProperty("trainPerSide", trainPerSide);
            o.addProperty("forgetTestImages", forgetTestImages);
            o.addProperty("otherTestImages", otherTestImages);
            return o;
        }

        /**
         * @param json an object written by {@link #toJson()}
         * @return the result
         */
        public static Result fromJson(JsonObject json) {
            return new Result(
                    value(json.get("accuracy")),
                    json.get("trainPerSide").getAsInt(),
                    json.get("forgetTestImages").getAsInt(),
                    json.get("otherTestImages").getAsInt());
        }
    }

    /**
     * Trains the attacker on held-out predictions and scores it on test predictions.
     *
     * @param heldOut the model's predictions on held-out images (never used for training or
     *     unlearning), with images of the forgotten class and of others
     * @param test the model's predictions on test images, with images of both kinds
     * @param forgetClass the forgotten class
     * @param seed the seed of the other-class sample and of the attacker's initial weights
     * @return the attacker's balanced accuracy and the sizes used
     * @throws IllegalArgumentException if a set lacks images of either kind, or the two sets'
     *     probability vectors differ in length
     */
    public static Result measure(Predictions heldOut, Predictions test, int forgetClass, long seed) {
        Preconditions.checkNotNull(heldOut, "heldOut must not be null");
        Preconditions.checkNotNull(test, "test must not be null");
        int[] heldOutLabels = heldOut.labels();
        int[] forget = indices(heldOutLabels, forgetClass, true);
        int[] others = indices(heldOutLabels, forgetClass, false);
        Preconditions.checkArgument(
                forget.length > 0 && others.length > 0,
                "the held-out predictions have %s images of forgetClass %s and %s of other classes; the"
                        + " attacker needs both",
                forget.length,
                forgetClass,
                others.length);
        int[] sample = others.length <= forget.length ? others : Indices.sample(others, forget.length, seed);
        float[][] probabilities = heldOut.probabilities();
        float[][] x = new float[forget.length + sample.length][];
        int[] y = new int[x.length];
        for (int i = 0; i < forget.length; i++) {
            x[i] = features(probabilities[forget[i]]);
            y[i] = 1;
        }
        for (int i = 0; i < sample.length; i++) {
            x[forget.length + i] = features(probabilities[sample[i]]);
        }
        LinearProbe attacker = LinearProbe.fit(x, y, 2, seed);

        int[] testLabels = test.labels();
        float[][] testProbabilities = test.probabilities();
        Preconditions.checkArgument(
                testProbabilities[0].length == probabilities[0].length,
                "the test predictions have %s classes but the held-out ones %s",
                testProbabilities[0].length,
                probabilities[0].length);
        float[][] testX = new float[testLabels.length][];
        int[] member = new int[testLabels.length];
        for (int i = 0; i < testLabels.length; i++) {
            testX[i] = features(testProbabilities[i]);
            member[i] = testLabels[i] == forgetClass ? 1 : 0;
        }
        int[] predicted = attacker.predict(testX);
        double onForget = Accuracy.ofClass(predicted, member, 1);
        double onOthers = Accuracy.ofClass(predicted, member, 0);
        Preconditions.checkArgument(
                !Double.isNaN(onForget) && !Double.isNaN(onOthers),
                "the test predictions need images of forgetClass %s and of other classes",
                forgetClass);
        int forgetTest = indices(testLabels, forgetClass, true).length;
        return new Result(
                (onForget + onOthers) / 2, forget.length, forgetTest, testLabels.length - forgetTest);
    }

    /** The attacker's features of one probability vector: log max(p_k, {@value #FLOOR}). */
    static float[] features(float[] probabilities) {
        float[] out = new float[probabilities.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = (float) Math.log(Math.max(probabilities[k], FLOOR));
        }
        return out;
    }

    private static int[] indices(int[] labels, int classId, boolean same) {
        return IntStream.range(0, labels.length)
                .filter(i -> (labels[i] == classId) == same)
                .toArray();
    }
}

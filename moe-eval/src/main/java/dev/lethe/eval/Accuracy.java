package dev.lethe.eval;

import com.google.common.base.Preconditions;

/**
 * Accuracy of predicted classes against true ones, the one implementation every measure of this
 * module uses: over all items, on one class (for unlearning, the forgotten class), on every other
 * class (the classes that remain), and per class. Every result is a percentage in [0, 100], NaN
 * when no item qualifies.
 *
 * <p>The "other classes" accuracy pools the items (a micro average), as TA in the class-wise
 * protocol of Jia et al. (NeurIPS 2023).
 */
public final class Accuracy {

    private Accuracy() {}

    /**
     * @param predicted the predicted class of each item, (n)
     * @param labels the true class of each item, (n)
     * @return the percentage of items whose prediction is their label; NaN if n = 0
     * @throws IllegalArgumentException if the lengths differ
     */
    public static double of(int[] predicted, int[] labels) {
        check(predicted, labels);
        return where(predicted, labels, -1, false);
    }

    /**
     * @param predicted the predicted class of each item, (n)
     * @param labels the true class of each item, (n)
     * @param classId a class
     * @return the accuracy on the items of that class; NaN if there are none
     * @throws IllegalArgumentException if the lengths differ
     */
    public static double ofClass(int[] predicted, int[] labels, int classId) {
        check(predicted, labels);
        return where(predicted, labels, classId, true);
    }

    /**
     * @param predicted the predicted class of each item, (n)
     * @param labels the true class of each item, (n)
     * @param classId a class
     * @return the accuracy on the items of every other class, pooled; NaN if there are none
     * @throws IllegalArgumentException if the lengths differ
     */
    public static double excludingClass(int[] predicted, int[] labels, int classId) {
        check(predicted, labels);
        return where(predicted, labels, classId, false);
    }

    /**
     * @param predicted the predicted class of each item, (n)
     * @param labels the true class of each item, (n)
     * @param numClasses the number of classes, >= 1; items labelled outside [0, numClasses) are
     *     ignored
     * @return the accuracy of each class, (numClasses); NaN for a class without items
     * @throws IllegalArgumentException if the lengths differ or numClasses < 1
     */
    public static double[] perClass(int[] predicted, int[] labels, int numClasses) {
        check(predicted, labels);
        Preconditions.checkArgument(numClasses >= 1, "numClasses (%s) must be >= 1", numClasses);
        int[] correct = new int[numClasses];
        int[] total = new int[numClasses];
        for (int i = 0; i < labels.length; i++) {
            int c = labels[i];
            if (c >= 0 && c < numClasses) {
                total[c]++;
                correct[c] += predicted[i] == c ? 1 : 0;
            }
        }
        double[] out = new double[numClasses];
        for (int c = 0; c < numClasses; c++) {
            out[c] = total[c] == 0 ? Double.NaN : 100.0 * correct[c] / total[c];
        }
        return out;
    }

    private static double where(int[] predicted, int[] labels, int classId, boolean same) {
        int correct = 0;
        int total = 0;
        for (int i = 0; i < labels.length; i++) {
            if ((labels[i] == classId) == same) {
                total++;
                correct += predicted[i] == labels[i] ? 1 : 0;
            }
        }
        return total == 0 ? Double.NaN : 100.0 * correct / total;
    }

    private static void check(int[] predicted, int[] labels) {
        Preconditions.checkNotNull(predicted, "predicted must not be null");
        Preconditions.checkNotNull(labels, "labels must not be null");
        Preconditions.checkArgument(
                predicted.length == labels.length,
                "predicted has %s entries but labels has %s",
                predicted.length,
                labels.length);
    }
}

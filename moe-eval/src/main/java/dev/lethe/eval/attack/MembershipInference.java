package dev.lethe.eval.attack;

import com.google.common.base.Preconditions;
import dev.lethe.unlearn.data.LabeledData;
import java.util.Arrays;
import libsvm.svm;
import libsvm.svm_model;
import libsvm.svm_node;
import libsvm.svm_parameter;
import libsvm.svm_problem;

/**
 * MIA-Efficacy, the membership-inference score of class-wise unlearning in Jia et al. (NeurIPS
 * 2023, "Model Sparsity Can Simplify Machine Unlearning") and Fan et al. (ICLR 2024, "SalUn"), as
 * their {@code SVC_MIA} computes it, with the attacker's own accuracy beside it.
 *
 * <p>An attacker is an RBF-kernel SVM (LIBSVM's C-SVC, C = 3, gamma = 1 / n_features = 1, as
 * scikit-learn's {@code SVC(C=3, gamma="auto", kernel="rbf")}, which is LIBSVM underneath) trained
 * on one feature, the model's softmax probability of the true label: members (label 1) are images
 * of the retain set D_r, non-members (label 0) test images of the classes that remain ({@link
 * Sets#classWise}). MIA-Efficacy is the percentage of the forget set D_f that the attacker calls
 * non-member: 100 means the model treats the forgotten images like images it never saw (what a
 * retrained model scores for class-wise forgetting).
 *
 * <p>An efficacy means little without the attacker's skill: an attacker that cannot tell members
 * from non-members (accuracy near 50 %) calls about half of anything non-member, and its efficacy
 * only restates UA. {@link Result#attackerAccuracy()} is that skill, measured on examples it did
 * not train on (see {@link #attack}).
 */
public final class MembershipInference {

    /** The value of {@code maxTrainPerSide} that keeps every training example. */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    /** LIBSVM's regularisation constant C, as in Jia et al. */
    static final double C = 3.0;

    private MembershipInference() {}

    /**
     * The images of a class-wise membership-inference attack, as indices into the training and
     * test data. Made by {@link #classWise}; the arrays are owned by the record (do not modify).
     *
     * @param members training indices of member images (a prefix of D_r in index order)
     * @param nonMembers test indices of non-member images (the test images of the other classes)
     * @param forget training indices of the forget set D_f (the forgotten class's images)
     */
    public record Sets(int[] members, int[] nonMembers, int[] forget) {

        /**
         * The literature's sets for forgetting one class (Jia et al. 2023, Fan et al. 2024):
         * non-members are the test images of the classes that remain (the forgotten class's test
         * images are left out: they are neither members nor of the distribution the attacker is
         * asked about), members the first min(|non-members|, |D_r|) images of D_r in index order,
         * so both sides have the same size, and the forget set D_f every training image of the
         * class.
         *
         * @param train the training data
         * @param test the test data, with the same classes
         * @param forgetClass the forgotten class, in [0, numClasses)
         * @return the three index sets, each ascending
         * @throws IllegalArgumentException if the class is out of range, or a set would be empty
         */
        public static Sets classWise(LabeledData train, LabeledData test, int forgetClass) {
            Preconditions.checkNotNull(train, "train must not be null");
            Preconditions.checkNotNull(test, "test must not be null");
            Preconditions.checkArgument(
                    forgetClass >= 0 && forgetClass < train.numClasses(),
                    "forgetClass (%s) must be in [0, %s)",
                    forgetClass,
                    train.numClasses());
            int[] forget = train.indicesOf(forgetClass);
            int[] retain = train.indicesExcept(forgetClass);
            int[] nonMembers = test.indicesExcept(forgetClass);
            Preconditions.checkArgument(
                    forget.length > 0, "the training data has no image of forgetClass %s", forgetClass);
            Preconditions.checkArgument(
                    retain.length > 0 && nonMembers.length > 0,
                    "the training data (%s images) and the test data (%s images) must both have images"
                            + " outside forgetClass %s",
                    retain.length,
                    nonMembers.length,
                    forgetClass);
            int[] members = Arrays.copyOf(retain, Math.min(nonMembers.length, retain.length));
            return new Sets(members, nonMembers, forget);
        }
    }

    /**
     * What one attack found.
     *
     * @param efficacy MIA-Efficacy: the percentage (0–100) of forget images called non-member
     * @param attackerAccuracy the attacker's held-out accuracy (0–100) at telling members from
     *     non-members, by two-fold cross-validation on its training examples; 50 is chance; NaN
     *     with fewer than two examples per side
     * @param trainPerSide the number of members (and of non-members) the attacker trained on
     */
    public record Result(double efficacy, double attackerAccuracy, int trainPerSide) {}

    /**
     * MIA-Efficacy with every member and non-member in the attacker's training set.
     *
     * @param memberProbs the true-label probability of each member image (D_r), in [0, 1]
     * @param nonMemberProbs the true-label probability of each non-member image (test), in [0, 1]
     * @param forgetProbs the true-label probability of each forget image (D_f), in [0, 1]
     * @return the percentage (0–100) of forget images predicted non-member
     * @see #attack(float[], float[], float[], int)
     */
    public static double efficacy(float[] memberProbs, float[] nonMemberProbs, float[] forgetProbs) {
        return efficacy(memberProbs, nonMemberProbs, forgetProbs, UNLIMITED);
    }

    /**
     * MIA-Efficacy alone: as {@link #attack(float[], float[], float[], int)} without measuring the
     * attacker's accuracy (one SVM fit instead of three).
     *
     * @param memberProbs the true-label probability of each member image (D_r), in [0, 1]
     * @param nonMemberProbs the true-label probability of each non-member image, in [0, 1]
     * @param forgetProbs the true-label probability of each forget image (D_f), in [0, 1]
     * @param maxTrainPerSide the most examples per side, >= 1 ({@link #UNLIMITED} for all)
     * @return the percentage (0–100) of forget images predicted non-member
     * @throws IllegalArgumentException if an array is empty, a probability is outside [0, 1] or
     *     the cap is below 1
     */
    public static double efficacy(
            float[] memberProbs, float[] nonMemberProbs, float[] forgetProbs, int maxTrainPerSide) {
        int n = check(memberProbs, nonMemberProbs, forgetProbs, maxTrainPerSide);
        return nonMemberShare(train(spread(memberProbs, n), spread(nonMemberProbs, n)), forgetProbs);
    }

    /**
     * Trains the attacker SVM on member and non-member probabilities, returns the share of the
     * forget set it calls non-member, and measures how well the same recipe tells members from
     * non-members on examples it did not see.
     *
     * <p>Both sides of the attacker's training set have the same size, {@code n = min(|members|,
     * |nonMembers|, maxTrainPerSide)}: when a side is larger, n of its entries are taken evenly
     * spaced (entry {@code floor(i * size / n)} for i in [0, n)), which keeps the whole range of
     * an ordered input and is deterministic. With the protocol's inputs ({@link Sets#classWise})
     * and no cap nothing is dropped. The cap trades exactness for speed: LIBSVM's training time
     * grows faster than linearly with n (measured on one core with CIFAR-like probabilities: 0.3 s
     * for n = 2,000, 4.5 s for n = 10,000).
     *
     * <p>The attacker's accuracy is two-fold cross-validated: the 2n examples are split by the
     * parity of their position (even entries of both sides, odd entries of both sides), an SVM
     * with the same settings is trained on each half and scored on the other, and the accuracy is
     * the share of the 2n held-out predictions that are right (the sides are balanced, so 50 % is
     * chance). The efficacy itself comes from the SVM trained on all 2n examples, as in the
     * protocol. Cost: about twice the fit of the efficacy alone.
     *
     * @param memberProbs the true-label probability of each member image (D_r), in [0, 1]
     * @param nonMemberProbs the true-label probability of each non-member image, in [0, 1]
     * @param forgetProbs the true-label probability of each forget image (D_f), in [0, 1]
     * @param maxTrainPerSide the most examples per side, >= 1 ({@link #UNLIMITED} for all)
     * @return the efficacy, the attacker's held-out accuracy and n
     * @throws IllegalArgumentException if an array is empty, a probability is outside [0, 1] or
     *     the cap is below 1
     */
    public static Result attack(
            float[] memberProbs, float[] nonMemberProbs, float[] forgetProbs, int maxTrainPerSide) {
        int n = check(memberProbs, nonMemberProbs, forgetProbs, maxTrainPerSide);
        float[] members = spread(memberProbs, n);
        float[] nonMembers = spread(nonMemberProbs, n);
        double efficacy = nonMemberShare(train(members, nonMembers), forgetProbs);
        double accuracy = Double.NaN;
        if (n >= 2) {
            int correct = 0;
            for (int fold = 0; fold < 2; fold++) {
                svm_model attacker = train(half(members, fold), half(nonMembers, fold));
                for (float p : half(members, 1 - fold)) {
                    correct += svm.svm_predict(attacker, node(p)) >= 0.5 ? 1 : 0;
                }
                for (float p : half(nonMembers, 1 - fold)) {
                    correct += svm.svm_predict(attacker, node(p)) < 0.5 ? 1 : 0;
                }
            }
            accuracy = 100.0 * correct / (2 * n);
        }
        return new Result(efficacy, accuracy, n);
    }

    /**
     * The number of examples per side that {@link #attack} trains on.
     *
     * @param members the number of member probabilities
     * @param nonMembers the number of non-member probabilities
     * @param maxTrainPerSide the cap
     * @return min(members, nonMembers, maxTrainPerSide)
     */
    public static int trainPerSide(int members, int nonMembers, int maxTrainPerSide) {
        return Math.min(maxTrainPerSide, Math.min(members, nonMembers));
    }

    private static int check(
            float[] memberProbs, float[] nonMemberProbs, float[] forgetProbs, int maxTrainPerSide) {
        checkProbabilities(memberProbs, "memberProbs");
        checkProbabilities(nonMemberProbs, "nonMemberProbs");
        checkProbabilities(forgetProbs, "forgetProbs");
        Preconditions.checkArgument(
                maxTrainPerSide >= 1, "maxTrainPerSide (%s) must be >= 1", maxTrainPerSide);
        return trainPerSide(memberProbs.length, nonMemberProbs.length, maxTrainPerSide);
    }

    private static double nonMemberShare(svm_model attacker, float[] forgetProbs) {
        int nonMembers = 0;
        for (float p : forgetProbs) {
            nonMembers += svm.svm_predict(attacker, node(p)) < 0.5 ? 1 : 0;
        }
        return 100.0 * nonMembers / forgetProbs.length;
    }

    /** The entries at even (parity 0) or odd (parity 1) positions. */
    private static float[] half(float[] values, int parity) {
        float[] out = new float[(values.length + 1 - parity) / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[2 * i + parity];
        }
        return out;
    }

    /** Trains C-SVC with an RBF kernel: members labelled 1, non-members 0. */
    private static svm_model train(float[] members, float[] nonMembers) {
        int l = members.length + nonMembers.length;
        svm_problem problem = new svm_problem();
        problem.l = l;
        problem.x = new svm_node[l][];
        problem.y = new double[l];
        for (int i = 0; i < members.length; i++) {
            problem.x[i] = node(members[i]);
            problem.y[i] = 1;
        }
        for (int i = 0; i < nonMembers.length; i++) {
            problem.x[members.length + i] = node(nonMembers[i]);
            problem.y[members.length + i] = 0;
        }
        svm_parameter parameter = new svm_parameter();
        parameter.svm_type = svm_parameter.C_SVC;
        parameter.kernel_type = svm_parameter.RBF;
        parameter.C = C;
        parameter.gamma = 1.0; // "auto": 1 / n_features, one feature
        parameter.degree = 3;
        parameter.coef0 = 0;
        parameter.cache_size = 100; // LIBSVM's default, in MB
        parameter.eps = 1e-3;
        parameter.shrinking = 1;
        parameter.probability = 0;
        parameter.nr_weight = 0;
        parameter.weight_label = new int[0];
        parameter.weight = new double[0];
        String error = svm.svm_check_parameter(problem, parameter);
        Preconditions.checkState(error == null, "LIBSVM rejected the attacker's parameters: %s", error);
        svm.svm_set_print_string_function(s -> {});
        return svm.svm_train(problem, parameter);
    }

    private static svm_node[] node(float value) {
        svm_node node = new svm_node();
        node.index = 1;
        node.value = value;
        return new svm_node[] {node};
    }

    /** n entries of values, evenly spaced; all of them when n equals the length. */
    private static float[] spread(float[] values, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = values[(int) ((long) i * values.length / n)];
        }
        return out;
    }

    private static void checkProbabilities(float[] values, String name) {
        Preconditions.checkArgument(values != null && values.length > 0, "%s must not be empty", name);
        for (int i = 0; i < values.length; i++) {
            Preconditions.checkArgument(
                    values[i] >= 0f && values[i] <= 1f,
                    "%s[%s] (%s) must be a probability in [0, 1]",
                    name,
                    i,
                    values[i]);
        }
    }
}

package dev.lethe.unlearn.eval;

import com.google.common.base.Preconditions;
import libsvm.svm;
import libsvm.svm_model;
import libsvm.svm_node;
import libsvm.svm_parameter;
import libsvm.svm_problem;

/**
 * MIA-Efficacy, the membership-inference score of class-wise unlearning in Jia et al. (NeurIPS
 * 2023, "Model Sparsity Can Simplify Machine Unlearning") and Fan et al. (ICLR 2024, "SalUn"), as
 * their {@code SVC_MIA} computes it.
 *
 * <p>An attacker is an RBF-kernel SVM (LIBSVM's C-SVC, C = 3, gamma = 1 / n_features = 1, as
 * scikit-learn's {@code SVC(C=3, gamma="auto", kernel="rbf")}, which is LIBSVM underneath) trained
 * on one feature, the model's softmax probability of the true label: members (label 1) are the
 * first |test| images of the retain set D_r, non-members (label 0) the test set. MIA-Efficacy is the
 * percentage of the forget set D_f that the attacker calls non-member: 100 means the model treats
 * the forgotten images like images it never saw (what a retrained model scores for class-wise
 * forgetting).
 */
public final class MembershipInference {

    /** The value of {@code maxTrainPerSide} that keeps every training example. */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    /** LIBSVM's regularisation constant C, as in Jia et al. */
    static final double C = 3.0;

    private MembershipInference() {}

    /**
     * MIA-Efficacy with every member and non-member in the attacker's training set (the protocol:
     * members = the first |test| images of D_r, so both sides have |test| examples).
     *
     * @param memberProbs the true-label probability of each member image (D_r), in [0, 1]
     * @param nonMemberProbs the true-label probability of each non-member image (test), in [0, 1]
     * @param forgetProbs the true-label probability of each forget image (D_f), in [0, 1]
     * @return the percentage (0–100) of forget images predicted non-member
     * @see #efficacy(float[], float[], float[], int)
     */
    public static double efficacy(float[] memberProbs, float[] nonMemberProbs, float[] forgetProbs) {
        return efficacy(memberProbs, nonMemberProbs, forgetProbs, UNLIMITED);
    }

    /**
     * MIA-Efficacy: trains the attacker SVM on member and non-member probabilities and returns the
     * share of the forget set it calls non-member.
     *
     * <p>Both sides of the attacker's training set have the same size, {@code n = min(|members|,
     * |nonMembers|, maxTrainPerSide)}: when a side is larger, n of its entries are taken evenly
     * spaced (entry {@code floor(i * size / n)} for i in [0, n)), which keeps the whole range of
     * an ordered input and is deterministic. With the protocol's inputs (|members| = |test|) and
     * no cap nothing is dropped. The cap trades exactness for speed: LIBSVM's training time grows
     * faster than linearly with n (measured on one core with CIFAR-like probabilities: 0.3 s for
     * n = 2,000, 4.5 s for n = 10,000, the protocol's size on CIFAR-10).
     *
     * @param memberProbs the true-label probability of each member image (D_r), in [0, 1]
     * @param nonMemberProbs the true-label probability of each non-member image (test), in [0, 1]
     * @param forgetProbs the true-label probability of each forget image (D_f), in [0, 1]
     * @param maxTrainPerSide the most examples per side, >= 1 ({@link #UNLIMITED} for all)
     * @return the percentage (0–100) of forget images predicted non-member
     * @throws IllegalArgumentException if an array is empty, a probability is outside [0, 1] or
     *     the cap is below 1
     */
    public static double efficacy(
            float[] memberProbs, float[] nonMemberProbs, float[] forgetProbs, int maxTrainPerSide) {
        checkProbabilities(memberProbs, "memberProbs");
        checkProbabilities(nonMemberProbs, "nonMemberProbs");
        checkProbabilities(forgetProbs, "forgetProbs");
        Preconditions.checkArgument(
                maxTrainPerSide >= 1, "maxTrainPerSide (%s) must be >= 1", maxTrainPerSide);
        int n = trainPerSide(memberProbs.length, nonMemberProbs.length, maxTrainPerSide);
        svm_model attacker = train(spread(memberProbs, n), spread(nonMemberProbs, n));
        int nonMembers = 0;
        for (float p : forgetProbs) {
            nonMembers += svm.svm_predict(attacker, node(p)) < 0.5 ? 1 : 0;
        }
        return 100.0 * nonMembers / forgetProbs.length;
    }

    /**
     * The number of examples per side that {@link #efficacy(float[], float[], float[], int)} trains
     * on.
     */
    static int trainPerSide(int members, int nonMembers, int maxTrainPerSide) {
        return Math.min(maxTrainPerSide, Math.min(members, nonMembers));
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

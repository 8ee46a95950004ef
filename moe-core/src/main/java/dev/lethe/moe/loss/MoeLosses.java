package dev.lethe.moe.loss;

import dev.lethe.moe.ScalarOps;
import dev.lethe.moe.routing.ExpertAssignment;
import dev.lethe.moe.routing.Routing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;

/**
 * The auxiliary router losses, as functions of one {@link Routing} (unweighted). Each returns a
 * scalar NDArray that carries gradient to the router. {@link MoeTrainingLoss} adds them, weighted,
 * to a task loss for DJL's {@code Trainer}.
 */
public final class MoeLosses {

    private static final float EPS = 1e-12f;

    private MoeLosses() {}

    /**
     * The Switch Transformer / GShard load-balancing loss {@code E * sum_i f_i * P_i} (Fedus et al.,
     * JMLR 2022, eq. 4), where {@code f_i} is the fraction of the B*k routed assignments that went
     * to expert i (not differentiable) and {@code P_i} is the mean router probability of expert i
     * over the batch. It is 1 when load and probability are uniform and grows as load
     * concentrates on few experts.
     *
     * @param routing the routing of one forward pass (with NDArray views)
     * @return the scalar loss
     */
    public static NDArray loadBalancing(Routing routing) {
        NDArray probabilities = requireViews(routing).probabilities();
        int[] counts = routing.expertCounts();
        float total = (float) routing.batchSize() * routing.topK();
        // E * f_i on the host: the factor must not be a Java number on the autograd path (see ScalarOps)
        float[] scaledFractions = new float[counts.length];
        for (int i = 0; i < counts.length; i++) {
            scaledFractions[i] = routing.numExperts() * (counts[i] / total);
        }
        NDManager manager = probabilities.getManager();
        NDArray meanProbability = probabilities.mean(new int[] {0});
        return meanProbability.mul(manager.create(scaledFractions)).sum();
    }

    /**
     * The ST-MoE router z-loss {@code mean_b (logsumexp_i logits_bi)^2} (Zoph et al., 2022, eq. 5):
     * keeps router logits small and routing numerically stable.
     *
     * @param routing the routing of one forward pass (with NDArray views)
     * @return the scalar loss
     */
    public static NDArray zLoss(Routing routing) {
        NDArray logits = requireViews(routing).logits();
        NDArray max = logits.max(new int[] {1}, true).stopGradient();
        NDArray lse = logits.sub(max).exp().sum(new int[] {1}).log().add(max.reshape(-1));
        return lse.square().mean();
    }

    /**
     * The routing–label mutual-information loss, the negative of
     *
     * <pre>
     *   H( mean_b q_b ) - mean_{c in batch} H( mean_{b : y_b = c} q_b ),   q_b = softmax(logits_b / T)
     * </pre>
     *
     * <p>following Mod-Squad (Chen et al., CVPR 2023), with classes in place of tasks: minimising it
     * makes each class concentrate its (temperature-sharpened) router probability on few experts
     * while the load over all images stays spread. The mean over classes is unweighted, over the
     * classes present in the batch. Entropies are in nats. Note that at exactly uniform
     * probabilities its gradient is zero: use a weight of about 0.5 (see docs/moe.md).
     *
     * @param routing the routing of one forward pass (with NDArray views)
     * @param labels the class of each image, shape (B), any numeric type
     * @param temperature T &gt; 0 (0.5 sharpens)
     * @return the scalar loss (&lt;= 0 when routing carries the class)
     */
    public static NDArray mutualInformation(Routing routing, NDArray labels, float temperature) {
        Preconditions.checkArgument(
                temperature > 0f && Float.isFinite(temperature),
                "temperature (%s) must be finite and > 0",
                temperature);
        NDArray logits = requireViews(routing).logits();
        Preconditions.checkArgument(
                labels.size() == routing.batchSize(),
                "labels has %s elements but the routing has %s images",
                labels.size(),
                routing.batchSize());
        NDManager manager = logits.getManager();
        NDArray q = ScalarOps.div(logits, temperature).softmax(1);
        NDArray overall = entropy(q.mean(new int[] {0}));

        long[] y = labels.toType(DataType.INT64, false).toLongArray();
        long maxLabel = 0;
        for (long v : y) {
            Preconditions.checkArgument(v >= 0, "labels must be >= 0 but found %s", v);
            maxLabel = Math.max(maxLabel, v);
        }
        int classes = Math.toIntExact(maxLabel + 1);
        float[] counts = new float[classes];
        for (long v : y) {
            counts[(int) v]++;
        }
        int present = 0;
        for (float c : counts) {
            present += c > 0 ? 1 : 0;
        }
        long[] presentIds = new long[present];
        float[] presentCounts = new float[present];
        for (int c = 0, j = 0; c < classes; c++) {
            if (counts[c] > 0) {
                presentIds[j] = c;
                presentCounts[j++] = counts[c];
            }
        }
        // (C, B) one-hot of the labels, restricted to present classes
        NDArray oneHot = manager.create(y).oneHot(classes).transpose();
        NDArray rows = oneHot.get(new NDIndex("{}", manager.create(presentIds)));
        NDArray classMeans =
                rows.matMul(q).div(manager.create(presentCounts).reshape(present, 1));
        NDArray conditional = entropyRows(classMeans).mean();
        return conditional.sub(overall);
    }

    /**
     * Router supervision for class routing: the cross-entropy between the router's softmax and the
     * expert the {@link ExpertAssignment} gives each image's class,
     *
     * <pre>
     *   - mean_b log softmax(logits_b)[expertOf(y_b)]
     * </pre>
     *
     * <p>so that the router, which decides at inference, learns to send each class where teacher
     * forcing sent it in training. The logits are those before masking and noise.
     *
     * @param routing the routing of one forward pass (with NDArray views)
     * @param labels the class of each image, shape (B), any numeric type
     * @param assignment the expert of each class
     * @return the scalar loss (log E for a router that has learnt nothing, 0 for a certain one)
     */
    public static NDArray routerSupervision(Routing routing, NDArray labels, ExpertAssignment assignment) {
        Preconditions.checkNotNull(assignment, "assignment must not be null");
        NDArray logits = requireViews(routing).logits();
        Preconditions.checkArgument(
                labels.size() == routing.batchSize(),
                "labels has %s elements but the routing has %s images",
                labels.size(),
                routing.batchSize());
        Preconditions.checkArgument(
                assignment.numExperts() == routing.numExperts(),
                "the assignment is for %s experts but the layer has %s",
                assignment.numExperts(),
                routing.numExperts());
        long[] y = labels.toType(DataType.INT64, false).toLongArray();
        long[] target = new long[y.length];
        for (int b = 0; b < y.length; b++) {
            Preconditions.checkArgument(
                    y[b] >= 0 && y[b] < assignment.numClasses(),
                    "label %s has no expert: the assignment covers %s classes",
                    y[b],
                    assignment.numClasses());
            target[b] = assignment.expertOf((int) y[b]);
        }
        NDArray oneHot = logits.getManager().create(target).oneHot(routing.numExperts());
        return logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).mean().neg();
    }

    private static NDArray entropy(NDArray p) {
        return p.mul(p.add(EPS).log()).sum().neg();
    }

    private static NDArray entropyRows(NDArray p) {
        return p.mul(p.add(EPS).log()).sum(new int[] {1}).neg();
    }

    private static Routing requireViews(Routing routing) {
        Preconditions.checkArgument(
                routing.logits() != null,
                "this Routing has no NDArray views (it was made from host arrays); losses need the"
                        + " routing of a forward pass");
        return routing;
    }
}

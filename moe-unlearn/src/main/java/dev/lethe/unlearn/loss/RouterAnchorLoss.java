package dev.lethe.unlearn.loss;

import dev.lethe.moe.ScalarOps;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import java.util.Locale;
import java.util.Map;

/**
 * Anchors the routers to the original model on retain images, so that a model cannot "forget" by
 * rerouting everything (SEUF/UOE, ACL 2025):
 *
 * <pre>
 *   weight * (1/L) * sum_layers mean_retain sum_e (p_e - p0_e)^2
 * </pre>
 *
 * where {@code p} are the router probabilities of the model being trained ({@value
 * UnlearningBatch#ROUTING}{@code <layer>} predictions), {@code p0} the original model's ({@value
 * UnlearningBatch#TEACHER_ROUTING}{@code <layer>} labels, no gradient), L the number of MoE layers.
 * 0 when the batch has no retain image or the model no MoE layer.
 */
public final class RouterAnchorLoss extends Loss {

    private final float weight;

    /**
     * @param weight the weight, finite and &gt; 0
     */
    public RouterAnchorLoss(float weight) {
        super("RouterAnchor");
        Preconditions.checkArgument(
                weight > 0 && Float.isFinite(weight), "router anchor weight (%s) must be finite and > 0", weight);
        this.weight = weight;
    }

    /** @return the weight */
    public float weight() {
        return weight;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return evaluate(UnlearningBatch.of(labels, predictions));
    }

    /**
     * @param batch the step's batch with the routing of the model and of the original
     * @return the weighted scalar term
     * @throws IllegalArgumentException if the original's routing of a layer is missing
     */
    public NDArray evaluate(UnlearningBatch batch) {
        NDManager manager = batch.logits().getManager();
        Map<String, NDArray> student = batch.routing();
        Map<String, NDArray> teacher = batch.teacherRouting();
        if (batch.retainCount() == 0 || student.isEmpty()) {
            return manager.zeros(new Shape());
        }
        NDIndex rows = new NDIndex("{}", manager.create(batch.retainRows()));
        NDArray sum = null;
        for (Map.Entry<String, NDArray> e : student.entrySet()) {
            NDArray t = teacher.get(e.getKey());
            Preconditions.checkArgument(
                    t != null,
                    "the router anchor needs the original model's routing of layer '%s': a label named '%s%s'",
                    e.getKey(),
                    UnlearningBatch.TEACHER_ROUTING,
                    e.getKey());
            NDArray d = e.getValue().get(rows).sub(t.get(rows).stopGradient());
            NDArray term = d.square().sum(new int[] {1}).mean();
            sum = sum == null ? term : sum.add(term);
        }
        return ScalarOps.mul(ScalarOps.div(sum, student.size()), weight);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "routerAnchor(%.3g)", weight);
    }
}

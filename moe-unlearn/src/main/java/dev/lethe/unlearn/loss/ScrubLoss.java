package dev.lethe.unlearn.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import dev.lethe.moe.ScalarOps;
import java.util.Locale;

/**
 * The two objectives of SCRUB (Kurmanji et al., NeurIPS 2023, "Towards unbounded machine
 * unlearning"), where the original model is the teacher and the model being trained the student:
 *
 * <ul>
 *   <li>{@link #maxStep}: {@code -T² · mean_forget KL(softmax(t/T) || softmax(s/T))}: the student
 *       moves away from the teacher on the forget images (minimising this maximises the
 *       divergence);
 *   <li>{@link #minStep}: {@code γ · CE(retain) + α · T² · mean_retain KL(softmax(t/T) ||
 *       softmax(s/T))}: the student stays with the teacher, and right, on the retain images.
 * </ul>
 *
 * <p>t and s are the teacher's ({@value UnlearningBatch#TEACHER_LOGITS} label) and the student's
 * ({@value UnlearningBatch#LOGITS} prediction) logits; the teacher keeps its full distribution (the
 * forgotten class included), as in the paper. Rows of the other kind are ignored; a batch with
 * none of its kind gives 0. Immutable.
 */
public final class ScrubLoss extends Loss {

    private final boolean max;
    private final float temperature;
    private final float klWeight;
    private final float ceWeight;

    private ScrubLoss(boolean max, float temperature, float klWeight, float ceWeight) {
        super(max ? "ScrubMax" : "ScrubMin");
        Preconditions.checkArgument(
                temperature > 0 && Float.isFinite(temperature), "temperature (%s) must be finite and > 0", temperature);
        Preconditions.checkArgument(klWeight >= 0 && Float.isFinite(klWeight), "klWeight (%s) must be finite and >= 0", klWeight);
        Preconditions.checkArgument(ceWeight >= 0 && Float.isFinite(ceWeight), "ceWeight (%s) must be finite and >= 0", ceWeight);
        this.max = max;
        this.temperature = temperature;
        this.klWeight = klWeight;
        this.ceWeight = ceWeight;
    }

    /**
     * @param temperature the distillation temperature T &gt; 0
     * @return the max-step objective, on forget rows
     */
    public static ScrubLoss maxStep(float temperature) {
        return new ScrubLoss(true, temperature, 1f, 0f);
    }

    /**
     * @param temperature the distillation temperature T &gt; 0
     * @param klWeight α, the weight of the divergence, &gt;= 0
     * @param ceWeight γ, the weight of the cross-entropy, &gt;= 0
     * @return the min-step objective, on retain rows
     */
    public static ScrubLoss minStep(float temperature, float klWeight, float ceWeight) {
        return new ScrubLoss(false, temperature, klWeight, ceWeight);
    }

    /** @return whether this is the max-step objective */
    public boolean isMaxStep() {
        return max;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return evaluate(UnlearningBatch.of(labels, predictions));
    }

    /**
     * @param batch the step's batch, with the teacher's logits
     * @return the scalar objective
     * @throws IllegalArgumentException if the teacher's logits are missing
     */
    public NDArray evaluate(UnlearningBatch batch) {
        NDArray logits = batch.logits();
        NDManager manager = logits.getManager();
        long[] rows = max ? batch.forgetRows() : batch.retainRows();
        if (rows.length == 0) {
            return manager.zeros(new Shape());
        }
        NDArray teacher =
                batch.teacherLogits()
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "SCRUB needs the original model's logits: a label named '"
                                                        + UnlearningBatch.TEACHER_LOGITS
                                                        + "'"));
        NDIndex index = new NDIndex("{}", manager.create(rows));
        NDArray student = logits.get(index);
        NDArray p = ScalarOps.div(teacher.get(index).stopGradient(), temperature).softmax(1);
        NDArray logStudent = ScalarOps.div(student, temperature).logSoftmax(1);
        NDArray kl = ScalarOps.mul(p.mul(p.add(1e-12f).log().sub(logStudent)).sum(new int[] {1}).mean(), temperature * temperature);
        if (max) {
            return kl.neg();
        }
        NDArray total = ScalarOps.mul(kl, klWeight);
        if (ceWeight > 0) {
            long[] y = batch.classes().toType(DataType.INT64, false).toLongArray();
            long[] targets = new long[rows.length];
            for (int i = 0; i < rows.length; i++) {
                targets[i] = y[(int) rows[i]];
            }
            NDArray ce = student.logSoftmax(1).gather(manager.create(targets).reshape(-1, 1), 1).mean().neg();
            total = total.add(ScalarOps.mul(ce, ceWeight));
        }
        return total;
    }

    @Override
    public String toString() {
        return max
                ? String.format(Locale.ROOT, "scrubMax(-KL forget, T=%.1f)", temperature)
                : String.format(Locale.ROOT, "scrubMin(%.3g*CE + %.3g*KL retain, T=%.1f)", ceWeight, klWeight, temperature);
    }
}

package dev.lethe.unlearn.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.AbstractCompositeLoss;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The objective of an unlearning step as one DJL composite loss: a {@link ForgettingLoss} plus,
 * optionally, a {@link RouterAnchorLoss} and further terms ({@link #plus}, e.g. the trunk edit's
 * {@link FeatureErasureLoss} and {@link WeightDistanceLoss}). Every component reads the named
 * entries of the same {@link UnlearningBatch}; the value is their sum, in order ({@code forgetting
 * + anchor + terms}). Immutable.
 */
public final class UnlearningLoss extends AbstractCompositeLoss {

    private final ForgettingLoss forgetting;
    private final RouterAnchorLoss anchor;
    private final List<Loss> terms;
    private final boolean termsNeedTeacher;

    private UnlearningLoss(ForgettingLoss forgetting, RouterAnchorLoss anchor, List<Loss> terms, boolean termsNeedTeacher) {
        super("UnlearningLoss");
        this.forgetting = forgetting;
        this.anchor = anchor;
        this.terms = ImmutableList.copyOf(terms);
        this.termsNeedTeacher = termsNeedTeacher;
        List<Loss> parts = new ArrayList<>();
        parts.add(forgetting);
        if (anchor != null) {
            parts.add(anchor);
        }
        parts.addAll(terms);
        components = List.copyOf(parts);
    }

    /**
     * @param forgetting the forgetting loss, set for the class ({@link ForgettingLoss#forClass})
     * @return the objective with that loss alone
     */
    public static UnlearningLoss of(ForgettingLoss forgetting) {
        return new UnlearningLoss(Preconditions.checkNotNull(forgetting, "forgetting must not be null"), null, List.of(), false);
    }

    /**
     * @param weight the router anchor's weight, &gt;= 0 (0 = no anchor)
     * @return a copy with that anchor
     */
    public UnlearningLoss withRouterAnchor(float weight) {
        Preconditions.checkArgument(
                weight >= 0 && Float.isFinite(weight), "routerAnchor (%s) must be finite and >= 0", weight);
        return new UnlearningLoss(forgetting, weight > 0 ? new RouterAnchorLoss(weight) : null, terms, termsNeedTeacher);
    }

    /**
     * Adds a term, evaluated on the same labels and predictions and added after the others.
     *
     * @param term a loss on the named entries of an {@link UnlearningBatch}
     * @param readsTeacher whether it reads the original model's outputs ({@value
     *     UnlearningBatch#TEACHER_LOGITS} or routing)
     * @return a copy with the term
     */
    public UnlearningLoss plus(Loss term, boolean readsTeacher) {
        Preconditions.checkNotNull(term, "term must not be null");
        List<Loss> more = new ArrayList<>(terms);
        more.add(term);
        return new UnlearningLoss(forgetting, anchor, more, termsNeedTeacher || readsTeacher);
    }

    /** @return the forgetting loss */
    public ForgettingLoss forgetting() {
        return forgetting;
    }

    /** @return the router anchor, if any */
    public Optional<RouterAnchorLoss> routerAnchor() {
        return Optional.ofNullable(anchor);
    }

    /** @return the terms added with {@link #plus}, in order */
    public List<Loss> terms() {
        return terms;
    }

    /** @return whether a component reads the original model's outputs (logits or routing) */
    public boolean needsTeacher() {
        return forgetting.needsTeacher() || anchor != null || termsNeedTeacher;
    }

    @Override
    protected Pair<NDList, NDList> inputForComponent(int componentIndex, NDList labels, NDList predictions) {
        return new Pair<>(labels, predictions);
    }

    /**
     * The sum of the components, added in order (DJL's {@code NDArrays.add} needs two or more).
     *
     * @param labels the labels of an {@link UnlearningBatch}
     * @param predictions its predictions
     * @return the scalar loss
     */
    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        UnlearningBatch batch = UnlearningBatch.of(labels, predictions);
        NDArray total = forgetting.evaluate(batch);
        if (anchor != null) {
            total = total.add(anchor.evaluate(batch));
        }
        for (Loss term : terms) {
            total = total.add(term.evaluate(labels, predictions));
        }
        return total;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(forgetting.describe());
        if (anchor != null) {
            sb.append(" + ").append(anchor);
        }
        for (Loss term : terms) {
            sb.append(" + ").append(term);
        }
        return sb.toString();
    }
}

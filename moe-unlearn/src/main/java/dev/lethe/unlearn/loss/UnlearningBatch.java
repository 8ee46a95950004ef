package dev.lethe.unlearn.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The contract between the unlearning loop and its losses: one step's batch of forget and retain
 * images, as DJL's {@code (labels, predictions)} lists whose entries are <em>named</em> ({@link
 * NDArray#setName}), read back through this typed view. Every unlearning {@link
 * ai.djl.training.loss.Loss} evaluates {@code UnlearningBatch.of(labels, predictions)}, so a loss
 * reads the entries it needs by name and the order of the lists carries no meaning.
 *
 * <p>Labels (what is known without the model being trained):
 *
 * <ul>
 *   <li>{@value #LABELS}: (B) class ids, any numeric type;
 *   <li>{@value #IS_FORGET}: (B) boolean, true for the images of the forget set;
 *   <li>{@value #TEACHER_LOGITS}: (B, C) logits of the original model, optional (distillation);
 *   <li>{@value #TEACHER_ROUTING}{@code <layer>}: (B, E) router probabilities of the original
 *       model in each MoE layer, optional (router anchor).
 * </ul>
 *
 * <p>Predictions (what the model being trained produced):
 *
 * <ul>
 *   <li>{@value #LOGITS}: (B, C) logits;
 *   <li>{@value #EMBEDDINGS}: (B, D) penultimate embeddings, optional (contrastive loss);
 *   <li>{@value #ROUTING}{@code <layer>}: (B, E) router probabilities in each MoE layer, optional.
 * </ul>
 *
 * <p>Layer names are the paths of {@code MoeBlocks.find}. The forget and retain rows may be in any
 * order.
 */
public final class UnlearningBatch {

    /** Label entry: class ids (B). */
    public static final String LABELS = "labels";
    /** Label entry: whether each image is of the forget set (B), boolean. */
    public static final String IS_FORGET = "isForget";
    /** Label entry: the original model's logits (B, C). */
    public static final String TEACHER_LOGITS = "teacherLogits";
    /** Prefix of the label entries holding the original model's router probabilities per layer. */
    public static final String TEACHER_ROUTING = "teacherRouting:";
    /** Prediction entry: logits (B, C). */
    public static final String LOGITS = "logits";
    /** Prediction entry: penultimate embeddings (B, D). */
    public static final String EMBEDDINGS = "embeddings";
    /** Prefix of the prediction entries holding the router probabilities per layer. */
    public static final String ROUTING = "routing:";

    private final NDList labels;
    private final NDList predictions;
    private final NDArray classes;
    private final boolean[] isForget;
    private final long[] forgetRows;
    private final long[] retainRows;
    private final NDArray logits;

    private UnlearningBatch(NDList labels, NDList predictions) {
        this.labels = labels;
        this.predictions = predictions;
        this.classes = required(labels, LABELS, "labels");
        NDArray mask = required(labels, IS_FORGET, "labels");
        Preconditions.checkArgument(
                mask.getDataType() == DataType.BOOLEAN,
                "label '%s' must be boolean but is %s",
                IS_FORGET,
                mask.getDataType());
        this.isForget = mask.toBooleanArray();
        this.logits = required(predictions, LOGITS, "predictions");
        Preconditions.checkArgument(
                isForget.length == classes.size() && logits.getShape().get(0) == isForget.length,
                "'%s' (%s), '%s' (%s) and '%s' %s must have the same batch size",
                LABELS,
                classes.size(),
                IS_FORGET,
                isForget.length,
                LOGITS,
                logits.getShape());
        int nForget = 0;
        for (boolean f : isForget) {
            nForget += f ? 1 : 0;
        }
        forgetRows = new long[nForget];
        retainRows = new long[isForget.length - nForget];
        for (int i = 0, f = 0, r = 0; i < isForget.length; i++) {
            if (isForget[i]) {
                forgetRows[f++] = i;
            } else {
                retainRows[r++] = i;
            }
        }
    }

    /**
     * Reads a batch.
     *
     * @param labels the labels list (at least {@value #LABELS} and {@value #IS_FORGET})
     * @param predictions the predictions list (at least {@value #LOGITS})
     * @return the typed view
     * @throws IllegalArgumentException naming a missing entry, or if the batch sizes disagree
     */
    public static UnlearningBatch of(NDList labels, NDList predictions) {
        Preconditions.checkNotNull(labels, "labels must not be null");
        Preconditions.checkNotNull(predictions, "predictions must not be null");
        return new UnlearningBatch(labels, predictions);
    }

    /**
     * Builds the labels of a step.
     *
     * @param classes (B) class ids; renamed {@value #LABELS}
     * @param isForget whether each image is of the forget set, length B
     * @return a new list [{@value #LABELS}, {@value #IS_FORGET}]
     */
    public static NDList labels(NDArray classes, boolean[] isForget) {
        NDArray mask = classes.getManager().create(isForget);
        return new NDList(named(classes, LABELS), named(mask, IS_FORGET));
    }

    /**
     * Builds the predictions of a step.
     *
     * @param logits (B, C) logits
     * @param embeddings (B, D) embeddings, or null
     * @return a new list [{@value #LOGITS}, {@value #EMBEDDINGS}]
     */
    public static NDList predictions(NDArray logits, NDArray embeddings) {
        NDList out = new NDList(named(logits, LOGITS));
        if (embeddings != null) {
            out.add(named(embeddings, EMBEDDINGS));
        }
        return out;
    }

    /**
     * Names an array and returns it.
     *
     * @param array the array
     * @param name its entry name
     * @return the array
     */
    public static NDArray named(NDArray array, String name) {
        array.setName(name);
        return array;
    }

    /** @return the labels list as given */
    public NDList labelList() {
        return labels;
    }

    /** @return the predictions list as given */
    public NDList predictionList() {
        return predictions;
    }

    /** @return (B) class ids */
    public NDArray classes() {
        return classes;
    }

    /** @return B */
    public int size() {
        return isForget.length;
    }

    /** @return whether each image is of the forget set (a copy) */
    public boolean[] isForget() {
        return isForget.clone();
    }

    /** @return the rows of forget images, ascending (a copy) */
    public long[] forgetRows() {
        return forgetRows.clone();
    }

    /** @return the rows of retain images, ascending (a copy) */
    public long[] retainRows() {
        return retainRows.clone();
    }

    /** @return the number of forget images */
    public int forgetCount() {
        return forgetRows.length;
    }

    /** @return the number of retain images */
    public int retainCount() {
        return retainRows.length;
    }

    /** @return (B, C) logits */
    public NDArray logits() {
        return logits;
    }

    /** @return (B, D) embeddings, if predicted */
    public Optional<NDArray> embeddings() {
        return Optional.ofNullable(predictions.get(EMBEDDINGS));
    }

    /** @return (B, C) logits of the original model, if given */
    public Optional<NDArray> teacherLogits() {
        return Optional.ofNullable(labels.get(TEACHER_LOGITS));
    }

    /** @return layer path to (B, E) router probabilities of the model being trained, forward order */
    public Map<String, NDArray> routing() {
        return byPrefix(predictions, ROUTING);
    }

    /** @return layer path to (B, E) router probabilities of the original model, forward order */
    public Map<String, NDArray> teacherRouting() {
        return byPrefix(labels, TEACHER_ROUTING);
    }

    private static Map<String, NDArray> byPrefix(NDList list, String prefix) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (NDArray a : list) {
            String name = a.getName();
            if (name != null && name.startsWith(prefix)) {
                out.put(name.substring(prefix.length()), a);
            }
        }
        return ImmutableMap.copyOf(out);
    }

    private static NDArray required(NDList list, String name, String which) {
        NDArray a = list.get(name);
        Preconditions.checkArgument(
                a != null,
                "the %s have no entry named '%s' (entries: %s); build them with UnlearningBatch.%s",
                which,
                name,
                names(list),
                which.equals("labels") ? "labels(...)" : "predictions(...)");
        return a;
    }

    private static String names(NDList list) {
        StringBuilder sb = new StringBuilder("[");
        for (NDArray a : list) {
            sb.append(sb.length() > 1 ? ", " : "").append(a.getName());
        }
        return sb.append(']').toString();
    }
}

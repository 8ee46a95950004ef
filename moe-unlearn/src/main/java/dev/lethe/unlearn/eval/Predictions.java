package dev.lethe.unlearn.eval;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import com.google.common.base.Preconditions;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.Arrays;

/**
 * What a model says about some labelled items, kept on the host: the predicted class, the softmax
 * probability of every class (and of the true one) and, for an {@link EmbeddingClassifier}, the
 * penultimate embedding of each item. Immutable; accessors return copies.
 *
 * <p>Made by {@link #compute(Model, LabeledData, int[], int)}, which runs the model in inference
 * mode (BatchNorm uses its running statistics, no routing noise) batch by batch, each batch's
 * arrays, including a copy of the parameters, in their own sub-manager: the model's manager holds
 * no more arrays afterwards than before.
 */
public final class Predictions {

    private final int[] labels;
    private final int[] predicted;
    private final float[] trueProbabilities;
    private final float[][] probabilities;
    private final float[][] embeddings;

    private Predictions(
            int[] labels,
            int[] predicted,
            float[] trueProbabilities,
            float[][] probabilities,
            float[][] embeddings) {
        this.labels = labels;
        this.predicted = predicted;
        this.trueProbabilities = trueProbabilities;
        this.probabilities = probabilities;
        this.embeddings = embeddings;
    }

    /**
     * Runs a model over some items in inference mode.
     *
     * @param model the model; its block maps (B, 3, H, W) images to (B, numClasses) logits with
     *     {@code numClasses >= data.numClasses()}; an {@link EmbeddingClassifier} also yields the
     *     (B, D) embeddings
     * @param data the items and their labels
     * @param indices which items, in this order (may repeat; must not be empty)
     * @param batchSize images per forward pass (e.g. 256)
     * @return the predictions, item i of the result being item {@code indices[i]} of the data
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if an argument is invalid or the logits are too narrow
     */
    public static Predictions compute(Model model, LabeledData data, int[] indices, int batchSize)
            throws IOException {
        return compute(model, data, indices, batchSize, true);
    }

    /**
     * As {@link #compute(Model, LabeledData, int[], int)}, optionally without keeping the
     * embeddings (which take n × D floats).
     */
    static Predictions compute(
            Model model, LabeledData data, int[] indices, int batchSize, boolean keepEmbeddings)
            throws IOException {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkNotNull(data, "data must not be null");
        Preconditions.checkNotNull(indices, "indices must not be null");
        Preconditions.checkArgument(indices.length > 0, "indices must not be empty");
        Preconditions.checkArgument(batchSize >= 1, "batchSize (%s) must be >= 1", batchSize);
        Block block = model.getBlock();
        Preconditions.checkArgument(
                block != null && block.isInitialized(), "the model's block must be initialised");
        for (int index : indices) {
            Preconditions.checkArgument(
                    index >= 0 && index < data.size(),
                    "index %s must be in [0, %s), the size of the data",
                    index,
                    data.size());
        }
        EmbeddingClassifier embedder =
                keepEmbeddings && block instanceof EmbeddingClassifier
                        ? (EmbeddingClassifier) block
                        : null;
        int n = indices.length;
        int[] labels = new int[n];
        int[] predicted = new int[n];
        float[] trueProbabilities = new float[n];
        float[][] probabilities = new float[n][];
        float[][] embeddings = embedder == null ? null : new float[n][];
        NDManager manager = model.getNDManager();
        Device device = manager.getDevice();
        for (int start = 0; start < n; start += batchSize) {
            int[] chunk = Arrays.copyOfRange(indices, start, Math.min(n, start + batchSize));
            try (NDManager scope = manager.newSubManager();
                    Batch batch = data.batch(scope, chunk)) {
                // copies of the parameters in the batch's scope: an operation whose first operand
                // is a parameter (a block computing on its weights) then allocates there too, not
                // in the model's manager, where it would stay until the model is closed
                ParameterStore parameters = new ParameterStore(scope, true);
                NDArray x = batch.getData().head();
                if (!device.equals(x.getDevice())) {
                    x = x.toDevice(device, false);
                }
                NDList logits;
                if (embedder != null) {
                    NDList embedding = embedder.features().forward(parameters, new NDList(x), false);
                    NDArray e = embedding.head();
                    int d = Math.toIntExact(e.getShape().get(1));
                    float[] flat = e.toType(DataType.FLOAT32, false).toFloatArray();
                    for (int i = 0; i < chunk.length; i++) {
                        embeddings[start + i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
                    }
                    logits = embedder.classifier().forward(parameters, embedding, false);
                } else {
                    logits = block.forward(parameters, new NDList(x), false);
                }
                NDArray l = logits.head();
                int k = Math.toIntExact(l.getShape().get(1));
                Preconditions.checkArgument(
                        k >= data.numClasses(),
                        "the model outputs %s logits but the data has %s classes",
                        k,
                        data.numClasses());
                float[] p = l.toType(DataType.FLOAT32, false).softmax(-1).toFloatArray();
                for (int i = 0; i < chunk.length; i++) {
                    int row = start + i;
                    float[] pi = Arrays.copyOfRange(p, i * k, (i + 1) * k);
                    int label = data.label(chunk[i]);
                    labels[row] = label;
                    probabilities[row] = pi;
                    trueProbabilities[row] = pi[label];
                    predicted[row] = argMax(pi);
                }
            }
        }
        return new Predictions(labels, predicted, trueProbabilities, probabilities, embeddings);
    }

    private static int argMax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** @return the number of items */
    public int size() {
        return labels.length;
    }

    /** @return each item's true class, (n) */
    public int[] labels() {
        return labels.clone();
    }

    /** @return each item's predicted class (the arg-max of the logits), (n) */
    public int[] predicted() {
        return predicted.clone();
    }

    /** @return each item's softmax probability of its true class, (n), in [0, 1] */
    public float[] trueProbabilities() {
        return trueProbabilities.clone();
    }

    /** @return every item's softmax probabilities, (n, numClasses) */
    public float[][] probabilities() {
        return deepCopy(probabilities);
    }

    /** @return whether {@link #embeddings()} are available (the block was an EmbeddingClassifier) */
    public boolean hasEmbeddings() {
        return embeddings != null;
    }

    /**
     * @return every item's penultimate embedding, (n, D), or null if the model's block is not an
     *     {@link EmbeddingClassifier}
     */
    public float[][] embeddings() {
        return embeddings == null ? null : deepCopy(embeddings);
    }

    /** The embeddings without a copy, for this package's read-only use. */
    float[][] embeddingsView() {
        return embeddings;
    }

    /** The true-class probabilities without a copy, for this package's read-only use. */
    float[] trueProbabilitiesView() {
        return trueProbabilities;
    }

    /** @return the share of items whose predicted class is the true one, in percent (0–100) */
    public double accuracy() {
        return accuracyWhere(-1, false);
    }

    /**
     * @param classId a class
     * @return the accuracy on the items of that class, in percent (0–100); NaN if there are none
     */
    public double accuracyOf(int classId) {
        return accuracyWhere(classId, true);
    }

    /**
     * @param classId a class
     * @return the accuracy on the items of every other class, in percent (0–100); NaN if there are
     *     none
     */
    public double accuracyExcept(int classId) {
        return accuracyWhere(classId, false);
    }

    /**
     * @param numClasses the number of classes
     * @return the accuracy of each class in percent (0–100), (numClasses); NaN for a class without
     *     items
     */
    public double[] perClassAccuracy(int numClasses) {
        Preconditions.checkArgument(numClasses >= 1, "numClasses (%s) must be >= 1", numClasses);
        int[] correct = new int[numClasses];
        int[] total = new int[numClasses];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < numClasses) {
                total[labels[i]]++;
                correct[labels[i]] += predicted[i] == labels[i] ? 1 : 0;
            }
        }
        double[] out = new double[numClasses];
        for (int c = 0; c < numClasses; c++) {
            out[c] = total[c] == 0 ? Double.NaN : 100.0 * correct[c] / total[c];
        }
        return out;
    }

    private double accuracyWhere(int classId, boolean same) {
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

    private static float[][] deepCopy(float[][] rows) {
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i].clone();
        }
        return out;
    }

    @Override
    public String toString() {
        return String.format(
                "Predictions{items=%d, accuracy=%.2f%%, embeddings=%s}",
                labels.length,
                accuracy(),
                embeddings == null ? "none" : "(" + labels.length + ", " + embeddings[0].length + ")");
    }
}

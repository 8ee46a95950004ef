package dev.lethe.eval;

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * What a model says about some labelled items, kept on the host: the predicted class, the softmax
 * probability of every class (and of the true one) and, on request, the penultimate embedding of
 * each item and the pooled output of each MoE layer ({@link Capture}). Immutable; accessors return
 * copies.
 *
 * <p>Made by {@link #compute(Model, LabeledData, int[], int, Capture)}, which runs the model in
 * inference mode (BatchNorm uses its running statistics, no routing noise) batch by batch, each
 * batch's arrays, including a copy of the parameters, in their own sub-manager: the model's manager
 * holds no more arrays afterwards than before.
 *
 * <p>Accuracies ({@link #accuracy()}, {@link #accuracyOf}, {@link #accuracyExcept}, {@link
 * #perClassAccuracy}) are {@link Accuracy}'s, the one implementation of the module.
 */
public final class Predictions {

    /** What to keep of a pass besides the outputs. */
    public enum Capture {
        /** The predicted classes and probabilities only. */
        OUTPUTS,
        /**
         * Also the penultimate embedding (B, D) of an {@link EmbeddingClassifier}; nothing more for
         * another block.
         */
        EMBEDDINGS,
        /**
         * Also the pooled output of every MoE layer and the penultimate embedding ({@link
         * LayerFeatures}); the block must be an {@link EmbeddingClassifier}.
         */
        LAYERS
    }

    private final int[] labels;
    private final int[] predicted;
    private final float[] trueProbabilities;
    private final float[][] probabilities;
    private final float[][] embeddings;
    private final Map<String, float[][]> layers;

    private Predictions(
            int[] labels,
            int[] predicted,
            float[] trueProbabilities,
            float[][] probabilities,
            float[][] embeddings,
            Map<String, float[][]> layers) {
        this.labels = labels;
        this.predicted = predicted;
        this.trueProbabilities = trueProbabilities;
        this.probabilities = probabilities;
        this.embeddings = embeddings;
        this.layers = layers;
    }

    /**
     * Runs a model over some items in inference mode, keeping the embeddings of an {@link
     * EmbeddingClassifier} ({@link Capture#EMBEDDINGS}).
     *
     * @param model the model; its block maps (B, 3, H, W) images to (B, numClasses) logits with
     *     {@code numClasses >= data.numClasses()}
     * @param data the items and their labels
     * @param indices which items, in this order (may repeat; must not be empty)
     * @param batchSize images per forward pass (e.g. 256)
     * @return the predictions, item i of the result being item {@code indices[i]} of the data
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if an argument is invalid or the logits are too narrow
     */
    public static Predictions compute(Model model, LabeledData data, int[] indices, int batchSize)
            throws IOException {
        return compute(model, data, indices, batchSize, Capture.EMBEDDINGS);
    }

    /**
     * Runs a model over every item of the data in inference mode, keeping only the outputs: the
     * one way to measure a model's accuracy on a data set ({@code all(model, test, 256).accuracy()},
     * {@code .accuracyOf(c)}, {@code .accuracyExcept(c)}).
     *
     * @param model the model
     * @param data the items and their labels, not empty
     * @param batchSize images per forward pass (e.g. 256)
     * @return the predictions of items 0 … n − 1
     * @throws IOException if the data cannot be read
     */
    public static Predictions all(Model model, LabeledData data, int batchSize) throws IOException {
        Preconditions.checkNotNull(data, "data must not be null");
        return compute(model, data, IntStream.range(0, data.size()).toArray(), batchSize, Capture.OUTPUTS);
    }

    /**
     * Runs a model over every item of the data and of its mirror image in inference mode and
     * averages the two softmax outputs (test-time flip averaging): what {@link
     * dev.lethe.moe.train.TrainingRecipe#fast()}'s published test accuracy adds to the single view
     * of {@link #all}. The probabilities of the result are the averaged ones; nothing else is kept.
     *
     * <p>A view of the model for reporting its accuracy; the unlearning metrics read {@link #all}
     * (one view), as the literature's tables do.
     *
     * @param model the model
     * @param data the items and their labels, not empty
     * @param batchSize images per forward pass (e.g. 256)
     * @return the flip-averaged predictions of items 0 … n − 1
     * @throws IOException if the data cannot be read
     */
    public static Predictions flipAveraged(Model model, LabeledData data, int batchSize) throws IOException {
        Preconditions.checkNotNull(data, "data must not be null");
        return compute(model, data, IntStream.range(0, data.size()).toArray(), batchSize, Capture.OUTPUTS, true);
    }

    /**
     * Runs a model over some items in inference mode.
     *
     * @param model the model; its block maps (B, 3, H, W) images to (B, numClasses) logits with
     *     {@code numClasses >= data.numClasses()}
     * @param data the items and their labels
     * @param indices which items, in this order (may repeat; must not be empty)
     * @param batchSize images per forward pass (e.g. 256)
     * @param capture what to keep besides the outputs
     * @return the predictions, item i of the result being item {@code indices[i]} of the data
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if an argument is invalid, the logits are too narrow, or
     *     {@link Capture#LAYERS} is asked of a block {@link LayerFeatures} cannot read
     */
    public static Predictions compute(
            Model model, LabeledData data, int[] indices, int batchSize, Capture capture)
            throws IOException {
        return compute(model, data, indices, batchSize, capture, false);
    }

    private static Predictions compute(
            Model model, LabeledData data, int[] indices, int batchSize, Capture capture, boolean flipAverage)
            throws IOException {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkNotNull(data, "data must not be null");
        Preconditions.checkNotNull(indices, "indices must not be null");
        Preconditions.checkNotNull(capture, "capture must not be null");
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
        LayerFeatures reader = capture == Capture.LAYERS ? LayerFeatures.of(block) : null;
        EmbeddingClassifier embedder =
                capture == Capture.EMBEDDINGS && block instanceof EmbeddingClassifier
                        ? (EmbeddingClassifier) block
                        : null;
        int n = indices.length;
        int[] labels = new int[n];
        int[] predicted = new int[n];
        float[] trueProbabilities = new float[n];
        float[][] probabilities = new float[n][];
        List<String> names = reader != null
                ? reader.layerNames()
                : embedder != null ? List.of(LayerFeatures.PENULTIMATE) : List.of();
        List<float[][]> captured = new ArrayList<>();
        for (int j = 0; j < names.size(); j++) {
            captured.add(new float[n][]);
        }
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
                NDList outputs;
                if (reader != null) {
                    outputs = reader.forward(parameters, x);
                } else if (embedder != null) {
                    NDList embedding = embedder.features().forward(parameters, new NDList(x), false);
                    outputs = new NDList(embedding.head(), embedder.classifier().forward(parameters, embedding, false).head());
                } else {
                    outputs = new NDList(block.forward(parameters, new NDList(x), false).head());
                }
                for (int j = 0; j < names.size(); j++) {
                    NDArray e = outputs.get(j);
                    int d = Math.toIntExact(e.getShape().get(1));
                    float[] flat = e.toType(DataType.FLOAT32, false).toFloatArray();
                    float[][] rows = captured.get(j);
                    for (int i = 0; i < chunk.length; i++) {
                        rows[start + i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
                    }
                }
                NDArray l = outputs.get(outputs.size() - 1);
                int k = Math.toIntExact(l.getShape().get(1));
                Preconditions.checkArgument(
                        k >= data.numClasses(),
                        "the model outputs %s logits but the data has %s classes",
                        k,
                        data.numClasses());
                NDArray probs = l.toType(DataType.FLOAT32, false).softmax(-1);
                if (flipAverage) {
                    NDArray mirrored = block.forward(parameters, new NDList(x.flip(3)), false).head();
                    probs = probs.add(mirrored.toType(DataType.FLOAT32, false).softmax(-1)).div(2f);
                }
                float[] p = probs.toFloatArray();
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
        Map<String, float[][]> layers = new LinkedHashMap<>();
        for (int j = 0; j < names.size(); j++) {
            layers.put(names.get(j), captured.get(j));
        }
        return new Predictions(
                labels,
                predicted,
                trueProbabilities,
                probabilities,
                layers.get(LayerFeatures.PENULTIMATE),
                Collections.unmodifiableMap(layers));
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
     *     {@link EmbeddingClassifier} or only the outputs were captured
     */
    public float[][] embeddings() {
        return embeddings == null ? null : deepCopy(embeddings);
    }

    /**
     * @return the names of the captured layers in forward order ({@link LayerFeatures#layerNames()}
     *     with {@link Capture#LAYERS}, {@value LayerFeatures#PENULTIMATE} alone with embeddings),
     *     empty if none was captured
     */
    public List<String> layerNames() {
        return List.copyOf(layers.keySet());
    }

    /**
     * @param layer one of {@link #layerNames()}
     * @return every item's features at that layer, (n, C)
     * @throws IllegalArgumentException if that layer was not captured
     */
    public float[][] layerFeatures(String layer) {
        return deepCopy(layerView(layer));
    }

    /** The features of a layer without a copy, for this package's read-only use. */
    float[][] layerView(String layer) {
        float[][] rows = layers.get(layer);
        Preconditions.checkArgument(
                rows != null, "layer '%s' was not captured; captured: %s", layer, layers.keySet());
        return rows;
    }

    /** The true-class probabilities without a copy, for this package's read-only use. */
    float[] trueProbabilitiesView() {
        return trueProbabilities;
    }

    /** The probabilities without a copy, for this package's read-only use. */
    float[][] probabilitiesView() {
        return probabilities;
    }

    /** @return the share of items whose predicted class is the true one, in percent (0–100) */
    public double accuracy() {
        return Accuracy.of(predicted, labels);
    }

    /**
     * @param classId a class
     * @return the accuracy on the items of that class, in percent (0–100); NaN if there are none
     */
    public double accuracyOf(int classId) {
        return Accuracy.ofClass(predicted, labels, classId);
    }

    /**
     * @param classId a class
     * @return the accuracy on the items of every other class, in percent (0–100); NaN if there are
     *     none
     */
    public double accuracyExcept(int classId) {
        return Accuracy.excludingClass(predicted, labels, classId);
    }

    /**
     * @param numClasses the number of classes
     * @return the accuracy of each class in percent (0–100), (numClasses); NaN for a class without
     *     items
     */
    public double[] perClassAccuracy(int numClasses) {
        return Accuracy.perClass(predicted, labels, numClasses);
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
                "Predictions{items=%d, accuracy=%.2f%%, embeddings=%s, layers=%s}",
                labels.length,
                accuracy(),
                embeddings == null ? "none" : "(" + labels.length + ", " + embeddings[0].length + ")",
                layers.keySet());
    }
}

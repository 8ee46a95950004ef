package dev.lethe.eval.probe;

import static dev.lethe.eval.JsonValues.number;
import static dev.lethe.eval.JsonValues.value;

import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.eval.Accuracy;
import dev.lethe.eval.LayerFeatures;
import dev.lethe.eval.Predictions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Linear probes at every depth: at the output of each MoE layer and at the penultimate embedding
 * ({@link LayerFeatures}), a {@link LinearProbe} is refitted on held-out images (every class) and
 * scored on test images. The forgotten class's probe accuracy says how readable the class still is
 * at that depth; it means something only beside the Retrain model's at the same depth, since even a
 * model that never saw the class separates it somewhat (Alain and Bengio 2016 for probes; for
 * unlearning, Gao et al. 2026, "An Illusion of Unlearning?", and Jeon et al., AAAI 2026, who find
 * the forgotten class recoverable from intermediate layers after most methods).
 *
 * <p>Cost: one {@link LinearProbe} fit per depth on the held-out images (C_i features each).
 */
public final class LayerProbes {

    private LayerProbes() {}

    /**
     * The probe accuracy at one depth.
     *
     * @param layer the layer's name ({@link LayerFeatures#layerNames()})
     * @param features the number of features read there (C_i, or D at the penultimate layer)
     * @param forgetAccuracy the probe's accuracy (0–100) on the forgotten class's test images
     * @param otherAccuracy the probe's accuracy (0–100) on the other classes' test images, pooled
     */
    public record Depth(String layer, int features, double forgetAccuracy, double otherAccuracy) {

        /** @return this depth as JSON; NaN as null */
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("layer", layer);
            o.addProperty("features", features);
            o.add("forgetAccuracy", number(forgetAccuracy));
            o.add("otherAccuracy", number(otherAccuracy));
            return o;
        }

        /**
         * @param json an object written by {@link #toJson()}
         * @return the depth
         */
        public static Depth fromJson(JsonObject json) {
            return new Depth(
                    json.get("layer").getAsString(),
                    json.get("features").getAsInt(),
                    value(json.get("forgetAccuracy")),
                    value(json.get("otherAccuracy")));
        }
    }

    /**
     * Fits and scores one probe per captured layer.
     *
     * @param heldOut predictions on held-out images (never used for training or unlearning), with
     *     layers captured ({@link Predictions.Capture#LAYERS})
     * @param test predictions on test images, with the same layers captured
     * @param forgetClass the forgotten class
     * @param numClasses the number of classes (>= 2)
     * @param seed the seed of every probe's initial weights
     * @return one entry per layer, in forward order, the penultimate embedding last
     * @throws IllegalArgumentException if no layer was captured or the two sets of predictions
     *     captured different layers
     */
    public static List<Depth> measure(
            Predictions heldOut, Predictions test, int forgetClass, int numClasses, long seed) {
        Preconditions.checkNotNull(heldOut, "heldOut must not be null");
        Preconditions.checkNotNull(test, "test must not be null");
        List<String> layers = heldOut.layerNames();
        Preconditions.checkArgument(
                !layers.isEmpty(), "the held-out predictions captured no layer (use Capture.LAYERS)");
        Preconditions.checkArgument(
                layers.equals(test.layerNames()),
                "the held-out predictions captured layers %s but the test predictions %s",
                layers,
                test.layerNames());
        int[] heldOutLabels = heldOut.labels();
        int[] testLabels = test.labels();
        List<Depth> out = new ArrayList<>();
        for (String layer : layers) {
            float[][] x = heldOut.layerFeatures(layer);
            LinearProbe probe = LinearProbe.fit(x, heldOutLabels, numClasses, seed);
            int[] predicted = probe.predict(test.layerFeatures(layer));
            out.add(
                    new Depth(
                            layer,
                            x[0].length,
                            Accuracy.ofClass(predicted, testLabels, forgetClass),
                            Accuracy.excludingClass(predicted, testLabels, forgetClass)));
        }
        return List.copyOf(out);
    }

    /**
     * The forgotten class's probe accuracy against a reference (the Retrain model) at each depth.
     *
     * @param probes a model's probes
     * @param reference the reference model's probes, at the same layers
     * @return layer → {@code probes.forgetAccuracy − reference.forgetAccuracy}, in points, in
     *     forward order; > 0 means the class is more readable there than in the reference
     * @throws IllegalArgumentException if the layers differ
     */
    public static Map<String, Double> gaps(List<Depth> probes, List<Depth> reference) {
        Preconditions.checkArgument(
                names(probes).equals(names(reference)),
                "the probes read layers %s but the reference's read %s",
                names(probes),
                names(reference));
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < probes.size(); i++) {
            out.put(probes.get(i).layer(), probes.get(i).forgetAccuracy() - reference.get(i).forgetAccuracy());
        }
        return out;
    }

    /**
     * @param probes probes
     * @return them as a JSON array of {@link Depth#toJson()}
     */
    public static JsonArray toJson(List<Depth> probes) {
        JsonArray a = new JsonArray();
        probes.forEach(p -> a.add(p.toJson()));
        return a;
    }

    /**
     * @param json an array written by {@link #toJson(List)}
     * @return the probes
     */
    public static List<Depth> fromJson(JsonArray json) {
        List<Depth> out = new ArrayList<>();
        json.forEach(e -> out.add(Depth.fromJson(e.getAsJsonObject())));
        return List.copyOf(out);
    }

    private static List<String> names(List<Depth> probes) {
        List<String> out = new ArrayList<>();
        probes.forEach(p -> out.add(p.layer()));
        return out;
    }
}

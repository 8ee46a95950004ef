package dev.lethe.eval.routing;

import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How far unlearning moved the forgotten class's routing: per MoE layer, the class's share of gate
 * mass per expert before and after (measured in inference mode on the same images, e.g. the
 * class's test images, by {@link ActivationProfiler}), and the total-variation distance between
 * the two, TV = ½ Σ_e |before_e − after_e|, in [0, 1]: 0 when the class is routed as before, 1 when
 * it now goes to entirely different experts. A large shift with the class still readable in the
 * features is re-routing rather than erasure (GRIP, arXiv 2601.16905, finds this for MoE models).
 * Immutable.
 */
public final class RoutingShift {

    /**
     * One layer's shift.
     *
     * @param before the class's share of gate mass per expert before, (E), sums to 1
     * @param after the same after, (E)
     * @param totalVariation ½ Σ |before − after|, in [0, 1]
     */
    public record Layer(double[] before, double[] after, double totalVariation) {}

    private final int classId;
    private final Map<String, Layer> layers;

    private RoutingShift(int classId, Map<String, Layer> layers) {
        this.classId = classId;
        this.layers = layers;
    }

    /**
     * Profiles both models on the same images and measures the class's shift per layer.
     *
     * @param before the model before unlearning
     * @param after the model after unlearning, with the same MoE layers
     * @param data the images (e.g. the test data)
     * @param indices the images to route (e.g. the test images of the class), not empty
     * @param classId the class whose routing is compared (the forgotten class)
     * @param batchSize images per inference batch (e.g. 256)
     * @return the shift of every MoE layer, in forward order
     * @throws IOException if the images cannot be read
     * @throws IllegalArgumentException if a model has no MoE layer, the two models' layers differ,
     *     or no image of the class is among the indices
     */
    public static RoutingShift measure(
            Model before, Model after, LabeledData data, int[] indices, int classId, int batchSize)
            throws IOException {
        Preconditions.checkNotNull(before, "before must not be null");
        Preconditions.checkNotNull(after, "after must not be null");
        Preconditions.checkArgument(indices != null && indices.length > 0, "indices must not be empty");
        ActivationProfile p0 = ActivationProfiler.profile(before, data, indices, batchSize);
        ActivationProfile p1 = ActivationProfiler.profile(after, data, indices, batchSize);
        Preconditions.checkArgument(
                p0.layerNames().equals(p1.layerNames()),
                "the models' MoE layers differ: %s before, %s after",
                p0.layerNames(),
                p1.layerNames());
        Preconditions.checkArgument(
                p0.images(classId) > 0, "none of the %s images is of class %s", indices.length, classId);
        Map<String, Layer> layers = new LinkedHashMap<>();
        for (String layer : p0.layerNames()) {
            double[] a = p0.share(layer, classId);
            double[] b = p1.share(layer, classId);
            layers.put(layer, new Layer(a, b, totalVariation(a, b)));
        }
        return new RoutingShift(classId, Collections.unmodifiableMap(layers));
    }

    /**
     * The total-variation distance between two distributions over the same experts.
     *
     * @param p a distribution, (E)
     * @param q another, (E)
     * @return ½ Σ |p_e − q_e|
     * @throws IllegalArgumentException if the lengths differ
     */
    public static double totalVariation(double[] p, double[] q) {
        Preconditions.checkArgument(
                p.length == q.length, "the distributions have %s and %s entries", p.length, q.length);
        double tv = 0;
        for (int i = 0; i < p.length; i++) {
            tv += Math.abs(p[i] - q[i]);
        }
        return tv / 2;
    }

    /** @return the class whose routing was compared */
    public int classId() {
        return classId;
    }

    /** @return the MoE layers' names, in forward order */
    public List<String> layerNames() {
        return new ArrayList<>(layers.keySet());
    }

    /**
     * @param layer a layer name
     * @return that layer's shift
     * @throws IllegalArgumentException if there is no such layer
     */
    public Layer layer(String layer) {
        Layer l = layers.get(layer);
        Preconditions.checkArgument(l != null, "no MoE layer '%s'; layers: %s", layer, layers.keySet());
        return new Layer(l.before().clone(), l.after().clone(), l.totalVariation());
    }

    /** @return the mean over layers of the total-variation distance, in [0, 1] */
    public double meanTotalVariation() {
        return layers.values().stream().mapToDouble(Layer::totalVariation).average().orElse(Double.NaN);
    }

    /**
     * @return {@code {"classId": c, "layers": {layer: {"totalVariation": tv, "before": […],
     *     "after": […]}, …}, "meanTotalVariation": m}}
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("classId", classId);
        JsonObject ls = new JsonObject();
        layers.forEach((name, l) -> {
            JsonObject j = new JsonObject();
            j.addProperty("totalVariation", l.totalVariation());
            j.add("before", array(l.before()));
            j.add("after", array(l.after()));
            ls.add(name, j);
        });
        o.add("layers", ls);
        o.addProperty("meanTotalVariation", meanTotalVariation());
        return o;
    }

    /**
     * @param json an object written by {@link #toJson()}
     * @return the shift
     * @throws IllegalArgumentException if a field is missing
     */
    public static RoutingShift fromJson(JsonObject json) {
        Preconditions.checkNotNull(json, "json must not be null");
        Preconditions.checkArgument(
                json.has("classId") && json.has("layers"), "the routing shift JSON needs 'classId' and 'layers'");
        Map<String, Layer> layers = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : json.getAsJsonObject("layers").entrySet()) {
            JsonObject j = e.getValue().getAsJsonObject();
            double[] a = doubles(j.getAsJsonArray("before"));
            double[] b = doubles(j.getAsJsonArray("after"));
            layers.put(e.getKey(), new Layer(a, b, j.get("totalVariation").getAsDouble()));
        }
        return new RoutingShift(json.get("classId").getAsInt(), Collections.unmodifiableMap(layers));
    }

    private static JsonArray array(double[] values) {
        JsonArray a = new JsonArray();
        Arrays.stream(values).forEach(a::add);
        return a;
    }

    private static double[] doubles(JsonArray a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsDouble();
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingShift && toJson().equals(((RoutingShift) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        layers.forEach((name, l) -> sb.append(sb.length() == 0 ? "" : ", ")
                .append(String.format(Locale.ROOT, "%s: %.3f", name, l.totalVariation())));
        return "RoutingShift{class " + classId + ", TV " + sb + "}";
    }
}

package dev.lethe.unlearn.data;

import com.google.common.base.Preconditions;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.Objects;
import java.util.Optional;

/**
 * Which data an unlearning run used, for its audit record: the size and {@link
 * LabeledData#fingerprint() fingerprint} of the training data, the source the caller named ({@link
 * LabeledData#identity()}), and the exact forget and retain sets (their sizes and the SHA-256 of
 * their indices, see {@link LabeledData#sha256(int[])}). Immutable; JSON round trip with {@link
 * #toJson()} and {@link #fromJson(JsonObject)}.
 */
public final class DataIdentity {

    private final int items;
    private final int classes;
    private final String labelsSha256;
    private final String source;
    private final int forgetClass;
    private final int forgetItems;
    private final String forgetIndicesSha256;
    private final int retainItems;
    private final String retainIndicesSha256;

    private DataIdentity(
            int items,
            int classes,
            String labelsSha256,
            String source,
            int forgetClass,
            int forgetItems,
            String forgetIndicesSha256,
            int retainItems,
            String retainIndicesSha256) {
        this.items = items;
        this.classes = classes;
        this.labelsSha256 = labelsSha256;
        this.source = source;
        this.forgetClass = forgetClass;
        this.forgetItems = forgetItems;
        this.forgetIndicesSha256 = forgetIndicesSha256;
        this.retainItems = retainItems;
        this.retainIndicesSha256 = retainIndicesSha256;
    }

    /**
     * @param data the training data of the run
     * @param forgetClass the forgotten class
     * @param forgetIndices the items of the forget set, in the order used
     * @param retainIndices the items of the retain set, in the order used
     * @return the identity
     */
    public static DataIdentity of(LabeledData data, int forgetClass, int[] forgetIndices, int[] retainIndices) {
        Preconditions.checkNotNull(data, "data must not be null");
        return new DataIdentity(
                data.size(),
                data.numClasses(),
                data.fingerprint(),
                data.identity().orElse(null),
                forgetClass,
                forgetIndices.length,
                LabeledData.sha256(forgetIndices),
                retainIndices.length,
                LabeledData.sha256(retainIndices));
    }

    /** @return the number of items of the training data */
    public int items() {
        return items;
    }

    /** @return its number of classes */
    public int classes() {
        return classes;
    }

    /** @return {@link LabeledData#fingerprint()} of the training data */
    public String labelsSha256() {
        return labelsSha256;
    }

    /** @return where the data came from, if the caller said ({@link LabeledData#withIdentity}) */
    public Optional<String> source() {
        return Optional.ofNullable(source);
    }

    /** @return the forgotten class */
    public int forgetClass() {
        return forgetClass;
    }

    /** @return the size of the forget set */
    public int forgetItems() {
        return forgetItems;
    }

    /** @return the SHA-256 of the forget set's indices */
    public String forgetIndicesSha256() {
        return forgetIndicesSha256;
    }

    /** @return the size of the retain set */
    public int retainItems() {
        return retainItems;
    }

    /** @return the SHA-256 of the retain set's indices */
    public String retainIndicesSha256() {
        return retainIndicesSha256;
    }

    /**
     * Whether some data is the data of this record: same size, classes and labels, so the same
     * forget set of {@link #forgetClass()}.
     *
     * @param data labelled data
     * @return true if its fingerprint and forget set match
     */
    public boolean matches(LabeledData data) {
        return data.size() == items
                && data.numClasses() == classes
                && data.fingerprint().equals(labelsSha256)
                && LabeledData.sha256(data.indicesOf(forgetClass)).equals(forgetIndicesSha256);
    }

    /** @return the identity as JSON */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("items", items);
        o.addProperty("classes", classes);
        o.addProperty("labelsSha256", labelsSha256);
        if (source != null) {
            o.addProperty("source", source);
        }
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("forgetItems", forgetItems);
        o.addProperty("forgetIndicesSha256", forgetIndicesSha256);
        o.addProperty("retainItems", retainItems);
        o.addProperty("retainIndicesSha256", retainIndicesSha256);
        return o;
    }

    /**
     * @param json JSON written by {@link #toJson()}
     * @return the identity
     * @throws IllegalArgumentException naming the first missing field
     */
    public static DataIdentity fromJson(JsonObject json) {
        JsonElement source = json.get("source");
        return new DataIdentity(
                field(json, "items").getAsInt(),
                field(json, "classes").getAsInt(),
                field(json, "labelsSha256").getAsString(),
                source == null || source.isJsonNull() ? null : source.getAsString(),
                field(json, "forgetClass").getAsInt(),
                field(json, "forgetItems").getAsInt(),
                field(json, "forgetIndicesSha256").getAsString(),
                field(json, "retainItems").getAsInt(),
                field(json, "retainIndicesSha256").getAsString());
    }

    private static JsonElement field(JsonObject json, String name) {
        JsonElement e = json.get(name);
        Preconditions.checkArgument(e != null && !e.isJsonNull(), "the data identity has no field '%s'", name);
        return e;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DataIdentity && toJson().equals(((DataIdentity) o).toJson());
    }

    @Override
    public int hashCode() {
        return Objects.hash(labelsSha256, forgetIndicesSha256, retainIndicesSha256);
    }

    @Override
    public String toString() {
        return toJson().toString();
    }
}

package dev.lethe.unlearn;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.unlearn.data.DataIdentity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What an unlearning run changed, for auditors: the SHA-256 of every parameter (BatchNorm
 * statistics included) before and after, the names of those that changed, the configuration, the
 * seed, the kind of removal, the data used ({@link DataIdentity}: the training data's fingerprint
 * and the exact forget and retain sets) and the library version. Immutable.
 *
 * <p>Checkable: {@link #verify(Model)} re-hashes a model and says which parameters match the
 * record's "after" hashes (is this the model the run produced?), {@link #verifyOriginal(Model)}
 * the same against "before" (is this the model it started from?). A record read back with {@link
 * #fromJson} verifies the same way.
 *
 * <p>A parameter's hash is the SHA-256 of its values as float32, little endian, in row-major order.
 * Expert masks change what a model computes without changing a parameter, so a MoE layer with
 * masked experts adds one entry, named after the layer with {@link #MASK_SUFFIX} (e.g. {@code
 * 04stage2/01moe#expertMask}), whose value lists them ({@code masked experts 3, 5}): a model
 * whose masks differ from the record's does not verify.
 */
public final class AuditRecord {

    /** The suffix of the entry that records a MoE layer's masked experts. */
    public static final String MASK_SUFFIX = "#expertMask";

    private final Map<String, String> before;
    private final Map<String, String> after;
    private final List<String> changed;
    private final String configuration;
    private final long seed;
    private final String libraryVersion;
    private final Removal removal;
    private final DataIdentity data;
    private final ProvenanceReport provenance;

    private AuditRecord(
            Map<String, String> before,
            Map<String, String> after,
            String configuration,
            long seed,
            String libraryVersion,
            Removal removal,
            DataIdentity data,
            ProvenanceReport provenance) {
        this.before = ImmutableMap.copyOf(before);
        this.after = ImmutableMap.copyOf(after);
        List<String> diff = new ArrayList<>();
        for (Map.Entry<String, String> e : after.entrySet()) {
            if (!e.getValue().equals(before.get(e.getKey()))) {
                diff.add(e.getKey());
            }
        }
        for (String name : before.keySet()) {
            if (!after.containsKey(name)) {
                diff.add(name); // an expert mask the run lifted
            }
        }
        this.changed = ImmutableList.copyOf(diff);
        this.configuration = configuration;
        this.seed = seed;
        this.libraryVersion = libraryVersion;
        this.removal = removal;
        this.data = data;
        this.provenance = provenance;
    }

    /** The record of a run of this library. */
    static AuditRecord of(
            Map<String, String> before,
            Map<String, String> after,
            String configuration,
            long seed,
            Removal removal,
            DataIdentity data,
            ProvenanceReport provenance) {
        return new AuditRecord(before, after, configuration, seed, libraryVersion(), removal, data, provenance);
    }

    /**
     * Hashes every parameter of a block, and lists the masked experts of each MoE layer that has
     * some.
     *
     * @param block an initialised block
     * @return parameter name to SHA-256 hex of its float32 values (little endian), model order;
     *     then, for each MoE layer with masked experts, its path with {@link #MASK_SUFFIX} to the
     *     list of them
     */
    public static Map<String, String> hashes(Block block) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            out.put(p.getKey(), MoeBlocks.sha256(p.getValue()));
        }
        for (Map.Entry<String, MoeBlock> layer : MoeBlocks.find(block).entrySet()) {
            List<String> masked = new ArrayList<>();
            for (int x = 0; x < layer.getValue().getNumExperts(); x++) {
                if (layer.getValue().isExpertMasked(x)) {
                    masked.add(String.valueOf(x));
                }
            }
            if (!masked.isEmpty()) {
                out.put(layer.getKey() + MASK_SUFFIX, "masked experts " + String.join(", ", masked));
            }
        }
        return out;
    }

    /** @return the version of this library (from the jar manifest, "dev" when run from classes) */
    public static String libraryVersion() {
        String v = AuditRecord.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** @return the names of the parameters whose values changed, in model order */
    public List<String> changedParameters() {
        return changed;
    }

    /** @return parameter name to SHA-256 before the run */
    public Map<String, String> hashesBefore() {
        return before;
    }

    /** @return parameter name to SHA-256 after the run */
    public Map<String, String> hashesAfter() {
        return after;
    }

    /** @return the run's configuration as JSON */
    public String configuration() {
        return configuration;
    }

    /** @return the seed */
    public long seed() {
        return seed;
    }

    /** @return the version of the library that made the record */
    public String version() {
        return libraryVersion;
    }

    /** @return the kind of removal (empty in records of versions that did not write it) */
    public Optional<Removal> removal() {
        return Optional.ofNullable(removal);
    }

    /**
     * @return what the run did to the class's influence by the provenance ledger (empty in
     *     records of versions that did not write it)
     */
    public Optional<ProvenanceReport> provenance() {
        return Optional.ofNullable(provenance);
    }

    /** @return the data used (empty in records of versions that did not write it) */
    public Optional<DataIdentity> data() {
        return Optional.ofNullable(data);
    }

    /**
     * Checks a model against the record's "after" hashes: whether it is the model the run made.
     *
     * @param model a model
     * @return which parameters match, differ, are missing or unexpected
     */
    public AuditVerification verify(Model model) {
        Preconditions.checkNotNull(model, "model must not be null");
        return new AuditVerification(after, hashes(model.getBlock()));
    }

    /**
     * Checks a model against the record's "before" hashes: whether it is the model the run
     * started from.
     *
     * @param model a model
     * @return which parameters match, differ, are missing or unexpected
     */
    public AuditVerification verifyOriginal(Model model) {
        Preconditions.checkNotNull(model, "model must not be null");
        return new AuditVerification(before, hashes(model.getBlock()));
    }

    /**
     * @return the record as JSON: {@code libraryVersion}, {@code seed}, {@code removal}, {@code
     *     configuration}, {@code data}, {@code changedParameters} and {@code parameterHashes}
     *     (name to {@code before} and {@code after})
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("libraryVersion", libraryVersion);
        o.addProperty("seed", seed);
        if (removal != null) {
            o.addProperty("removal", removal.name());
        }
        o.add("configuration", JsonParser.parseString(configuration));
        if (data != null) {
            o.add("data", data.toJson());
        }
        if (provenance != null) {
            o.add("provenance", provenance.toJson());
        }
        JsonArray names = new JsonArray();
        changed.forEach(names::add);
        o.add("changedParameters", names);
        JsonObject hashes = new JsonObject();
        for (Map.Entry<String, String> e : after.entrySet()) {
            JsonObject h = new JsonObject();
            h.addProperty("before", before.get(e.getKey()));
            h.addProperty("after", e.getValue());
            hashes.add(e.getKey(), h);
        }
        o.add("parameterHashes", hashes);
        return o;
    }

    /**
     * Reads a record written by {@link #toJson()} (records without {@code removal} or {@code data}
     * are accepted: those fields are then empty).
     *
     * @param json the JSON
     * @return the record
     * @throws IllegalArgumentException naming the first missing or malformed field
     */
    public static AuditRecord fromJson(JsonObject json) {
        Preconditions.checkNotNull(json, "json must not be null");
        JsonObject hashes = object(json, "parameterHashes");
        Map<String, String> before = new LinkedHashMap<>();
        Map<String, String> after = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : hashes.entrySet()) {
            Preconditions.checkArgument(
                    e.getValue().isJsonObject(), "parameterHashes.%s must be an object", e.getKey());
            JsonObject h = e.getValue().getAsJsonObject();
            JsonElement b = h.get("before");
            JsonElement a = h.get("after");
            Preconditions.checkArgument(a != null && !a.isJsonNull(), "parameterHashes.%s has no 'after'", e.getKey());
            after.put(e.getKey(), a.getAsString());
            if (b != null && !b.isJsonNull()) {
                before.put(e.getKey(), b.getAsString());
            }
        }
        JsonElement removal = json.get("removal");
        JsonElement data = json.get("data");
        JsonElement provenance = json.get("provenance");
        JsonElement configuration = json.get("configuration");
        Preconditions.checkArgument(configuration != null, "the audit record has no field 'configuration'");
        return new AuditRecord(
                before,
                after,
                configuration.toString(),
                field(json, "seed").getAsLong(),
                field(json, "libraryVersion").getAsString(),
                removal == null || removal.isJsonNull() ? null : Removal.valueOf(removal.getAsString()),
                data == null || data.isJsonNull() ? null : DataIdentity.fromJson(data.getAsJsonObject()),
                provenance == null || provenance.isJsonNull() ? null : ProvenanceReport.fromJson(provenance.getAsJsonObject()));
    }

    /**
     * @param json JSON text written by {@link #toJson()}
     * @return the record
     * @throws IllegalArgumentException if the text is not such a record
     */
    public static AuditRecord fromJson(String json) {
        JsonElement e = JsonParser.parseString(json);
        Preconditions.checkArgument(e.isJsonObject(), "an audit record is a JSON object");
        return fromJson(e.getAsJsonObject());
    }

    private static JsonElement field(JsonObject json, String name) {
        JsonElement e = json.get(name);
        Preconditions.checkArgument(e != null && !e.isJsonNull(), "the audit record has no field '%s'", name);
        return e;
    }

    private static JsonObject object(JsonObject json, String name) {
        JsonElement e = field(json, name);
        Preconditions.checkArgument(e.isJsonObject(), "the audit record's '%s' must be an object", name);
        return e.getAsJsonObject();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AuditRecord && toJson().equals(((AuditRecord) o).toJson());
    }

    @Override
    public int hashCode() {
        return after.hashCode();
    }
}

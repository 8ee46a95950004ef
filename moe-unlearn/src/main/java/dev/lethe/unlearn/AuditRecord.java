package dev.lethe.unlearn;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an unlearning run changed, for auditors: the SHA-256 of every parameter (BatchNorm
 * statistics included) before and after, the names of those that changed, the configuration, the
 * seed and the library version. Immutable.
 */
public final class AuditRecord {

    private final Map<String, String> before;
    private final Map<String, String> after;
    private final List<String> changed;
    private final String configuration;
    private final long seed;
    private final String libraryVersion;

    AuditRecord(
            Map<String, String> before,
            Map<String, String> after,
            String configuration,
            long seed) {
        this.before = ImmutableMap.copyOf(before);
        this.after = ImmutableMap.copyOf(after);
        List<String> diff = new ArrayList<>();
        for (Map.Entry<String, String> e : after.entrySet()) {
            if (!e.getValue().equals(before.get(e.getKey()))) {
                diff.add(e.getKey());
            }
        }
        this.changed = ImmutableList.copyOf(diff);
        this.configuration = configuration;
        this.seed = seed;
        this.libraryVersion = libraryVersion();
    }

    /**
     * Hashes every parameter of a block.
     *
     * @param block an initialised block
     * @return parameter name to SHA-256 hex of its float32 values (little endian)
     */
    static Map<String, String> hashes(Block block) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            float[] values = p.getValue().getArray().toFloatArray();
            ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(values);
            Hasher h = Hashing.sha256().newHasher();
            h.putBytes(buf.array());
            out.put(p.getKey(), h.hash().toString());
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

    /** @return the library version */
    public String version() {
        return libraryVersion;
    }

    /** @return the record as JSON */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("libraryVersion", libraryVersion);
        o.addProperty("seed", seed);
        o.add("configuration", com.google.gson.JsonParser.parseString(configuration));
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
}

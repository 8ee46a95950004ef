package dev.lethe.unlearn;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The check of a model against the parameter hashes of an {@link AuditRecord}: which parameters
 * match, which differ, which the record has and the model lacks ({@code missing}), which the model
 * has and the record lacks ({@code unexpected}). Immutable.
 */
public final class AuditVerification {

    private final List<String> matching;
    private final Map<String, String> mismatched;
    private final List<String> missing;
    private final List<String> unexpected;

    AuditVerification(Map<String, String> expected, Map<String, String> actual) {
        List<String> same = new ArrayList<>();
        Map<String, String> diff = new LinkedHashMap<>();
        List<String> absent = new ArrayList<>();
        for (Map.Entry<String, String> e : expected.entrySet()) {
            String a = actual.get(e.getKey());
            if (a == null) {
                absent.add(e.getKey());
            } else if (a.equals(e.getValue())) {
                same.add(e.getKey());
            } else {
                diff.put(e.getKey(), a);
            }
        }
        List<String> extra = new ArrayList<>();
        for (String name : actual.keySet()) {
            if (!expected.containsKey(name)) {
                extra.add(name);
            }
        }
        matching = ImmutableList.copyOf(same);
        mismatched = ImmutableMap.copyOf(diff);
        missing = ImmutableList.copyOf(absent);
        unexpected = ImmutableList.copyOf(extra);
    }

    /** @return whether every parameter matches and none is missing or unexpected */
    public boolean verified() {
        return mismatched.isEmpty() && missing.isEmpty() && unexpected.isEmpty();
    }

    /** @return the parameters whose hash matches, in record order */
    public List<String> matching() {
        return matching;
    }

    /** @return the parameters whose hash differs, in record order, with the model's hash */
    public Map<String, String> mismatched() {
        return mismatched;
    }

    /** @return parameters of the record the model does not have */
    public List<String> missing() {
        return missing;
    }

    /** @return parameters of the model the record does not have */
    public List<String> unexpected() {
        return unexpected;
    }

    /** @return one line, then one line per parameter that does not match */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "%s: %d parameters match, %d differ, %d missing, %d unexpected%n",
                        verified() ? "VERIFIED" : "NOT VERIFIED",
                        matching.size(),
                        mismatched.size(),
                        missing.size(),
                        unexpected.size()));
        mismatched.keySet().forEach(n -> sb.append("  differs:    ").append(n).append('\n'));
        missing.forEach(n -> sb.append("  missing:    ").append(n).append('\n'));
        unexpected.forEach(n -> sb.append("  unexpected: ").append(n).append('\n'));
        return sb.toString();
    }

    /** @return {@code verified}, {@code matching} (a count) and the lists of the others */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("verified", verified());
        o.addProperty("matching", matching.size());
        JsonObject diff = new JsonObject();
        mismatched.forEach(diff::addProperty);
        o.add("mismatched", diff);
        JsonArray absent = new JsonArray();
        missing.forEach(absent::add);
        o.add("missing", absent);
        JsonArray extra = new JsonArray();
        unexpected.forEach(extra::add);
        o.add("unexpected", extra);
        return o;
    }

    @Override
    public String toString() {
        return toTable();
    }
}

package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.unlearn.AuditRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The measurement issue 13 asks of an exact deletion: are the deleted model's parameters bit for
 * bit those of {@code ExactTraining} on the data without the class? Compares the SHA-256 of every
 * parameter tensor and the masked experts of every MoE layer ({@link AuditRecord#hashes}, BatchNorm
 * statistics included).
 */
final class ExactCheck {

    private static final int NAMED = 5;

    private ExactCheck() {}

    /**
     * @param model a model
     * @return its fingerprint, {@link AuditRecord#hashes}: every parameter's SHA-256 by name, then
     *     the masked experts of each MoE layer that has some
     */
    static Map<String, String> fingerprint(Model model) {
        return AuditRecord.hashes(model.getBlock());
    }

    /**
     * @param deleted the fingerprint of the deleted model ({@link #fingerprint})
     * @param reference the fingerprint of the model trained without the class
     * @return {@code bitIdentical} (every tensor and mask equal), {@code tensors} (compared),
     *     {@code differing} (how many differ) and {@code firstDiffering} (up to 5 names), {@code
     *     masksEqual}
     */
    static JsonObject compare(Map<String, String> deleted, Map<String, String> reference) {
        Preconditions.checkNotNull(deleted, "deleted must not be null");
        Preconditions.checkNotNull(reference, "reference must not be null");
        List<String> differing = new ArrayList<>();
        boolean masksEqual = true;
        int tensors = 0;
        java.util.Set<String> names = new java.util.LinkedHashSet<>(deleted.keySet());
        names.addAll(reference.keySet());
        for (String name : names) {
            boolean equal = deleted.containsKey(name) && deleted.get(name).equals(reference.get(name));
            if (name.endsWith(AuditRecord.MASK_SUFFIX)) {
                masksEqual &= equal;
            } else {
                tensors++;
            }
            if (!equal) {
                differing.add(name);
            }
        }
        JsonObject o = new JsonObject();
        o.addProperty("bitIdentical", differing.isEmpty());
        o.addProperty("tensors", tensors);
        o.addProperty("differing", differing.size());
        JsonArray first = new JsonArray();
        differing.stream().limit(NAMED).forEach(first::add);
        o.add("firstDiffering", first);
        o.addProperty("masksEqual", masksEqual);
        return o;
    }
}

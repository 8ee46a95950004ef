package dev.lethe.unlearn;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.moe.provenance.ProvenanceLedger;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What an unlearning run did to the forgotten class's influence, by the models' {@link
 * ProvenanceLedger}s: every tensor the class's data touched in training, the tensors that depended
 * on it without being touched (trained on top of touched ones), which of them the run re-derived
 * from retain data alone (reset and retrained, so that they no longer depend on the class), and
 * which still carry its influence — each with its share of the model's parameters (BatchNorm
 * statistics not counted). A run that trains on the forgotten class's own images (a suppression
 * loss on the forget set, gradient ascent, random labels) adds to what carries its influence: those
 * tensors are listed apart as {@link #introduced()}, so that "still carrying" can exceed what the
 * class's data touched in training without reading as a contradiction. A model trained without a
 * ledger gets a report that says so instead of guessing ({@link #isRecorded()}).
 *
 * <p>"Re-derived" is read from the ledgers before and after: a tensor that depended on the class
 * before and does not after. A method that edits tensors by gradient steps without tracing them
 * (fine-tuning and the like) is recorded conservatively (each changed tensor as reached by every
 * class of the run's data, {@link ProvenanceLedger#withEdit}), so nothing it touched counts as
 * re-derived. Immutable; part of the {@link UnlearningResult} and of the {@link AuditRecord}.
 */
public final class ProvenanceReport {

    private final int forgetClass;
    private final String note;
    private final boolean recorded;
    private final boolean complete;
    private final List<String> touched;
    private final List<String> dependent;
    private final List<String> rederived;
    private final List<String> remaining;
    private final List<String> introduced;
    private final double touchedShare;
    private final double dependentShare;
    private final double rederivedShare;
    private final double remainingShare;
    private final double introducedShare;

    private ProvenanceReport(
            int forgetClass,
            String note,
            boolean recorded,
            boolean complete,
            List<String> touched,
            List<String> dependent,
            List<String> rederived,
            List<String> remaining,
            List<String> introduced,
            double[] shares) {
        this.forgetClass = forgetClass;
        this.note = note;
        this.recorded = recorded;
        this.complete = complete;
        this.touched = ImmutableList.copyOf(touched);
        this.dependent = ImmutableList.copyOf(dependent);
        this.rederived = ImmutableList.copyOf(rederived);
        this.remaining = ImmutableList.copyOf(remaining);
        this.introduced = ImmutableList.copyOf(introduced);
        touchedShare = shares[0];
        dependentShare = shares[1];
        rederivedShare = shares[2];
        remainingShare = shares[3];
        introducedShare = shares[4];
    }

    /**
     * Compares the ledgers of the model before and after a run.
     *
     * @param forgetClass the class forgotten
     * @param before the original model's ledger, if it records one
     * @param after the new model's ledger, if it records one
     * @return the report
     */
    public static ProvenanceReport of(int forgetClass, Optional<ProvenanceLedger> before, Optional<ProvenanceLedger> after) {
        if (before.isEmpty()) {
            return new ProvenanceReport(
                    forgetClass,
                    "the model records no provenance ledger (it was trained without one): which tensors class "
                            + forgetClass
                            + "'s data touched is unknown",
                    false,
                    false,
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN});
        }
        ProvenanceLedger b = before.get();
        List<String> touched = b.touchedBy(forgetClass);
        List<String> dependent = new ArrayList<>(b.influencedBy(forgetClass));
        dependent.removeAll(touched);
        Set<String> influenced = new LinkedHashSet<>(b.influencedBy(forgetClass));
        List<String> remaining;
        String note;
        if (after.isPresent()) {
            remaining = after.get().influencedBy(forgetClass);
            note = b.isComplete() ? "" : "the ledger began after the model's first training: every tensor counts as touched";
        } else {
            remaining = new ArrayList<>(influenced);
            note = "the new model records no ledger: everything the class influenced is counted as remaining";
        }
        List<String> rederived = new ArrayList<>(influenced);
        rederived.removeAll(remaining);
        List<String> introduced = new ArrayList<>(remaining);
        introduced.removeAll(influenced);
        double[] shares = {
            b.share(touched), b.share(dependent), b.share(rederived), b.share(remaining), b.share(introduced)
        };
        return new ProvenanceReport(
                forgetClass, note, true, b.isComplete(), touched, dependent, rederived, remaining, introduced, shares);
    }

    /** @return the class */
    public int forgetClass() {
        return forgetClass;
    }

    /** @return whether the original model records a ledger (false: every list is empty, every share NaN) */
    public boolean isRecorded() {
        return recorded;
    }

    /** @return whether the ledger covers the model's whole training */
    public boolean isComplete() {
        return complete;
    }

    /** @return a caveat, empty if none */
    public String note() {
        return note;
    }

    /** @return the tensors the class's images reached in training (gradient or statistics) */
    public List<String> touched() {
        return touched;
    }

    /** @return the tensors not touched by it whose training depended on tensors it touched */
    public List<String> dependent() {
        return dependent;
    }

    /** @return the tensors (touched or dependent) the run re-derived without the class */
    public List<String> rederived() {
        return rederived;
    }

    /** @return the tensors that still carry the class's influence after the run */
    public List<String> remaining() {
        return remaining;
    }

    /**
     * @return the tensors among {@link #remaining()} that did not depend on the class before the run:
     *     the run itself trained them on the class's images (empty for a run that never reads them)
     */
    public List<String> introduced() {
        return introduced;
    }

    /** @return the parameter share of {@link #touched()} */
    public double touchedShare() {
        return touchedShare;
    }

    /** @return the parameter share of {@link #dependent()} */
    public double dependentShare() {
        return dependentShare;
    }

    /** @return the parameter share of {@link #rederived()} */
    public double rederivedShare() {
        return rederivedShare;
    }

    /** @return the parameter share of {@link #remaining()} */
    public double remainingShare() {
        return remainingShare;
    }

    /** @return the parameter share of {@link #introduced()} */
    public double introducedShare() {
        return introducedShare;
    }

    /** @return whether no tensor carries the class's influence any more (by a complete ledger) */
    public boolean isErased() {
        return recorded && complete && remaining.isEmpty();
    }

    /** @return a few printable lines */
    public String toTable() {
        if (!recorded) {
            return "provenance: " + note + "\n";
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "provenance: class %d's data touched %d tensors (%.2f %% of the parameters); %d more (%.2f %%) were"
                        + " trained on them%n",
                forgetClass,
                touched.size(),
                100 * touchedShare,
                dependent.size(),
                100 * dependentShare));
        sb.append(String.format(
                Locale.ROOT,
                "  re-derived without it: %d tensors (%.2f %%); still carrying its influence: %d tensors (%.2f %%)%s%s%n",
                rederived.size(),
                100 * rederivedShare,
                remaining.size(),
                100 * remainingShare,
                introduced.isEmpty()
                        ? ""
                        : String.format(Locale.ROOT, ", of which %d (%.2f %%) only because this run trained them on"
                                + " the class's images", introduced.size(), 100 * introducedShare),
                note.isEmpty() ? "" : " — " + note));
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable();
    }

    /** @return the report as JSON (every tensor list with its share) */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("recorded", recorded);
        o.addProperty("complete", complete);
        o.addProperty("note", note);
        add(o, "touched", touched, touchedShare);
        add(o, "dependent", dependent, dependentShare);
        add(o, "rederived", rederived, rederivedShare);
        add(o, "remaining", remaining, remainingShare);
        add(o, "introduced", introduced, introducedShare);
        return o;
    }

    /**
     * @param json JSON written by {@link #toJson()} (a record written before {@link #introduced()}
     *     existed gets it re-computed from the lists, without a share)
     * @return the report
     * @throws IllegalArgumentException if a field is missing
     */
    public static ProvenanceReport fromJson(JsonObject json) {
        Preconditions.checkNotNull(json, "json must not be null");
        try {
            double[] shares = new double[5];
            String[] keys = {"touched", "dependent", "rederived", "remaining", "introduced"};
            List<List<String>> lists = new ArrayList<>();
            for (int i = 0; i < keys.length; i++) {
                JsonObject part = json.getAsJsonObject(keys[i]);
                if (part == null && "introduced".equals(keys[i])) {
                    List<String> introduced = new ArrayList<>(lists.get(3));
                    introduced.removeAll(lists.get(0));
                    introduced.removeAll(lists.get(1));
                    shares[i] = Double.NaN;
                    lists.add(introduced);
                    continue;
                }
                JsonElement share = part.get("share");
                shares[i] = share == null || share.isJsonNull() ? Double.NaN : share.getAsDouble();
                List<String> names = new ArrayList<>();
                part.getAsJsonArray("tensors").forEach(e -> names.add(e.getAsString()));
                lists.add(names);
            }
            return new ProvenanceReport(
                    json.get("forgetClass").getAsInt(),
                    json.get("note").getAsString(),
                    json.get("recorded").getAsBoolean(),
                    json.get("complete").getAsBoolean(),
                    lists.get(0),
                    lists.get(1),
                    lists.get(2),
                    lists.get(3),
                    lists.get(4),
                    shares);
        } catch (NullPointerException | ClassCastException | IllegalStateException e) {
            throw new IllegalArgumentException("malformed provenance report: " + e, e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProvenanceReport && toJson().equals(((ProvenanceReport) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    private static void add(JsonObject o, String key, List<String> names, double share) {
        JsonObject part = new JsonObject();
        if (Double.isFinite(share)) {
            part.addProperty("share", share);
        }
        JsonArray a = new JsonArray();
        names.forEach(a::add);
        part.add("tensors", a);
        o.add(key, part);
    }
}

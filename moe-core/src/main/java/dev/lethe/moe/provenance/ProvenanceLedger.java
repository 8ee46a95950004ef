package dev.lethe.moe.provenance;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.routing.Routing;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The record of training: for every parameter tensor of a model (BatchNorm statistics included),
 * which classes' images reached it. {@link dev.lethe.moe.train.MoeTraining#fit} writes it into the
 * model property {@value #MODEL_PROPERTY} (as JSON, saved and loaded with the model); the
 * unlearning library reads it to state what a class's data touched and to delete a class exactly
 * where the record allows it. Where the activation profile says where a class is routed at
 * inference, the ledger says where its data went in training.
 *
 * <p>The ledger is a log of events over the model's tensors (in {@code getParameters()} order):
 *
 * <ul>
 *   <li>a <em>phase</em> (one training run): for each tensor that learnt in it, the classes of the
 *       images that sent it gradient or updated its statistics, and which tensors the phase's
 *       forward passes read;
 *   <li>a <em>reset</em>: tensors set back to their initial values (the classes are cleared).
 * </ul>
 *
 * <p>Two views follow from the log:
 *
 * <ul>
 *   <li>{@link #classesOf(String)}: the classes whose images reached the tensor directly since its
 *       last reset (gradient through it, or a BatchNorm statistic update). Exact at expert
 *       granularity: an expert's tensors list the classes of the images that ran through it with
 *       gradient; the trunk, routers and head list every class of every batch.
 *   <li>{@link #dependenciesOf(String)}: the classes its value depends on, directly or through the
 *       tensors it was trained with: a tensor that learnt in a phase depends on every class that
 *       reached any tensor in that phase and on everything the tensors the phase read depended on.
 *       An expert trained jointly with a shared trunk therefore depends on every class (through the
 *       trunk) though only its own class touched it; an expert trained on a frozen trunk depends
 *       only on its own data and on what the trunk saw. This is the criterion of exact deletion
 *       (SISA, Bourtoule et al., S&amp;P 2021): a class is removed exactly when no surviving tensor
 *       depends on it.
 * </ul>
 *
 * <p>The ledger starts from initialisation ({@link Origin#INITIALISED}) only when the model proves
 * it: {@link dev.lethe.moe.InitialValues#mark} (called by {@code MoeResNet.newModel} and for the
 * fresh models of the library) records the SHA-256 of its values right after initialisation, and a
 * first training phase starts an initialised ledger only if the values still have that hash
 * ({@link dev.lethe.moe.InitialValues#holds}). Any other model (trained before the ledger began, loaded with values from
 * elsewhere, or built without that call) has origin {@link Origin#UNKNOWN}: every tensor then
 * counts as depending on every class until it is reset. Parameter shares count
 * scalars without BatchNorm statistics (as {@link dev.lethe.moe.MoeBlocks#countParameters}).
 *
 * <p>Immutable. Built by a {@link Recorder} ({@link #recorder}); {@link #withReset} and {@link
 * #withEdit} add events.
 */
public final class ProvenanceLedger {

    /** The model property that holds the ledger as JSON. */
    public static final String MODEL_PROPERTY = "lethe.ledger";

    static final int FORMAT = 1;

    /** Where the values before the first recorded phase came from. */
    public enum Origin {
        /** From initialisation: no data had reached them. */
        INITIALISED,
        /** Unknown (trained before the ledger began): every tensor counts as touched by every class. */
        UNKNOWN
    }

    private final int numClasses;
    private final Origin origin;
    private final List<String> names;
    private final long[] sizes;
    private final boolean[] statistic;
    private final List<String> units;
    private final List<Event> events;
    private final Map<String, Integer> index;
    private final BitSet[] direct;
    private final BitSet[] depends;

    private ProvenanceLedger(
            int numClasses, Origin origin, List<String> names, long[] sizes, boolean[] statistic, List<String> units, List<Event> events) {
        this.numClasses = numClasses;
        this.origin = origin;
        this.names = ImmutableList.copyOf(names);
        this.sizes = sizes;
        this.statistic = statistic;
        this.units = ImmutableList.copyOf(units);
        this.events = ImmutableList.copyOf(events);
        index = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            index.put(names.get(i), i);
        }
        direct = new BitSet[names.size()];
        depends = new BitSet[names.size()];
        BitSet all = new BitSet();
        all.set(0, numClasses);
        for (int t = 0; t < direct.length; t++) {
            direct[t] = origin == Origin.UNKNOWN ? (BitSet) all.clone() : new BitSet();
            depends[t] = (BitSet) direct[t].clone();
        }
        for (Event e : events) {
            e.apply(direct, depends);
        }
    }

    /**
     * A ledger with no event yet for a model's block.
     *
     * @param block the model's block, initialised
     * @param numClasses the classes of the task
     * @param origin where the current values came from
     * @return the empty ledger
     */
    public static ProvenanceLedger empty(Block block, int numClasses, Origin origin) {
        Preconditions.checkArgument(numClasses >= 1, "numClasses (%s) must be >= 1", numClasses);
        Preconditions.checkNotNull(origin, "origin must not be null");
        List<String> names = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        List<Boolean> stats = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            names.add(p.getKey());
            sizes.add(p.getValue().getArray().getShape().size());
            stats.add(isStatistic(p.getValue()));
        }
        long[] s = new long[sizes.size()];
        boolean[] st = new boolean[stats.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = sizes.get(i);
            st[i] = stats.get(i);
        }
        return new ProvenanceLedger(numClasses, origin, names, s, st, Units.of(block), List.of());
    }

    /**
     * The ledger a model records.
     *
     * @param model a model
     * @return its ledger, or empty when it records none (trained without one)
     * @throws IllegalArgumentException if the recorded ledger is malformed
     */
    public static Optional<ProvenanceLedger> of(Model model) {
        String json = model.getProperty(MODEL_PROPERTY);
        return json == null || json.isBlank() ? Optional.empty() : Optional.of(fromJson(json));
    }

    /**
     * Stores the ledger in a model's {@value #MODEL_PROPERTY} property.
     *
     * @param model the model the ledger describes
     * @throws IllegalArgumentException if the ledger's tensors are not the model's
     */
    public void writeTo(Model model) {
        checkMatches(model.getBlock());
        model.setProperty(MODEL_PROPERTY, toJson());
    }

    /**
     * Starts recording a training phase on a block.
     *
     * @param block the model's block, initialised
     * @param start the ledger so far (must match the block), or null to start a new one
     * @param numClasses the classes of the task (used when {@code start} is null)
     * @param origin where the current values came from (used when {@code start} is null)
     * @return a recorder; {@link Recorder#finish} returns the ledger with the phase
     */
    public static Recorder recorder(Block block, ProvenanceLedger start, int numClasses, Origin origin) {
        ProvenanceLedger ledger = start == null ? empty(block, numClasses, origin) : start;
        ledger.checkMatches(block);
        return new Recorder(block, ledger);
    }

    /** @return the number of classes */
    public int numClasses() {
        return numClasses;
    }

    /** @return where the values before the first recorded phase came from */
    public Origin origin() {
        return origin;
    }

    /** @return whether the ledger covers the model's whole history ({@link Origin#INITIALISED}) */
    public boolean isComplete() {
        return origin == Origin.INITIALISED;
    }

    /** @return the tensor names, in the model's parameter order */
    public List<String> tensors() {
        return names;
    }

    /**
     * @param tensor a tensor name
     * @return its number of scalars
     */
    public long size(String tensor) {
        return sizes[indexOf(tensor)];
    }

    /**
     * @param tensor a tensor name
     * @return whether it is a BatchNorm running statistic
     */
    public boolean isStatistic(String tensor) {
        return statistic[indexOf(tensor)];
    }

    /**
     * The unit a tensor belongs to: an expert, router or shared expert of an MoE layer (the
     * granularity of isolation), else the block that holds it.
     *
     * @param tensor a tensor name
     * @return the unit's name, a prefix of the tensor's
     */
    public String unitOf(String tensor) {
        indexOf(tensor);
        String best = null;
        for (String u : units) {
            if (tensor.startsWith(u + "_") && (best == null || u.length() > best.length())) {
                best = u;
            }
        }
        if (best != null) {
            return best;
        }
        int cut = tensor.lastIndexOf('_');
        return cut > 0 ? tensor.substring(0, cut) : tensor;
    }

    /**
     * @param tensor a tensor name
     * @return the classes whose images reached it directly since its last reset (gradient or
     *     statistics), ascending
     */
    public Set<Integer> classesOf(String tensor) {
        return toSet(direct[indexOf(tensor)]);
    }

    /**
     * @param tensor a tensor name
     * @return the classes its value depends on, directly or through the tensors it was trained
     *     with or on, ascending
     */
    public Set<Integer> dependenciesOf(String tensor) {
        return toSet(depends[indexOf(tensor)]);
    }

    /**
     * @param classId a class
     * @return the tensors its images reached directly ({@link #classesOf}), model order
     */
    public List<String> touchedBy(int classId) {
        checkClass(classId);
        List<String> out = new ArrayList<>();
        for (int t = 0; t < names.size(); t++) {
            if (direct[t].get(classId)) {
                out.add(names.get(t));
            }
        }
        return out;
    }

    /**
     * @param classId a class
     * @return the tensors whose value depends on it ({@link #dependenciesOf}), model order: what
     *     an exact deletion must re-derive
     */
    public List<String> influencedBy(int classId) {
        checkClass(classId);
        List<String> out = new ArrayList<>();
        for (int t = 0; t < names.size(); t++) {
            if (depends[t].get(classId)) {
                out.add(names.get(t));
            }
        }
        return out;
    }

    /**
     * @param tensors tensor names
     * @return their share of the model's parameter scalars (statistics excluded), in [0, 1]
     */
    public double share(Collection<String> tensors) {
        long total = 0;
        for (int t = 0; t < names.size(); t++) {
            total += statistic[t] ? 0 : sizes[t];
        }
        long part = 0;
        for (String name : new LinkedHashSet<>(tensors)) {
            int t = indexOf(name);
            part += statistic[t] ? 0 : sizes[t];
        }
        return total == 0 ? 0 : part / (double) total;
    }

    /**
     * @return per class, the share of parameters its images reached directly: what a deletion of
     *     the class has to touch at least
     */
    public Map<Integer, Double> sharesByClass() {
        Map<Integer, Double> out = new LinkedHashMap<>();
        for (int c = 0; c < numClasses; c++) {
            out.put(c, share(touchedBy(c)));
        }
        return out;
    }

    /** @return the names of the recorded training phases, in order */
    public List<String> phases() {
        List<String> out = new ArrayList<>();
        for (Event e : events) {
            if (e instanceof PhaseEvent) {
                out.add(((PhaseEvent) e).name);
            }
        }
        return out;
    }

    /**
     * Records that tensors were set back to their initial values (their classes are cleared).
     *
     * @param tensors the tensors reset
     * @param why a short reason, e.g. "exact deletion of class 3"
     * @return the ledger with the reset
     */
    public ProvenanceLedger withReset(Collection<String> tensors, String why) {
        BitSet set = new BitSet();
        for (String t : tensors) {
            set.set(indexOf(t));
        }
        List<Event> list = new ArrayList<>(events);
        list.add(new ResetEvent(set, why == null ? "" : why));
        return new ProvenanceLedger(numClasses, origin, names, sizes, statistic, units, list);
    }

    /**
     * Records an edit that was not traced step by step, conservatively: every changed tensor
     * counts as reached by every given class and as having read every tensor of the model.
     *
     * @param tensors the tensors that changed
     * @param classes the classes of all the data the edit used
     * @param what a short description, e.g. "unlearning FINE_TUNE"
     * @return the ledger with the edit
     */
    public ProvenanceLedger withEdit(Collection<String> tensors, Collection<Integer> classes, String what) {
        BitSet cls = new BitSet();
        for (int c : classes) {
            checkClass(c);
            cls.set(c);
        }
        Map<Integer, BitSet> touched = new LinkedHashMap<>();
        for (String t : tensors) {
            touched.put(indexOf(t), (BitSet) cls.clone());
        }
        BitSet read = new BitSet();
        read.set(0, names.size());
        List<Event> list = new ArrayList<>(events);
        list.add(new PhaseEvent(what == null ? "edit" : what, 0L, false, 0, touched, read));
        return new ProvenanceLedger(numClasses, origin, names, sizes, statistic, units, list);
    }

    private ProvenanceLedger withPhase(PhaseEvent phase) {
        List<Event> list = new ArrayList<>(events);
        list.add(phase);
        return new ProvenanceLedger(numClasses, origin, names, sizes, statistic, units, list);
    }

    /**
     * Checks that the ledger describes this block's tensors.
     *
     * @param block a block
     * @throws IllegalArgumentException naming the first tensor that differs
     */
    public void checkMatches(Block block) {
        List<String> actual = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            actual.add(p.getKey());
        }
        if (actual.equals(names)) {
            return;
        }
        for (int i = 0; i < Math.max(actual.size(), names.size()); i++) {
            String a = i < actual.size() ? actual.get(i) : "(none)";
            String b = i < names.size() ? names.get(i) : "(none)";
            Preconditions.checkArgument(
                    a.equals(b),
                    "the ledger describes another architecture: tensor %s is '%s' in the ledger but '%s' in the model",
                    i,
                    b,
                    a);
        }
    }

    /**
     * @return a summary: per unit, its parameters and the classes that reached it (units with the
     *     same classes in a row are merged)
     */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "provenance ledger: %d tensors, %d classes, origin %s, phases %s%n",
                        names.size(),
                        numClasses,
                        origin,
                        phases()));
        Map<String, List<String>> byUnit = new LinkedHashMap<>();
        for (String t : names) {
            byUnit.computeIfAbsent(unitOf(t), k -> new ArrayList<>()).add(t);
        }
        for (Map.Entry<String, List<String>> e : byUnit.entrySet()) {
            Set<Integer> cls = new TreeSet<>();
            Set<Integer> dep = new TreeSet<>();
            for (String t : e.getValue()) {
                cls.addAll(classesOf(t));
                dep.addAll(dependenciesOf(t));
            }
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "  %-48s %6.2f %%  touched by %s  depends on %s%n",
                            e.getKey(),
                            100 * share(e.getValue()),
                            cls,
                            dep));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProvenanceLedger && toJson().equals(((ProvenanceLedger) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    /**
     * @return the ledger as compact JSON: {@code format}, {@code numClasses}, {@code origin},
     *     {@code tensors} ([characters shared with the previous name, rest of the name, size,
     *     statistic] each), {@code units} and {@code events} (tensor sets as ranges of indices, e.g.
     *     {@code "0-5,9"}); about 10 KB for a 10-class model of 350 tensors (DJL saves a model
     *     property with {@code writeUTF}, which takes up to 64 KB)
     */
    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("format", FORMAT);
        o.addProperty("numClasses", numClasses);
        o.addProperty("origin", origin.name());
        JsonArray tensors = new JsonArray();
        String previous = "";
        for (int t = 0; t < names.size(); t++) {
            // front coding: the length of the prefix shared with the previous name, then the rest
            String name = names.get(t);
            int common = 0;
            while (common < Math.min(previous.length(), name.length()) && previous.charAt(common) == name.charAt(common)) {
                common++;
            }
            previous = name;
            JsonArray a = new JsonArray();
            a.add(common);
            a.add(name.substring(common));
            a.add(sizes[t]);
            a.add(statistic[t] ? 1 : 0);
            tensors.add(a);
        }
        o.add("tensors", tensors);
        JsonArray u = new JsonArray();
        units.forEach(u::add);
        o.add("units", u);
        JsonArray ev = new JsonArray();
        for (Event e : events) {
            ev.add(e.toJson());
        }
        o.add("events", ev);
        return o.toString();
    }

    /**
     * @param json JSON written by {@link #toJson()}
     * @return the ledger
     * @throws IllegalArgumentException naming what is malformed
     */
    public static ProvenanceLedger fromJson(String json) {
        try {
            JsonElement root = JsonParser.parseString(json);
            Preconditions.checkArgument(root.isJsonObject(), "a provenance ledger is a JSON object");
            JsonObject o = root.getAsJsonObject();
            int format = required(o, "format").getAsInt();
            Preconditions.checkArgument(
                    format == FORMAT, "provenance ledger format %s is not supported (this library reads %s)", format, FORMAT);
            int numClasses = required(o, "numClasses").getAsInt();
            Origin origin = Origin.valueOf(required(o, "origin").getAsString());
            List<String> names = new ArrayList<>();
            JsonArray tensors = required(o, "tensors").getAsJsonArray();
            long[] sizes = new long[tensors.size()];
            boolean[] stats = new boolean[tensors.size()];
            String previous = "";
            for (int t = 0; t < tensors.size(); t++) {
                JsonArray a = tensors.get(t).getAsJsonArray();
                int common = a.get(0).getAsInt();
                Preconditions.checkArgument(
                        common >= 0 && common <= previous.length(), "tensor %s shares %s characters with a shorter name", t, common);
                previous = previous.substring(0, common) + a.get(1).getAsString();
                names.add(previous);
                sizes[t] = a.get(2).getAsLong();
                stats[t] = a.get(3).getAsInt() == 1;
            }
            List<String> units = new ArrayList<>();
            required(o, "units").getAsJsonArray().forEach(e -> units.add(e.getAsString()));
            List<Event> events = new ArrayList<>();
            for (JsonElement e : required(o, "events").getAsJsonArray()) {
                events.add(Event.fromJson(e.getAsJsonObject(), names.size(), numClasses));
            }
            return new ProvenanceLedger(numClasses, origin, names, sizes, stats, units, events);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | IndexOutOfBoundsException
                | NullPointerException | ClassCastException e) {
            throw new IllegalArgumentException("malformed provenance ledger: " + e, e);
        }
    }

    private static JsonElement required(JsonObject o, String field) {
        JsonElement e = o.get(field);
        Preconditions.checkArgument(e != null && !e.isJsonNull(), "the provenance ledger has no field '%s'", field);
        return e;
    }

    private int indexOf(String tensor) {
        Integer i = index.get(tensor);
        Preconditions.checkArgument(i != null, "tensor '%s' is not in the ledger (%s tensors)", tensor, names.size());
        return i;
    }

    private void checkClass(int classId) {
        Preconditions.checkArgument(
                classId >= 0 && classId < numClasses, "class (%s) must be in [0, %s)", classId, numClasses);
    }

    private static Set<Integer> toSet(BitSet bits) {
        Set<Integer> out = new TreeSet<>();
        bits.stream().forEach(out::add);
        return Collections.unmodifiableSet(out);
    }

    static boolean isStatistic(Parameter p) {
        return p.getType() == Parameter.Type.RUNNING_MEAN || p.getType() == Parameter.Type.RUNNING_VAR;
    }

    /** One entry of the log. */
    private abstract static class Event {
        abstract void apply(BitSet[] direct, BitSet[] depends);

        abstract JsonObject toJson();

        static Event fromJson(JsonObject o, int tensors, int numClasses) {
            if (o.has("reset")) {
                return new ResetEvent(Ranges.parse(o.get("reset").getAsString(), tensors), o.has("why") ? o.get("why").getAsString() : "");
            }
            Preconditions.checkArgument(o.has("phase"), "a ledger event is a 'phase' or a 'reset': %s", o);
            Map<Integer, BitSet> touched = new LinkedHashMap<>();
            for (JsonElement g : o.get("touched").getAsJsonArray()) {
                JsonObject group = g.getAsJsonObject();
                BitSet cls = Ranges.parse(group.get("classes").getAsString(), numClasses);
                BitSet ts = Ranges.parse(group.get("tensors").getAsString(), tensors);
                ts.stream().forEach(t -> touched.put(t, (BitSet) cls.clone()));
            }
            return new PhaseEvent(
                    o.get("phase").getAsString(),
                    o.get("seed").getAsLong(),
                    o.get("exact").getAsBoolean(),
                    o.get("steps").getAsInt(),
                    touched,
                    Ranges.parse(o.get("read").getAsString(), tensors));
        }
    }

    /** Tensors set back to their initial values. */
    private static final class ResetEvent extends Event {
        final BitSet tensors;
        final String why;

        ResetEvent(BitSet tensors, String why) {
            this.tensors = tensors;
            this.why = why;
        }

        @Override
        void apply(BitSet[] direct, BitSet[] depends) {
            tensors.stream().forEach(t -> {
                direct[t].clear();
                depends[t].clear();
            });
        }

        @Override
        JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("reset", Ranges.format(tensors));
            o.addProperty("why", why);
            return o;
        }
    }

    /** One training run: what each learning tensor received, and what the forward passes read. */
    private static final class PhaseEvent extends Event {
        final String name;
        final long seed;
        final boolean exact;
        final int steps;
        final Map<Integer, BitSet> touched;
        final BitSet read;

        PhaseEvent(String name, long seed, boolean exact, int steps, Map<Integer, BitSet> touched, BitSet read) {
            this.name = name;
            this.seed = seed;
            this.exact = exact;
            this.steps = steps;
            this.touched = touched;
            this.read = read;
        }

        @Override
        void apply(BitSet[] direct, BitSet[] depends) {
            BitSet inflow = new BitSet();
            read.stream().forEach(t -> inflow.or(depends[t]));
            BitSet phaseClasses = new BitSet();
            touched.values().forEach(phaseClasses::or);
            for (Map.Entry<Integer, BitSet> e : touched.entrySet()) {
                if (e.getValue().isEmpty()) {
                    continue;
                }
                direct[e.getKey()].or(e.getValue());
                depends[e.getKey()].or(phaseClasses);
                depends[e.getKey()].or(inflow);
            }
        }

        @Override
        JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("phase", name);
            o.addProperty("seed", seed);
            o.addProperty("exact", exact);
            o.addProperty("steps", steps);
            Map<BitSet, BitSet> groups = new LinkedHashMap<>();
            for (Map.Entry<Integer, BitSet> e : touched.entrySet()) {
                if (!e.getValue().isEmpty()) {
                    groups.computeIfAbsent(e.getValue(), k -> new BitSet()).set(e.getKey());
                }
            }
            JsonArray g = new JsonArray();
            for (Map.Entry<BitSet, BitSet> e : groups.entrySet()) {
                JsonObject group = new JsonObject();
                group.addProperty("classes", Ranges.format(e.getKey()));
                group.addProperty("tensors", Ranges.format(e.getValue()));
                g.add(group);
            }
            o.add("touched", g);
            o.addProperty("read", Ranges.format(read));
            return o;
        }
    }

    /**
     * Records one training phase: what each learning tensor of the block receives, step by step.
     * Mutable, for one thread; {@link #finish} hands out the ledger with the phase. What learns is
     * decided when the recorder is made, from which parameters are frozen then (see {@link
     * dev.lethe.moe.MoeBlocks#isFrozen}): a trainable parameter learns from every image of a step
     * that reaches it; a BatchNorm statistic learns when its block runs in training mode; an
     * expert learns from the images that run through it with gradient ({@link Routing}: the
     * positions not detached; every image of the batch for a DENSE layer outside class routing,
     * whose experts all compute on every image in training).
     */
    public static final class Recorder {
        private final ProvenanceLedger ledger;
        private final Map<String, Integer> ids;
        private final BitSet always;
        private final BitSet readAlways;
        private final Map<MoeBlock, LayerTensors> layers;
        private final Map<Integer, BitSet> touched = new LinkedHashMap<>();
        private final BitSet read = new BitSet();
        private int steps;

        private Recorder(Block block, ProvenanceLedger ledger) {
            this.ledger = ledger;
            ids = new HashMap<>();
            List<String> names = ledger.tensors();
            int i = 0;
            for (Pair<String, Parameter> p : block.getParameters()) {
                ids.put(p.getValue().getId(), i++);
            }
            Learning learning = Learning.of(block, ids);
            always = learning.always;
            readAlways = learning.readAlways;
            layers = learning.layers;
            Preconditions.checkState(names.size() == ids.size(), "ledger and block differ in size");
        }

        /**
         * Records that the values of some tensors were computed from images (e.g. {@link
         * dev.lethe.moe.model.PatchWhitening}'s filters).
         *
         * @param parameters the parameters set from the images
         * @param labels the classes of those images
         */
        public void recordFitted(Collection<Parameter> parameters, int[] labels) {
            BitSet cls = classes(labels);
            for (Parameter p : parameters) {
                Integer t = ids.get(p.getId());
                Preconditions.checkArgument(t != null, "parameter %s is not in the block", p.getName());
                touched.computeIfAbsent(t, k -> new BitSet()).or(cls);
            }
        }

        /**
         * Records one training step.
         *
         * @param labels the class of each image of the step's batch
         * @param routings the routing of each MoE layer in that step (every layer of the block
         *     that ran)
         */
        public void recordStep(int[] labels, Map<MoeBlock, Routing> routings) {
            BitSet batch = classes(labels);
            always.stream().forEach(t -> touched.computeIfAbsent(t, k -> new BitSet()).or(batch));
            read.or(readAlways);
            for (Map.Entry<MoeBlock, LayerTensors> e : layers.entrySet()) {
                Routing r = routings.get(e.getKey());
                if (r == null) {
                    continue;
                }
                Preconditions.checkArgument(
                        r.batchSize() == labels.length,
                        "the routing has %s images but the step has %s labels",
                        r.batchSize(),
                        labels.length);
                LayerTensors lt = e.getValue();
                boolean dense = e.getKey().getDispatch() == dev.lethe.moe.Dispatch.DENSE && !r.isClassRouted();
                BitSet[] perExpert = new BitSet[lt.experts.length];
                for (int x = 0; x < perExpert.length; x++) {
                    perExpert[x] = new BitSet();
                }
                for (int b = 0; b < r.batchSize(); b++) {
                    for (int s = 0; s < r.topK(); s++) {
                        int x = r.expertIndex(b, s);
                        read.or(lt.experts[x]);
                        if (!r.isDetached(b, s)) {
                            perExpert[x].set(labels[b]);
                        }
                    }
                }
                for (int x = 0; x < perExpert.length; x++) {
                    if (dense) {
                        read.or(lt.experts[x]);
                        perExpert[x] = batch;
                    }
                    BitSet cls = perExpert[x];
                    if (cls.isEmpty()) {
                        continue;
                    }
                    lt.learning[x].stream().forEach(t -> touched.computeIfAbsent(t, k -> new BitSet()).or(cls));
                }
            }
            steps++;
        }

        /**
         * @param parameter a parameter of the block
         * @return whether training can change it in this phase (a trainable parameter, or a
         *     statistic of a part that runs in training mode); frozen and fixed parameters cannot
         */
        public boolean learns(Parameter parameter) {
            Integer t = ids.get(parameter.getId());
            Preconditions.checkArgument(t != null, "parameter %s is not in the block", parameter.getName());
            if (always.get(t)) {
                return true;
            }
            for (LayerTensors lt : layers.values()) {
                for (BitSet learning : lt.learning) {
                    if (learning.get(t)) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** @return the steps recorded so far */
        public int steps() {
            return steps;
        }

        /**
         * @param phase the phase's name, e.g. the recipe's
         * @param seed its seed
         * @return the ledger with the phase added
         */
        public ProvenanceLedger finish(String phase, long seed) {
            Map<Integer, BitSet> copy = new LinkedHashMap<>();
            new TreeSet<>(touched.keySet()).forEach(t -> copy.put(t, (BitSet) touched.get(t).clone()));
            return ledger.withPhase(new PhaseEvent(phase, seed, true, steps, copy, (BitSet) read.clone()));
        }

        private BitSet classes(int[] labels) {
            BitSet cls = new BitSet();
            for (int y : labels) {
                Preconditions.checkArgument(
                        y >= 0 && y < ledger.numClasses(), "label %s is outside [0, %s)", y, ledger.numClasses());
                cls.set(y);
            }
            return cls;
        }
    }

    /** The tensors of one MoE layer's experts: all of each, and those that learn. */
    static final class LayerTensors {
        final BitSet[] experts;
        final BitSet[] learning;

        LayerTensors(BitSet[] experts, BitSet[] learning) {
            this.experts = experts;
            this.learning = learning;
        }
    }
}

package dev.lethe.unlearn.exact;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.translate.TranslateException;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.moe.train.EpochResult;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Training in which a class can later be deleted exactly: the deleted model is bit for bit the
 * model this training makes from the same plan on the data without the class.
 *
 * <p>Exactness needs that no surviving parameter's training depended on the deleted data (SISA,
 * Bourtoule et al., S&amp;P 2021; ARCANE, Yan et al., IJCAI 2022, with one sub-model per class).
 * Inside one MoE network this holds with the following configuration, on a {@link MoeResNet} with
 * top-1 MoE layers of at least one expert per class (class c owns expert c of every layer; a
 * shared expert beside them is recommended, {@code optSharedExpert(true)}):
 *
 * <ol>
 *   <li><b>Initialisation</b> from the plan's seed: every tensor's initial value is a function of
 *       the seed and the architecture only.
 *   <li><b>Trunk</b>, on the public classes' images only: the stem, dense stages, shared experts
 *       and a temporary head, with every image routed to one expert (the first public class's,
 *       reset to its initial value afterwards). Then frozen. The public classes are never deleted:
 *       the trunk holds them. Routing the trunk's images by class instead lets the head read the
 *       class from which expert ran (a training loss of 0.001 and a 45 % model on CIFAR-10,
 *       docs/results/isolation-diagnosis.md), so the trunk never learns to tell classes apart.
 *   <li><b>Units</b>, one per class c, each independent of the others: the experts c of every MoE
 *       layer and a temporary head (reset to its initial value), trained on class c's images and,
 *       as negatives, images of the other public classes (every image routed to expert c), on the
 *       frozen trunk (in inference mode), from c's own seed. Nothing of a deletable class other
 *       than c takes part.
 *   <li><b>Routers and head</b>, last, on every image, reset to their initial values, on the frozen
 *       trunk and units: the routers learn the assignment (router supervision), the head the
 *       classes from the experts the routers choose (no teacher forcing: as at inference).
 * </ol>
 *
 * <p>Data order never depends on which classes are present: each phase's images are sorted by a
 * content key (a hash of the pixels and label) and shuffled by the phase's seed, and augmentation
 * draws per image from its key ({@link KeyedView}), so a phase given the same images in any data set
 * trains the same way. No state crosses phases (the class-routed MoE pass has no noise counter; a
 * fresh trainer and optimizer per phase; frozen tensors are untouched, BatchNorm statistics and
 * weight average included). Experts of classes absent from the data are masked.
 *
 * <p>Deleting a class d then re-derives exactly what its data influenced ({@link
 * #rederivation}): its experts are reset to their initial values and masked (as in a model trained
 * without d, where they never trained), and the routers and the head are retrained on the other
 * classes' images by step 4 — the same function of the same inputs as in the training without d.
 * The model's {@link ProvenanceLedger} proves it: after the deletion no tensor depends on d. Only
 * the last phase is repeated, so a deletion costs {@code headEpochs} passes over the data, with
 * backward passes only into the routers and the head.
 *
 * <p>What is approximate: nothing about the deletion; but accuracy depends on a trunk that never saw
 * the deletable classes, and on units that never saw each other (they are told apart by the
 * router and head only). Deterministic on the CPU with a fixed number of threads.
 *
 * <p>With every class public ({@link ExactPlan#assigned}) the same phases train the class-assigned
 * configuration: the trunk sees every class, each class keeps its own experts, and the routers
 * route by class at inference; no class can then be deleted exactly (the trunk, and as negatives
 * the other classes' units, carry it; the ledger lists them), so forgetting is approximate.
 */
public final class ExactTraining {

    /** The model property recording the plan and the data each class was trained on. */
    public static final String MODEL_PROPERTY = "lethe.exact";

    private static final long INIT = 0x1A17L;
    private static final long TRUNK = 1;
    private static final long UNIT = 2;
    private static final long HEAD = 3;

    /**
     * Teacher forcing of the router and head phase: none, so the head learns from the experts the
     * router chooses, as at inference (the units are frozen by then, so no expert starves). Chosen
     * on the validation split (fast-exact, 10,000 images, 3 epochs: forcing 0 → 56.2 %, 0.5 →
     * 55.0 %, 1 → 54.2 %; docs/results/isolation-diagnosis.md).
     */
    private static final float HEAD_FORCING = 0f;

    private ExactTraining() {}

    /**
     * Trains a model for exact deletion with the default plan of a recipe.
     *
     * @param model the model, a {@link MoeResNet} with top-1 MoE layers and E &gt;= C; its values
     *     are replaced
     * @param data the training data
     * @param publicClasses the classes that are never deleted (they train the trunk)
     * @param recipe the recipe of every phase (e.g. {@code TrainingRecipe.isolated(fast())})
     * @param progress receives progress lines, or null
     * @return the model, trained, with its ledger and plan recorded
     * @throws IOException if the data cannot be read
     */
    public static Model fit(
            Model model, LabeledData data, Collection<Integer> publicClasses, TrainingRecipe recipe, Consumer<String> progress)
            throws IOException {
        return fit(model, data, ExactPlan.of(publicClasses, recipe), progress);
    }

    /**
     * Trains a model for exact deletion (see the class description). The model's values are
     * replaced by the plan's initialisation first: the result is a function of the plan and the
     * data alone.
     *
     * @param model the model, a {@link MoeResNet} with top-1 MoE layers and E &gt;= C
     * @param data the training data; every public class must have images
     * @param plan the plan
     * @param progress receives progress lines, or null
     * @return the model, trained, with its {@link ProvenanceLedger} and plan ({@value
     *     #MODEL_PROPERTY}) recorded
     * @throws IOException if the data cannot be read
     * @throws IllegalArgumentException if the model or the data do not fit the plan
     */
    public static Model fit(Model model, LabeledData data, ExactPlan plan, Consumer<String> progress) throws IOException {
        Preconditions.checkNotNull(plan, "plan must not be null");
        MoeResNet net = checkModel(model, data.numClasses());
        int classes = data.numClasses();
        for (int c : plan.publicClasses()) {
            Preconditions.checkArgument(c < classes, "public class %s must be < the number of classes (%s)", c, classes);
            Preconditions.checkArgument(
                    data.indicesOf(c).length > 0, "public class %s (%s) has no image in the data", c, data.classNames().get(c));
        }
        long start = System.nanoTime();
        Keyed keyed = Keyed.of(data, IntStream.range(0, data.size()).toArray());
        report(progress, "exact training: %s; %d images keyed", plan, data.size());
        List<Block> routers = new ArrayList<>();
        List<MoeBlock> layers = net.moeLayers();
        for (MoeBlock layer : layers) {
            routers.add(layer.router());
            for (int e = 0; e < layer.getNumExperts(); e++) {
                layer.maskExpert(e, false);
            }
            layer.clearClassRouting();
        }
        try (Model init = initial(model, plan)) {
            Models.copyParameters(init, model);
            restoreTrainable(net);
            model.setProperty(TrainingRecipe.MODEL_PROPERTY, "");
            model.setProperty(MODEL_PROPERTY, "");
            ProvenanceLedger.empty(net, classes, ProvenanceLedger.Origin.INITIALISED).writeTo(model);
            try {
                // 1. the trunk, on the public classes, every image through one routed expert (the
                // first public class's): routed by class, the head would read the class from which
                // expert ran and the trunk would not learn to tell the classes apart
                restoreTrainable(net);
                int carrier = plan.publicClasses().iterator().next(); // the smallest: the set is sorted
                for (MoeBlock layer : layers) {
                    MoeBlocks.setTrainable(layer.router(), false);
                    for (int e = 0; e < layer.getNumExperts(); e++) {
                        if (e != carrier) {
                            layer.freezeExpert(e, true);
                        }
                    }
                }
                int[] publicItems = keyed.itemsOf(plan.publicClasses(), data);
                report(progress, "trunk: %d images of the public classes %s", publicItems.length, plan.publicClasses());
                int[] toCarrier = new int[classes];
                Arrays.fill(toCarrier, carrier);
                runPhase(model, data, keyed, publicItems,
                        phaseRecipe(plan, plan.trunkEpochs(), ImageKeys.mix(plan.seed(), TRUNK), toCarrier, 1f, 0f), progress);
                List<Block> carried = new ArrayList<>();
                for (MoeBlock layer : layers) {
                    carried.add(layer.expert(carrier));
                }
                resetParts(model, init, carried, "expert " + carrier + " carried the trunk phase; its unit trains it");

                // 2. one unit per class, public or deletable
                for (int c = 0; c < classes; c++) {
                    int[] own = keyed.itemsOf(List.of(c), data);
                    if (own.length == 0) {
                        continue;
                    }
                    resetParts(model, init, List.of(net.classifier()), "temporary head of class " + c);
                    List<Block> unit = new ArrayList<>();
                    unit.add(net.classifier());
                    for (MoeBlock layer : layers) {
                        unit.add(layer.expert(c));
                    }
                    trainOnly(net, unit);
                    int[] items = concat(own, negatives(keyed, others(publicItems, data, c), own.length, plan, c));
                    int[] all = new int[classes];
                    Arrays.fill(all, c);
                    report(progress, "unit of class %d (%s): %d images and %d public negatives",
                            c, data.classNames().get(c), own.length, items.length - own.length);
                    runPhase(model, data, keyed, items,
                            phaseRecipe(plan, plan.unitEpochs(), ImageKeys.mix(plan.seed(), UNIT, c), all, 1f, 0f), progress);
                }

                // 3. routers and head, on everything
                int[] present = IntStream.range(0, data.size()).toArray();
                headPhase(model, data, keyed, present, plan, init, progress);
            } finally {
                restoreTrainable(net);
            }
        }
        writeRecord(model, plan, keyed.fingerprints(data));
        model.setProperty(TrainingRecipe.MODEL_PROPERTY, plan.recipe().toJson());
        report(progress, "exact training done in %.1f s", (System.nanoTime() - start) / 1e9);
        return model;
    }

    /**
     * The plan a model was trained with by {@link #fit}.
     *
     * @param model a model
     * @return its plan, or empty if it was not trained by exact training
     */
    public static Optional<ExactPlan> planOf(Model model) {
        return record(model).map(r -> ExactPlan.fromJson(r.getAsJsonObject("plan")));
    }

    /**
     * Decides what an exact deletion of a class must re-derive, from the model's ledger and plan.
     *
     * @param model a model trained by {@link #fit}
     * @param classId the class to delete
     * @return the re-derivation (apply it to a copy of the model)
     * @throws IllegalStateException if the model was not trained by exact training or records no
     *     ledger, if the class is public, or if the ledger shows the class's data reached tensors an
     *     exact deletion cannot re-derive (named in the message)
     */
    public static Rederivation rederivation(Model model, int classId) {
        Preconditions.checkNotNull(model, "model must not be null");
        Optional<ProvenanceLedger> maybeLedger = ProvenanceLedger.of(model);
        Preconditions.checkState(
                maybeLedger.isPresent(),
                "the model records no provenance ledger ('%s'): it was trained without one, so what class %s's data"
                        + " touched is unknown and no deletion can be proven exact; train it with ExactTraining.fit",
                ProvenanceLedger.MODEL_PROPERTY,
                classId);
        ProvenanceLedger ledger = maybeLedger.get();
        MoeResNet net = checkModel(model, ledger.numClasses());
        Map<String, String> names = names(net);
        List<String> unit = new ArrayList<>();
        List<String> head = new ArrayList<>();
        for (MoeBlock layer : net.moeLayers()) {
            unit.addAll(tensors(layer.expert(classId), names));
            head.addAll(tensors(layer.router(), names));
        }
        head.addAll(tensors(net.classifier(), names));
        List<String> implicated = ledger.influencedBy(classId);
        Optional<JsonObject> record = record(model);
        if (record.isEmpty()) {
            List<String> beyond = new ArrayList<>(implicated);
            beyond.removeAll(unit);
            beyond.removeAll(head);
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "the model was not trained by ExactTraining (it records no '%s'): its ledger shows class %d's data"
                            + " reached %d tensors (%.1f %% of the parameters) that were trained jointly with the rest,"
                            + " e.g. %s; re-deriving them without the class means training everything again: use"
                            + " Method.RETRAIN, or train with ExactTraining.fit",
                    MODEL_PROPERTY,
                    classId,
                    implicated.size(),
                    100 * ledger.share(implicated),
                    firstNames(beyond.isEmpty() ? implicated : beyond, 5)));
        }
        ExactPlan plan = ExactPlan.fromJson(record.get().getAsJsonObject("plan"));
        if (plan.isPublic(classId)) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "class %d is public in this model (public classes %s): its images trained the frozen trunk, %d tensors"
                            + " such as %s, on which every other part was trained; deleting it exactly means training"
                            + " everything again: use Method.RETRAIN",
                    classId,
                    plan.publicClasses(),
                    implicated.size(),
                    firstNames(implicated, 5)));
        }
        List<String> beyond = new ArrayList<>(implicated);
        beyond.removeAll(unit);
        beyond.removeAll(head);
        if (!beyond.isEmpty()) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "the ledger shows class %d's data reached %d tensors that an exact deletion cannot re-derive (only its"
                            + " experts, the routers and the head are re-derived): %s",
                    classId,
                    beyond.size(),
                    firstNames(beyond, 20)));
        }
        return new Rederivation(classId, plan, implicated, unit, head, ledger.share(unit), ledger.share(head));
    }

    /** What deleting one class exactly re-derives; {@link #apply} does it. Immutable. */
    public static final class Rederivation {
        private final int classId;
        private final ExactPlan plan;
        private final List<String> implicated;
        private final List<String> reset;
        private final List<String> retrained;
        private final double resetShare;
        private final double retrainedShare;

        private Rederivation(
                int classId, ExactPlan plan, List<String> implicated, List<String> reset, List<String> retrained, double resetShare, double retrainedShare) {
            this.classId = classId;
            this.plan = plan;
            this.implicated = List.copyOf(implicated);
            this.reset = List.copyOf(reset);
            this.retrained = List.copyOf(retrained);
            this.resetShare = resetShare;
            this.retrainedShare = retrainedShare;
        }

        /** @return the class deleted */
        public int classId() {
            return classId;
        }

        /** @return the plan of the model */
        public ExactPlan plan() {
            return plan;
        }

        /** @return the tensors whose value depends on the class, by the ledger */
        public List<String> implicated() {
            return implicated;
        }

        /** @return the tensors set back to their initial values: the class's experts */
        public List<String> reset() {
            return reset;
        }

        /** @return the tensors retrained on the other classes: the routers and the head */
        public List<String> retrained() {
            return retrained;
        }

        /** @return every tensor the deletion changes: {@link #reset()} then {@link #retrained()} */
        public List<String> changed() {
            List<String> out = new ArrayList<>(reset);
            out.addAll(retrained);
            return out;
        }

        /** @return the share of parameters reset */
        public double resetShare() {
            return resetShare;
        }

        /** @return the share of parameters retrained */
        public double retrainedShare() {
            return retrainedShare;
        }

        /**
         * Deletes the class from a model: checks that the data is the data the model was trained
         * on (every remaining class's images, by content), resets the class's experts and masks
         * them, and retrains the routers and head on the given items as {@link ExactTraining#fit}
         * does. Records the reset and the retraining in the model's ledger and the class's removal
         * in its plan record.
         *
         * @param model the model to change (a copy of the trained one), in place
         * @param data the training data
         * @param retain the items of every class that stays (none of the deleted class nor of a
         *     class deleted before)
         * @param progress receives progress lines, or null
         * @throws IOException if the data cannot be read
         * @throws IllegalStateException if the data is not the data the model was trained on
         */
        public void apply(Model model, LabeledData data, int[] retain, Consumer<String> progress) throws IOException {
            MoeResNet net = checkModel(model, data.numClasses());
            JsonObject record = record(model).orElseThrow(() -> new IllegalStateException("the model records no " + MODEL_PROPERTY));
            for (int item : retain) {
                Preconditions.checkArgument(
                        data.label(item) != classId, "item %s of the retain set is of the deleted class %s", item, classId);
            }
            Keyed keyed = Keyed.of(data, retain);
            Map<Integer, String> now = keyed.fingerprints(data);
            JsonObject recorded = record.getAsJsonObject("classes");
            for (Map.Entry<String, JsonElement> e : recorded.entrySet()) {
                int c = Integer.parseInt(e.getKey());
                if (c == classId) {
                    continue;
                }
                Preconditions.checkState(
                        e.getValue().getAsString().equals(now.get(c)),
                        "the data's images of class %s (%s) are not those the model was trained on (content fingerprint"
                                + " %s, recorded %s): an exact deletion retrains on the same images",
                        c,
                        data.classNames().get(c),
                        now.getOrDefault(c, "none: no image"),
                        e.getValue().getAsString());
            }
            for (int c : now.keySet()) {
                Preconditions.checkState(
                        recorded.has(Integer.toString(c)), "the data has images of class %s, on which the model was not trained", c);
            }
            try (Model init = initial(model, plan)) {
                Map<String, String> names = names(net);
                List<Block> experts = new ArrayList<>();
                for (MoeBlock layer : net.moeLayers()) {
                    experts.add(layer.expert(classId));
                }
                resetParts(model, init, experts, "exact deletion of class " + classId);
                for (MoeBlock layer : net.moeLayers()) {
                    layer.maskExpert(classId, true);
                }
                report(progress, "reset %d tensors of class %d's experts; retraining routers and head on %d images",
                        tensorsOf(experts, names).size(), classId, retain.length);
                try {
                    headPhase(model, data, keyed, retain, plan, init, progress);
                } finally {
                    restoreTrainable(net);
                }
            }
            writeRecord(model, plan, now);
        }

        /**
         * @param retainItems the number of retain images
         * @return the optimizer steps of the retraining
         */
        public int steps(int retainItems) {
            return plan.headEpochs() * ((retainItems + plan.recipe().batchSize() - 1) / plan.recipe().batchSize());
        }

        /**
         * @param retainItems the number of retain images
         * @return the images forwarded in the retraining
         */
        public long images(int retainItems) {
            return (long) retainItems * plan.headEpochs();
        }

        /** @return the re-derivation as JSON (tensor lists, shares, plan) */
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("class", classId);
            o.add("plan", plan.toJson());
            o.add("reset", toArray(reset));
            o.add("retrained", toArray(retrained));
            o.addProperty("resetShare", resetShare);
            o.addProperty("retrainedShare", retrainedShare);
            return o;
        }

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "exact deletion of class %d: reset %d tensors (%.2f %% of the parameters), retrain %d (%.2f %%)",
                    classId,
                    reset.size(),
                    100 * resetShare,
                    retrained.size(),
                    100 * retrainedShare);
        }
    }

    /** Step 4: reset routers and head, train them on the items with everything else frozen. */
    private static void headPhase(
            Model model, LabeledData data, Keyed keyed, int[] items, ExactPlan plan, Model init, Consumer<String> progress)
            throws IOException {
        MoeResNet net = (MoeResNet) model.getBlock();
        int classes = data.numClasses();
        List<Block> trained = new ArrayList<>();
        for (MoeBlock layer : net.moeLayers()) {
            trained.add(layer.router());
        }
        trained.add(net.classifier());
        resetParts(model, init, trained, "router and head phase");
        boolean[] has = new boolean[classes];
        for (int item : items) {
            has[data.label(item)] = true;
        }
        for (MoeBlock layer : net.moeLayers()) {
            for (int e = 0; e < layer.getNumExperts(); e++) {
                if (e >= classes || !has[e]) {
                    layer.maskExpert(e, true);
                }
            }
        }
        trainOnly(net, trained);
        TrainingRecipe base = plan.recipe();
        float supervision = base.routerSupervision() > 0 ? base.routerSupervision() : 1f;
        report(progress, "routers and head: %d images", items.length);
        runPhase(model, data, keyed, items,
                phaseRecipe(plan, plan.headEpochs(), ImageKeys.mix(plan.seed(), HEAD), identity(classes), HEAD_FORCING, supervision), progress);
    }

    private static TrainingRecipe phaseRecipe(
            ExactPlan plan, int epochs, long seed, int[] expertOfClass, float forcing, float supervision) {
        TrainingRecipe base = plan.recipe();
        return base.toBuilder()
                .optEpochs(epochs)
                .optWarmupEpochs(Math.min(base.warmupEpochs(), epochs))
                .optSeed(seed)
                .optClassRouting(forcing, supervision)
                .optExpertAssignment(expertOfClass)
                .optBalance(0f)
                .optMutualInformation(0f, base.temperature())
                .build();
    }

    private static void runPhase(Model model, LabeledData data, Keyed keyed, int[] items, TrainingRecipe recipe, Consumer<String> progress)
            throws IOException {
        int[] sorted = keyed.sort(items);
        Engine.getInstance().setRandomSeed((int) recipe.seed());
        KeyedView view = new KeyedView(data, sorted, keyed.keysOf(sorted), recipe.batchSize());
        try {
            MoeTraining.fit(model, view, null, recipe, progress == null ? TrainingProgress.silent() : new TrainingProgress() {
                @Override
                public void onEpoch(EpochResult result) {
                    progress.accept(result.toString());
                }
            });
        } catch (TranslateException e) {
            throw new IOException("cannot read the training data: " + e.getMessage(), e);
        }
    }

    /**
     * Makes every parameter trainable that is trainable in a new block of the architecture (so that
     * one built never to train, such as the scale of a scale-free BatchNorm, stays frozen), and
     * freezes the others.
     */
    private static void restoreTrainable(MoeResNet net) {
        Map<String, Boolean> intrinsic = new HashMap<>();
        for (Pair<String, Parameter> p : MoeResNet.of(net.config()).getParameters()) {
            intrinsic.put(p.getKey(), p.getValue().requiresGradient());
        }
        for (Pair<String, Parameter> p : net.getParameters()) {
            Parameter parameter = p.getValue();
            if (!MoeBlocks.isFixed(parameter)) {
                parameter.freeze(!intrinsic.getOrDefault(p.getKey(), true));
            }
        }
    }

    /** Freezes everything but some parts (their parameters that are meant to train). */
    private static void trainOnly(MoeResNet net, List<Block> parts) {
        restoreTrainable(net);
        java.util.Set<String> keep = new java.util.HashSet<>();
        for (Block part : parts) {
            part.getParameters().forEach(p -> keep.add(p.getValue().getId()));
        }
        for (Pair<String, Parameter> p : net.getParameters()) {
            Parameter parameter = p.getValue();
            if (!MoeBlocks.isFixed(parameter) && !keep.contains(parameter.getId())) {
                parameter.freeze(true);
            }
        }
    }

    /** The model at the plan's initialisation: a fresh model from the plan's seed. */
    private static Model initial(Model model, ExactPlan plan) {
        Engine.getInstance().setRandomSeed((int) ImageKeys.mix(plan.seed(), INIT));
        return Models.fresh(model, null);
    }

    /** Sets every tensor of some parts back to its initial value and records the reset. */
    private static void resetParts(Model model, Model init, List<Block> parts, String why) {
        Map<String, String> names = names(model.getBlock());
        Map<String, Parameter> initial = new HashMap<>();
        for (Pair<String, Parameter> p : init.getBlock().getParameters()) {
            initial.put(p.getKey(), p.getValue());
        }
        List<String> tensors = new ArrayList<>();
        for (Block part : parts) {
            for (Pair<String, Parameter> p : part.getParameters()) {
                String name = names.get(p.getValue().getId());
                p.getValue().getArray().set(initial.get(name).getArray().toFloatArray());
                tensors.add(name);
            }
        }
        ProvenanceLedger ledger = ProvenanceLedger.of(model).orElseThrow(() -> new IllegalStateException("the model has no ledger"));
        ledger.withReset(tensors, why).writeTo(model);
    }

    private static int[] negatives(Keyed keyed, int[] publicItems, int count, ExactPlan plan, int classId) {
        int n = (int) Math.min(publicItems.length, Math.round((double) plan.negatives() * count));
        long[] rank = new long[publicItems.length];
        Integer[] order = new Integer[publicItems.length];
        for (int i = 0; i < publicItems.length; i++) {
            rank[i] = ImageKeys.mix(plan.seed(), UNIT, classId, keyed.keyOf(publicItems[i]));
            order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> rank[i]).thenComparingLong(i -> keyed.keyOf(publicItems[i])));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = publicItems[order[i]];
        }
        return out;
    }

    private static MoeResNet checkModel(Model model, int classes) {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkArgument(
                model.getBlock() instanceof MoeResNet,
                "exact training needs a MoeResNet, not a %s",
                model.getBlock() == null ? "null" : model.getBlock().getClass().getSimpleName());
        MoeResNet net = (MoeResNet) model.getBlock();
        Preconditions.checkArgument(!net.moeLayers().isEmpty(), "exact training needs MoE layers; the model has none");
        Preconditions.checkArgument(
                net.numClasses() == classes, "the model has %s classes but the data %s", net.numClasses(), classes);
        for (MoeBlock layer : net.moeLayers()) {
            Preconditions.checkArgument(
                    layer.getTopK() == 1, "exact training routes each image to its class's expert: topK (%s) must be 1", layer.getTopK());
            Preconditions.checkArgument(
                    layer.getNumExperts() >= classes,
                    "exact training gives each class its own expert: numExperts (%s) must be >= the number of classes (%s)",
                    layer.getNumExperts(),
                    classes);
        }
        return net;
    }

    private static Optional<JsonObject> record(Model model) {
        String json = model.getProperty(MODEL_PROPERTY);
        if (json == null || json.isBlank()) {
            return Optional.empty();
        }
        JsonElement e = JsonParser.parseString(json);
        Preconditions.checkArgument(e.isJsonObject() && e.getAsJsonObject().has("plan"), "malformed %s: %s", MODEL_PROPERTY, json);
        return Optional.of(e.getAsJsonObject());
    }

    private static void writeRecord(Model model, ExactPlan plan, Map<Integer, String> fingerprints) {
        JsonObject o = new JsonObject();
        o.add("plan", plan.toJson());
        JsonObject classes = new JsonObject();
        new TreeMap<>(fingerprints).forEach((c, f) -> classes.addProperty(Integer.toString(c), f));
        o.add("classes", classes);
        model.setProperty(MODEL_PROPERTY, o.toString());
    }

    private static int[] identity(int classes) {
        return IntStream.range(0, classes).toArray();
    }

    /** The items of {@code items} whose label is not {@code classId}. */
    private static int[] others(int[] items, LabeledData data, int classId) {
        return Arrays.stream(items).filter(i -> data.label(i) != classId).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static Map<String, String> names(Block root) {
        Map<String, String> out = new HashMap<>();
        for (Pair<String, Parameter> p : root.getParameters()) {
            out.put(p.getValue().getId(), p.getKey());
        }
        return out;
    }

    private static List<String> tensors(Block part, Map<String, String> names) {
        List<String> out = new ArrayList<>();
        for (Pair<String, Parameter> p : part.getParameters()) {
            out.add(names.get(p.getValue().getId()));
        }
        return out;
    }

    private static List<String> tensorsOf(List<Block> parts, Map<String, String> names) {
        List<String> out = new ArrayList<>();
        parts.forEach(p -> out.addAll(tensors(p, names)));
        return out;
    }

    private static String firstNames(List<String> names, int n) {
        if (names.size() <= n) {
            return String.join(", ", names);
        }
        return String.join(", ", names.subList(0, n)) + " and " + (names.size() - n) + " more";
    }

    private static com.google.gson.JsonArray toArray(List<String> names) {
        com.google.gson.JsonArray a = new com.google.gson.JsonArray();
        names.forEach(a::add);
        return a;
    }

    private static void report(Consumer<String> progress, String format, Object... args) {
        if (progress != null) {
            progress.accept(String.format(Locale.ROOT, format, args));
        }
    }

    /** Items with their content keys. */
    private static final class Keyed {
        private final Map<Integer, Long> keys;

        private Keyed(Map<Integer, Long> keys) {
            this.keys = keys;
        }

        static Keyed of(LabeledData data, int[] items) throws IOException {
            long[] k = ImageKeys.of(data, items);
            Map<Integer, Long> map = new LinkedHashMap<>();
            for (int i = 0; i < items.length; i++) {
                map.put(items[i], k[i]);
            }
            return new Keyed(map);
        }

        long keyOf(int item) {
            Long k = keys.get(item);
            Preconditions.checkState(k != null, "item %s was not keyed", item);
            return k;
        }

        long[] keysOf(int[] items) {
            long[] out = new long[items.length];
            for (int i = 0; i < items.length; i++) {
                out[i] = keyOf(items[i]);
            }
            return out;
        }

        int[] sort(int[] items) {
            return ImageKeys.sortByKey(items, keysOf(items));
        }

        int[] itemsOf(Collection<Integer> classes, LabeledData data) {
            return keys.keySet().stream().filter(i -> classes.contains(data.label(i))).mapToInt(Integer::intValue).toArray();
        }

        /** Per class present, the SHA-256 of its images' sorted content keys. */
        Map<Integer, String> fingerprints(LabeledData data) {
            Map<Integer, List<Long>> byClass = new TreeMap<>();
            keys.forEach((item, key) -> byClass.computeIfAbsent(data.label(item), c -> new ArrayList<>()).add(key));
            Map<Integer, String> out = new TreeMap<>();
            for (Map.Entry<Integer, List<Long>> e : byClass.entrySet()) {
                List<Long> sorted = new ArrayList<>(e.getValue());
                sorted.sort(Long::compare);
                Hasher h = Hashing.sha256().newHasher();
                sorted.forEach(h::putLong);
                out.put(e.getKey(), h.hash().toString());
            }
            return out;
        }
    }
}

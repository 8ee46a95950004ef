package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.examples.cli.Converters;
import dev.lethe.examples.cli.Recipes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * The protocol's results as they accumulate: the records ({@link Records}) and the validation
 * sweeps, written after every run as {@code docs/results/cifar10-classwise.json} (compact, {@link
 * Records#slim}) and {@code docs/RESULTS.md}, and the charts ({@link ResultsCharts}) in {@code
 * docs/results/charts/}. The reading ({@code docs/results/reading.md}, written by people) is
 * appended when it exists.
 *
 * <p>RESULTS.md (issues 12–14): the base models (accuracy, training curve and time, routing, the
 * ledger's share of parameters per class) with a PASS/MISS line per isolation target of every
 * class-routed base model; every method's validation sweep; per recipe one table (UA, RA, TA,
 * F-test, MIA and its attacker, the class attack, the probe at every stage, relearning few-shot and
 * retain-only with gaps and areas against Retrain, Avg.Gap, time and its ratio to Retrain,
 * parameters trained and changed, weight distance, removal kind), a PASS/MISS line per method and
 * target, the ledger's account of each run on a class-routed recipe, the exact deletions' check
 * against {@code ExactTraining} without the class, a per-class table and the charts; the tuning
 * class apart; the sequential requests.
 */
final class ResultsReport {

    /** The relearning checkpoints the report shows when the curves have them (issue 12's targets). */
    static final int[] SHOWN_STEPS = {10, 50};

    /** Issue 13's isolation targets: MI share of H(expert), dead experts, mean collateral, accuracy vs plain. */
    static final double MIN_MI_SHARE = 0.80;
    static final int MAX_DEAD_EXPERTS = 0;
    static final double MAX_COLLATERAL = 0.15;
    static final double MAX_ACCURACY_LOSS = 2.0;

    /** Issue 12/14's targets against Retrain: relearning and probe bands, Avg.Gap, TA, cost. */
    static final double MAX_RELEARN_GAP = 10;
    static final double MAX_PROBE_GAP = 5;
    static final double MAX_AVG_GAP = 0.5;
    static final double MAX_TA_GAP = 1;
    static final double MAX_COST_PERCENT = 10;
    static final double MAX_COST_PERCENT_STRONG = 3;
    static final double MAX_COST_PERCENT_EXACT = 20;
    static final double STRONG_MODEL_ACCURACY = 90;

    private final Path docs;
    private final Path cache;
    private final List<String> commandLine;
    private final String data;
    private final int threads;
    private final int retainSample;
    private final int miaPerSide;
    private final double maxForgetAccuracy;
    private final List<String> classNames;
    private final OptionalInt tuningClass;
    private final List<JsonObject> records = new ArrayList<>();
    private final Map<String, List<JsonObject>> sweeps = new LinkedHashMap<>();
    private final Map<String, Map<String, String>> chosenByRecipe = new LinkedHashMap<>();
    private boolean perRecipe;

    /**
     * @param docs where RESULTS.md, results/ and results/charts/ go
     * @param cache the cache of models and run records (named in the text, so that a report written
     *     from another cache does not point at the default one)
     * @param commandLine the options that shape the results, as typed
     * @param data the data: its file, SHA-256 and splits
     * @param threads libtorch threads
     * @param retainSample RA's sample size (for the text)
     * @param miaPerSide the MIA's training images per side (for the text)
     * @param maxForgetAccuracy the sweep's rule (for the text)
     * @param classNames the class names in id order
     * @param tuningClass the class the sweeps forgot, whose runs are reported apart; empty without
     *     {@code --tune}
     */
    ResultsReport(Path docs, Path cache, List<String> commandLine, String data, int threads, int retainSample,
            int miaPerSide, double maxForgetAccuracy, List<String> classNames, OptionalInt tuningClass) {
        this.docs = Preconditions.checkNotNull(docs, "docs must not be null");
        this.cache = Preconditions.checkNotNull(cache, "cache must not be null");
        this.commandLine = List.copyOf(commandLine);
        this.data = data;
        this.threads = threads;
        this.retainSample = retainSample;
        this.miaPerSide = miaPerSide;
        this.maxForgetAccuracy = maxForgetAccuracy;
        this.classNames = List.copyOf(classNames);
        this.tuningClass = tuningClass;
    }

    /**
     * @param options the protocol's options (where to write, the sample sizes, the command line, the
     *     tuning class)
     * @param architecture the architecture options as typed
     * @param data the data: its file, SHA-256 and splits
     * @param threads libtorch threads
     * @param maxForgetAccuracy the sweep's rule
     * @param classNames the class names
     */
    ResultsReport(ProtocolOptions options, String architecture, String data, int threads, double maxForgetAccuracy,
            List<String> classNames) {
        this(options.docs, options.cache, withArchitecture(options.commandLine(), architecture, threads), data, threads,
                options.retainSample, options.miaPerSide, maxForgetAccuracy, classNames,
                options.tune ? OptionalInt.of(options.tuneClass) : OptionalInt.empty());
    }

    private static List<String> withArchitecture(List<String> args, String architecture, int threads) {
        List<String> out = new ArrayList<>(args);
        out.add(architecture);
        out.add("--threads " + threads);
        return out;
    }

    /** @param record a base, run or sequential record, added in the order of the run */
    void add(JsonObject record) {
        records.add(record);
    }

    /**
     * @param recipe the recipe whose base model the sweep ran on
     * @param result one method's sweep
     */
    void tuning(String recipe, Tuning.Result result) {
        sweeps.computeIfAbsent(recipe, r -> new ArrayList<>()).addAll(result.records());
        chosenByRecipe.computeIfAbsent(recipe, r -> new LinkedHashMap<>())
                .put(Converters.cliName(result.method()), result.chosen().name());
    }

    /**
     * @param perRecipe whether each recipe uses its own sweeps' choices ({@code --tune-per-recipe})
     *     rather than the first recipe's (for the text; the choices come with {@link #tuning})
     */
    void chosenPerRecipe(boolean perRecipe) {
        this.perRecipe = perRecipe;
    }

    /** @return the records so far */
    List<JsonObject> records() {
        return List.copyOf(records);
    }

    /**
     * Writes both files (atomically, so a reader never sees half of one), and the charts.
     *
     * @param charts whether to draw the charts too (slower; done after each configuration)
     * @throws IOException if writing fails
     */
    void write(boolean charts) throws IOException {
        Files.createDirectories(docs.resolve("results"));
        JsonObject out = new JsonObject();
        out.addProperty("date", LocalDate.now().toString());
        out.addProperty("command", "./lethe protocol " + String.join(" ", commandLine));
        out.addProperty("threads", threads);
        out.addProperty("data", data);
        tuningClass.ifPresent(c -> out.addProperty("tuningClass", c));
        JsonArray all = new JsonArray();
        records.forEach(r -> all.add(Records.slim(r)));
        out.add("records", all);
        if (!sweeps.isEmpty()) {
            JsonArray sweep = new JsonArray();
            sweeps.values().forEach(l -> l.forEach(sweep::add));
            out.add("validationSweep", sweep);
            JsonObject chosen = new JsonObject();
            chosenByRecipe.forEach((recipe, m) -> {
                JsonObject o = new JsonObject();
                m.forEach(o::addProperty);
                chosen.add(recipe, o);
            });
            out.add("chosenSettings", chosen);
        }
        RunCache.write(docs.resolve("results/cifar10-classwise.json"),
                new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(out));
        if (charts) {
            ResultsCharts.write(docs.resolve(ResultsCharts.FOLDER), records, classNames, methodOrder(), tuningClass);
        }
        RunCache.write(docs.resolve("RESULTS.md"), markdown());
    }

    /** @return the cache as the text names it: as typed, with a trailing slash, in the Markdown's own separator */
    private String cacheForText() {
        String text = cache.toString().replace('\\', '/');
        return text.endsWith("/") ? text : text + "/";
    }

    /**
     * @return RESULTS.md
     * @throws IOException if the reading cannot be read
     */
    String markdown() throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("# Results: class-wise forgetting on CIFAR-10\n\n");
        sb.append("Produced by `./lethe protocol ").append(String.join(" ", commandLine)).append("` on ")
                .append(LocalDate.now()).append(", on this project's 2-core CPU machine (shared; libtorch on ")
                .append(threads).append(" thread").append(threads == 1 ? "" : "s")
                .append("), data ").append(data)
                .append(". Every model and run is cached in `").append(cacheForText())
                .append("`: rerunning the command with `--cache` there resumes. ")
                .append("Machine-readable: [`results/cifar10-classwise.json`](results/cifar10-classwise.json); charts: `")
                .append(ResultsCharts.FOLDER).append("/` (both beside this file).\n\n");
        legend(sb);
        baseModels(sb);
        sweeps(sb);
        Set<String> recipes = new LinkedHashSet<>();
        for (JsonObject r : records) {
            if ("run".equals(str(r, "kind"))) {
                recipes.add(str(r, "recipe"));
            }
        }
        Predicate<JsonObject> evidence = r -> tuningClass.isEmpty() || (int) num(r, "forgetClass") != tuningClass.getAsInt();
        for (String recipe : recipes) {
            sb.append("\n## Class-wise forgetting, ").append(recipe).append(" recipe\n\n");
            sb.append("Mean ± standard deviation over the forgotten classes and seeds listed in the command");
            tuningClass.ifPresent(c -> sb.append(String.format(Locale.ROOT, " (the tuning class %d (%s) is not"
                    + " among them: it is reported apart below)", c, className(c))));
            sb.append("; gaps to Retrain of the same cell in brackets.\n\n");
            table(sb, recipe, evidence);
            targets(sb, recipe, evidence);
            provenance(sb, recipe);
            exactChecks(sb, recipe);
            perClass(sb, recipe, evidence);
            chartLinks(sb, recipe);
        }
        if (tuningClass.isPresent()) {
            Predicate<JsonObject> tuned = evidence.negate();
            boolean any = records.stream().anyMatch(r -> "run".equals(str(r, "kind")) && tuned.test(r));
            if (any) {
                sb.append(String.format(Locale.ROOT, "%n## The tuning class, %d (%s): reported apart, not evidence%n%n"
                        + "Every method's settings were chosen forgetting this class on validation images; its test"
                        + " numbers are therefore not evidence (issue 12).%n%n", tuningClass.getAsInt(),
                        className(tuningClass.getAsInt())));
                for (String recipe : recipes) {
                    sb.append("\n").append(recipe).append(" recipe:\n\n");
                    table(sb, recipe, tuned);
                }
            }
        }
        sequential(sb);
        PublishedAnchors.section(sb);
        Path reading = docs.resolve("results/reading.md");
        if (Files.isRegularFile(reading)) {
            sb.append('\n').append(Files.readString(reading, StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    private void legend(StringBuilder sb) {
        sb.append(String.format(Locale.ROOT, "Metrics (Jia et al. 2023): UA = 100 − accuracy on the forget set D_f;"
                        + " RA = accuracy on a %,d-image sample of D_r; ", retainSample))
                .append("TA = test accuracy on the other classes; F-test = the forgotten class's test accuracy; MIA ="
                        + " MIA-Efficacy ")
                .append(String.format(Locale.ROOT, "(SVM on the true-label probability, trained on %,d members and %,d"
                        + " non-members, the test images of the other classes); MIA atk = that attacker's own held-out"
                        + " accuracy (50 = chance); ", miaPerSide, miaPerSide))
                .append("Avg.Gap = mean |Δ| to Retrain over UA, RA, TA, MIA; time ratio = the method's wall clock /"
                        + " the Retrain's; params = share of parameters trainable in the run / whose values changed;"
                        + " Δw = relative L2 distance of the weights from the original model's (Siddiqui et al. 2025);"
                        + " removal = what the method claims (suppress, erase, exact, retrain).\n\n")
                .append("Attacker-grade measures (issue 12): class atk = balanced accuracy of an attacker telling the"
                        + " class's test images from the others' by the whole probability vector (trained on the"
                        + " validation images; 50 = chance); probe = test accuracy on the forgotten class of a linear"
                        + " probe refitted on the validation images' features at each MoE stage (L1, L2, …) and at the"
                        + " penultimate layer; relearning = the forgotten class's test accuracy after n Adam steps of"
                        + " an attacker fine-tuning every parameter in training mode, few-shot (1 % of the class's"
                        + " training images mixed with retain images) or retain-only; area = signed area between the"
                        + " method's curve and Retrain's (points × steps; > 0: the class comes back faster than in"
                        + " Retrain). All in %.\n\n");
    }

    private void baseModels(StringBuilder sb) {
        sb.append("## Base models\n\n");
        sb.append("| recipe | seed | architecture | test acc | train time | epochs | threads | MI share of H(expert)"
                + " | dead experts (<2 %) | mean k80 | mean collateral | a class's data touched (ledger) |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        List<JsonObject> bases = kind("base");
        for (JsonObject r : bases) {
            JsonObject routing = r.has("routing") ? r.getAsJsonObject("routing") : new JsonObject();
            double k80 = 0;
            int n = 0;
            for (Map.Entry<String, JsonElement> e : routing.entrySet()) {
                if (e.getValue().isJsonObject() && e.getValue().getAsJsonObject().has("k80")) {
                    for (JsonElement v : e.getValue().getAsJsonObject().getAsJsonArray("k80")) {
                        k80 += v.getAsDouble();
                        n++;
                    }
                }
            }
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f | %.0f s | %d | %d | %.1f %% | %d | %s | %s | %s |%n",
                    str(r, "recipe"), str(r, "seed"), str(r, "architecture").isEmpty() ? "–" : str(r, "architecture"),
                    num(r, "testAccuracy"), num(r, "trainSeconds"), (int) num(r, "epochs"), (int) num(r, "threads"),
                    100 * num(routing, "miShare"), (int) num(routing, "deadExperts"),
                    n == 0 ? "–" : String.format(Locale.ROOT, "%.2f", k80 / n), collateral(routing), ledger(r)));
        }
        sb.append("\nValidation accuracy per epoch:\n\n");
        for (JsonObject r : bases) {
            List<String> pts = new ArrayList<>();
            if (r.has("curve")) {
                for (JsonElement p : r.getAsJsonArray("curve")) {
                    pts.add(String.format(Locale.ROOT, "%.1f", p.getAsJsonObject().get("validationAccuracy").getAsDouble()));
                }
            }
            sb.append("- ").append(str(r, "recipe")).append(", seed ").append(str(r, "seed")).append(": ");
            if (r.has("exactPlan")) {
                JsonObject plan = r.getAsJsonObject("exactPlan");
                sb.append(String.format(Locale.ROOT, "ExactTraining, public classes %s: trunk %d, each unit %d, routers"
                                + " and head %d epochs (no per-epoch curve)", plan.get("publicClasses"),
                        plan.get("trunkEpochs").getAsInt(), plan.get("unitEpochs").getAsInt(),
                        plan.get("headEpochs").getAsInt()));
            } else {
                sb.append(pts.isEmpty() ? "(loaded from the cache without its curve)" : String.join(" → ", pts));
            }
            sb.append('\n');
        }
        isolationTargets(sb, bases);
    }

    private static String collateral(JsonObject routing) {
        if (routing.has("meanCollateral")) {
            return String.format(Locale.ROOT, "%.2f", num(routing, "meanCollateral"));
        }
        if (!routing.has("collateralPerClass")) {
            return "–";
        }
        double col = 0;
        int m = 0;
        for (JsonElement v : routing.getAsJsonArray("collateralPerClass")) {
            col += v.getAsDouble();
            m++;
        }
        return String.format(Locale.ROOT, "%.2f", col / Math.max(1, m));
    }

    private static double meanCollateral(JsonObject routing) {
        String s = collateral(routing);
        return s.equals("–") ? Double.NaN : Double.parseDouble(s);
    }

    /** "mean (max) %" of the parameter shares the ledger says each class's data touched. */
    private static String ledger(JsonObject base) {
        if (!base.has("ledger") || !base.getAsJsonObject("ledger").has("touchedShareByClass")) {
            return base.has("ledger") ? "no ledger" : "–";
        }
        double sum = 0;
        double max = 0;
        int n = 0;
        for (JsonElement v : base.getAsJsonObject("ledger").getAsJsonArray("touchedShareByClass")) {
            sum += v.getAsDouble();
            max = Math.max(max, v.getAsDouble());
            n++;
        }
        return String.format(Locale.ROOT, "%.1f %% (max %.1f %%)", 100 * sum / Math.max(1, n), 100 * max);
    }

    /** Issue 13's targets, PASS or MISS with the number, for every base model whose recipe routes by class. */
    private void isolationTargets(StringBuilder sb, List<JsonObject> bases) {
        List<JsonObject> routed = new ArrayList<>();
        for (JsonObject r : bases) {
            if (reference(str(r, "recipe")).isPresent()) {
                routed.add(r);
            }
        }
        if (routed.isEmpty()) {
            return;
        }
        sb.append(String.format(Locale.ROOT, "%nIsolation targets (issue 13) of the class-routed base models: MI(class;"
                + " expert) ≥ %.0f %% of H(expert) (mean over MoE layers), %d dead expert, mean collateral ≤ %.2f, test"
                + " accuracy within %.0f points of the recipe without class routing (same seed and epochs):%n%n",
                100 * MIN_MI_SHARE, MAX_DEAD_EXPERTS, MAX_COLLATERAL, MAX_ACCURACY_LOSS));
        for (JsonObject r : routed) {
            JsonObject routing = r.has("routing") ? r.getAsJsonObject("routing") : new JsonObject();
            double mi = num(routing, "miShare");
            int dead = (int) num(routing, "deadExperts");
            double col = meanCollateral(routing);
            String refName = reference(str(r, "recipe")).orElseThrow();
            Optional<JsonObject> ref = bases.stream().filter(b -> refName.equals(str(b, "recipe"))
                    && str(b, "seed").equals(str(r, "seed")) && num(b, "epochs") == num(r, "epochs")).findFirst();
            sb.append("- ").append(str(r, "recipe")).append(", seed ").append(str(r, "seed")).append(": ");
            sb.append(String.format(Locale.ROOT, "MI share %.1f %% %s", 100 * mi, passMiss(mi >= MIN_MI_SHARE)));
            sb.append(String.format(Locale.ROOT, " · dead experts %d %s", dead, passMiss(dead <= MAX_DEAD_EXPERTS)));
            sb.append(String.format(Locale.ROOT, " · mean collateral %.2f %s", col, passMiss(col <= MAX_COLLATERAL)));
            if (ref.isPresent()) {
                double gap = num(r, "testAccuracy") - num(ref.get(), "testAccuracy");
                sb.append(String.format(Locale.ROOT, " · test accuracy %.2f vs %s %.2f (%+.2f) %s", num(r, "testAccuracy"),
                        refName, num(ref.get(), "testAccuracy"), gap, passMiss(gap >= -MAX_ACCURACY_LOSS)));
            } else {
                sb.append(String.format(Locale.ROOT, " · test accuracy %.2f vs %s: not measured (no %s base model of"
                        + " seed %s and %d epochs in this run)", num(r, "testAccuracy"), refName, refName, str(r, "seed"),
                        (int) num(r, "epochs")));
            }
            sb.append(String.format(Locale.ROOT, " · a class's data touched %s of the parameters%n", ledger(r)));
        }
        sb.append("\nRouting heatmaps (class × expert share of gate mass on the test images, first seed): ");
        List<String> links = new ArrayList<>();
        for (JsonObject r : bases) {
            for (String file : ResultsCharts.routingFiles(r)) {
                links.add("[" + file + "](" + ResultsCharts.FOLDER + "/" + file + ")");
            }
        }
        sb.append(links.isEmpty() ? "none." : String.join(", ", links)).append('\n');
    }

    private static Optional<String> reference(String recipe) {
        try {
            return Recipes.reference(recipe);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static String passMiss(boolean pass) {
        return pass ? "**PASS**" : "**MISS**";
    }

    private void sweeps(StringBuilder sb) {
        sb.append("\n## Settings of every method\n\n");
        if (sweeps.isEmpty()) {
            sb.append("Every method ran with the library's defaults (no `--tune`); `head-only` keeps the settings fixed"
                    + " before any CIFAR run (").append(ProtocolMethods.FIXED_HEAD_ONLY.name()).append(").\n");
            return;
        }
        sb.append(String.format(Locale.ROOT, "Chosen on the validation split (`--tune`, issue 12: the same budget for"
                + " every method): each method's grid (the library's `MethodGrids`: the same number of candidates for"
                + " every method, 3 learning rates × 2 budgets) forgets the tuning class %d (%s) on the base model named"
                + " below; among the candidates leaving the forgotten class at ≤ %.0f %% validation accuracy, the one"
                + " with the highest validation accuracy on the other classes wins (ties: the faster; the library's"
                + " `ValidationSweep`). The test split plays no part. `ours-*`, `head-only-ours` and `fine-tune-ours`"
                + " take the expert-targeted method's choice; `head-only` keeps the settings fixed before any CIFAR run"
                + " (%s); exact deletion has no grid (the plan decides).%s%n",
                tuningClass.orElse(-1), tuningClass.isPresent() ? className(tuningClass.getAsInt()) : "?",
                maxForgetAccuracy, ProtocolMethods.FIXED_HEAD_ONLY.name(),
                perRecipe ? " Each recipe uses its own choices." : " Every recipe uses the first recipe's choices."));
        for (Map.Entry<String, List<JsonObject>> e : sweeps.entrySet()) {
            JsonObject first = e.getValue().get(0);
            sb.append(String.format(Locale.ROOT, "%n%s base model, seed %s:%n%n", e.getKey(), str(first, "seed")));
            sb.append("| method | candidate | val acc, forgotten class | val acc, other classes | time |\n");
            sb.append("|---|---|---|---|---|\n");
            Map<String, String> chosen = chosenByRecipe.getOrDefault(e.getKey(), Map.of());
            for (JsonObject t : e.getValue()) {
                boolean isChosen = str(t, "candidate").equals(chosen.get(str(t, "method")));
                sb.append(String.format(Locale.ROOT, "| %s | %s%s | %.2f | %.2f | %.0f s |%n", str(t, "method"),
                        str(t, "candidate"), isChosen ? " **(chosen)**" : "", num(t, "valForgetAccuracy"),
                        num(t, "valOtherAccuracy"), num(t, "seconds")));
            }
        }
    }

    /** The recipe's one table: every measure of every method, mean ± sd, gaps to Retrain in brackets. */
    private void table(StringBuilder sb, String recipe, Predicate<JsonObject> filter) {
        List<String> layers = new ArrayList<>();
        int[] steps = new int[0];
        for (JsonObject r : records) {
            if (!recipe.equals(str(r, "recipe")) || !"run".equals(str(r, "kind"))) {
                continue;
            }
            if (r.has("probes") && layers.isEmpty()) {
                r.getAsJsonArray("probes").forEach(p -> layers.add(p.getAsJsonObject().get("layer").getAsString()));
            }
            JsonObject curve = curve(r, "fewShot");
            if (curve != null && steps.length == 0) {
                steps = ints(curve.getAsJsonArray("steps"));
            }
        }
        int[] shown = shownSteps(steps);
        int last = steps.length == 0 ? 0 : steps[steps.length - 1];
        if (!layers.isEmpty()) {
            sb.append("Probe columns: ");
            for (int i = 0; i < layers.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(probeLabel(i, layers.size())).append(" = `").append(layers.get(i))
                        .append('`');
            }
            sb.append(".\n\n");
        }
        List<String> head = new ArrayList<>(List.of("method", "scope", "removal", "n", "UA", "RA", "TA", "F-test", "MIA",
                "MIA atk", "class atk"));
        for (int i = 0; i < layers.size(); i++) {
            head.add(probeLabel(i, layers.size()));
        }
        for (int s : shown) {
            head.add("few-shot @" + s);
        }
        head.add("few-shot area");
        head.add("retain-only @" + last);
        head.add("retain-only area");
        head.addAll(List.of("Avg.Gap", "time", "ratio", "params trained / changed", "Δw"));
        sb.append("| ").append(String.join(" | ", head)).append(" |\n|");
        sb.append("---|".repeat(head.size())).append('\n');
        for (String method : methodOrder()) {
            List<JsonObject> rows = rows(recipe, method, filter);
            if (rows.isEmpty()) {
                continue;
            }
            List<String> cells = new ArrayList<>();
            cells.add(method);
            cells.add(str(rows.get(0), "scope"));
            cells.add(str(rows.get(0), "removal"));
            cells.add(String.valueOf(rows.size()));
            for (String f : new String[] {"ua", "ra"}) {
                cells.add(stat(rows, r -> num(r, f), "%.2f"));
            }
            cells.add(withGap(rows, r -> num(r, "ta"), r -> num(vs(r), "taGap"), "%.2f"));
            for (String f : new String[] {"forgetTestAccuracy", "mia", "miaAttackerAccuracy"}) {
                cells.add(stat(rows, r -> num(r, f), "%.2f"));
            }
            cells.add(withGap(rows, r -> num(r, "classAttack"), r -> num(vs(r), "classAttackGap"), "%.1f"));
            for (int i = 0; i < layers.size(); i++) {
                int depth = i;
                String layer = layers.get(i);
                cells.add(withGap(rows, r -> probe(r, depth), r -> vs(r).has("probeGaps")
                        ? num(vs(r).getAsJsonObject("probeGaps"), layer) : Double.NaN, "%.1f"));
            }
            for (int s : shown) {
                cells.add(withGap(rows, r -> relearnAt(r, "fewShot", s), r -> relearnGapAt(r, "fewShot", s), "%.1f"));
            }
            cells.add(stat(rows, r -> relearnArea(r, "fewShot"), "%+.0f"));
            cells.add(withGap(rows, r -> relearnAt(r, "retainOnly", last), r -> relearnGapAt(r, "retainOnly", last),
                    "%.1f"));
            cells.add(stat(rows, r -> relearnArea(r, "retainOnly"), "%+.0f"));
            cells.add(stat(rows, r -> num(r, "avgGap"), "%.2f"));
            cells.add(stat(rows, r -> num(r, "seconds"), "%.0f s"));
            cells.add(stat(rows, r -> 100 * num(r, "seconds") / num(r, "retrainSeconds"), "%.2f %%"));
            cells.add(stat(rows, r -> 100 * num(r, "parametersRetrainedFraction"), "%.1f %%") + " / "
                    + stat(rows, r -> 100 * num(r, "parametersChangedFraction"), "%.1f %%"));
            cells.add(stat(rows, r -> num(r, "weightDistance"), "%.3f"));
            sb.append("| ").append(String.join(" | ", cells)).append(" |\n");
        }
    }

    /** Issue 12/14's targets per method, PASS or MISS with the number (means over the rows). */
    private void targets(StringBuilder sb, String recipe, Predicate<JsonObject> filter) {
        double baseAccuracy = kind("base").stream().filter(b -> recipe.equals(str(b, "recipe")))
                .mapToDouble(b -> num(b, "testAccuracy")).average().orElse(Double.NaN);
        boolean strong = baseAccuracy >= STRONG_MODEL_ACCURACY;
        double cost = strong ? MAX_COST_PERCENT_STRONG : MAX_COST_PERCENT;
        StringBuilder lines = new StringBuilder();
        int[] steps = {};
        for (String method : methodOrder()) {
            if (method.equals(ProtocolMethods.RETRAIN)) {
                continue;
            }
            List<JsonObject> rows = rows(recipe, method, filter);
            if (rows.isEmpty() || !rows.get(0).has("vsRetrain")) {
                continue;
            }
            JsonObject curve = curve(rows.get(0), "retainOnly");
            steps = curve == null ? new int[0] : ints(curve.getAsJsonArray("steps"));
            List<String> checks = new ArrayList<>();
            checks.add(check("Avg.Gap", mean(rows, r -> num(r, "avgGap")), "%.2f", v -> v <= MAX_AVG_GAP));
            checks.add(check("TA vs Retrain", mean(rows, r -> num(vs(r), "taGap")), "%+.2f",
                    v -> Math.abs(v) <= MAX_TA_GAP));
            for (int s : shownSteps(steps)) {
                checks.add(check("few-shot @" + s, mean(rows, r -> relearnGapAt(r, "fewShot", s)), "%+.1f",
                        v -> Math.abs(v) <= MAX_RELEARN_GAP));
            }
            // a hidden class may come back after a few retain-only steps and fade again: the attacker
            // stops where it is highest, so the check reads the checkpoint with the largest mean gap (the
            // latest of equal ones)
            int worstStep = -1;
            double worstRetainOnly = Double.NaN;
            for (int s : steps) {
                double g = mean(rows, r -> relearnGapAt(r, "retainOnly", s));
                if (Double.isFinite(g) && (Double.isNaN(worstRetainOnly) || Math.abs(g) >= Math.abs(worstRetainOnly))) {
                    worstRetainOnly = g;
                    worstStep = s;
                }
            }
            checks.add(check("retain-only, largest gap" + (worstStep < 0 ? "" : " (@" + worstStep + ")"),
                    worstRetainOnly, "%+.1f", v -> Math.abs(v) <= MAX_RELEARN_GAP));
            String worst = null;
            double worstGap = Double.NaN;
            JsonObject gaps = vs(rows.get(0)).has("probeGaps") ? vs(rows.get(0)).getAsJsonObject("probeGaps") : new JsonObject();
            int depth = 0;
            for (String layer : gaps.keySet()) {
                double g = mean(rows, r -> vs(r).has("probeGaps") ? num(vs(r).getAsJsonObject("probeGaps"), layer) : Double.NaN);
                if (Double.isFinite(g) && (Double.isNaN(worstGap) || Math.abs(g) > Math.abs(worstGap))) {
                    worstGap = g;
                    worst = probeLabel(depth, gaps.size());
                }
                depth++;
            }
            checks.add(check("probe, largest gap" + (worst == null ? "" : " (" + worst + ")"), worstGap, "%+.1f",
                    v -> Math.abs(v) <= MAX_PROBE_GAP));
            boolean exact = "exact".equals(str(rows.get(0), "removal"));
            double limit = exact ? MAX_COST_PERCENT_EXACT : cost;
            checks.add(check(String.format(Locale.ROOT, "cost (≤ %.0f %% of Retrain)", limit),
                    mean(rows, r -> 100 * num(r, "seconds") / num(r, "retrainSeconds")), "%.2f %%", v -> v <= limit));
            lines.append("- ").append(method).append(": ").append(String.join(" · ", checks)).append('\n');
        }
        if (lines.length() == 0) {
            return;
        }
        sb.append(String.format(Locale.ROOT, "%nTargets (issues 12 and 14; means over the rows above): Avg.Gap ≤ %.1f;"
                        + " TA within %.0f point of Retrain's; relearning (few-shot after 10 and 50 steps, retain-only at"
                        + " its worst checkpoint) within %.0f points of Retrain's; probe within %.0f points of Retrain's at"
                        + " every stage; cost ≤ %.0f %% of the Retrain's wall clock (%s; exact deletion ≤ %.0f %%).%n%n",
                MAX_AVG_GAP, MAX_TA_GAP, MAX_RELEARN_GAP, MAX_PROBE_GAP, cost,
                strong ? "a ≥ 90 % model" : "the base model is below 90 %: 10 %; ≥ 90 % models: 3 %",
                MAX_COST_PERCENT_EXACT));
        sb.append(lines);
    }

    private static String check(String what, double value, String format, java.util.function.DoublePredicate pass) {
        if (!Double.isFinite(value)) {
            return what + " – (not measured)";
        }
        return what + " " + String.format(Locale.ROOT, format, value) + " " + passMiss(pass.test(value));
    }

    /** The ledger's account of every run on a class-routed recipe. */
    private void provenance(StringBuilder sb, String recipe) {
        if (reference(recipe).isEmpty()) {
            return;
        }
        List<String> lines = new ArrayList<>();
        for (JsonObject r : kind("run")) {
            if (!recipe.equals(str(r, "recipe")) || !r.has("provenance")) {
                continue;
            }
            JsonObject p = r.getAsJsonObject("provenance");
            String who = String.format(Locale.ROOT, "- %s, class %s (%s), seed %s: ", str(r, "method"),
                    str(r, "forgetClass"), str(r, "forgetClassName"), str(r, "seed"));
            if (!p.get("recorded").getAsBoolean()) {
                lines.add(who + "no ledger (" + str(p, "note") + ")");
                continue;
            }
            lines.add(who + String.format(Locale.ROOT, "the class's data touched %.2f %% of the parameters (%.2f %% more"
                            + " trained on them); re-derived without it %.2f %%; still carrying its influence %.2f %%"
                            + " (%d tensors)%s", 100 * num(p, "touched"), 100 * num(p, "dependent"),
                    100 * num(p, "rederived"), 100 * num(p, "remaining"), (int) num(p, "remainingTensors"),
                    p.has("erased") && p.get("erased").getAsBoolean() ? ": erased" : "")
                    + (p.has("introduced") && num(p, "introduced") > 0
                            ? String.format(Locale.ROOT, ", of which %.2f %% only because the run trained them on the"
                                    + " class's images", 100 * num(p, "introduced"))
                            : ""));
        }
        if (!lines.isEmpty()) {
            sb.append("\nProvenance (the models' ledgers: where the forgotten class's data went in training, and what"
                    + " each run re-derived without it):\n\n").append(String.join("\n", lines)).append('\n');
        }
    }

    /** Issue 13's measurement: an exact deletion against ExactTraining on the data without the class. */
    private void exactChecks(StringBuilder sb, String recipe) {
        List<String> lines = new ArrayList<>();
        for (JsonObject r : records) {
            if (!recipe.equals(str(r, "recipe")) || !r.has("exactCheck")) {
                continue;
            }
            JsonObject c = r.getAsJsonObject("exactCheck");
            boolean same = c.get("bitIdentical").getAsBoolean();
            String classes = "sequential".equals(str(r, "kind")) ? "classes " + r.get("classes") + " one after the other"
                    : "class " + str(r, "forgetClass") + " (" + str(r, "forgetClassName") + ")";
            lines.add(String.format(Locale.ROOT, "- %s, %s, seed %s: parameters and expert masks bit-identical to"
                            + " ExactTraining without %s: %s · deletion %.0f s = %.2f %% of that training (%.0f s, the"
                            + " configuration's Retrain)", str(r, "method"), classes, str(r, "seed"),
                    "sequential".equals(str(r, "kind")) ? "both" : "the class",
                    same ? "**YES** (" + (int) num(c, "tensors") + " tensors)"
                            : String.format(Locale.ROOT, "**NO**: %d of %d tensors differ (%s)%s", (int) num(c, "differing"),
                                    (int) num(c, "tensors"), c.get("firstDiffering"),
                                    c.get("masksEqual").getAsBoolean() ? "" : ", masks differ"),
                    num(r, "seconds"), 100 * num(r, "seconds") / num(c, "referenceSeconds"), num(c, "referenceSeconds")));
        }
        if (!lines.isEmpty()) {
            sb.append("\nExact deletions (issue 13): each deleted model against the model ExactTraining makes with the"
                    + " same plan on the training data without the class (SHA-256 of every parameter tensor, BatchNorm"
                    + " statistics included):\n\n").append(String.join("\n", lines)).append('\n');
        }
    }

    /** Avg.Gap, penultimate probe gap and few-shot @10 gap per forgotten class, when more than one class ran. */
    private void perClass(StringBuilder sb, String recipe, Predicate<JsonObject> filter) {
        Map<Integer, String> classes = new TreeMap<>();
        for (JsonObject r : kind("run")) {
            if (recipe.equals(str(r, "recipe")) && r.has("forgetClass") && filter.test(r)) {
                classes.put(r.get("forgetClass").getAsInt(), str(r, "forgetClassName"));
            }
        }
        if (classes.size() < 2) {
            return;
        }
        int step = SHOWN_STEPS[0];
        sb.append(String.format(Locale.ROOT, "%nPer forgotten class (mean over seeds): Avg.Gap / probe pen. gap / few-shot"
                + " @%d gap to Retrain.%n%n| method |", step));
        for (Map.Entry<Integer, String> c : classes.entrySet()) {
            sb.append(' ').append(c.getValue()).append(" (").append(c.getKey()).append(") |");
        }
        sb.append("\n|---|").append("---|".repeat(classes.size())).append('\n');
        for (String method : methodOrder()) {
            StringBuilder row = new StringBuilder("| ").append(method).append(" |");
            boolean any = false;
            for (int c : classes.keySet()) {
                List<JsonObject> rows = rows(recipe, method, filter.and(r -> (int) num(r, "forgetClass") == c));
                any |= !rows.isEmpty();
                row.append(' ').append(meanText(rows, r -> num(r, "avgGap"), "%.2f")).append(" / ")
                        .append(meanText(rows, ResultsReport::penultimateGap, "%+.1f")).append(" / ")
                        .append(meanText(rows, r -> relearnGapAt(r, "fewShot", step), "%+.1f")).append(" |");
            }
            if (any) {
                sb.append(row).append('\n');
            }
        }
    }

    private void chartLinks(StringBuilder sb, String recipe) {
        List<String> links = new ArrayList<>();
        for (String file : ResultsCharts.recipeFiles(recipe, records, classNames, tuningClass)) {
            links.add("[" + file + "](" + ResultsCharts.FOLDER + "/" + file + ")");
        }
        if (!links.isEmpty()) {
            sb.append("\nCharts: ").append(String.join(", ", links)).append(".\n");
            sb.append("\n![relearning curves, ").append(recipe).append("](").append(ResultsCharts.FOLDER).append('/')
                    .append(ResultsCharts.relearningFile(recipe)).append(")\n");
        }
    }

    /** The sequential requests: every method against the Retrain without both classes. */
    private void sequential(StringBuilder sb) {
        List<JsonObject> all = kind("sequential");
        if (all.isEmpty()) {
            return;
        }
        sb.append("\n## Sequential requests (issue 14)\n\n");
        sb.append("Each method forgets the first class, then the second from its result (the library's unlearner"
                + " keeps the first class out of every later retain set); the Retrain reference is trained on the data"
                + " without both. A and B columns: the final model measured for each class, gaps to the Retrain in"
                + " brackets; others' TA = mean test accuracy of the remaining classes.\n\n");
        Set<String> recipes = new LinkedHashSet<>();
        all.forEach(r -> recipes.add(str(r, "recipe")));
        for (String recipe : recipes) {
            List<JsonObject> ref = all.stream().filter(r -> recipe.equals(str(r, "recipe"))
                    && ProtocolMethods.RETRAIN.equals(str(r, "method"))).toList();
            sb.append(recipe).append(" recipe, classes ").append(ref.isEmpty() ? "?" : str(ref.get(0), "classNames"));
            if (!ref.isEmpty() && ref.get(0).has("trainedWithoutBoth")) {
                sb.append(String.format(Locale.ROOT, "; the Retrain without both trained on %d images: %s", (int) num(ref.get(0),
                        "retainImages"), ref.get(0).get("trainedWithoutBoth").getAsBoolean()
                        ? "the training split without both classes" : "**not** the training split without both classes"));
            }
            int step = sequentialStep(all, recipe);
            sb.append(String.format(Locale.ROOT, ".%n%n| method | n | F-test A | F-test B | others' TA | Avg.Gap A | Avg.Gap B"
                    + " | few-shot @%d A | few-shot @%d B | time | ratio | bit-identical to exact training without both |%n",
                    step, step));
            sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (String method : methodOrder()) {
                List<JsonObject> rows = all.stream().filter(r -> recipe.equals(str(r, "recipe"))
                        && method.equals(str(r, "method"))).toList();
                if (rows.isEmpty()) {
                    continue;
                }
                ToDoubleFunction<JsonObject> secs = r -> num(r, "seconds");
                sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                        method, rows.size(),
                        stat(rows, r -> num(part(r, "first"), "forgetTestAccuracy"), "%.2f"),
                        stat(rows, r -> num(part(r, "second"), "forgetTestAccuracy"), "%.2f"),
                        withGap(rows, r -> num(r, "othersTestAccuracy"), r -> num(r, "othersTestAccuracyGap"), "%.2f"),
                        stat(rows, r -> num(part(r, "first"), "avgGap"), "%.2f"),
                        stat(rows, r -> num(part(r, "second"), "avgGap"), "%.2f"),
                        withGap(rows, r -> relearnAt(part(r, "first"), "fewShot", step),
                                r -> relearnGapAt(part(r, "first"), "fewShot", step), "%.1f"),
                        withGap(rows, r -> relearnAt(part(r, "second"), "fewShot", step),
                                r -> relearnGapAt(part(r, "second"), "fewShot", step), "%.1f"),
                        stat(rows, secs, "%.0f s"),
                        stat(rows, r -> 100 * num(r, "seconds") / num(r, "retrainSeconds"), "%.2f %%"),
                        bitIdentical(rows)));
            }
            sb.append('\n');
        }
    }

    /** The first relearning checkpoint the report shows ({@link #shownSteps}) of a recipe's sequential records. */
    private static int sequentialStep(List<JsonObject> all, String recipe) {
        for (JsonObject r : all) {
            JsonObject c = recipe.equals(str(r, "recipe")) ? curve(part(r, "first"), "fewShot") : null;
            if (c != null) {
                int[] shown = shownSteps(ints(c.getAsJsonArray("steps")));
                if (shown.length > 0) {
                    return shown[0];
                }
            }
        }
        return SHOWN_STEPS[0];
    }

    private static String bitIdentical(List<JsonObject> rows) {
        List<String> out = new ArrayList<>();
        for (JsonObject r : rows) {
            if (r.has("exactCheck")) {
                out.add(r.getAsJsonObject("exactCheck").get("bitIdentical").getAsBoolean() ? "yes" : "**no**");
            }
        }
        return out.isEmpty() ? "–" : String.join(", ", out);
    }

    private static JsonObject part(JsonObject r, String name) {
        return r.has(name) ? r.getAsJsonObject(name) : new JsonObject();
    }

    /** Retrain first, then the registry's order ({@link ProtocolMethods}). */
    static List<String> methodOrder() {
        List<String> order = new ArrayList<>();
        order.add(ProtocolMethods.RETRAIN);
        order.addAll(ProtocolMethods.names());
        return order;
    }

    private String className(int c) {
        return c >= 0 && c < classNames.size() ? classNames.get(c) : "class " + c;
    }

    private List<JsonObject> kind(String kind) {
        List<JsonObject> out = new ArrayList<>();
        records.stream().filter(r -> kind.equals(str(r, "kind"))).forEach(out::add);
        return out;
    }

    /** The run records of a recipe and method that pass a filter. */
    private List<JsonObject> rows(String recipe, String method, Predicate<JsonObject> filter) {
        List<JsonObject> out = new ArrayList<>();
        for (JsonObject r : kind("run")) {
            if (recipe.equals(str(r, "recipe")) && method.equals(str(r, "method")) && filter.test(r)) {
                out.add(r);
            }
        }
        return out;
    }

    static String probeLabel(int i, int n) {
        return i == n - 1 ? "probe pen." : "probe L" + (i + 1);
    }

    /** The checkpoints of {@link #SHOWN_STEPS} the curves have, else their last one. */
    static int[] shownSteps(int[] steps) {
        int[] shown = Arrays.stream(SHOWN_STEPS).filter(s -> Arrays.binarySearch(steps, s) >= 0).toArray();
        return shown.length > 0 || steps.length == 0 ? shown : new int[] {steps[steps.length - 1]};
    }

    static JsonObject vs(JsonObject r) {
        return r.has("vsRetrain") ? r.getAsJsonObject("vsRetrain") : new JsonObject();
    }

    static JsonObject curve(JsonObject r, String mode) {
        return r.has("relearning") && r.getAsJsonObject("relearning").has(mode)
                ? r.getAsJsonObject("relearning").getAsJsonObject(mode) : null;
    }

    static double relearnAt(JsonObject r, String mode, int step) {
        JsonObject c = curve(r, mode);
        if (c == null) {
            return Double.NaN;
        }
        int i = Arrays.binarySearch(ints(c.getAsJsonArray("steps")), step);
        return i < 0 ? Double.NaN : value(c.getAsJsonArray("forgetAccuracy").get(i));
    }

    private static JsonObject relearnVs(JsonObject r, String mode) {
        JsonObject rel = vs(r).has("relearning") ? vs(r).getAsJsonObject("relearning") : new JsonObject();
        return rel.has(mode) ? rel.getAsJsonObject(mode) : null;
    }

    /** The gap to Retrain's curve at a checkpoint. */
    private static double relearnGapAt(JsonObject r, String mode, int step) {
        JsonObject m = relearnVs(r, mode);
        if (m == null || !m.has("forgetGaps")) {
            return Double.NaN;
        }
        for (JsonElement g : m.getAsJsonArray("forgetGaps")) {
            if (g.getAsJsonObject().get("step").getAsInt() == step) {
                return value(g.getAsJsonObject().get("gap"));
            }
        }
        return Double.NaN;
    }

    private static double relearnArea(JsonObject r, String mode) {
        JsonObject m = relearnVs(r, mode);
        return m == null ? Double.NaN : num(m, "forgetArea");
    }

    private static double penultimateGap(JsonObject r) {
        if (!vs(r).has("probeGaps")) {
            return Double.NaN;
        }
        JsonObject gaps = vs(r).getAsJsonObject("probeGaps");
        String last = null;
        for (String k : gaps.keySet()) {
            last = k;
        }
        return last == null ? Double.NaN : num(gaps, last);
    }

    static double probe(JsonObject r, int depth) {
        JsonArray probes = r.has("probes") ? r.getAsJsonArray("probes") : new JsonArray();
        return depth < probes.size() ? value(probes.get(depth).getAsJsonObject().get("forgetAccuracy")) : Double.NaN;
    }

    static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    /** "mean ± sd (gap ± sd)" of a value and its gap to Retrain. */
    private static String withGap(List<JsonObject> rows, ToDoubleFunction<JsonObject> value,
            ToDoubleFunction<JsonObject> gap, String format) {
        String g = stat(rows, gap, "%+.1f");
        return stat(rows, value, format) + (g.equals("–") ? "" : " (" + g + ")");
    }

    static double mean(List<JsonObject> rows, ToDoubleFunction<JsonObject> f) {
        return rows.stream().mapToDouble(f).filter(Double::isFinite).average().orElse(Double.NaN);
    }

    private static String meanText(List<JsonObject> rows, ToDoubleFunction<JsonObject> f, String format) {
        double m = mean(rows, f);
        return Double.isFinite(m) ? String.format(Locale.ROOT, format, m) : "–";
    }

    private static String stat(List<JsonObject> rows, ToDoubleFunction<JsonObject> f, String format) {
        List<Double> v = new ArrayList<>();
        for (JsonObject r : rows) {
            double x = f.applyAsDouble(r);
            if (Double.isFinite(x)) {
                v.add(x);
            }
        }
        if (v.isEmpty()) {
            return "–";
        }
        double mean = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        String m = String.format(Locale.ROOT, format, mean);
        if (v.size() < 2) {
            return m;
        }
        double var = 0;
        for (double x : v) {
            var += (x - mean) * (x - mean);
        }
        return m + String.format(Locale.ROOT, " ± %.2f", Math.sqrt(var / (v.size() - 1)));
    }

    static String str(JsonObject o, String k) {
        return o.has(k) && !o.get(k).isJsonNull() ? o.get(k).getAsString() : "";
    }

    static double num(JsonObject o, String k) {
        return o != null && o.has(k) ? value(o.get(k)) : Double.NaN;
    }

    static double value(JsonElement e) {
        return e == null || e.isJsonNull() || !e.isJsonPrimitive() ? Double.NaN : e.getAsDouble();
    }
}

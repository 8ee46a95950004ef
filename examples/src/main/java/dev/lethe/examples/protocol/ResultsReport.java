package dev.lethe.examples.protocol;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * The protocol's results as they accumulate: the records ({@link Records}) and the validation
 * sweep, written after every run as {@code docs/results/cifar10-classwise.json} (compact, {@link
 * Records#slim}) and {@code docs/RESULTS.md} (tables: base models, the sweep, per recipe the output
 * metrics and the attacker-grade measures against Retrain, per class). The reading ({@code
 * docs/results/reading.md}, written by people) is appended when it exists.
 */
final class ResultsReport {

    /** The relearning checkpoints the report shows when the curves have them (issue 12's targets). */
    private static final int[] SHOWN_STEPS = {10, 50};

    private final Path docs;
    private final List<String> commandLine;
    private final String data;
    private final int threads;
    private final int retainSample;
    private final int miaPerSide;
    private final double maxForgetAccuracy;
    private final List<JsonObject> records = new ArrayList<>();
    private List<JsonObject> tuning = List.of();
    private String chosen;
    private String oursSettings;

    /**
     * @param options the protocol's options (where to write, the sample sizes, the command line)
     * @param architecture the architecture options as typed
     * @param data the data: its file, SHA-256 and splits
     * @param threads libtorch threads
     * @param maxForgetAccuracy the sweep's rule (for the text)
     * @param oursSettings the name of ours' settings in use
     */
    ResultsReport(ProtocolOptions options, String architecture, String data, int threads, double maxForgetAccuracy,
            String oursSettings) {
        this.docs = options.docs;
        this.data = data;
        List<String> args = new ArrayList<>(options.commandLine());
        args.add(architecture);
        args.add("--threads " + threads);
        this.commandLine = List.copyOf(args);
        this.threads = threads;
        this.retainSample = options.retainSample;
        this.miaPerSide = options.miaPerSide;
        this.maxForgetAccuracy = maxForgetAccuracy;
        this.oursSettings = oursSettings;
    }

    /** @param record a base or run record, added in the order of the run */
    void add(JsonObject record) {
        records.add(record);
    }

    /**
     * @param scores the sweep's score records
     * @param chosen the chosen candidate's name, which ours' runs use
     */
    void tuning(List<JsonObject> scores, String chosen) {
        this.tuning = List.copyOf(scores);
        this.chosen = chosen;
        this.oursSettings = chosen;
    }

    /** @return the records so far */
    List<JsonObject> records() {
        return List.copyOf(records);
    }

    /**
     * Writes both files (atomically, so a reader never sees half of one).
     *
     * @throws IOException if writing fails
     */
    void write() throws IOException {
        Files.createDirectories(docs.resolve("results"));
        JsonObject out = new JsonObject();
        out.addProperty("date", LocalDate.now().toString());
        out.addProperty("command", "./lethe protocol " + String.join(" ", commandLine));
        out.addProperty("threads", threads);
        out.addProperty("data", data);
        JsonArray all = new JsonArray();
        records.forEach(r -> all.add(Records.slim(r)));
        out.add("records", all);
        if (!tuning.isEmpty()) {
            JsonArray sweep = new JsonArray();
            tuning.forEach(sweep::add);
            out.add("validationSweep", sweep);
            out.addProperty("chosenSettings", chosen);
        }
        RunCache.write(docs.resolve("results/cifar10-classwise.json"),
                new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(out));
        RunCache.write(docs.resolve("RESULTS.md"), markdown());
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
                .append(". Every model and run is cached in `.lethe/protocol/`: rerunning the command resumes. ")
                .append("Machine-readable: `docs/results/cifar10-classwise.json`.\n\n");
        sb.append(String.format(Locale.ROOT, "Metrics (Jia et al. 2023): UA = 100 − accuracy on the forget set D_f; RA ="
                        + " accuracy on a %,d-image sample of D_r; ", retainSample))
                .append("TA = test accuracy on the other classes; F-test = the forgotten class's test accuracy; MIA ="
                        + " MIA-Efficacy ")
                .append(String.format(Locale.ROOT, "(SVM on the true-label probability, trained on %,d members and %,d"
                        + " non-members, the test images of the other classes); MIA atk = that attacker's own held-out"
                        + " accuracy (50 = chance); ", miaPerSide, miaPerSide))
                .append("Avg.Gap = mean |Δ| to Retrain over UA, RA, TA, MIA; time ratio = the method's wall clock /"
                        + " the Retrain's; params = share of parameters trainable in the run; collateral = the other"
                        + " classes' mean gate-mass share on the selected experts; shift = total-variation distance"
                        + " between the forgotten class's expert shares before and after (test images, mean over MoE"
                        + " layers).\n\n")
                .append("Attacker-grade measures (issue 12): class atk = balanced accuracy of an attacker telling the"
                        + " class's test images from the others' by the whole probability vector (trained on the"
                        + " validation images; 50 = chance); probe = test accuracy on the forgotten class of a linear"
                        + " probe refitted on the validation images' features at each MoE stage and at the"
                        + " penultimate layer; relearning = the forgotten class's test accuracy after n Adam steps of"
                        + " an attacker fine-tuning every parameter in training mode, few-shot (1 % of the class's"
                        + " training images mixed with retain images) or retain-only, and Δ = the mean gap to the"
                        + " Retrain model's curve over the steps (area between the curves / steps; > 0 = the class"
                        + " comes back faster than in Retrain). Gaps in brackets are to Retrain. All in %.\n\n");
        baseModels(sb);
        sweep(sb);
        Set<String> recipes = new LinkedHashSet<>();
        for (JsonObject r : records) {
            if ("run".equals(str(r, "kind"))) {
                recipes.add(str(r, "recipe"));
            }
        }
        for (String recipe : recipes) {
            outputTable(sb, recipe);
            attackerTable(sb, recipe);
            perClass(sb, recipe);
        }
        Path reading = docs.resolve("results/reading.md");
        if (Files.isRegularFile(reading)) {
            sb.append('\n').append(Files.readString(reading, StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    private void baseModels(StringBuilder sb) {
        sb.append("## Base models\n\n");
        sb.append("| recipe | seed | test acc | train time | epochs | threads | MI share of H(expert) | dead experts (<2 %)"
                + " | mean k80 | mean collateral |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        List<JsonObject> bases = kind("base");
        for (JsonObject r : bases) {
            JsonObject routing = r.getAsJsonObject("routing");
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
            double col = 0;
            int m = 0;
            for (JsonElement v : routing.getAsJsonArray("collateralPerClass")) {
                col += v.getAsDouble();
                m++;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.0f s | %d | %d | %.1f %% | %d | %.2f | %.2f |%n",
                    str(r, "recipe"), str(r, "seed"), num(r, "testAccuracy"), num(r, "trainSeconds"),
                    (int) num(r, "epochs"), (int) num(r, "threads"), 100 * num(routing, "miShare"),
                    (int) num(routing, "deadExperts"), k80 / Math.max(1, n), col / Math.max(1, m)));
        }
        sb.append("\nValidation accuracy per epoch:\n\n");
        for (JsonObject r : bases) {
            List<String> pts = new ArrayList<>();
            for (JsonElement p : r.getAsJsonArray("curve")) {
                pts.add(String.format(Locale.ROOT, "%.1f", p.getAsJsonObject().get("validationAccuracy").getAsDouble()));
            }
            sb.append("- ").append(str(r, "recipe")).append(", seed ").append(str(r, "seed")).append(": ")
                    .append(String.join(" → ", pts)).append('\n');
        }
    }

    private void sweep(StringBuilder sb) {
        sb.append("\n## Settings of the expert-targeted method\n\n");
        sb.append("The `ours-*` runs (and `head-only-ours`, `fine-tune-ours`) use: ").append(oursSettings)
                .append(" (retain focus = `optRetainFocus`, distill = weight of the distillation to the original"
                        + " model's retain outputs with the forgotten class removed, T = 2). Every other setting is the"
                        + " library's default.\n");
        if (tuning.isEmpty()) {
            return;
        }
        JsonObject first = tuning.get(0);
        sb.append(String.format(Locale.ROOT, "%nChosen on the validation split (`--tune`, the library's ValidationSweep):"
                + " each candidate forgets class %s on the %s base model (seed %s) with the library's default scope;"
                + " among those leaving the forgotten class at ≤ %.0f %% validation accuracy, the one with the highest"
                + " validation accuracy on the other classes wins (ties: the faster). The test split plays no part.%n%n",
                str(first, "forgetClass"), str(first, "recipe"), str(first, "seed"), maxForgetAccuracy));
        sb.append("| candidate | val acc, forgotten class | val acc, other classes | time |\n|---|---|---|---|\n");
        for (JsonObject t : tuning) {
            sb.append(String.format(Locale.ROOT, "| %s%s | %.2f | %.2f | %.0f s |%n", str(t, "candidate"),
                    str(t, "candidate").equals(chosen) ? " (chosen)" : "",
                    num(t, "valForgetAccuracy"), num(t, "valOtherAccuracy"), num(t, "seconds")));
        }
    }

    private void outputTable(StringBuilder sb, String recipe) {
        sb.append("\n## Class-wise forgetting, ").append(recipe).append(" recipe\n\n");
        sb.append("Mean ± standard deviation over the forgotten classes and seeds listed in the command.\n\n");
        sb.append("| method | scope | removal | n | UA | RA | TA | F-test | MIA | MIA atk | Avg.Gap | time | ratio | params"
                + " | collateral | shift |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String method : methodOrder()) {
            List<JsonObject> rows = rows(recipe, method, -1);
            if (rows.isEmpty()) {
                continue;
            }
            sb.append("| ").append(method).append(" | ").append(str(rows.get(0), "scope")).append(" | ")
                    .append(str(rows.get(0), "removal")).append(" | ").append(rows.size());
            for (String f : new String[] {"ua", "ra", "ta", "forgetTestAccuracy", "mia", "miaAttackerAccuracy", "avgGap"}) {
                sb.append(" | ").append(stat(rows, r -> num(r, f), "%.2f"));
            }
            sb.append(" | ").append(stat(rows, r -> num(r, "seconds"), "%.0f s"));
            sb.append(" | ").append(stat(rows, r -> 100 * num(r, "seconds") / num(r, "retrainSeconds"), "%.2f %%"));
            sb.append(" | ").append(stat(rows, r -> 100 * num(r, "parametersRetrainedFraction"), "%.1f %%"));
            sb.append(" | ").append(stat(rows, r -> num(r, "collateral"), "%.2f"));
            sb.append(" | ").append(stat(rows, r -> num(r, "routingShift"), "%.2f"));
            sb.append(" |\n");
        }
    }

    private void attackerTable(StringBuilder sb, String recipe) {
        List<String> layers = new ArrayList<>();
        int[] steps = new int[0];
        for (JsonObject r : records) {
            if (recipe.equals(str(r, "recipe")) && r.has("probes") && layers.isEmpty()) {
                r.getAsJsonArray("probes").forEach(p -> layers.add(p.getAsJsonObject().get("layer").getAsString()));
            }
            JsonObject curve = curve(r, "fewShot");
            if (recipe.equals(str(r, "recipe")) && curve != null && steps.length == 0) {
                steps = ints(curve.getAsJsonArray("steps"));
            }
        }
        int[] shown = shownSteps(steps);
        int last = steps.length == 0 ? 0 : steps[steps.length - 1];
        sb.append("\nAttacker-grade measures, ").append(recipe).append(" recipe (probe columns: ");
        for (int i = 0; i < layers.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(probeLabel(i, layers.size())).append(" = `").append(layers.get(i)).append('`');
        }
        sb.append(").\n\n| method | n | class atk |");
        for (int i = 0; i < layers.size(); i++) {
            sb.append(' ').append(probeLabel(i, layers.size())).append(" |");
        }
        for (int s : shown) {
            sb.append(" few-shot @").append(s).append(" |");
        }
        sb.append(" few-shot Δ | retain-only @").append(last).append(" | retain-only Δ |\n|---|---|---|");
        sb.append("---|".repeat(layers.size() + shown.length + 3)).append('\n');
        for (String method : methodOrder()) {
            List<JsonObject> rows = rows(recipe, method, -1);
            if (rows.isEmpty()) {
                continue;
            }
            sb.append("| ").append(method).append(" | ").append(rows.size());
            sb.append(" | ").append(withGap(rows, r -> num(r, "classAttack"),
                    r -> num(vs(r), "classAttackGap")));
            for (int i = 0; i < layers.size(); i++) {
                int depth = i;
                String layer = layers.get(i);
                sb.append(" | ").append(withGap(rows, r -> probe(r, depth),
                        r -> vs(r).has("probeGaps") ? num(vs(r).getAsJsonObject("probeGaps"), layer) : Double.NaN));
            }
            for (int s : shown) {
                sb.append(" | ").append(stat(rows, r -> relearnAt(r, "fewShot", s), "%.1f"));
            }
            sb.append(" | ").append(stat(rows, r -> relearnGap(r, "fewShot"), "%+.1f"));
            sb.append(" | ").append(stat(rows, r -> relearnAt(r, "retainOnly", last), "%.1f"));
            sb.append(" | ").append(stat(rows, r -> relearnGap(r, "retainOnly"), "%+.1f"));
            sb.append(" |\n");
        }
    }

    /** Avg.Gap and probe recovery per forgotten class, mean ± sd over seeds, when more than one class ran. */
    private void perClass(StringBuilder sb, String recipe) {
        Map<Integer, String> classes = new TreeMap<>();
        for (JsonObject r : records) {
            if (recipe.equals(str(r, "recipe")) && r.has("forgetClass")) {
                classes.put(r.get("forgetClass").getAsInt(), str(r, "forgetClassName"));
            }
        }
        if (classes.size() < 2) {
            return;
        }
        sb.append("\nPer forgotten class (mean ± sd over seeds): Avg.Gap to Retrain / probe recovery.\n\n| method |");
        for (Map.Entry<Integer, String> c : classes.entrySet()) {
            sb.append(' ').append(c.getValue()).append(" (").append(c.getKey()).append(") |");
        }
        sb.append("\n|---|").append("---|".repeat(classes.size())).append('\n');
        for (String method : methodOrder()) {
            StringBuilder row = new StringBuilder("| ").append(method).append(" |");
            boolean any = false;
            for (int c : classes.keySet()) {
                List<JsonObject> rows = rows(recipe, method, c);
                any |= !rows.isEmpty();
                row.append(' ').append(stat(rows, r -> num(r, "avgGap"), "%.2f")).append(" / ")
                        .append(stat(rows, r -> num(r, "probeRecovery"), "%.1f")).append(" |");
            }
            if (any) {
                sb.append(row).append('\n');
            }
        }
    }

    /** Retrain first, then the registry's order ({@link ProtocolMethods}). */
    private static List<String> methodOrder() {
        List<String> order = new ArrayList<>();
        order.add(ProtocolMethods.RETRAIN);
        order.addAll(ProtocolMethods.names());
        return order;
    }

    private List<JsonObject> kind(String kind) {
        List<JsonObject> out = new ArrayList<>();
        records.stream().filter(r -> kind.equals(str(r, "kind"))).forEach(out::add);
        return out;
    }

    /** The run records of a recipe and method, of one class (or every class for -1). */
    private List<JsonObject> rows(String recipe, String method, int forgetClass) {
        List<JsonObject> out = new ArrayList<>();
        for (JsonObject r : kind("run")) {
            if (recipe.equals(str(r, "recipe")) && method.equals(str(r, "method"))
                    && (forgetClass < 0 || (int) num(r, "forgetClass") == forgetClass)) {
                out.add(r);
            }
        }
        return out;
    }

    private static String probeLabel(int i, int n) {
        return i == n - 1 ? "probe pen." : "probe L" + (i + 1);
    }

    /** The checkpoints of {@link #SHOWN_STEPS} the curves have, else their last one. */
    private static int[] shownSteps(int[] steps) {
        int[] shown = Arrays.stream(SHOWN_STEPS).filter(s -> Arrays.binarySearch(steps, s) >= 0).toArray();
        return shown.length > 0 || steps.length == 0 ? shown : new int[] {steps[steps.length - 1]};
    }

    private static JsonObject vs(JsonObject r) {
        return r.has("vsRetrain") ? r.getAsJsonObject("vsRetrain") : new JsonObject();
    }

    private static JsonObject curve(JsonObject r, String mode) {
        return r.has("relearning") && r.getAsJsonObject("relearning").has(mode)
                ? r.getAsJsonObject("relearning").getAsJsonObject(mode) : null;
    }

    private static double relearnAt(JsonObject r, String mode, int step) {
        JsonObject c = curve(r, mode);
        if (c == null) {
            return Double.NaN;
        }
        int i = Arrays.binarySearch(ints(c.getAsJsonArray("steps")), step);
        return i < 0 ? Double.NaN : value(c.getAsJsonArray("forgetAccuracy").get(i));
    }

    private static double relearnGap(JsonObject r, String mode) {
        JsonObject rel = vs(r).has("relearning") ? vs(r).getAsJsonObject("relearning") : new JsonObject();
        return rel.has(mode) ? num(rel.getAsJsonObject(mode), "meanForgetGap") : Double.NaN;
    }

    private static double probe(JsonObject r, int depth) {
        JsonArray probes = r.has("probes") ? r.getAsJsonArray("probes") : new JsonArray();
        return depth < probes.size() ? value(probes.get(depth).getAsJsonObject().get("forgetAccuracy")) : Double.NaN;
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    /** "mean (gap)" of a value and its gap to Retrain. */
    private static String withGap(List<JsonObject> rows, ToDoubleFunction<JsonObject> value,
            ToDoubleFunction<JsonObject> gap) {
        String g = stat(rows, gap, "%+.1f");
        return stat(rows, value, "%.1f") + (g.equals("–") ? "" : " (" + g + ")");
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

    private static String str(JsonObject o, String k) {
        return o.has(k) && !o.get(k).isJsonNull() ? o.get(k).getAsString() : "";
    }

    private static double num(JsonObject o, String k) {
        return o.has(k) ? value(o.get(k)) : Double.NaN;
    }

    private static double value(JsonElement e) {
        return e == null || e.isJsonNull() ? Double.NaN : e.getAsDouble();
    }
}

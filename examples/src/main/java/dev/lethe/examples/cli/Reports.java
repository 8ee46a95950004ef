package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.routing.RoutingShift;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Writes what the commands measured: JSON, Markdown and PNG charts, and the text tables printed
 * on the console. Every JSON report carries {@link #runInfo()} (version, date, machine, load,
 * threads), so a number can be traced to the run that made it.
 */
public final class Reports {

    /** File name of the JSON report a forgetting run writes. */
    public static final String REPORT_JSON = "report.json";
    /** File name of the Markdown summary a forgetting run writes. */
    public static final String REPORT_MD = "report.md";
    /** File name of the per-class test accuracy chart. */
    public static final String PER_CLASS_PNG = "per-class-accuracy.png";
    /** File name of the chart of the forgotten class's routing before and after. */
    public static final String ROUTING_PNG = "forgotten-class-routing.png";

    private Reports() {}

    /**
     * Describes this run: Lethe version, UTC date, cores, load average, OS, Java and libtorch
     * threads.
     *
     * @return a new JSON object
     */
    public static JsonObject runInfo() {
        JsonObject o = new JsonObject();
        o.addProperty("letheVersion", LetheCli.version());
        o.addProperty("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        o.addProperty("cores", Runtime.getRuntime().availableProcessors());
        o.addProperty("loadAverage", loadAverage());
        o.addProperty("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        o.addProperty("java", System.getProperty("java.version"));
        o.addProperty("threads", RuntimeOptions.effectiveThreads());
        return o;
    }

    /** @return the first three fields of {@code /proc/loadavg}, or "unknown" */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Paths.get("/proc/loadavg")).trim().split("\\s+");
            return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /**
     * Writes pretty-printed JSON, creating the folder.
     *
     * @param file the file
     * @param json the content
     * @throws IOException if writing fails
     */
    public static void writeJson(Path file, JsonElement json) throws IOException {
        write(file, new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(json)
                + "\n");
    }

    private static void write(Path file, String text) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    /**
     * The protocol's metrics side by side, one row per metric, one column per evaluation.
     *
     * @param columns column title → evaluation, in order (e.g. "before", "after", "retrain")
     * @param retrain the Retrain reference for the Avg. Gap row, or null for no such row
     * @return the text table, lines ending in '\n'
     */
    public static String comparisonTable(Map<String, UnlearningEvaluation> columns, UnlearningEvaluation retrain) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-30s", "metric (%)"));
        columns.keySet().forEach(k -> sb.append(String.format(Locale.ROOT, "%12s", k)));
        sb.append('\n');
        for (Map.Entry<String, ToDoubleFunction<UnlearningEvaluation>> row : rows(columns.values()).entrySet()) {
            sb.append(String.format(Locale.ROOT, "%-30s", row.getKey()));
            for (UnlearningEvaluation e : columns.values()) {
                sb.append(String.format(Locale.ROOT, "%12s", format(row.getValue().applyAsDouble(e))));
            }
            sb.append('\n');
        }
        if (retrain != null) {
            sb.append(String.format(Locale.ROOT, "%-30s", "Avg. Gap vs retrain"));
            for (UnlearningEvaluation e : columns.values()) {
                sb.append(String.format(Locale.ROOT, "%12s", format(e.avgGap(retrain))));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * Writes a forgetting run's report into a folder: {@value #REPORT_JSON} ({@link
     * ForgetReport#toJson()}), {@value #REPORT_MD}, {@value #PER_CLASS_PNG} and, when the routing
     * was profiled, {@value #ROUTING_PNG}.
     *
     * @param dir the folder, created if needed
     * @param report the report
     * @return the files written
     * @throws IOException if writing fails
     */
    public static List<Path> write(Path dir, ForgetReport report) throws IOException {
        checkNotNull(report, "report must not be null");
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        Path perClass = dir.resolve(PER_CLASS_PNG);
        Charts.groupedBars(
                perClass,
                String.format(Locale.ROOT, "%s test accuracy per class, forgetting %s", report.dataset(),
                        report.forgetClassName()),
                "test accuracy (%)",
                report.classNames(),
                report.perClassSeries(),
                100);
        files.add(perClass);
        if (report.routingShift().isPresent()) {
            Path routing = dir.resolve(ROUTING_PNG);
            writeRoutingChart(routing, report, report.routingShift().get());
            files.add(routing);
        }
        Path json = dir.resolve(REPORT_JSON);
        writeJson(json, report.toJson());
        files.add(json);
        Path md = dir.resolve(REPORT_MD);
        write(md, markdown(report));
        files.add(md);
        return files;
    }

    private static void writeRoutingChart(Path png, ForgetReport report, RoutingShift shift) throws IOException {
        List<String> rows = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        int experts = 0;
        double max = 0;
        Map<String, List<Integer>> selected = report.expertsRetrained();
        for (String layer : shift.layerNames()) {
            double[] b = shift.layer(layer).before();
            double[] a = shift.layer(layer).after();
            experts = Math.max(experts, b.length);
            String sel = selected.containsKey(layer) ? " " + selected.get(layer) : "";
            rows.add(layer + sel + " before");
            rows.add(layer + sel + " after");
            values.add(b);
            values.add(a);
            for (int e = 0; e < b.length; e++) {
                max = Math.max(max, Math.max(a[e], b[e]));
            }
        }
        Charts.heatmap(
                png,
                String.format(Locale.ROOT, "routing of '%s' test images (retrained experts in brackets)",
                        report.forgetClassName()),
                rows,
                Charts.expertLabels(experts),
                values.toArray(new double[0][]),
                max > 0 ? max : 1,
                "share of the class's gate mass");
    }

    /**
     * The Markdown summary of a forgetting run.
     *
     * @param report the report
     * @return Markdown text
     */
    public static String markdown(ForgetReport report) {
        StringBuilder md = new StringBuilder();
        JsonObject run = runInfo();
        md.append(String.format(Locale.ROOT, "# Forgetting class %d (%s) of %s%n%n", report.forgetClass(),
                report.forgetClassName(), report.dataset()));
        md.append(String.format(Locale.ROOT,
                "Method **%s**, scope %s, seed %d. Unlearning took **%.1f s** and retrained %.2f %% of the"
                        + " parameters.%n%n",
                report.result().method(), report.result().scope(), report.seed(),
                report.result().seconds(), 100 * report.result().parametersRetrainedFraction()));
        md.append(String.format(Locale.ROOT, "Run: Lethe %s, %s, %d cores, load %s, %d libtorch thread(s).%n%n",
                run.get("letheVersion").getAsString(), run.get("date").getAsString(), run.get("cores").getAsInt(),
                run.get("loadAverage").getAsString(), run.get("threads").getAsInt()));

        md.append("## Metrics (%)\n\n");
        UnlearningEvaluation retrain = report.retrain().orElse(null);
        md.append("| metric | before | after |").append(retrain != null ? " retrain |" : "").append('\n');
        md.append("|---|---:|---:|").append(retrain != null ? "---:|" : "").append('\n');
        List<UnlearningEvaluation> shown = new ArrayList<>(List.of(report.before(), report.after()));
        if (retrain != null) {
            shown.add(retrain);
        }
        for (Map.Entry<String, ToDoubleFunction<UnlearningEvaluation>> row : rows(shown).entrySet()) {
            md.append("| ").append(row.getKey()).append(" |");
            for (UnlearningEvaluation e : shown) {
                md.append(' ').append(format(row.getValue().applyAsDouble(e))).append(" |");
            }
            md.append('\n');
        }
        if (retrain != null) {
            md.append("| Avg. Gap vs retrain | ").append(format(report.before().avgGap(retrain))).append(" | ")
                    .append(format(report.after().avgGap(retrain))).append(" | 0.00 |\n");
        }
        md.append('\n');
        if (retrain != null && !Double.isNaN(report.retrainSeconds())) {
            md.append(String.format(Locale.ROOT,
                    "Retrain reference: %.1f s of training; unlearning took %.2f %% of that (%.0f× faster).%n%n",
                    report.retrainSeconds(), 100 * report.result().seconds() / report.retrainSeconds(),
                    report.retrainSeconds() / Math.max(1e-9, report.result().seconds())));
        } else if (retrain == null) {
            md.append("No Retrain reference was given (`--retrain-model DIR`), so there is no Avg. Gap.\n\n");
        }

        md.append("UA = 100 − accuracy on the forgotten class's training images (D_f); RA = accuracy on the"
                + " other training images (D_r); TA = test accuracy on the other classes; MIA-Efficacy ="
                + " share of D_f an SVM on the true-label probability calls non-member (its attacker's own"
                + " accuracy beside it: 50 = chance); probe = test accuracy on the forgotten class of a linear"
                + " probe refitted on the features of the validation images at each MoE layer and at the"
                + " penultimate layer (high = the class is still in the representation); class attack ="
                + " balanced accuracy of an attacker telling the class's images from the others' by the whole"
                + " probability vector (50 = chance).\n\n");

        md.append("## Test accuracy per class (%)\n\n![per-class accuracy](" + PER_CLASS_PNG + ")\n\n");
        md.append("| class | before | after |").append(retrain != null ? " retrain |" : "").append('\n');
        md.append("|---|---:|---:|").append(retrain != null ? "---:|" : "").append('\n');
        double[] b = report.before().perClassTestAccuracy();
        double[] a = report.after().perClassTestAccuracy();
        double[] r = retrain == null ? null : retrain.perClassTestAccuracy();
        for (int c = 0; c < b.length; c++) {
            String name = c < report.classNames().size() ? report.classNames().get(c) : "class " + c;
            md.append("| ").append(c == report.forgetClass() ? "**" + name + "** (forgotten)" : name)
                    .append(" | ").append(format(b[c])).append(" | ").append(format(a[c])).append(" |");
            if (r != null) {
                md.append(' ').append(format(r[c])).append(" |");
            }
            md.append('\n');
        }
        md.append('\n');

        Map<String, List<Integer>> experts = report.expertsRetrained();
        md.append("## Experts retrained\n\n");
        if (experts.isEmpty()) {
            md.append("None selected: method ").append(report.result().method()).append(", scope ")
                    .append(report.result().scope()).append(".\n\n");
        } else {
            md.append("| MoE layer | experts |\n|---|---|\n");
            experts.forEach((layer, ids) -> md.append("| ").append(layer).append(" | ").append(ids).append(" |\n"));
            md.append('\n');
            report.result().selection().ifPresent(s -> {
                if (!s.isClassSpecific()) {
                    md.append("**Warning:** the selected experts are not class-specific (see the notes).\n\n");
                }
            });
        }
        if (report.routingShift().isPresent()) {
            md.append("## Routing of the forgotten class\n\n");
            md.append(String.format(Locale.ROOT, "Share of the gate mass of the forgotten class's test images per"
                    + " expert, before and after (%.1f %% of it moved, mean total variation over the MoE layers). If"
                    + " the mass merely moves to other experts, the router sent the class elsewhere rather than the"
                    + " experts forgetting it.%n%n", 100 * report.routingShift().get().meanTotalVariation()));
            md.append("![routing](" + ROUTING_PNG + ")\n\n");
        }
        if (!report.notes().isEmpty()) {
            md.append("## Notes\n\n");
            report.notes().forEach(n -> md.append("- ").append(n).append('\n'));
            md.append('\n');
        }
        md.append("Full numbers: [" + REPORT_JSON + "](" + REPORT_JSON + ").\n");
        return md.toString();
    }

    private static String format(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    /**
     * The rows of the comparison tables: the protocol's metrics, then the attacker-grade measures
     * the evaluations carry (the MIA attacker's accuracy, the class attack, a probe per MoE layer),
     * each read from the library's {@link UnlearningEvaluation}.
     *
     * @param evaluations the evaluations shown (the probe rows are the first one's layers)
     * @return row label → value, in order
     */
    static Map<String, ToDoubleFunction<UnlearningEvaluation>> rows(Collection<UnlearningEvaluation> evaluations) {
        Map<String, ToDoubleFunction<UnlearningEvaluation>> rows = new LinkedHashMap<>();
        rows.put("UA", UnlearningEvaluation::ua);
        rows.put("RA", UnlearningEvaluation::ra);
        rows.put("TA", UnlearningEvaluation::ta);
        rows.put("forget-class test accuracy", UnlearningEvaluation::forgetTestAccuracy);
        rows.put("MIA-Efficacy", UnlearningEvaluation::mia);
        rows.put("MIA attacker accuracy", UnlearningEvaluation::miaAttackerAccuracy);
        rows.put("class attack", e -> e.classAttack().map(a -> a.accuracy()).orElse(Double.NaN));
        List<LayerProbes.Depth> depths = evaluations.isEmpty() ? List.of() : evaluations.iterator().next().probes();
        for (int i = 0; i < depths.size() - 1; i++) {
            int depth = i;
            rows.put("probe, MoE layer " + (i + 1), e -> e.probes().size() > depth
                    ? e.probes().get(depth).forgetAccuracy() : Double.NaN);
        }
        rows.put("probe recovery (penultimate)", UnlearningEvaluation::probeForgetAccuracy);
        rows.put("probe, other classes", UnlearningEvaluation::probeRetainAccuracy);
        return rows;
    }
}

package dev.lethe.examples.protocol;

import static dev.lethe.examples.protocol.ResultsReport.num;
import static dev.lethe.examples.protocol.ResultsReport.str;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.lethe.examples.cli.Charts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

/**
 * The protocol's PNG charts (issue 14), drawn from the records with {@link Charts} into {@code
 * docs/results/charts/}, per recipe: the relearning curves of every method (the forgotten class's
 * test accuracy against the attacker's steps, few-shot and retain-only side by side, Retrain in
 * black), the probe accuracy at every stage per method, the per-class test accuracy before (the
 * base model) and after (Retrain and every method) for each forgotten class; and per base model
 * a class × expert routing heatmap per MoE layer. Means over the forgotten classes and seeds; the
 * tuning class is left out (it is not evidence).
 */
final class ResultsCharts {

    /** The charts' folder, relative to {@code docs/}. */
    static final String FOLDER = "results/charts";

    private ResultsCharts() {}

    /**
     * @param recipe a recipe name
     * @return the file of its relearning curves
     */
    static String relearningFile(String recipe) {
        return "relearning-" + slug(recipe) + ".png";
    }

    /**
     * @param recipe a recipe name
     * @return the file of its probe accuracy per stage
     */
    static String probesFile(String recipe) {
        return "probes-" + slug(recipe) + ".png";
    }

    /**
     * @param recipe a recipe name
     * @param className the forgotten class's name
     * @return the file of its per-class accuracy before and after
     */
    static String perClassFile(String recipe, String className) {
        return "per-class-" + slug(recipe) + "-" + slug(className) + ".png";
    }

    /**
     * @param base a base record
     * @return the files of its routing heatmaps, one per MoE layer with shares, in layer order
     */
    static List<String> routingFiles(JsonObject base) {
        List<String> out = new ArrayList<>();
        int i = 1;
        for (String layer : routingLayers(base).keySet()) {
            out.add(String.format(Locale.ROOT, "routing-%s-seed%s-L%d.png", slug(str(base, "recipe")), str(base, "seed"), i++));
        }
        return out;
    }

    /**
     * @param recipe a recipe name
     * @param records every record
     * @param classNames the class names
     * @param tuningClass the tuning class, whose runs are left out
     * @return the files {@link #write} draws for the recipe's runs (relearning, probes, per class)
     */
    static List<String> recipeFiles(String recipe, List<JsonObject> records, List<String> classNames,
            OptionalInt tuningClass) {
        List<String> out = new ArrayList<>();
        boolean any = false;
        Set<Integer> classes = new java.util.TreeSet<>();
        for (JsonObject r : records) {
            if ("run".equals(str(r, "kind")) && recipe.equals(str(r, "recipe")) && evidence(r, tuningClass)) {
                any = true;
                classes.add((int) num(r, "forgetClass"));
            }
        }
        if (!any) {
            return out;
        }
        out.add(relearningFile(recipe));
        out.add(probesFile(recipe));
        for (int c : classes) {
            out.add(perClassFile(recipe, classNames.get(c)));
        }
        return out;
    }

    /**
     * Draws every chart the records allow.
     *
     * @param folder where the PNGs go (created)
     * @param records every record (base, run, sequential), as kept in memory (with evaluations)
     * @param classNames the class names
     * @param methodOrder the methods in the report's order, Retrain first
     * @param tuningClass the tuning class, left out of the means
     * @return the files written, by name
     * @throws IOException if writing fails
     */
    static List<Path> write(Path folder, List<JsonObject> records, List<String> classNames, List<String> methodOrder,
            OptionalInt tuningClass) throws IOException {
        List<Path> written = new ArrayList<>();
        Set<String> recipes = new LinkedHashSet<>();
        for (JsonObject r : records) {
            if ("run".equals(str(r, "kind"))) {
                recipes.add(str(r, "recipe"));
            }
        }
        for (String recipe : recipes) {
            Map<String, List<JsonObject>> byMethod = new LinkedHashMap<>();
            for (String m : methodOrder) {
                List<JsonObject> rows = new ArrayList<>();
                for (JsonObject r : records) {
                    if ("run".equals(str(r, "kind")) && recipe.equals(str(r, "recipe")) && m.equals(str(r, "method"))
                            && evidence(r, tuningClass)) {
                        rows.add(r);
                    }
                }
                if (!rows.isEmpty()) {
                    byMethod.put(m, rows);
                }
            }
            if (byMethod.isEmpty()) {
                continue;
            }
            written.add(relearning(folder.resolve(relearningFile(recipe)), recipe, byMethod));
            written.add(probes(folder.resolve(probesFile(recipe)), recipe, byMethod));
            written.addAll(perClass(folder, recipe, records, byMethod, classNames));
        }
        for (JsonObject base : records) {
            if ("base".equals(str(base, "kind"))) {
                written.addAll(routing(folder, base, classNames));
            }
        }
        return written;
    }

    private static Path relearning(Path png, String recipe, Map<String, List<JsonObject>> byMethod) throws IOException {
        List<Charts.Panel> panels = new ArrayList<>();
        String[][] modes = {{"fewShot", "few-shot relearning: attacker's steps"},
            {"retainOnly", "retain-only fine-tuning: attacker's steps"}};
        for (String[] mode : modes) {
            Map<String, double[][]> series = new LinkedHashMap<>();
            for (Map.Entry<String, List<JsonObject>> e : byMethod.entrySet()) {
                TreeMap<Integer, double[]> sums = new TreeMap<>(); // step -> {sum, n}
                for (JsonObject r : e.getValue()) {
                    JsonObject c = ResultsReport.curve(r, mode[0]);
                    if (c == null) {
                        continue;
                    }
                    int[] steps = ResultsReport.ints(c.getAsJsonArray("steps"));
                    JsonArray acc = c.getAsJsonArray("forgetAccuracy");
                    for (int i = 0; i < steps.length; i++) {
                        double v = ResultsReport.value(acc.get(i));
                        if (Double.isFinite(v)) {
                            double[] s = sums.computeIfAbsent(steps[i], k -> new double[2]);
                            s[0] += v;
                            s[1]++;
                        }
                    }
                }
                if (sums.isEmpty()) {
                    continue;
                }
                double[][] xy = new double[2][sums.size()];
                int i = 0;
                for (Map.Entry<Integer, double[]> s : sums.entrySet()) {
                    xy[0][i] = s.getKey();
                    xy[1][i] = s.getValue()[0] / s.getValue()[1];
                    i++;
                }
                series.put(e.getKey(), xy);
            }
            panels.add(new Charts.Panel(mode[1], series));
        }
        Charts.curves(png, "Relearning of the forgotten class, " + recipe + " recipe (mean over classes and seeds)",
                "forgotten class, test accuracy (%)", panels, ProtocolMethods.RETRAIN, 100);
        return png;
    }

    private static Path probes(Path png, String recipe, Map<String, List<JsonObject>> byMethod) throws IOException {
        int depth = 0;
        for (List<JsonObject> rows : byMethod.values()) {
            for (JsonObject r : rows) {
                depth = Math.max(depth, r.has("probes") ? r.getAsJsonArray("probes").size() : 0);
            }
        }
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            labels.add(ResultsReport.probeLabel(i, depth).replace("probe ", ""));
        }
        Map<String, double[]> series = new LinkedHashMap<>();
        for (Map.Entry<String, List<JsonObject>> e : byMethod.entrySet()) {
            double[] v = new double[depth];
            for (int i = 0; i < depth; i++) {
                int d = i;
                v[i] = ResultsReport.mean(e.getValue(), r -> ResultsReport.probe(r, d));
            }
            series.put(e.getKey(), v);
        }
        Charts.categoryLines(png, "Linear probe on the forgotten class per stage, " + recipe + " recipe",
                "forgotten class, probe test accuracy (%)", labels, series, ProtocolMethods.RETRAIN, 100);
        return png;
    }

    private static List<Path> perClass(Path folder, String recipe, List<JsonObject> records,
            Map<String, List<JsonObject>> byMethod, List<String> classNames) throws IOException {
        int numClasses = classNames.size();
        double[] before = new double[numClasses];
        int bases = 0;
        for (JsonObject r : records) {
            if ("base".equals(str(r, "kind")) && recipe.equals(str(r, "recipe")) && r.has("perClassTestAccuracy")) {
                add(before, r.getAsJsonArray("perClassTestAccuracy"));
                bases++;
            }
        }
        Set<Integer> classes = new java.util.TreeSet<>();
        byMethod.values().forEach(rows -> rows.forEach(r -> classes.add((int) num(r, "forgetClass"))));
        List<Path> out = new ArrayList<>();
        for (int c : classes) {
            Map<String, double[]> series = new LinkedHashMap<>();
            if (bases > 0) {
                series.put("before", scale(before, 1.0 / bases));
            }
            for (Map.Entry<String, List<JsonObject>> e : byMethod.entrySet()) {
                double[] sum = new double[numClasses];
                int n = 0;
                for (JsonObject r : e.getValue()) {
                    if ((int) num(r, "forgetClass") == c && r.has("evaluation")
                            && r.getAsJsonObject("evaluation").has("perClassTestAccuracy")) {
                        add(sum, r.getAsJsonObject("evaluation").getAsJsonArray("perClassTestAccuracy"));
                        n++;
                    }
                }
                if (n > 0) {
                    series.put(e.getKey(), scale(sum, 1.0 / n));
                }
            }
            Path png = folder.resolve(perClassFile(recipe, classNames.get(c)));
            Charts.groupedBars(png, String.format(Locale.ROOT, "Test accuracy per class before and after forgetting %s,"
                    + " %s recipe", classNames.get(c), recipe), "test accuracy (%)", classNames, series, 100);
            out.add(png);
        }
        return out;
    }

    private static List<Path> routing(Path folder, JsonObject base, List<String> classNames) throws IOException {
        List<Path> out = new ArrayList<>();
        List<String> files = routingFiles(base);
        int i = 0;
        for (Map.Entry<String, JsonArray> layer : routingLayers(base).entrySet()) {
            JsonArray rows = layer.getValue();
            double[][] values = new double[rows.size()][];
            double max = 0;
            for (int c = 0; c < values.length; c++) {
                JsonArray row = rows.get(c).getAsJsonArray();
                values[c] = new double[row.size()];
                for (int x = 0; x < row.size(); x++) {
                    values[c][x] = row.get(x).getAsDouble();
                    max = Math.max(max, values[c][x]);
                }
            }
            List<String> labels = new ArrayList<>(classNames.subList(0, Math.min(classNames.size(), values.length)));
            while (labels.size() < values.length) {
                labels.add("class " + labels.size());
            }
            Path png = folder.resolve(files.get(i++));
            Charts.heatmap(png, String.format(Locale.ROOT, "Routing of the test images, %s, seed %s: %s", str(base, "recipe"),
                    str(base, "seed"), layer.getKey()), labels,
                    Charts.expertLabels(values.length == 0 ? 0 : values[0].length), values, max > 0 ? max : 1,
                    "share of the class's gate mass");
            out.add(png);
        }
        return out;
    }

    /** The class × expert shares of each MoE layer of a base record, in layer order. */
    private static Map<String, JsonArray> routingLayers(JsonObject base) {
        Map<String, JsonArray> out = new LinkedHashMap<>();
        JsonObject routing = base.has("routing") ? base.getAsJsonObject("routing") : new JsonObject();
        for (Map.Entry<String, JsonElement> e : routing.entrySet()) {
            if (e.getValue().isJsonObject() && e.getValue().getAsJsonObject().has("shares")) {
                out.put(e.getKey(), e.getValue().getAsJsonObject().getAsJsonArray("shares"));
            }
        }
        return out;
    }

    private static void add(double[] sum, JsonArray values) {
        for (int i = 0; i < sum.length && i < values.size(); i++) {
            sum[i] += ResultsReport.value(values.get(i));
        }
    }

    private static double[] scale(double[] v, double f) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * f;
        }
        return out;
    }

    private static boolean evidence(JsonObject run, OptionalInt tuningClass) {
        return tuningClass.isEmpty() || (int) num(run, "forgetClass") != tuningClass.getAsInt();
    }

    /** A file-name-safe form of a name: letters, digits, '.', '-'; the rest becomes '_'. */
    static String slug(String name) {
        return name.replaceAll("[^A-Za-z0-9.-]", "_");
    }
}

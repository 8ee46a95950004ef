package dev.lethe.examples.protocol;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Renders protocol records as {@code docs/RESULTS.md}. */
final class ResultsReport {

    private static final String[] ORDER = {
        "retrain", "fine-tune", "fine-tune-ours", "gradient-ascent", "random-labels", "head-only", "head-only-ours", "ours-experts", "ours-router", "ours-head", "ours-all"
    };

    private ResultsReport() {}

    static String markdown(List<JsonObject> records, List<JsonObject> tuning, String oursSettings, List<String> args, int threads, int retainSample, int miaPerSide, int limit, Path docs)
            throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("# Results: class-wise forgetting on CIFAR-10\n\n");
        sb.append("Produced by `./lethe protocol ").append(String.join(" ", args)).append("` on ")
                .append(LocalDate.now()).append(", on this project's 2-core CPU machine (shared; libtorch on ")
                .append(threads).append(" thread").append(threads == 1 ? "" : "s")
                .append("), real CIFAR-10 from `../shared/data/cifar-10-binary.tar.gz`, 45,000 train / 5,000 validation (seed 0) / 10,000 test")
                .append(limit > 0 ? " (training images limited to the first " + limit + ")" : "")
                .append(". Every model and run is cached in `.lethe/protocol/`: rerunning the command resumes. ")
                .append("Machine-readable: `docs/results/cifar10-classwise.json`.\n\n");
        sb.append(String.format(Locale.ROOT, "Metrics (Jia et al. 2023): UA = 100 − accuracy on the forget set D_f; RA = accuracy on a %,d-image sample of D_r; ", retainSample))
                .append("TA = test accuracy on the other classes; F-test = the forgotten class's test accuracy; MIA = MIA-Efficacy ")
                .append(String.format(Locale.ROOT, "(RBF SVM, C = 3, gamma = 1, on the true-label probability, trained on %,d members and %,d non-members); ", miaPerSide, miaPerSide))
                .append("probe = test accuracy on the forgotten class of a linear probe refitted on the penultimate features of the 5,000 ")
                .append("validation images (never used for training or unlearning); Avg.Gap = mean |Δ| to Retrain over UA, RA, TA, MIA; ")
                .append("time ratio = the method's wall clock / the Retrain's; params = share of parameters trainable in the run; ")
                .append("collateral = the other classes' mean gate-mass share on the selected experts; shift = total-variation distance ")
                .append("between the forgotten class's expert shares before and after (test images, mean over MoE layers); ")
                .append("relearn = F-test after 10 Adam steps on 1 % of the forget images (+ as many retain images). All in %.\n\n");

        sb.append("## Base models\n\n");
        sb.append("| recipe | seed | test acc | train time | epochs | threads | MI share of H(expert) | dead experts (<2 %) | mean k80 | mean collateral |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (JsonObject r : records) {
            if (!"base".equals(str(r, "kind"))) {
                continue;
            }
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
        for (JsonObject r : records) {
            if (!"base".equals(str(r, "kind"))) {
                continue;
            }
            sb.append("- ").append(str(r, "recipe")).append(": ");
            List<String> pts = new ArrayList<>();
            for (JsonElement p : r.getAsJsonArray("curve")) {
                pts.add(String.format(Locale.ROOT, "%.1f", p.getAsJsonObject().get("validationAccuracy").getAsDouble()));
            }
            sb.append(String.join(" → ", pts)).append('\n');
        }

        sb.append("\n## Settings of the expert-targeted method\n\n");
        sb.append("The `ours-*` runs use: ").append(oursSettings).append(" (retain focus = `optRetainFocus`, distill = weight of the ")
                .append("distillation to the original model's retain outputs with the forgotten class removed, T = 2; ")
                .append("2 passes over the forget set, Adam, `coverage(0.9)` selection).\n");
        if (!tuning.isEmpty()) {
            JsonObject first = tuning.get(0);
            sb.append(String.format(Locale.ROOT, "%nChosen on the validation split (`--tune`): each candidate forgets class %s on the %s base model (seed %s) "
                    + "with the experts + router scope; among those leaving the forgotten class at ≤ %.0f %% validation accuracy, the one "
                    + "with the highest validation accuracy on the other classes wins (ties: the faster). The test split plays no part.%n%n",
                    str(first, "forgetClass"), str(first, "recipe"), str(first, "seed"), ValidationSweep.MAX_FORGET_ACCURACY));
            sb.append("| candidate | val acc, forgotten class | val acc, other classes | time |\n|---|---|---|---|\n");
            for (JsonObject t : tuning) {
                sb.append(String.format(Locale.ROOT, "| %s%s | %.2f | %.2f | %.0f s |%n", str(t, "candidate"),
                        str(t, "candidate").equals(oursSettings) ? " (chosen)" : "",
                        num(t, "valForgetAccuracy"), num(t, "valOtherAccuracy"), num(t, "seconds")));
            }
        }

        Set<String> recipes = new LinkedHashSet<>();
        for (JsonObject r : records) {
            if ("run".equals(str(r, "kind")) || "retrain".equals(str(r, "method"))) {
                recipes.add(str(r, "recipe"));
            }
        }
        for (String recipe : recipes) {
            sb.append("\n## Class-wise forgetting, ").append(recipe).append(" recipe\n\n");
            sb.append("Mean ± standard deviation over the forgotten classes and seeds listed in the command.\n\n");
            sb.append("| method | scope | n | UA | RA | TA | F-test | MIA | probe | Avg.Gap | time | ratio | params | collateral | shift | relearn |\n");
            sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (String method : ORDER) {
                List<JsonObject> rows = new ArrayList<>();
                for (JsonObject r : records) {
                    if (recipe.equals(str(r, "recipe")) && method.equals(str(r, "method"))) {
                        rows.add(r);
                    }
                }
                if (rows.isEmpty()) {
                    continue;
                }
                sb.append("| ").append(method).append(" | ").append(str(rows.get(0), "scope")).append(" | ").append(rows.size());
                for (String f : new String[] {"ua", "ra", "ta", "forgetTestAccuracy", "mia", "probeRecovery", "avgGap"}) {
                    sb.append(" | ").append(stat(rows, r -> num(r, f), "%.2f"));
                }
                sb.append(" | ").append(stat(rows, r -> num(r, "seconds"), "%.0f s"));
                sb.append(" | ").append(stat(rows, r -> 100 * num(r, "seconds") / num(r, "retrainSeconds"), "%.2f %%"));
                sb.append(" | ").append(stat(rows, r -> 100 * num(r, "parametersRetrainedFraction"), "%.1f %%"));
                sb.append(" | ").append(stat(rows, r -> num(r, "collateral"), "%.2f"));
                sb.append(" | ").append(stat(rows, ResultsReport::shift, "%.2f"));
                sb.append(" | ").append(stat(rows, r -> r.has("relearn") ? num(r.getAsJsonObject("relearn"), "step10") : Double.NaN, "%.1f"));
                sb.append(" |\n");
            }
            perClass(sb, records, recipe);
        }
        Path reading = docs.resolve("results/reading.md");
        if (Files.isRegularFile(reading)) {
            sb.append('\n').append(Files.readString(reading, StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /** Avg.Gap and probe recovery per forgotten class, mean ± sd over seeds, when more than one class ran. */
    private static void perClass(StringBuilder sb, List<JsonObject> records, String recipe) {
        Map<Integer, String> classes = new java.util.TreeMap<>();
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
        for (String method : ORDER) {
            StringBuilder row = new StringBuilder("| ").append(method).append(" |");
            boolean any = false;
            for (int c : classes.keySet()) {
                List<JsonObject> rows = new ArrayList<>();
                for (JsonObject r : records) {
                    if (recipe.equals(str(r, "recipe")) && method.equals(str(r, "method")) && r.has("forgetClass")
                            && r.get("forgetClass").getAsInt() == c) {
                        rows.add(r);
                    }
                }
                any |= !rows.isEmpty();
                row.append(' ').append(stat(rows, r -> num(r, "avgGap"), "%.2f")).append(" / ")
                        .append(stat(rows, r -> num(r, "probeRecovery"), "%.1f")).append(" |");
            }
            if (any) {
                sb.append(row).append('\n');
            }
        }
    }

    private static double shift(JsonObject r) {
        if (!r.has("routingShift")) {
            return Double.NaN;
        }
        double sum = 0;
        int n = 0;
        for (Map.Entry<String, JsonElement> e : r.getAsJsonObject("routingShift").entrySet()) {
            sum += e.getValue().getAsJsonObject().get("totalVariation").getAsDouble();
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static String stat(List<JsonObject> rows, java.util.function.ToDoubleFunction<JsonObject> f, String format) {
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
        return o.has(k) && !o.get(k).isJsonNull() ? o.get(k).getAsDouble() : Double.NaN;
    }

}

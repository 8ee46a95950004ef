package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.eval.tuning.MethodGrids;
import dev.lethe.eval.tuning.ValidationScore;
import dev.lethe.eval.tuning.ValidationSweep;
import dev.lethe.examples.cli.Converters;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The protocol's validation sweeps ({@code --tune}, issue 12: the same validation budget for every
 * method): for each library method, the library's grid ({@link MethodGrids#of}, the same number
 * of candidates for every method, {@link ValidationSweep#checkSameBudget}) is scored on the
 * validation split by the library's {@link ValidationSweep}, and its one selection rule picks the
 * candidate. Each score is cached in the {@link RunCache}, so a rerun unlearns nothing.
 */
final class Tuning {

    /**
     * What one method's sweep found.
     *
     * @param method the library method
     * @param chosen the chosen candidate
     * @param records one record per scored candidate ({@link ValidationScore#toJson()} plus {@code
     *     method}, {@code recipe}, {@code seed}, {@code forgetClass}), in grid order
     */
    record Result(Method method, Candidate chosen, List<JsonObject> records) {}

    private final ValidationSweep sweep;
    private final RunCache runs;
    private final boolean reportOnly;

    /**
     * @param validation the held-out images the candidates are scored on
     * @param runs the record cache
     * @param reportOnly whether unlearning is forbidden ({@code --report-only}: cached scores only)
     */
    Tuning(LabeledData validation, RunCache runs, boolean reportOnly) {
        this.sweep = ValidationSweep.builder().setValidationData(validation).build();
        this.runs = runs;
        this.reportOnly = reportOnly;
    }

    /** @return the sweep's rule: the largest validation accuracy (%) of the forgotten class that counts as forgotten */
    double maxForgetAccuracy() {
        return sweep.maxForgetAccuracy();
    }

    /**
     * The grids of some methods, checked to give each the same budget.
     *
     * @param methods library methods with a grid ({@link MethodGrids#has})
     * @return method → its candidates
     * @throws IllegalArgumentException if a method has no grid or the grids' sizes differ
     */
    static Map<Method, List<Candidate>> grids(List<Method> methods) {
        Map<Method, List<Candidate>> out = new LinkedHashMap<>();
        Map<String, List<Candidate>> byName = new LinkedHashMap<>();
        for (Method m : methods) {
            out.put(m, MethodGrids.of(m));
            byName.put(m.name(), out.get(m));
        }
        if (!byName.isEmpty()) {
            ValidationSweep.checkSameBudget(byName);
        }
        return out;
    }

    /**
     * Scores every candidate of a method's grid (from the cache when scored before) and applies the
     * rule.
     *
     * @param baseKey the base model's key (part of each score's cache key)
     * @param baseDir the base model's folder
     * @param request the request every candidate shares (class, data, epochs, seed), without a model
     * @param method the library method
     * @param grid its candidates ({@link #grids})
     * @param describe fields added to each score's record (recipe, seed)
     * @return the chosen candidate and the scores; empty when no score is cached and {@code
     *     --report-only} forbids running
     * @throws IOException if data or files cannot be read or written
     */
    Optional<Result> run(String baseKey, Path baseDir, Unlearner request, Method method, List<Candidate> grid,
            JsonObject describe) throws IOException {
        Preconditions.checkArgument(!grid.isEmpty(), "the grid of %s is empty", method);
        List<ValidationScore> scores = new ArrayList<>();
        List<JsonObject> records = new ArrayList<>();
        int forgetClass = request.configuration().get("forgetClass").getAsInt();
        for (Candidate c : grid) {
            String key = RunCache.key("tune", baseKey, forgetClass, c.apply(request).settings().toJson());
            Optional<JsonObject> cached = runs.get(key);
            if (cached.isEmpty() && reportOnly) {
                continue;
            }
            JsonObject record = cached.isPresent() ? cached.get() : score(baseDir, request, method, c, describe);
            if (cached.isEmpty()) {
                runs.put(key, record);
            }
            scores.add(ValidationScore.fromJson(record));
            records.add(record);
        }
        if (scores.isEmpty()) {
            return Optional.empty();
        }
        Candidate chosen = sweep.choose(grid, scores);
        ProtocolCommand.log("sweep of %s: chose %s", Converters.cliName(method), chosen.name());
        return Optional.of(new Result(method, chosen, List.copyOf(records)));
    }

    private JsonObject score(Path baseDir, Unlearner request, Method method, Candidate c, JsonObject describe)
            throws IOException {
        ProtocolCommand.log("sweep: %s ...", c.name());
        JsonObject record;
        try (Model base = MoeResNet.load(baseDir)) {
            record = sweep.run(request.from(base), List.of(c)).get(0).toJson();
        }
        record.addProperty("method", Converters.cliName(method));
        record.addProperty("forgetClass", request.configuration().get("forgetClass").getAsInt());
        describe.entrySet().forEach(e -> record.add(e.getKey(), e.getValue()));
        return record;
    }
}

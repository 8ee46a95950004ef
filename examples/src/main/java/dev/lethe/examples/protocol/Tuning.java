package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.gson.JsonObject;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.eval.tuning.ValidationScore;
import dev.lethe.eval.tuning.ValidationSweep;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The protocol's validation sweep ({@code --tune}): the library's {@link ValidationSweep} (its one
 * selection rule, on the validation split) over a grid of candidates, each score cached in the
 * {@link RunCache} so that a rerun unlearns nothing.
 */
final class Tuning {

    /**
     * What the sweep found.
     *
     * @param chosen the chosen candidate
     * @param records one record per scored candidate ({@link ValidationScore#toJson()} plus {@code
     *     recipe}, {@code seed}, {@code forgetClass}), in grid order
     */
    record Result(Candidate chosen, List<JsonObject> records) {}

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
     * Scores every candidate of a grid (from the cache when scored before) and applies the rule.
     *
     * @param baseKey the base model's key (part of each score's cache key)
     * @param baseDir the base model's folder
     * @param unlearner the request every candidate shares (class, data, epochs, seed), without a model
     * @param grid the candidates
     * @param describe fields added to each score's record (recipe, seed, class)
     * @return the chosen candidate and the scores; empty when no score is cached and {@code
     *     --report-only} forbids running
     * @throws IOException if data or files cannot be read or written
     */
    Optional<Result> run(String baseKey, Path baseDir, Unlearner unlearner, List<Candidate> grid, JsonObject describe)
            throws IOException {
        List<ValidationScore> scores = new ArrayList<>();
        List<JsonObject> records = new ArrayList<>();
        for (Candidate c : grid) {
            String key = RunCache.key("tune", baseKey, c.apply(unlearner).settings().toJson());
            Optional<JsonObject> cached = runs.get(key);
            if (cached.isEmpty() && reportOnly) {
                continue;
            }
            JsonObject record = cached.isPresent() ? cached.get() : score(baseDir, unlearner, c, describe);
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
        ProtocolCommand.log("sweep: chose %s", chosen.name());
        return Optional.of(new Result(chosen, List.copyOf(records)));
    }

    private JsonObject score(Path baseDir, Unlearner unlearner, Candidate c, JsonObject describe) throws IOException {
        ProtocolCommand.log("sweep: %s ...", c.name());
        JsonObject record;
        try (Model base = MoeResNet.load(baseDir)) {
            record = sweep.run(unlearner.from(base), List.of(c)).get(0).toJson();
        }
        describe.entrySet().forEach(e -> record.add(e.getKey(), e.getValue()));
        return record;
    }
}

package dev.lethe.eval.tuning;

import static dev.lethe.eval.JsonValues.number;
import static dev.lethe.eval.JsonValues.value;

import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;

/**
 * The validation score of one {@link Candidate}: after unlearning with it, the validation accuracy
 * on the forgotten class and on the other classes, and the run's wall-clock time.
 *
 * @param candidate the candidate's name
 * @param forgetAccuracy validation accuracy (0–100) on the forgotten class
 * @param otherAccuracy validation accuracy (0–100) on the other classes, pooled
 * @param seconds the unlearning run's wall-clock time
 */
public record ValidationScore(String candidate, double forgetAccuracy, double otherAccuracy, double seconds) {

    /**
     * @return {@code {"candidate", "valForgetAccuracy", "valOtherAccuracy", "seconds"}} (the
     *     protocol's record fields); NaN as null
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("candidate", candidate);
        o.add("valForgetAccuracy", number(forgetAccuracy));
        o.add("valOtherAccuracy", number(otherAccuracy));
        o.add("seconds", number(seconds));
        return o;
    }

    /**
     * Reads a score written by {@link #toJson()} (or a protocol record with those fields; other
     * fields are ignored).
     *
     * @param json the object
     * @return the score
     * @throws IllegalArgumentException naming the field if one is missing
     */
    public static ValidationScore fromJson(JsonObject json) {
        Preconditions.checkNotNull(json, "json must not be null");
        for (String field : new String[] {"candidate", "valForgetAccuracy", "valOtherAccuracy", "seconds"}) {
            Preconditions.checkArgument(json.has(field), "the validation score JSON has no field '%s'", field);
        }
        return new ValidationScore(
                json.get("candidate").getAsString(),
                value(json.get("valForgetAccuracy")),
                value(json.get("valOtherAccuracy")),
                value(json.get("seconds")));
    }
}

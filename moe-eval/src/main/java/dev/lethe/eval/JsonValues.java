package dev.lethe.eval;

import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonPrimitive;

/**
 * The JSON convention of this module's values: a number that was not measured (NaN) is written
 * as {@code null} and read back as NaN, so every file stays standard JSON.
 */
public final class JsonValues {

    private JsonValues() {}

    /**
     * @param value a number, possibly NaN
     * @return the number, or JSON null for NaN
     */
    public static JsonElement number(double value) {
        return Double.isNaN(value) ? JsonNull.INSTANCE : new JsonPrimitive(value);
    }

    /**
     * @param element a JSON number or null (or absent: Java null)
     * @return its value; NaN for JSON null or an absent element
     */
    public static double value(JsonElement element) {
        return element == null || element.isJsonNull() ? Double.NaN : element.getAsDouble();
    }
}

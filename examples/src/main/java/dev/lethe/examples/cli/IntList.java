package dev.lethe.examples.cli;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A comma-separated list of integers as an option value ({@code --widths 16,32,64}, {@code
 * --moe-stages 2,3}), printed as typed, so that {@code --help} shows a default that can be pasted.
 * Parsed by {@link Converters.IntListConverter}.
 *
 * @param values the integers
 */
public record IntList(int[] values) {

    /** @return a copy of the integers */
    @Override
    public int[] values() {
        return values.clone();
    }

    @Override
    public String toString() {
        return Arrays.stream(values).mapToObj(String::valueOf).collect(Collectors.joining(","));
    }
}

package dev.lethe.moe.provenance;

import com.google.common.base.Preconditions;
import java.util.BitSet;

/** Sets of small integers as compact text: {@code "0-5,9,12-13"}; the empty set is {@code ""}. */
final class Ranges {

    private Ranges() {}

    static String format(BitSet set) {
        StringBuilder sb = new StringBuilder();
        int i = set.nextSetBit(0);
        while (i >= 0) {
            int end = set.nextClearBit(i) - 1;
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(i);
            if (end > i) {
                sb.append('-').append(end);
            }
            i = set.nextSetBit(end + 1);
        }
        return sb.toString();
    }

    static BitSet parse(String text, int bound) {
        BitSet set = new BitSet();
        if (text.isEmpty()) {
            return set;
        }
        for (String part : text.split(",")) {
            int dash = part.indexOf('-');
            int from = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
            int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1));
            Preconditions.checkArgument(
                    from >= 0 && from <= to && to < bound, "range '%s' must lie in [0, %s)", part, bound);
            set.set(from, to + 1);
        }
        return set;
    }
}

package dev.lethe.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class AccuracyTest {

    //                                  class: 0  0  1  1  1  2  2  2  2  2
    private static final int[] LABELS = {0, 0, 1, 1, 1, 2, 2, 2, 2, 2};
    private static final int[] PREDICTED = {0, 1, 1, 1, 0, 2, 2, 0, 0, 0};

    @Test
    void accuracies_handCounted() {
        assertThat(Accuracy.of(PREDICTED, LABELS)).isCloseTo(50.0, within(1e-12)); // 5 of 10
        assertThat(Accuracy.ofClass(PREDICTED, LABELS, 2)).isCloseTo(40.0, within(1e-12)); // 2 of 5
        // the other classes pooled: 1 + 2 of 5, not the mean of 50 % and 66.7 %
        assertThat(Accuracy.excludingClass(PREDICTED, LABELS, 2)).isCloseTo(60.0, within(1e-12));
        assertThat(Accuracy.perClass(PREDICTED, LABELS, 4)).containsExactly(50.0, 200.0 / 3, 40.0, Double.NaN);
        assertThat(Accuracy.ofClass(PREDICTED, LABELS, 7)).isNaN();
        assertThat(Accuracy.of(new int[0], new int[0])).isNaN();
    }

    @Test
    void accuracies_mismatchedLengths_areRejected() {
        assertThatThrownBy(() -> Accuracy.of(new int[2], new int[3]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("predicted has 2 entries but labels has 3");
        assertThatThrownBy(() -> Accuracy.perClass(new int[1], new int[1], 0)).hasMessage("numClasses (0) must be >= 1");
    }

    @Test
    void indices_sampleAndShuffle_areSeededAndWithoutRepeats() {
        int[] values = {3, 9, 12, 40, 41, 77, 80};
        assertThat(Indices.sample(values, 4, 5)).containsExactly(Indices.sample(values, 4, 5)).isSorted().doesNotHaveDuplicates();
        assertThat(values).contains(Indices.sample(values, 4, 5));
        int[] shuffled = Indices.shuffled(values, 5);
        assertThat(shuffled).containsExactlyInAnyOrder(values);
        // the sample is the first n of the shuffle with the same seed
        int[] firstFour = java.util.Arrays.copyOf(shuffled, 4);
        java.util.Arrays.sort(firstFour);
        assertThat(Indices.sample(values, 4, 5)).containsExactly(firstFour);
        assertThatThrownBy(() -> Indices.sample(values, 8, 0)).hasMessage("n (8) must be in [0, 7]");
    }
}

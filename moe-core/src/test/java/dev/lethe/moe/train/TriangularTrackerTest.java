package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TriangularTrackerTest {

    @Test
    void triangular_risesThenFalls() {
        TriangularTracker t = new TriangularTracker(1f, 0.1f, 10, 30);
        assertThat(t.getNewValue(0)).isCloseTo(0.1f, within(1e-6f));
        assertThat(t.getNewValue(5)).isCloseTo(0.55f, within(1e-6f));
        assertThat(t.getNewValue(10)).isCloseTo(1f, within(1e-6f));
        assertThat(t.getNewValue(20)).isCloseTo(0.55f, within(1e-6f));
        assertThat(t.getNewValue(30)).isCloseTo(0.1f, within(1e-6f));
        assertThat(t.getNewValue(99)).isCloseTo(0.1f, within(1e-6f));
    }
}

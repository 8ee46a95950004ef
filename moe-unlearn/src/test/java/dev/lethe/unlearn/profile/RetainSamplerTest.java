package dev.lethe.unlearn.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.ArrayDataset;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.unlearn.data.LabeledData;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RetainSamplerTest {

    private NDManager manager;
    private LabeledData data;
    private int[] retain;

    /** Class 0: 6 items, class 1: 3, class 2: 1, class 3 (forgotten): 2. */
    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        int[] labels = {0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3};
        ArrayDataset ds = new ArrayDataset.Builder().setData(manager.zeros(new ai.djl.ndarray.types.Shape(labels.length, 1)))
                .setSampling(4, false).build();
        data = LabeledData.of(ds, labels, List.of("a", "b", "c", "d"));
        retain = data.indicesExcept(3);
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void byExposure_probabilitiesMixClassSizeAndExposure() {
        // exposure 0, 0.5, 1 over the retain classes (the forgotten class's 0.9 is ignored): sum 1.5
        double[] exposure = {0, 0.5, 1.0, 0.9};
        double[] p = RetainSampler.byExposure(data, retain, exposure, 0.5f).classProbabilities().orElseThrow();
        assertThat(p[0]).isCloseTo(0.5 * 0.6 + 0.5 * 0, offset(1e-12));
        assertThat(p[1]).isCloseTo(0.5 * 0.3 + 0.5 * (0.5 / 1.5), offset(1e-12));
        assertThat(p[2]).isCloseTo(0.5 * 0.1 + 0.5 * (1.0 / 1.5), offset(1e-12));
        assertThat(p[3]).isZero();
        // focus 0: class sizes only
        assertThat(RetainSampler.byExposure(data, retain, exposure, 0f).classProbabilities().orElseThrow())
                .containsExactly(0.6, 0.3, 0.1, 0.0);
        // no exposure at all: class sizes whatever the focus
        assertThat(RetainSampler.byExposure(data, retain, new double[4], 1f).classProbabilities().orElseThrow())
                .containsExactly(0.6, 0.3, 0.1, 0.0);
        assertThat(RetainSampler.byExposure(data, retain, exposure, 0.5f).toString()).isEqualTo("[0.300, 0.317, 0.383, 0.000]");
    }

    @Test
    void byExposure_drawsFollowTheProbabilities_andNeverTheForgottenClass() {
        RetainSampler s = RetainSampler.byExposure(data, retain, new double[] {0, 0.5, 1.0, 0.9}, 0.5f);
        int[] counts = new int[4];
        int n = 20_000;
        for (int i : s.draw(n, new SplittableRandom(3))) {
            counts[data.label(i)]++;
        }
        double[] p = s.classProbabilities().orElseThrow();
        for (int c = 0; c < 4; c++) {
            assertThat(counts[c] / (double) n).as("class %d", c).isCloseTo(p[c], offset(0.015));
        }
        assertThat(counts[3]).isZero();
        // reproducible from the seed
        assertThat(s.draw(50, new SplittableRandom(9))).containsExactly(s.draw(50, new SplittableRandom(9)));
    }

    @Test
    void uniform_drawsWithoutReplacement_atMostAll() {
        RetainSampler s = RetainSampler.uniform(retain);
        int[] five = s.draw(5, new SplittableRandom(1));
        assertThat(five).hasSize(5).doesNotHaveDuplicates();
        assertThat(retain).contains(five);
        int[] all = s.draw(100, new SplittableRandom(1));
        assertThat(all).hasSize(retain.length).containsExactlyInAnyOrder(retain);
        assertThat(s.classProbabilities()).isEmpty();
        assertThat(s.draw(0, new SplittableRandom(1))).isEmpty();
        assertThat(RetainSampler.shuffled(retain, new SplittableRandom(2))).containsExactlyInAnyOrder(retain);
    }

    @Test
    void exposure_isTheShareOfGateMassOnTheSelectedExperts_averagedOverLayers() {
        // layer A: class 0 -> E0; class 1 -> E1 (80 %), E2 (20 %); class 2 -> E1 (50 %), E3 (50 %)
        // layer B: every class -> E0
        RoutingStats a = ExpertSelectorTest.handMadeStats();
        int[] labels = new int[30];
        for (int i = 0; i < 30; i++) {
            labels[i] = i / 10;
        }
        float[] gates = new float[30];
        Arrays.fill(gates, 1f);
        RoutingStats b = RoutingStats.accumulator(4, 3).add(Routing.ofHostArrays(4, 1, new long[30], gates), labels).snapshot();
        ActivationProfile profile = new ActivationProfile(new java.util.LinkedHashMap<>(Map.of("A", a, "B", b)), List.of("x", "y", "z"));
        ExpertSelection onlyA = selection(Map.of("A", List.of(1), "B", List.of()));
        assertThat(RetainSampler.exposure(profile, onlyA)).containsExactly(new double[] {0, 0.8, 0.5}, offset(1e-12));
        ExpertSelection both = selection(Map.of("A", List.of(1), "B", List.of(0)));
        assertThat(RetainSampler.exposure(profile, both)).containsExactly(new double[] {0.5, 0.9, 0.75}, offset(1e-12));
        assertThat(RetainSampler.exposure(profile, selection(Map.of("A", List.of(), "B", List.of())))).containsExactly(0, 0, 0);
    }

    @Test
    void byExposure_invalid_clearErrors() {
        assertThatThrownBy(() -> RetainSampler.byExposure(data, retain, new double[4], 1.5f)).hasMessage("focus (1.5) must be in [0, 1]");
        assertThatThrownBy(() -> RetainSampler.byExposure(data, retain, new double[3], 0.5f))
                .hasMessage("exposure has 3 entries but the data has 4 classes");
        assertThatThrownBy(() -> RetainSampler.uniform(retain).draw(-1, new SplittableRandom(1))).hasMessage("n (-1) must be >= 0");
    }

    private static ExpertSelection selection(Map<String, List<Integer>> experts) {
        return new ExpertSelection(1, "test", experts, Map.of(), Map.of(), Map.of(), 0, 0);
    }
}

package dev.lethe.eval.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import com.google.gson.JsonParser;
import dev.lethe.eval.ForgetFixture;
import dev.lethe.eval.LayerFeatures;
import dev.lethe.eval.Predictions;
import dev.lethe.moe.MoeBlocks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LayerProbesTest {

    private static final int FORGET = ForgetFixture.FORGET;

    private static List<LayerProbes.Depth> probes(ForgetFixture f, Model model) throws Exception {
        Predictions held = Predictions.compute(model, f.heldOut, IntStream.range(0, f.heldOut.size()).toArray(), 64,
                Predictions.Capture.LAYERS);
        Predictions test = Predictions.compute(model, f.test, IntStream.range(0, f.test.size()).toArray(), 64,
                Predictions.Capture.LAYERS);
        return LayerProbes.measure(held, test, FORGET, 4, 5);
    }

    @Test
    void measure_returnsOneAccuracyPerMoeLayerAndThePenultimate() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        List<LayerProbes.Depth> original = probes(f, f.original);
        List<String> expected = new ArrayList<>(MoeBlocks.find(f.original.getBlock()).keySet());
        expected.add(LayerFeatures.PENULTIMATE);
        assertThat(original).extracting(LayerProbes.Depth::layer).containsExactlyElementsOf(expected);
        assertThat(original).extracting(LayerProbes.Depth::features).containsExactly(8, 8, 8);
        // the original knows the class at every depth
        assertThat(original).allSatisfy(d -> assertThat(d.forgetAccuracy()).isGreaterThan(95.0));
        assertThat(original).allSatisfy(d -> assertThat(d.otherAccuracy()).isGreaterThan(95.0));
    }

    @Test
    void measure_headOnlySuppression_leavesEveryDepthAsReadableAsBefore() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        List<LayerProbes.Depth> original = probes(f, f.original);
        List<LayerProbes.Depth> suppressed = probes(f, f.suppressed);
        List<LayerProbes.Depth> retrain = probes(f, f.retrain);
        // the suppressed model's features are the original's: identical probes, although its output
        // accuracy on the class is 0
        assertThat(suppressed).isEqualTo(original);
        // against Retrain the class is more readable at the last stage and the penultimate layer
        Map<String, Double> gaps = LayerProbes.gaps(suppressed, retrain);
        assertThat(gaps.keySet()).containsExactlyElementsOf(original.stream().map(LayerProbes.Depth::layer).toList());
        assertThat(gaps.get(LayerFeatures.PENULTIMATE)).isGreaterThan(10.0);
        assertThat(LayerProbes.gaps(retrain, retrain).values()).containsOnly(0.0);
    }

    @Test
    void gaps_otherLayers_isRejected_andJsonRoundTrips() {
        List<LayerProbes.Depth> a = List.of(new LayerProbes.Depth("a", 4, 50, 90), new LayerProbes.Depth("penultimate", 8, Double.NaN, 91));
        List<LayerProbes.Depth> b = List.of(new LayerProbes.Depth("b", 4, 50, 90), new LayerProbes.Depth("penultimate", 8, 20, 91));
        assertThatThrownBy(() -> LayerProbes.gaps(a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the probes read layers [a, penultimate] but the reference's read [b, penultimate]");
        var json = LayerProbes.toJson(a);
        assertThat(json.get(1).getAsJsonObject().get("forgetAccuracy").isJsonNull()).isTrue();
        assertThat(LayerProbes.fromJson(JsonParser.parseString(json.toString()).getAsJsonArray())).isEqualTo(a);
    }

    @Test
    void measure_withoutCapturedLayers_explainsWhatIsNeeded() throws Exception {
        ForgetFixture f = ForgetFixture.shared();
        Predictions outputs = Predictions.compute(f.original, f.test, new int[] {0, 1, 2}, 8, Predictions.Capture.OUTPUTS);
        assertThatThrownBy(() -> LayerProbes.measure(outputs, outputs, FORGET, 4, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the held-out predictions captured no layer (use Capture.LAYERS)");
    }
}

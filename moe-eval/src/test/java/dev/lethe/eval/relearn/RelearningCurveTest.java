package dev.lethe.eval.relearn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

class RelearningCurveTest {

    private static RelearningCurve curve(RelearningTest.Mode mode, int[] steps, double[] forget, double[] other) {
        return new RelearningCurve(mode, steps, forget, other, 45, 64, 1e-3f, 7, 1000, 12.5);
    }

    @Test
    void areaBetween_handComputedExample_isTheTrapezoidSum() {
        // d = curve - reference = 0, 50, 40 at steps 0, 10, 50:
        // 10 * (0 + 50) / 2 + 40 * (50 + 40) / 2 = 250 + 1800
        int[] steps = {0, 10, 50};
        assertThat(RelearningCurve.areaBetween(steps, new double[] {0, 60, 90}, new double[] {0, 10, 50}))
                .isCloseTo(2050.0, within(1e-9));
        // signed: the reference above the curve gives the negative area
        assertThat(RelearningCurve.areaBetween(steps, new double[] {0, 10, 50}, new double[] {0, 60, 90}))
                .isCloseTo(-2050.0, within(1e-9));
        // uneven steps weigh each interval by its length: 5 * (10 + 20) / 2 + 95 * (20 + 0) / 2
        assertThat(RelearningCurve.areaBetween(new int[] {5, 10, 105}, new double[] {10, 20, 0}, new double[] {0, 0, 0}))
                .isCloseTo(75.0 + 950.0, within(1e-9));
        assertThat(RelearningCurve.areaBetween(new int[] {3}, new double[] {80}, new double[] {0})).isZero();
    }

    @Test
    void forgetAreaAbove_andMeanGap_compareWithTheReference() {
        int[] steps = {0, 10, 50};
        RelearningCurve method = curve(RelearningTest.Mode.FEW_SHOT, steps, new double[] {0, 60, 90}, new double[] {70, 70, 72});
        RelearningCurve retrain = curve(RelearningTest.Mode.FEW_SHOT, steps, new double[] {0, 10, 50}, new double[] {71, 71, 71});
        assertThat(method.forgetAreaAbove(retrain)).isCloseTo(2050.0, within(1e-9));
        assertThat(method.meanForgetGap(retrain)).isCloseTo(41.0, within(1e-9));
        // other classes: d = -1, -1, +1: 10 * (-2) / 2 + 40 * 0 / 2
        assertThat(method.otherAreaAbove(retrain)).isCloseTo(-10.0, within(1e-9));
        assertThat(retrain.forgetAreaAbove(retrain)).isZero();
        assertThat(method.forgetAccuracyAt(10)).isEqualTo(60.0);
        assertThat(method.otherAccuracyAt(50)).isEqualTo(72.0);
    }

    @Test
    void forgetAreaAbove_otherCheckpointsOrMode_isRejected() {
        RelearningCurve a = curve(RelearningTest.Mode.FEW_SHOT, new int[] {0, 10}, new double[] {0, 1}, new double[] {0, 1});
        RelearningCurve b = curve(RelearningTest.Mode.FEW_SHOT, new int[] {0, 5}, new double[] {0, 1}, new double[] {0, 1});
        RelearningCurve c = curve(RelearningTest.Mode.RETAIN_ONLY, new int[] {0, 10}, new double[] {0, 1}, new double[] {0, 1});
        assertThatThrownBy(() -> a.forgetAreaAbove(b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the reference's checkpoints [0, 5] differ from this curve's [0, 10]");
        assertThatThrownBy(() -> a.meanForgetGap(c))
                .hasMessage("the reference is a RETAIN_ONLY curve but this is a FEW_SHOT curve");
        assertThatThrownBy(() -> a.forgetAccuracyAt(7)).hasMessage("step 7 is not a checkpoint of this curve [0, 10]");
    }

    @Test
    void toJson_roundTrips_withNaNAsNull() {
        RelearningCurve c = curve(RelearningTest.Mode.RETAIN_ONLY, new int[] {0, 5, 10},
                new double[] {0, 2.5, Double.NaN}, new double[] {70, 71, 72});
        var json = c.toJson();
        assertThat(json.get("mode").getAsString()).isEqualTo("retainOnly");
        assertThat(json.getAsJsonArray("forgetAccuracy").get(2).isJsonNull()).isTrue();
        RelearningCurve back = RelearningCurve.fromJson(JsonParser.parseString(json.toString()).getAsJsonObject());
        assertThat(back).isEqualTo(c).hasSameHashCodeAs(c);
        assertThat(c.toString()).contains("retainOnly", "5: 2.5/71.0");
        json.remove("steps");
        assertThatThrownBy(() -> RelearningCurve.fromJson(json)).hasMessage("the relearning curve JSON has no field 'steps'");
    }
}

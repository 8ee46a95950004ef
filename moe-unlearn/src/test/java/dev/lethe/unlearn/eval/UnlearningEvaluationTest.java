package dev.lethe.unlearn.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

class UnlearningEvaluationTest {

    private static UnlearningEvaluation evaluation(int forgetClass, double ua, double ra, double ta, double mia, boolean probe) {
        UnlearningEvaluation.Builder b = UnlearningEvaluation.builder();
        b.forgetClass = forgetClass;
        b.forgetClassName = "cat";
        b.ua = ua;
        b.ra = ra;
        b.ta = ta;
        b.mia = mia;
        b.forgetTestAccuracy = 100 - ua;
        b.perClassTestAccuracy = new double[] {91.5, 100 - ua, Double.NaN};
        b.seconds = 12.24;
        b.forgetSize = 4500;
        b.retainSize = 40500;
        b.testSize = 10000;
        b.miaTrainPerSide = 10000;
        b.seed = 42;
        if (probe) {
            b.probeForgetAccuracy = 61.0;
            b.probeRetainAccuracy = 88.5;
            b.probeTrainSize = 5000;
        }
        return b.build();
    }

    @Test
    void avgGap_handNumbers_isMeanAbsoluteDifference() {
        // the prior project's numbers from the brief: UA 98.7, RA 56.9, MIA 99.5 vs Retrain 100 / 53.7 / 100
        UnlearningEvaluation unlearned = evaluation(1, 98.7, 56.9, 50.0, 99.5, false);
        UnlearningEvaluation retrain = evaluation(1, 100.0, 53.7, 50.2, 100.0, false);
        // (1.3 + 3.2 + 0.2 + 0.5) / 4
        assertThat(unlearned.avgGap(retrain)).isCloseTo(1.3, within(1e-9));
        assertThat(retrain.avgGap(unlearned)).isCloseTo(1.3, within(1e-9));
        assertThat(retrain.avgGap(retrain)).isZero();
    }

    @Test
    void avgGap_otherForgetClass_isRejected() {
        assertThatThrownBy(() -> evaluation(1, 90, 90, 90, 90, false).avgGap(evaluation(2, 90, 90, 90, 90, false)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("retrain forgets class 2 but this evaluation forgets class 1");
    }

    @Test
    void toJson_roundTrips_withNaNAsNull() {
        UnlearningEvaluation e = evaluation(1, 98.7, 56.9, 50.0, 99.5, true);
        JsonObject json = e.toJson();
        assertThat(json.get("ua").getAsDouble()).isEqualTo(98.7);
        assertThat(json.get("perClassTestAccuracy").getAsJsonArray()).hasSize(3);
        assertThat(json.get("perClassTestAccuracy").getAsJsonArray().get(2).isJsonNull()).isTrue();
        assertThat(json.get("probeForgetAccuracy").getAsDouble()).isEqualTo(61.0);
        assertThat(json.keySet()).contains("ra", "ta", "forgetTestAccuracy", "mia", "probeRetainAccuracy", "seconds", "seed");
        UnlearningEvaluation back = UnlearningEvaluation.fromJson(JsonParser.parseString(json.toString()).getAsJsonObject());
        assertThat(back).isEqualTo(e).hasSameHashCodeAs(e);

        UnlearningEvaluation noProbe = evaluation(1, 98.7, 56.9, 50.0, 99.5, false);
        assertThat(noProbe.hasProbe()).isFalse();
        assertThat(noProbe.toJson().get("probeForgetAccuracy").isJsonNull()).isTrue();
        assertThat(UnlearningEvaluation.fromJson(noProbe.toJson())).isEqualTo(noProbe);
    }

    @Test
    void fromJson_missingField_namesIt() {
        JsonObject json = evaluation(1, 98.7, 56.9, 50.0, 99.5, true).toJson();
        json.remove("mia");
        assertThatThrownBy(() -> UnlearningEvaluation.fromJson(json)).hasMessage("the evaluation JSON has no field 'mia'");
    }

    @Test
    void toTable_alignsOneMetricPerLine() {
        String table = evaluation(1, 98.7, 56.9, 50.0, 99.5, true).toTable();
        String[] lines = table.split("\\R");
        assertThat(lines[0]).isEqualTo("forget class 1 (cat)");
        assertThat(table).contains("UA                          98.70 %  100 - accuracy on D_f, n = 4500");
        assertThat(table).contains("MIA-Efficacy                99.50 %  SVM trained on 10000 + 10000");
        assertThat(table).contains("probe recovery              61.00 %  probe on 5000 held-out images");
        assertThat(table).contains("test acc. class 1            1.30 %  forgotten");
        assertThat(table).contains("test acc. class 2               - %");
        assertThat(table).contains("evaluation time              12.2 s");
        // the values end in one column
        assertThat(lines[1].indexOf('%')).isEqualTo(lines[2].indexOf('%')).isEqualTo(lines[5].indexOf('%'));
    }
}

package dev.lethe.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonObject;
import dev.lethe.eval.attack.ClassMembershipAttack;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.relearn.RelearningCurve;
import dev.lethe.eval.relearn.RelearningTest;
import java.util.List;
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

    private static UnlearningEvaluation withAttackerMeasures(double probe, double attack, double[] fewShot) {
        UnlearningEvaluation.Builder b = UnlearningEvaluation.builder();
        b.forgetClass = 1;
        b.forgetClassName = "cat";
        b.ua = 100;
        b.ra = 90;
        b.ta = 80;
        b.mia = 100;
        b.miaAttackerAccuracy = 51.5;
        b.perClassTestAccuracy = new double[] {80, 0};
        b.probes = List.of(new LayerProbes.Depth("features/moe", 32, probe - 10, 70),
                new LayerProbes.Depth(LayerFeatures.PENULTIMATE, 64, probe, 80));
        b.probeForgetAccuracy = probe;
        b.probeRetainAccuracy = 80;
        b.probeTrainSize = 5000;
        b.classAttack = new ClassMembershipAttack.Result(attack, 500, 1000, 9000);
        b.relearning.put(RelearningTest.Mode.FEW_SHOT, RelearningCurve.fromJson(JsonParser.parseString(
                "{\"mode\":\"fewShot\",\"steps\":[0,10,50],\"forgetAccuracy\":[" + fewShot[0] + "," + fewShot[1] + ","
                        + fewShot[2] + "],\"otherAccuracy\":[80,80,80],\"forgetImages\":45,\"batchSize\":64,"
                        + "\"learningRate\":0.001,\"seed\":0,\"seconds\":3.5}").getAsJsonObject()));
        b.seconds = 1;
        b.forgetSize = 4500;
        b.retainSize = 5000;
        b.testSize = 10000;
        b.miaTrainPerSide = 2000;
        return b.build();
    }

    @Test
    void gaps_toRetain_perDepthAttackAndRelearning() {
        UnlearningEvaluation method = withAttackerMeasures(60, 90, new double[] {0, 60, 90});
        UnlearningEvaluation retrain = withAttackerMeasures(40, 70, new double[] {0, 10, 50});
        assertThat(method.probeGaps(retrain)).containsExactly(
                java.util.Map.entry("features/moe", 20.0), java.util.Map.entry(LayerFeatures.PENULTIMATE, 20.0));
        assertThat(method.classAttackGap(retrain)).isCloseTo(20.0, within(1e-9));
        // the hand-computed area of RelearningCurveTest: 2,050 points x steps over 50 steps
        assertThat(method.relearningGap(retrain, RelearningTest.Mode.FEW_SHOT)).isCloseTo(41.0, within(1e-9));
        assertThat(method.relearningGap(retrain, RelearningTest.Mode.RETAIN_ONLY)).isNaN();
        // an evaluation without the measures compares as "not measured"
        UnlearningEvaluation plain = evaluation(1, 98.7, 56.9, 50.0, 99.5, true);
        assertThat(plain.probeGaps(retrain)).isEmpty();
        assertThat(plain.classAttackGap(retrain)).isNaN();
        assertThat(plain.relearning(RelearningTest.Mode.FEW_SHOT)).isEmpty();
    }

    @Test
    void toJson_newMeasures_roundTrip_andOldJsonStillReads() {
        UnlearningEvaluation e = withAttackerMeasures(60, 90, new double[] {0, 60, 90});
        JsonObject json = e.toJson();
        assertThat(json.keySet()).contains("miaAttackerAccuracy", "probes", "classAttack", "relearning");
        assertThat(json.getAsJsonObject("relearning").keySet()).containsExactly("fewShot");
        UnlearningEvaluation back = UnlearningEvaluation.fromJson(JsonParser.parseString(json.toString()).getAsJsonObject());
        assertThat(back).isEqualTo(e).hasSameHashCodeAs(e);
        assertThat(back.toTable()).contains("MIA attacker accuracy       51.50 %", "probe, MoE layer 1          50.00 %",
                "probe, penultimate          60.00 %", "class attack                90.00 %",
                "relearn few-shot @50        90.00 %  forget/other by step: 0: 0.0/80.0 10: 60.0/80.0 50: 90.0/80.0");

        // a record written before the attacker-grade measures
        for (String added : new String[] {"miaAttackerAccuracy", "probes", "classAttack", "relearning"}) {
            json.remove(added);
        }
        UnlearningEvaluation old = UnlearningEvaluation.fromJson(json);
        assertThat(old.ua()).isEqualTo(e.ua());
        assertThat(old.probeForgetAccuracy()).isEqualTo(60.0);
        assertThat(old.miaAttackerAccuracy()).isNaN();
        assertThat(old.probes()).isEmpty();
        assertThat(old.classAttack()).isEmpty();
        assertThat(old.routingShift()).isEmpty();
    }
}

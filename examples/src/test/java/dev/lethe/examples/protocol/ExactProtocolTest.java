package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.examples.SyntheticCifar;
import dev.lethe.examples.cli.LetheCli;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The exact configuration end to end on a tiny synthetic CIFAR-10: the base model trained by
 * ExactTraining, the exact deletion measured against ExactTraining without the class (issue 13's
 * bit-identity), the standard Retrain beside it, sequential requests, and a rerun from the cache.
 */
class ExactProtocolTest {

    @TempDir
    Path tmp;

    @Test
    void protocol_exactConfiguration_deletesBitIdentically_alsoTwoClassesInSequence_andResumes() throws Exception {
        Path data = SyntheticCifar.write(tmp.resolve("data"), 20);
        Path docs = tmp.resolve("docs");
        String[] args = {"protocol", "--data", data.toString(), "--epochs", "1", "--widths", "4,8,8",
            "--recipes", "exact", "--classes", "3", "--seeds", "0,1", "--single-seed", "exact", "--methods",
            "exact,fine-tune,gradient-ascent",
            "--sequential", "3,5", "--sequential-methods", "exact", "--retain-sample", "20", "--mia-per-side", "10",
            "--relearn-steps", "0,2,4", "--cache", tmp.resolve("cache").toString(), "--docs", docs.toString()};
        String[] first = run(args);
        assertThat(first[0]).as(first[1]).isEqualTo("0");
        assertThat(first[1]).contains("training the exact base model by ExactTraining")
                .contains("exact reference: ExactTraining without class 3 (cat)")
                .contains("exact deletion vs ExactTraining without the class: bit-identical")
                // the Retrain of an exact configuration is its own training without the class(es), not a joint one
                .doesNotContain("Retrain oracle without class 3 (cat) ...").doesNotContain("Retrain oracle without classes 3 (cat), 5")
                .contains("exact reference: ExactTraining without classes 3 (cat), 5 (dog)")
                // gradient ascent does not run on an exact base model, and says so once
                .contains("gradient-ascent: not run on the exact configurations");

        JsonObject json = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json")))
                .getAsJsonObject();
        JsonObject base = find(json, "base", null);
        assertThat(base.get("architecture").getAsString()).contains("10 experts top-1 + shared");
        assertThat(base.getAsJsonObject("exactPlan").get("publicClasses").toString()).isEqualTo("[0,1,2,4,6,7,8,9]");
        assertThat(base.getAsJsonObject("ledger").get("recorded").getAsBoolean()).isTrue();

        JsonObject exact = find(json, "run", "exact");
        assertThat(exact.get("removal").getAsString()).isEqualTo("exact");
        JsonObject check = exact.getAsJsonObject("exactCheck");
        assertThat(check.get("bitIdentical").getAsBoolean()).isTrue();
        assertThat(check.get("differing").getAsInt()).isZero();
        assertThat(check.get("masksEqual").getAsBoolean()).isTrue();
        assertThat(check.get("tensors").getAsInt()).isGreaterThan(20);
        assertThat(exact.getAsJsonObject("provenance").get("erased").getAsBoolean()).isTrue();
        assertThat(exact.getAsJsonObject("provenance").get("remaining").getAsDouble()).isZero();
        // compared with the configuration's Retrain, ExactTraining without the class: the deletion is that model,
        // so every measure is the same, relearning curves and probes included (issue 13)
        JsonObject retrain = find(json, "run", "retrain");
        assertThat(retrain.get("forgetClass").getAsInt()).isEqualTo(3);
        assertThat(retrain.get("seconds").getAsDouble()).isEqualTo(check.get("referenceSeconds").getAsDouble());
        assertThat(exact.get("avgGap").getAsDouble()).isZero();
        for (String measure : new String[] {"ua", "ra", "ta", "forgetTestAccuracy", "mia", "classAttack", "probes"}) {
            assertThat(exact.get(measure)).as(measure).isNotNull().isEqualTo(retrain.get(measure));
        }
        for (String mode : new String[] {"fewShot", "retainOnly"}) {
            for (String curve : new String[] {"forgetAccuracy", "otherAccuracy"}) {
                assertThat(exact.getAsJsonObject("relearning").getAsJsonObject(mode).get(curve)).as(mode + " " + curve)
                        .isNotNull().isEqualTo(retrain.getAsJsonObject("relearning").getAsJsonObject(mode).get(curve));
            }
        }
        // fine-tuning runs there for contrast: it records the class as remaining in the trunk
        JsonObject fineTune = find(json, "run", "fine-tune");
        assertThat(fineTune.has("exactCheck")).isFalse();
        assertThat(fineTune.getAsJsonObject("provenance").get("erased").getAsBoolean()).isFalse();
        assertThat(records(json, "run", "gradient-ascent")).isEmpty();

        // sequential: delete 3 then 5; the Retrain reference trained on the data without both
        JsonObject seqRetrain = find(json, "sequential", "retrain");
        assertThat(seqRetrain.get("trainedWithoutBoth").getAsBoolean()).isTrue();
        assertThat(seqRetrain.get("retainImages").getAsInt()).isEqualTo(90 - 9 - 9);
        JsonObject seqExact = find(json, "sequential", "exact");
        assertThat(seqExact.get("forgottenClasses").toString()).isEqualTo("[3,5]");
        assertThat(seqExact.getAsJsonObject("exactCheck").get("bitIdentical").getAsBoolean()).isTrue();
        assertThat(seqExact.getAsJsonObject("first").get("forgetClass").getAsInt()).isEqualTo(3);
        assertThat(seqExact.getAsJsonObject("second").get("forgetClass").getAsInt()).isEqualTo(5);
        assertThat(seqExact.getAsJsonObject("second").has("avgGap")).isTrue();

        String md = Files.readString(docs.resolve("RESULTS.md"));
        assertThat(md).contains("parameters and expert masks bit-identical to ExactTraining without the class: **YES**")
                .contains("ExactTraining without both: **YES**")
                .contains("## Sequential requests (issue 14)")
                .contains("| exact | all | exact | 1 |")
                .contains("few-shot @4 A | few-shot @4 B")
                .contains("Isolation targets (issue 13)")
                .contains("vs plain: not measured (no plain base model")
                .contains("Provenance (the models' ledgers")
                .contains("- exact: Avg.Gap");
        // the charts: each file is a PNG of the size its kind of chart has
        Path charts = docs.resolve("results/charts");
        assertPng(charts.resolve("relearning-exact.png"), dev.lethe.examples.cli.Charts.curvesSize(2));
        assertPng(charts.resolve("probes-exact.png"), dev.lethe.examples.cli.Charts.CATEGORY_LINES_SIZE);
        assertPng(charts.resolve("per-class-exact-cat.png"), dev.lethe.examples.cli.Charts.groupedBarsSize(10, 4));
        assertPng(charts.resolve("routing-exact-seed0-L1.png"), dev.lethe.examples.cli.Charts.heatmapSize(10, 10));

        // a base record cached before the per-class accuracy, ledger, shares and architecture existed is completed
        // from the cached model on the rerun, to the same values
        try (var files = Files.list(tmp.resolve("cache/runs"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("base-")).toList()) {
                JsonObject old = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
                old.remove("perClassTestAccuracy");
                old.remove("ledger");
                old.remove("architecture");
                old.getAsJsonObject("routing").entrySet().forEach(e -> {
                    if (e.getValue().isJsonObject()) {
                        e.getValue().getAsJsonObject().remove("shares");
                    }
                });
                Files.writeString(f, old.toString());
            }
        }
        // a rerun trains and deletes nothing, and writes the same records
        String[] second = run(args);
        assertThat(second[0]).as(second[1]).isEqualTo("0");
        assertThat(second[1]).doesNotContain("training the").doesNotContain("Retrain oracle")
                .doesNotContain("exact reference:").doesNotContain("exact on class 3");
        JsonObject again = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json")))
                .getAsJsonObject();
        assertThat(again.get("records")).isEqualTo(json.get("records"));
    }

    @Test
    void protocol_assignedConfiguration_trainsInPhasesWithEveryClassPublic_andItsRetrainIsThePhasedTraining()
            throws Exception {
        Path data = SyntheticCifar.write(tmp.resolve("data"), 20);
        Path docs = tmp.resolve("docs");
        String[] result = run("protocol", "--data", data.toString(), "--epochs", "1", "--widths", "4,8,8",
                "--recipes", "assigned", "--classes", "3", "--methods", "reset-retrain,exact", "--retain-sample", "20",
                "--mia-per-side", "10", "--relearn-steps", "0,2", "--cache", tmp.resolve("cache").toString(),
                "--docs", docs.toString());
        assertThat(result[0]).as(result[1]).isEqualTo("0");
        assertThat(result[1]).contains("training the assigned base model by ExactTraining")
                // the Retrain is the same phased training without the class, every remaining class public
                .contains("exact reference: ExactTraining without class 3 (cat)")
                .contains("public classes [0, 1, 2, 4, 5, 6, 7, 8, 9]")
                .doesNotContain("Retrain oracle without class 3")
                // an approximate method runs; exact deletion does not (every class trained the trunk)
                .contains("reset-retrain on class 3 (cat)")
                .contains("exact: not run on assigned");
        JsonObject json = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json")))
                .getAsJsonObject();
        assertThat(find(json, "base", null).getAsJsonObject("exactPlan").get("publicClasses").toString())
                .isEqualTo("[0,1,2,3,4,5,6,7,8,9]");
        JsonObject reset = find(json, "run", "reset-retrain");
        assertThat(reset.has("exactCheck")).isFalse();
        // the ledger says the class still lives in the trunk after an approximate method
        assertThat(reset.getAsJsonObject("provenance").get("erased").getAsBoolean()).isFalse();
        assertThat(find(json, "run", "retrain").get("forgetClass").getAsInt()).isEqualTo(3);
    }

    private static void assertPng(Path png, java.awt.Dimension size) throws Exception {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as(png.toString()).isNotNull();
        assertThat(image.getWidth()).as(png.toString()).isEqualTo(size.width);
        assertThat(image.getHeight()).as(png.toString()).isEqualTo(size.height);
    }

    private static List<JsonObject> records(JsonObject json, String kind, String method) {
        List<JsonObject> out = new ArrayList<>();
        json.getAsJsonArray("records").forEach(e -> {
            JsonObject r = e.getAsJsonObject();
            if (kind.equals(r.get("kind").getAsString())
                    && (method == null || (r.has("method") && method.equals(r.get("method").getAsString())))) {
                out.add(r);
            }
        });
        return out;
    }

    private static JsonObject find(JsonObject json, String kind, String method) {
        List<JsonObject> r = records(json, kind, method);
        assertThat(r).as(kind + " " + method).hasSize(1);
        return r.get(0);
    }

    /** Runs the command line; returns {exit code, stderr}. */
    private static String[] run(String... args) {
        PrintStream stderr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            CommandLine cl = LetheCli.newCommandLine();
            code = cl.execute(args);
            cl.getErr().flush();
        } finally {
            System.setErr(stderr);
        }
        return new String[] {String.valueOf(code), err.toString(StandardCharsets.UTF_8)};
    }
}

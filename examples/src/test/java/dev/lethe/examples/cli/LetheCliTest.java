package dev.lethe.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.examples.SyntheticCifar;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * The command line on a tiny synthetic CIFAR-10: help, option errors, missing files, and the
 * train → profile → forget → evaluate → demo flow with tiny models.
 */
class LetheCliTest {

    @TempDir static Path tmp;
    private static Path data;
    private static Path model;

    /** What one command run returned and printed. */
    private static final class Run {
        int code;
        String out;
        String err;
    }

    @BeforeAll
    static void trainTinyModel() throws Exception {
        data = SyntheticCifar.write(tmp.resolve("data"), 20);
        model = tmp.resolve("model");
        Run r = run("train", "--data", data.toString(), "--widths", "4,8,8", "--experts", "4", "--epochs", "1",
                "--limit", "64", "--seed", "1", "--out", model.toString());
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).contains("saved the model to").contains("Expert utilisation").contains("load/ideal");
    }

    @ParameterizedTest
    @ValueSource(strings = {"train", "profile", "forget", "evaluate", "demo", "protocol"})
    void help_worksForEveryCommand(String command) throws Exception {
        Run r = run(command, "--help");
        assertThat(r.code).isZero();
        assertThat(r.out).contains("Usage: lethe " + command).contains("--help");
    }

    @Test
    void noCommand_isAUsageError() throws Exception {
        Run r = run();
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("Missing command");
    }

    @Test
    void unknownOption_exitsWith2() throws Exception {
        Run r = run("forget", "--model", model.toString(), "--class", "cat", "--bogus");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("Unknown option: '--bogus'");
    }

    @Test
    void invalidMethod_exitsWith2AndListsTheMethods() throws Exception {
        Run r = run("forget", "--model", model.toString(), "--class", "cat", "--method", "magic");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("'magic' is not a valid method").contains("expert-targeted");
    }

    @Test
    void unknownClass_exitsWith2AndListsTheClasses() throws Exception {
        Run r = run("evaluate", "--model", model.toString(), "--data", data.toString(), "--class", "unicorn");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("unicorn").contains("airplane");
    }

    @Test
    void missingData_saysWhereToGetIt() throws Exception {
        Path missing = tmp.resolve("no-such-data");
        Run r = run("train", "--data", missing.toString(), "--limit", "10");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains(missing.toString()).contains("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")
                .contains("--data PATH").contains("--download").doesNotContain("\tat ");
    }

    @Test
    void missingModel_exitsWith1NamingTheFolder() throws Exception {
        Path missing = tmp.resolve("no-such-model");
        Run r = run("evaluate", "--model", missing.toString(), "--class", "3");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains(missing.toString()).contains("no such model folder").doesNotContain("\tat ");
    }

    @Test
    void folderWithoutModel_exitsWith1AndVerbosePrintsTheStackTrace() throws Exception {
        Run r = run("profile", "--model", data.toString(), "--verbose");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains(data.toString()).contains("lethe-model.json").contains("\tat ");
    }

    @Test
    void profile_printsTheTableAndWritesHeatmaps() throws Exception {
        Path out = tmp.resolve("profile");
        Run r = run("profile", "--model", model.toString(), "--data", data.toString(), "--out", out.toString());
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).contains("MoE layer").contains("cat");
        try (var files = Files.list(out)) {
            assertThat(files.filter(f -> f.toString().endsWith(".png"))).hasSize(2);
        }
        assertThat(out.resolve("profile.json")).isNotEmptyFile();
    }

    @Test
    void forgetThenEvaluate_writesTheReportAndRemembersTheForgottenClass() throws Exception {
        Path out = tmp.resolve("forget");
        Run r = run("forget", "--model", model.toString(), "--data", data.toString(), "--class", "cat",
                "--epochs", "1", "--retain-sample", "20", "--mia-per-side", "10", "--out", out.toString(),
                "--retrain-model", model.toString());
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).contains("before").contains("after").contains("Avg. Gap vs retrain");
        for (String f : new String[] {"report.json", "report.md", "per-class-accuracy.png", "forgotten-class-routing.png"}) {
            assertThat(out.resolve(f)).isNotEmptyFile();
        }
        JsonObject report = JsonParser.parseString(Files.readString(out.resolve("report.json"))).getAsJsonObject();
        assertThat(report.get("dataset").getAsString()).isEqualTo("CIFAR-10");
        assertThat(report.getAsJsonObject("forgetClass").get("id").getAsInt()).isEqualTo(3);
        assertThat(report.getAsJsonObject("forgetClass").get("name").getAsString()).isEqualTo("cat");
        assertThat(report.get("method").getAsString()).isEqualTo("EXPERT_TARGETED");
        for (String side : new String[] {"before", "after", "retrain"}) {
            JsonObject e = report.getAsJsonObject(side);
            for (String field : new String[] {"ua", "ra", "ta", "forgetTestAccuracy", "mia"}) {
                assertThat(e.get(field).getAsDouble()).as(side + "." + field).isBetween(0.0, 100.0);
            }
            assertThat(e.getAsJsonArray("perClassTestAccuracy")).hasSize(10);
        }
        assertThat(report.get("seconds").getAsDouble()).isPositive();
        assertThat(report.getAsJsonObject("expertsRetrained").keySet()).hasSize(2);
        assertThat(report.get("parametersRetrainedFraction").getAsDouble()).isBetween(0.0, 1.0);
        assertThat(report.has("retrainSeconds")).isTrue();
        assertThat(Files.readString(out.resolve("report.md"))).contains("| UA |").contains("**cat** (forgotten)");

        // the saved model remembers what it forgot: evaluate needs no --class, forget refuses twice
        Run eval = run("evaluate", "--model", out.toString(), "--data", data.toString(), "--json",
                "--retain-sample", "20", "--mia-per-side", "10");
        assertThat(eval.code).as(eval.err).isZero();
        JsonObject json = JsonParser.parseString(eval.out).getAsJsonObject();
        assertThat(json.getAsJsonObject("evaluation").get("forgetClass").getAsInt()).isEqualTo(3);
        Run again = run("forget", "--model", out.resolve("model").toString(), "--data", data.toString(),
                "--class", "3", "--retain-sample", "20", "--mia-per-side", "10", "--out", tmp.resolve("again").toString());
        assertThat(again.code).as(again.err).isZero();
        assertThat(again.out).contains("already forgotten");
    }

    @Test
    void demo_trainsOnceThenReusesTheCachedModel() throws Exception {
        String[] args = {"demo", "--data", data.toString(), "--epochs", "1", "--train-images", "64",
            "--cache", tmp.resolve("cache").toString(), "--out", tmp.resolve("demo").toString()};
        Run first = run(args);
        assertThat(first.code).as(first.err).isZero();
        assertThat(first.err).contains("cached the model in");
        assertThat(first.out).contains("demo finished").contains("MIA-Efficacy");
        assertThat(tmp.resolve("demo").resolve("report.md")).isNotEmptyFile();
        Run second = run(args);
        assertThat(second.code).as(second.err).isZero();
        assertThat(second.err).contains("using the cached model");
    }

    @Test
    void protocol_tunesOnValidation_runsTheMethods_andResumesFromItsCache() throws Exception {
        Path docs = tmp.resolve("protocol-docs");
        String[] args = {"protocol", "--data", data.toString(), "--limit", "100", "--epochs", "1", "--widths", "4,8,8",
            "--experts", "4", "--recipes", "forget-ready", "--classes", "3", "--seeds", "0", "--methods", "ours-router,head-only",
            "--retain-sample", "20", "--mia-per-side", "10", "--tune", "--cache", tmp.resolve("protocol-cache").toString(),
            "--docs", docs.toString()};
        Run first = run(args);
        assertThat(first.code).as(first.err).isZero();
        assertThat(first.err).contains("training the forget-ready base model").contains("Retrain oracle without class 3 (cat)")
                .contains("sweep: chose");
        JsonObject json = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json"))).getAsJsonObject();
        String chosen = json.get("chosenSettings").getAsString();
        JsonObject ours = null;
        for (var e : json.getAsJsonArray("records")) {
            JsonObject r = e.getAsJsonObject();
            if ("ours-router".equals(r.has("method") ? r.get("method").getAsString() : "")) {
                ours = r;
            }
        }
        assertThat(ours).as("the ours-router record").isNotNull();
        assertThat(ours.get("settings").getAsString()).isEqualTo(chosen);
        assertThat(ours.get("avgGap").getAsDouble()).isBetween(0.0, 100.0);
        assertThat(json.getAsJsonArray("validationSweep")).hasSizeGreaterThan(1);
        String md = Files.readString(docs.resolve("RESULTS.md"));
        assertThat(md).contains("## Settings of the expert-targeted method").contains(chosen + " (chosen)")
                .contains("| retrain | all | 1 |").contains("| ours-router | experts+router | 1 |").contains("| head-only | head | 1 |");

        // a rerun trains and unlearns nothing and writes the same records
        Run second = run(args);
        assertThat(second.code).as(second.err).isZero();
        assertThat(second.err).doesNotContain("training the").doesNotContain("Retrain oracle").doesNotContain(" on class 3 (cat), seed 0 ...")
                .contains("sweep: chose " + chosen);
        JsonObject again = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json"))).getAsJsonObject();
        assertThat(again.get("records")).isEqualTo(json.get("records"));
    }

    /** Runs the command line with stdout and stderr captured (picocli's writers wrap them). */
    private static Run run(String... args) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream capturedOut = new ByteArrayOutputStream();
        ByteArrayOutputStream capturedErr = new ByteArrayOutputStream();
        System.setOut(new PrintStream(capturedOut, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(capturedErr, true, StandardCharsets.UTF_8));
        Run r = new Run();
        try {
            CommandLine cl = LetheCli.newCommandLine();
            r.code = cl.execute(args);
            cl.getOut().flush();
            cl.getErr().flush();
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        r.out = capturedOut.toString(StandardCharsets.UTF_8);
        r.err = capturedErr.toString(StandardCharsets.UTF_8);
        return r;
    }
}

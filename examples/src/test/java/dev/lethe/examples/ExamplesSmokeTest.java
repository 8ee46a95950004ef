package dev.lethe.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs each example program on a tiny synthetic CIFAR-10 (tiny widths, one epoch, 64 images). */
class ExamplesSmokeTest {

    @TempDir static Path tmp;
    private static Path data;
    private static Path model;

    @BeforeAll
    static void trainOnce() throws Exception {
        data = SyntheticCifar.write(tmp.resolve("data"), 20);
        model = tmp.resolve("model");
        String out = run(() -> TrainAndSave.main(new String[] {
            "--data", data.toString(), "--widths", "4,8,8", "--epochs", "1", "--limit", "64", "--out", model.toString()
        }));
        assertThat(out).contains("epoch 1/1").contains("saved to");
    }

    @Test
    void trainAndSave_writesALoadableModel() {
        assertThat(model.resolve("lethe-model.json")).isRegularFile();
    }

    @Test
    void profileRouting_printsTheClassExpertTable() throws Exception {
        String out = run(() -> ProfileRouting.main(new String[] {
            "--data", data.toString(), "--model", model.toString(), "--limit", "20"
        }));
        assertThat(out).contains("MoE layer").contains("cat").contains("of the routing entropy");
    }

    @Test
    void forgetClass_printsBeforeAndAfter() throws Exception {
        String out = run(() -> ForgetClass.main(new String[] {
            "--data", data.toString(), "--model", model.toString(), "--class", "cat", "--limit", "64"
        }));
        assertThat(out).contains("forgot class 3 (cat)").contains("before:").contains("after:").contains("UA");
    }

    @Test
    void customModelWithMoe_trainsAndPrintsRouting() throws Exception {
        String out = run(() -> CustomModelWithMoe.main(new String[] {"--data", data.toString(), "--limit", "64"}));
        assertThat(out).contains("step 1").contains("balance").contains("load/ideal").contains("truck");
    }

    private interface Program {
        void run() throws Exception;
    }

    /** Runs a program, returning what it printed on stdout. */
    private static String run(Program program) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            program.run();
        } finally {
            System.setOut(original);
        }
        String out = buffer.toString(StandardCharsets.UTF_8);
        original.print(out);
        return out;
    }
}

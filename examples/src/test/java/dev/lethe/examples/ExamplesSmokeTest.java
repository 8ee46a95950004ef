package dev.lethe.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.training.dataset.Dataset;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.eval.Predictions;
import dev.lethe.moe.model.ModelFiles;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.data.LabeledData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs each example program on a tiny synthetic CIFAR-10 (tiny widths, one epoch, 64 images). */
class ExamplesSmokeTest {

    @TempDir static Path tmp;
    private static Path data;
    private static Path model;
    private static String trainOutput;

    @BeforeAll
    static void trainOnce() throws Exception {
        // 200 images per file: 1,000 training images, of which 100 are held out for validation
        data = SyntheticCifar.write(tmp.resolve("data"), 200);
        model = tmp.resolve("model");
        trainOutput = run(() -> TrainAndSave.main(new String[] {
            "--data", data.toString(), "--widths", "4,8,8", "--epochs", "1", "--limit", "64", "--out", model.toString()
        }));
        assertThat(trainOutput).contains("epoch 1/1").contains("saved to");
    }

    @Test
    void trainAndSave_savesAModelThatLoadsAndPredictsLikeTheTrainedOne() throws Exception {
        // the validation accuracy TrainAndSave measured on the trained model, before saving it
        Matcher printed = Pattern.compile("validation accuracy (\\d+\\.\\d{4})%").matcher(trainOutput);
        assertThat(printed.find()).as(trainOutput).isTrue();
        ModelFiles.Manifest manifest = ModelFiles.verify(model); // the parameters match their checksum
        assertThat(manifest.metadata()).containsEntry("dataset", "CIFAR-10");

        CifarData cifar = CifarData.load(data, CifarVariant.CIFAR10, LabelMode.FINE);
        CifarDataset validation = CifarDataset.builder().optData(cifar).optUsage(Dataset.Usage.VALIDATION)
                .optValidationSize(cifar.trainSize() / 10).setSampling(256, false).build();
        LabeledData labeled = LabeledData.of(validation, validation.labels(), cifar.classNames());
        try (Model loaded = MoeResNet.load(model)) {
            assertThat(TrainingRecipe.of(loaded)).contains(
                    TrainingRecipe.forgetReady().toBuilder().optEpochs(1).optSeed(0).build());
            double accuracy = Predictions.all(loaded, labeled, 256).accuracy();
            assertThat(String.format(Locale.ROOT, "%.4f", accuracy)).isEqualTo(printed.group(1));
        }
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

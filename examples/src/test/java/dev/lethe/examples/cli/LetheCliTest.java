package dev.lethe.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.examples.SyntheticCifar;
import dev.lethe.moe.model.ModelFiles;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningSettings;
import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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
        // the test accuracy with one view and averaged with the mirror image, printed as saved
        try (TrainedModel saved = TrainedModel.load(model)) {
            assertThat(r.out).contains(String.format(java.util.Locale.ROOT, "test accuracy %.2f%% (%.2f%% averaged with the mirror image)",
                    saved.testAccuracy(), saved.testAccuracyFlipAveraged()));
            assertThat(saved.testAccuracyFlipAveraged()).isBetween(0.0, 100.0);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"train", "profile", "forget", "evaluate", "demo", "protocol", "audit", "audit verify"})
    void help_worksForEveryCommand_withoutAFormattingWarning(String command) throws Exception {
        List<String> args = new ArrayList<>(List.of(command.split(" ")));
        args.add("--help");
        Run r = run(args.toArray(String[]::new));
        assertThat(r.code).isZero();
        assertThat(r.out).contains("Usage: lethe " + command).contains("--help");
        // picocli reports a description it cannot format (e.g. an unescaped "%") on stderr
        assertThat(r.err).isEmpty();
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
    void scopeWithoutExperts_underTheDefaultMethod_exitsWith2AndNamesTheMethodThatTakesIt() throws Exception {
        Run r = run("forget", "--model", model.toString(), "--class", "cat", "--scope", "head-only");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("--scope head-only names no experts").contains("--method expert-targeted");
        // with the method that takes it, the same scope is accepted (it fails later only for the missing data)
        Run ok = run("forget", "--model", model.toString(), "--class", "cat", "--scope", "head-only",
                "--method", "expert-targeted", "--data", tmp.resolve("no-such-data").toString());
        assertThat(ok.err).doesNotContain("names no experts");
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

    // ---- defect 1: a parameter file replaced by other bytes is refused, naming the file and both hashes

    @Test
    void forget_modelWhoseParametersWereReplaced_exitsWith1NamingTheFileAndBothHashes() throws Exception {
        Path copy = copyOfModel("tampered");
        Path params;
        try (var files = Files.list(copy)) {
            params = files.filter(f -> f.toString().endsWith(".params")).findFirst().orElseThrow();
        }
        String recorded = ModelFiles.readManifest(copy).sha256().orElseThrow();
        byte[] random = new byte[(int) Files.size(params)];
        new java.util.Random(3).nextBytes(random);
        Files.write(params, random);
        Run r = run("forget", "--model", copy.toString(), "--data", data.toString(), "--class", "cat",
                "--out", tmp.resolve("tampered-out").toString());
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains(params.toString()).contains("recorded sha256 " + recorded)
                .contains("file sha256 " + ModelFiles.sha256(params)).doesNotContain("\tat ");
        assertThat(tmp.resolve("tampered-out")).doesNotExist();
    }

    // ---- defect 2: never write over the model being read, nor over an existing model without --overwrite

    @ParameterizedTest
    @ValueSource(strings = {"same", "inside", "contains"})
    void forget_outputThatIsInsideOrContainsTheInput_isRefusedAndTheModelIsUntouched(String where) throws Exception {
        Path input = copyOfModel("input-" + where);
        String manifest = Files.readString(input.resolve(ModelFiles.MANIFEST_FILE));
        Path out = where.equals("same") ? input : where.equals("inside") ? input.resolve("sub") : input.getParent();
        Run r = run("forget", "--model", input.toString(), "--data", data.toString(), "--class", "cat",
                "--out", out.toString(), "--overwrite");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("--out " + out).contains("the model being read").contains("--overwrite does not apply");
        assertThat(Files.readString(input.resolve(ModelFiles.MANIFEST_FILE))).isEqualTo(manifest);
        ModelFiles.verify(input);
        assertThat(input.resolve("sub")).doesNotExist();
    }

    @Test
    void forget_retrainModelInsideTheOutput_isRefused() throws Exception {
        Path out = tmp.resolve("holds-retrain");
        Path retrain = copyOfModel("holds-retrain/reference");
        Run r = run("forget", "--model", model.toString(), "--retrain-model", retrain.toString(), "--data",
                data.toString(), "--class", "cat", "--out", out.toString());
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("contains the model being read");
    }

    @Test
    void train_outHoldingAModel_isRefusedWithoutOverwrite_andReplacedWithIt() throws Exception {
        Path out = copyOfModel("train-again");
        String manifest = Files.readString(out.resolve(ModelFiles.MANIFEST_FILE));
        String[] args = {"train", "--data", data.toString(), "--widths", "4,8,8", "--experts", "4", "--epochs", "1",
            "--limit", "32", "--seed", "2", "--out", out.toString()};
        Run refused = run(args);
        assertThat(refused.code).isEqualTo(2);
        assertThat(refused.err).contains("--out " + out + " already holds a model").contains("pass --overwrite");
        assertThat(Files.readString(out.resolve(ModelFiles.MANIFEST_FILE))).isEqualTo(manifest);

        String[] overwrite = java.util.Arrays.copyOf(args, args.length + 1);
        overwrite[args.length] = "--overwrite";
        Run replaced = run(overwrite);
        assertThat(replaced.code).as(replaced.err).isZero();
        assertThat(ModelFiles.verify(out).metadata()).containsEntry(SavedModels.SEED, "2")
                .containsEntry(SavedModels.TRAIN_LIMIT, "32");
    }

    @Test
    void train_isolatedRecipe_getsOneExpertPerClassTopOneAndASharedExpert_andRoutesByClass() throws Exception {
        Path out = tmp.resolve("isolated");
        Run r = run("train", "--data", data.toString(), "--recipe", "isolated", "--widths", "4,8,8", "--epochs", "1",
                "--limit", "64", "--out", out.toString());
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.err).contains("10 experts + a shared expert, top-1");
        try (TrainedModel m = TrainedModel.load(out)) {
            assertThat(m.config().numExperts()).isEqualTo(10);
            assertThat(m.config().topK()).isEqualTo(1);
            assertThat(m.config().sharedExpert()).isTrue();
            assertThat(m.recipe().orElseThrow().classRouting()).isTrue();
            assertThat(m.recipe().orElseThrow().name()).isEqualTo("isolated");
        }
    }

    // ---- defect 4: invalid values are usage errors (exit 2), checked before the data is read

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "train --limit -5 --epochs 1                      | --limit (-5) must be >= 0",
        "forget --model MODEL --class cat --epochs 0      | --epochs (0) must be >= 1",
        "forget --model MODEL --class cat --lr -1         | --lr (-1.0) must be finite and > 0",
        "forget --model MODEL --class cat --retain-sample 0 | --retain-sample (0) must be >= 1",
        "forget --model MODEL --class cat --retrain-epochs 0 | --retrain-epochs (0) must be >= 1",
        "evaluate --model MODEL --class cat --mia-per-side 0 | --mia-per-side (0) must be >= 1",
        "forget --model MODEL --class -1                  | class id -1 must be >= 0",
        "evaluate --model MODEL --class 12                | class id 12 must be in [0, 10)",
        "profile --model MODEL --limit -1                 | --limit (-1) must be >= 0",
        "demo --class 10                                  | class id 10 must be in [0, 10)",
        "demo --train-images -3                           | --train-images (-3) must be >= 0",
        "protocol --classes 12                            | --classes: class id 12 must be in [0, 10)",
        "protocol --methods ours-router,magic             | unknown method 'magic'",
        "protocol --widths 8,16                           | --widths needs 3 comma-separated widths",
        "protocol --recipes fancy                         | unknown recipe 'fancy'",
        "protocol --recipes forget-ready@x                | the load-balancing weight after @ ('x') is not a number",
        "protocol --relearn-steps 5,2                     | --relearn-steps: steps must be strictly ascending",
        "protocol --unlearn-epochs 0                      | --unlearn-epochs (0) must be >= 1",
        "train --layout wide --epochs 1                   | 'wide' is not a valid layout; choose one of [resnet, fast]",
        "train --recipe fast --epochs 1 --batch-size 0    | batchSize (0) must be >= 1",
        "train --recipe isolated --experts 8 --epochs 1    | recipe 'isolated' needs one expert per class, top-1 routing and a shared expert: pass --experts 10 --top-k 1 --shared-expert, or leave those options out (given: --experts 8)",
        "protocol --recipes plain,fast-isolated --top-k 2  | recipe 'fast-isolated' needs one expert per class, top-1 routing and a shared expert: pass --experts 10 --top-k 1 --shared-expert, or leave those options out (given: --top-k 2)",
        "train --recipe exact --epochs 1                  | --recipe exact is a configuration of `lethe protocol --recipes exact`",
        "protocol --recipes exact --classes 0,1,2,3,4,5,6,7,8,9 | an exact configuration needs at least one public class",
        "protocol --recipes exact --classes 3 --public-classes 3,4 | --public-classes 3,4 includes 3 of --classes or --sequential",
        "protocol --sequential 3                          | --sequential needs two different classes A,B",
        "protocol --exact-epochs 1,2                      | --exact-epochs needs 3 comma-separated epochs",
        "protocol --tune-class 10                         | --tune-class: class id 10 must be in [0, 10)",
        "protocol --recipes plain --single-seed fast      | --single-seed names fast, not in --recipes plain",
    })
    void invalidValue_exitsWith2BeforeReadingTheData(String command, String message) throws Exception {
        // the data does not exist: a check made after reading it would fail with exit code 1 instead
        List<String> args = new ArrayList<>();
        for (String a : command.trim().split("\\s+")) {
            args.add(a.equals("MODEL") ? model.toString() : a);
        }
        args.addAll(List.of("--data", tmp.resolve("no-such-data").toString()));
        Run r = run(args.toArray(new String[0]));
        assertThat(r.code).as(r.err).isEqualTo(2);
        assertThat(r.err).contains(message.trim());
    }

    @Test
    void limitAboveTheTrainingSplit_exitsWith2SayingTheSize() throws Exception {
        // 100 training images of which 10 are held out for validation
        Run r = run("train", "--data", data.toString(), "--limit", "91", "--epochs", "1", "--out",
                tmp.resolve("too-many").toString());
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("--limit (91) is more than the 90 images of the CIFAR-10 training split");
        Run demo = run("demo", "--data", data.toString(), "--train-images", "1000", "--cache", tmp.resolve("c").toString(),
                "--out", tmp.resolve("d").toString());
        assertThat(demo.code).isEqualTo(2);
        assertThat(demo.err).contains("--train-images (1000) is more than the 90 images");
        assertThat(tmp.resolve("too-many")).doesNotExist();
    }

    @Test
    void truncatedArchive_exitsWith1SayingItIsTruncated() throws Exception {
        Path archive = SyntheticCifar.writeArchive(tmp.resolve("cifar-10-binary.tar.gz"), 20);
        byte[] bytes = Files.readAllBytes(archive);
        Path truncated = Files.write(tmp.resolve("truncated.tar.gz"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        Run r = run("train", "--data", truncated.toString(), "--limit", "10", "--epochs", "1");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains(truncated.toString()).contains("truncated").doesNotContain("null");
    }

    // ---- defect 3: the CLI's Retrain reference is trained like the model (its recipe owns the augmentation)

    @Test
    void forgetRetrain_trainsWithTheModelsRecipe_augmentationIncluded() throws Exception {
        Path out = tmp.resolve("retrain");
        Run r = run("forget", "--model", model.toString(), "--data", data.toString(), "--class", "cat",
                "--method", "retrain", "--seed", "5", "--retain-sample", "20", "--mia-per-side", "10",
                "--out", out.toString());
        assertThat(r.code).as(r.err).isZero();
        try (TrainedModel base = TrainedModel.load(model); TrainedModel retrained = TrainedModel.load(out)) {
            // the model's own recipe (seed 1, random flips, 4-pixel shifts), whatever the unlearning seed
            assertThat(retrained.recipe()).isEqualTo(base.recipe()).isPresent();
            TrainingRecipe recipe = base.recipe().orElseThrow();
            assertThat(recipe.seed()).isEqualTo(1);
            assertThat(recipe.flip()).isEqualTo(TrainingRecipe.Flip.RANDOM);
            assertThat(recipe.translate()).isEqualTo(4);
            assertThat(retrained.metadata()).doesNotContainKey(SavedModels.LEGACY_AUGMENTATION);
            assertThat(Unlearner.forgottenClasses(retrained.model())).containsExactly(3);
        }
        JsonObject report = JsonParser.parseString(Files.readString(out.resolve("report.json"))).getAsJsonObject();
        assertThat(report.getAsJsonArray("notes").toString()).contains("Retrain oracle: recipe forget-ready from the model");
    }

    @Test
    void retrainRecipe_ofAModelAnEarlierCliTrainedOnAugmentedData_augmentsLikeIt() throws Exception {
        TrainingRecipe unaugmented = TrainingRecipe.forgetReady().toBuilder().optAugmentation(TrainingRecipe.Flip.NONE, 0)
                .optEpochs(3).optSeed(2).build();
        try (TrainedModel loaded = TrainedModel.load(model)) {
            loaded.model().setProperty(TrainingRecipe.MODEL_PROPERTY, unaugmented.toJson());
            TrainedModel legacy = TrainedModel.of(loaded.model(), java.util.Map.of(SavedModels.LEGACY_AUGMENTATION,
                    SavedModels.LEGACY_DATASET_AUGMENTATION));
            ForgetCommand command = new ForgetCommand();
            new CommandLine(command).parseArgs("--model", model.toString(), "--class", "cat", "--method", "retrain");
            assertThat(command.retrainRecipe(legacy)).isEqualTo(unaugmented.toBuilder()
                    .optAugmentation(TrainingRecipe.Flip.RANDOM, 4).build());
            // a model of today (its recipe augments) gets the library's default: its own recipe
            assertThat(command.retrainRecipe(TrainedModel.of(loaded.model(), java.util.Map.of()))).isNull();
            loaded.model().setProperty(TrainingRecipe.MODEL_PROPERTY, TrainingRecipe.forgetReady().toJson());
            assertThat(command.retrainRecipe(legacy)).isNull();
        }
    }

    // ---- issue 10, defect 5: the library's copy of an already-forgotten model is closed by ForgetRun

    @Test
    void forgetRun_alreadyForgotten_closesTheLibrarysCopyAndLeavesTheOriginalOpen() throws Exception {
        Path forgotten = tmp.resolve("forgotten-once");
        Run once = run("forget", "--model", model.toString(), "--data", data.toString(), "--class", "cat",
                "--epochs", "1", "--retain-sample", "20", "--mia-per-side", "10", "--out", forgotten.toString());
        assertThat(once.code).as(once.err).isZero();
        CifarSplits splits = CifarSplits.of(CifarSplits.load(data, dev.lethe.cifar.CifarVariant.CIFAR10), 0, 0);
        try (TrainedModel original = TrainedModel.load(forgotten)) {
            ForgetReport report = ForgetRun.run(original, splits, 3, Unlearner.forClass(3), 0, 20, 10, null,
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            assertThat(report.result().status()).isEqualTo(dev.lethe.unlearn.UnlearningResult.Status.ALREADY_FORGOTTEN);
            assertThat(report.result().model()).isNotSameAs(original.model());
            assertThat(report.result().model().getNDManager().isOpen()).isFalse();
            assertThat(original.model().getNDManager().isOpen()).isTrue();
        }
    }

    // ---- issue 10, item 5: the training data carries its identity into the audit record

    @Test
    void splits_trainOnUnaugmentedImagesThatCarryTheDataIdentity() throws Exception {
        CifarSplits.Source source = CifarSplits.load(data, dev.lethe.cifar.CifarVariant.CIFAR10);
        CifarSplits splits = CifarSplits.of(source, 0, 50);
        assertThat(source.sha256()).hasSize(64).isEqualTo(CifarSplits.sha256(data));
        assertThat(splits.labeledTrain().identity()).contains(
                "data sha256=" + source.sha256() + ", CIFAR-10 training split (split seed 0, 10 images held out for"
                        + " validation), first 50 images");
        // the same image twice is the same pixels: nothing augments the data set, the recipe does
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            float[] a = splits.train().get(m, 7).getData().singletonOrThrow().toFloatArray();
            float[] b = splits.train().get(m, 7).getData().singletonOrThrow().toFloatArray();
            assertThat(b).containsExactly(a);
        }
        // another data file is another identity
        Path other = SyntheticCifar.write(tmp.resolve("other-data"), 21);
        assertThat(CifarSplits.sha256(other)).isNotEqualTo(source.sha256());
    }

    // ---- defect 9: the note on a selection that is not class-specific says what is true of the model

    @Test
    void notClassSpecific_readsTheRecipeFromTheModel() {
        String forgetReady = ForgetRun.notClassSpecific(0.7, java.util.Optional.of(TrainingRecipe.forgetReady()));
        assertThat(forgetReady).contains("70%").contains("was trained with class-aware routing")
                .doesNotContain("Train the model with class-aware routing");
        String plain = ForgetRun.notClassSpecific(0.7, java.util.Optional.of(TrainingRecipe.plain()));
        assertThat(plain).contains("trained with the plain recipe").contains("TrainingRecipe.forgetReady()");
        assertThat(ForgetRun.notClassSpecific(0.7, java.util.Optional.empty())).contains("records no training recipe");
    }

    @Test
    void modelCacheKeys_differByEverythingThatMakesTheModel() throws Exception {
        CifarSplits.Source cifar = CifarSplits.load(data, dev.lethe.cifar.CifarVariant.CIFAR10);
        CifarSplits splits = CifarSplits.of(cifar, 0, 0);
        dev.lethe.moe.model.MoeResNet.Config config = dev.lethe.moe.model.MoeResNet.Config.builder().build();
        TrainingRecipe recipe = TrainingRecipe.plain();
        String key = ModelCache.key(splits, config, recipe);
        assertThat(ModelCache.key(CifarSplits.of(cifar, 0, 0), config, recipe)).isEqualTo(key);
        assertThat(java.util.Set.of(key,
                ModelCache.key(CifarSplits.of(cifar, 1, 0), config, recipe),               // split seed
                ModelCache.key(CifarSplits.of(cifar, 0, 50), config, recipe),              // limit
                ModelCache.key(splits, config.toBuilder().optTopK(1).build(), recipe),     // architecture
                ModelCache.key(splits, config, TrainingRecipe.forgetReady()),              // recipe
                ModelCache.key(splits, config, recipe.toBuilder().optSeed(1).build()),     // seed: order, augmentation
                ModelCache.key(splits, config, recipe.toBuilder()                          // augmentation
                        .optAugmentation(TrainingRecipe.Flip.ALTERNATING, 2).build()),
                ModelCache.retrainKey(splits, config, recipe, 3),                          // Retrain without 3
                ModelCache.retrainKey(splits, config, recipe, 4))).hasSize(9);
    }

    /** A copy of the shared tiny model, for tests that must not touch it. */
    private static Path copyOfModel(String name) throws IOException {
        Path copy = Files.createDirectories(tmp.resolve(name));
        try (var files = Files.list(model)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, copy.resolve(f.getFileName()));
                }
            }
        }
        return copy;
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
        // without --method: the library's default, an erasure
        assertThat(report.get("method").getAsString()).isEqualTo(UnlearningSettings.defaults().method().name())
                .isEqualTo("RESET_RETRAIN");
        // without --scope: the library's default scope (read from the library, not restated by the CLI)
        assertThat(report.get("scope").getAsString()).isEqualTo(UnlearningSettings.defaults().effectiveScope().name());
        // the attacker-grade measures of the library's evaluator: a probe per MoE stage and the penultimate
        // layer, the class attack, the MIA attacker's accuracy and the forgotten class's routing shift
        JsonObject after = report.getAsJsonObject("after");
        List<String> probed = new ArrayList<>();
        after.getAsJsonArray("probes").forEach(p -> probed.add(p.getAsJsonObject().get("layer").getAsString()));
        List<String> expected = new ArrayList<>(report.getAsJsonObject("expertsRetrained").keySet());
        expected.add(dev.lethe.eval.LayerFeatures.PENULTIMATE);
        assertThat(probed).containsExactlyElementsOf(expected);
        assertThat(after.getAsJsonObject("classAttack").get("forgetTestImages").getAsInt()).isEqualTo(2);
        assertThat(after.get("miaAttackerAccuracy").isJsonNull()).isFalse();
        assertThat(report.getAsJsonObject("routingShift").get("classId").getAsInt()).isEqualTo(3);
        assertThat(report.getAsJsonObject("routingShift").getAsJsonObject("layers").keySet())
                .containsExactlyElementsOf(report.getAsJsonObject("expertsRetrained").keySet());
        assertThat(r.out).contains("MIA attacker accuracy").contains("class attack").contains("probe, MoE layer 2");
        // the audit record beside the model names the data: its file's SHA-256, split and limit
        JsonObject audit = JsonParser.parseString(Files.readString(out.resolve("audit.json"))).getAsJsonObject();
        assertThat(audit.getAsJsonObject("data").get("source").getAsString())
                .contains("sha256=" + CifarSplits.sha256(data)).contains("split seed 0").contains("all 90 images");
        assertThat(audit.getAsJsonObject("data").get("forgetItems").getAsInt()).isEqualTo(9);
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
        // the reference here is the original model itself: before = reference, so its gap is 0, and the
        // gap after is the mean distance of the four metrics to the reference's
        JsonObject gap = report.getAsJsonObject("avgGap");
        assertThat(gap.get("before").getAsDouble()).isEqualTo(0.0);
        assertThat(gap.get("after").getAsDouble()).isCloseTo(meanGap(report.getAsJsonObject("after"),
                report.getAsJsonObject("retrain")), within(1e-9));
        assertThat(Files.readString(out.resolve("report.md"))).contains("| UA |").contains("**cat** (forgotten)");

        // a second run into the same folder would write over the new model: refused without --overwrite
        Run overwrite = run("forget", "--model", model.toString(), "--data", data.toString(), "--class", "cat",
                "--out", out.toString());
        assertThat(overwrite.code).isEqualTo(2);
        assertThat(overwrite.err).contains("already holds a model").contains("--overwrite");

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

    // ---- issue 10, defect 6: `lethe audit verify` checks a saved model against its audit record

    /** A model forgotten by `lethe forget`, with its audit.json beside it (made once). */
    private static Path audited() throws IOException {
        Path out = tmp.resolve("audited");
        if (!Files.isRegularFile(out.resolve("audit.json"))) {
            Run r = run("forget", "--model", model.toString(), "--data", data.toString(), "--class", "cat",
                    "--epochs", "1", "--retain-sample", "20", "--mia-per-side", "10", "--out", out.toString());
            assertThat(r.code).as(r.err).isZero();
        }
        return out;
    }

    @Test
    void auditVerify_theModelTheRunMade_isVerified() throws Exception {
        Path out = audited();
        Run r = run("audit", "verify", "--model", out.toString());
        assertThat(r.code).as(r.err).isZero();
        int parameters;
        try (TrainedModel m = TrainedModel.load(out)) {
            parameters = m.model().getBlock().getParameters().size();
        }
        assertThat(r.out).contains("parameter file matches its checksum").contains("removal: erase")
                .contains("VERIFIED: " + parameters + " parameters match, 0 differ, 0 missing, 0 unexpected");
    }

    @Test
    void auditVerify_aModelEditedAfterTheAuditAndSavedAgain_isRefusedNamingTheTensor() throws Exception {
        Path out = audited();
        Path edited = tmp.resolve("edited");
        String name;
        try (TrainedModel m = TrainedModel.load(out)) {
            var parameters = m.model().getBlock().getParameters();
            var head = parameters.get(parameters.size() - 1); // the classifier's last parameter
            name = head.getKey();
            head.getValue().getArray().addi(0.01f);
            m.save(edited); // a fresh checksum: the file check passes, the audit must not
        }
        ModelFiles.verify(edited);
        Run r = run("audit", "verify", "--model", edited.toString(), "--record", out.resolve("audit.json").toString());
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains("NOT VERIFIED").contains("differ [" + name + "]");
        assertThat(r.out).contains("differs:    " + name).contains("1 differ");
    }

    @Test
    void auditVerify_aParameterFileChangedOnDisk_isRefusedOnItsChecksum() throws Exception {
        Path out = audited();
        Path copy = Files.createDirectories(tmp.resolve("changed-on-disk/model"));
        try (var files = Files.list(SavedModels.nested(out))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Files.copy(out.resolve("audit.json"), copy.getParent().resolve("audit.json"));
        Path params;
        try (var files = Files.list(copy)) {
            params = files.filter(f -> f.toString().endsWith(".params")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(params);
        bytes[bytes.length - 1] ^= 1;
        Files.write(params, bytes);
        Run r = run("audit", "verify", "--model", copy.getParent().toString()); // finds model/ and audit.json
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains(params.toString()).contains("recorded sha256").doesNotContain("\tat ");
    }

    @Test
    void auditVerify_withoutARecord_exitsWith1SayingWhereItLooked() throws Exception {
        Run r = run("audit", "verify", "--model", model.toString());
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).startsWith("lethe audit verify: ").contains("audit.json").contains("pass --record FILE");
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
        Run refused = run(args);
        assertThat(refused.code).isEqualTo(2);
        assertThat(refused.err).contains("already holds a model").contains("--overwrite");
        String[] again = java.util.Arrays.copyOf(args, args.length + 1);
        again[args.length] = "--overwrite";
        Run second = run(again);
        assertThat(second.code).as(second.err).isZero();
        assertThat(second.err).contains("using the cached model");
        // the demo reports the recipe the model records, and says what is true of it
        assertThat(Files.readString(tmp.resolve("demo").resolve("report.md")))
                .contains("forget-ready recipe (class-aware routing), 1 epoch on")
                .doesNotContain("Train the model with class-aware routing");
    }

    @Test
    void protocol_tunesEveryMethodOnValidation_runsTheMethods_andResumesFromItsCache() throws Exception {
        Path docs = tmp.resolve("protocol-docs");
        String[] args = {"protocol", "--data", data.toString(), "--limit", "90", "--epochs", "1", "--layout", "resnet", "--widths", "4,8,8",
            "--experts", "4", "--recipes", "forget-ready", "--classes", "3", "--seeds", "0", "--methods",
            "ours-router,head-only,fine-tune,fine-tune-ours,gradient-ascent", "--retain-sample", "20", "--mia-per-side", "10",
            "--relearn-steps", "0,2,4", "--tune", "--tune-class", "3", "--cache", tmp.resolve("protocol-cache").toString(),
            "--docs", docs.toString()};
        Run first = run(args);
        assertThat(first.code).as(first.err).isZero();
        assertThat(first.err).contains("training the forget-ready base model").contains("Retrain oracle without class 3 (cat)")
                .contains("sweep of expert-targeted: chose").contains("sweep of fine-tune: chose")
                .contains("sweep of gradient-ascent: chose");
        JsonObject json = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json"))).getAsJsonObject();
        // every tuned method's grid, scored once, the same number of candidates each (issue 12)
        java.util.Map<String, Integer> perMethod = new java.util.TreeMap<>();
        json.getAsJsonArray("validationSweep").forEach(e -> perMethod.merge(e.getAsJsonObject().get("method").getAsString(), 1,
                Integer::sum));
        assertThat(perMethod).containsOnlyKeys("expert-targeted", "fine-tune", "gradient-ascent")
                .allSatisfy((m, n) -> assertThat(n).as(m).isEqualTo(dev.lethe.eval.tuning.MethodGrids.SIZE));
        assertThat(json.get("tuningClass").getAsInt()).isEqualTo(3);
        JsonObject chosenSettings = json.getAsJsonObject("chosenSettings").getAsJsonObject("forget-ready");
        String chosen = chosenSettings.get("expert-targeted").getAsString();
        assertThat(chosen).startsWith("EXPERT_TARGETED lr ");
        assertThat(chosenSettings.get("fine-tune").getAsString()).startsWith("FINE_TUNE lr ");
        // one record per method, even when two methods resolve to the same settings and share a run
        List<String> methods = new ArrayList<>();
        json.getAsJsonArray("records").forEach(e -> {
            if (e.getAsJsonObject().has("method")) {
                methods.add(e.getAsJsonObject().get("method").getAsString());
            }
        });
        assertThat(methods).containsExactly("retrain", "ours-router", "head-only", "fine-tune", "fine-tune-ours",
                "gradient-ascent");
        assertThat(record(json, "fine-tune-ours").get("settings").getAsString()).isEqualTo(chosen);
        assertThat(record(json, "fine-tune").get("settings").getAsString())
                .isEqualTo(chosenSettings.get("fine-tune").getAsString());
        assertThat(record(json, "gradient-ascent").get("settings").getAsString())
                .isEqualTo(chosenSettings.get("gradient-ascent").getAsString());
        assertThat(json.get("data").getAsString()).contains("data sha256=" + CifarSplits.sha256(data));
        JsonObject ours = record(json, "ours-router");
        JsonObject retrain = record(json, "retrain");
        JsonObject headOnly = record(json, "head-only");
        assertThat(ours.get("settings").getAsString()).isEqualTo(chosen);
        assertThat(headOnly.has("settings")).isFalse(); // its settings are fixed, not tuned
        assertThat(ours.get("scope").getAsString()).isEqualTo("experts-and-router");
        assertThat(headOnly.get("scope").getAsString()).isEqualTo("head-only");
        assertThat(retrain.get("removal").getAsString()).isEqualTo("retrain");
        assertThat(retrain.get("forgetClass").getAsInt()).isEqualTo(ours.get("forgetClass").getAsInt()).isEqualTo(3);
        assertThat(ours.get("avgGap").getAsDouble()).isCloseTo(meanGap(ours, retrain), within(1e-3)); // records round to 4 decimals
        assertThat(ours.get("retrainSeconds").getAsDouble()).isEqualTo(retrain.get("seconds").getAsDouble());
        assertThat(ours.getAsJsonObject("vsRetrain").get("taGap").getAsDouble())
                .isCloseTo(ours.get("ta").getAsDouble() - retrain.get("ta").getAsDouble(), within(1e-3));
        assertThat(ours.get("weightDistance").getAsDouble()).isPositive();
        assertThat(ours.get("parametersChangedFraction").getAsDouble()).isBetween(0.0, 1.0);

        // every record, Retrain included, carries the attacker-grade measures of the library's evaluator
        for (JsonObject r : List.of(ours, retrain, headOnly)) {
            String m = r.get("method").getAsString();
            List<String> layers = new ArrayList<>();
            r.getAsJsonArray("probes").forEach(p -> layers.add(p.getAsJsonObject().get("layer").getAsString()));
            assertThat(layers).as(m).hasSize(3).endsWith(dev.lethe.eval.LayerFeatures.PENULTIMATE);
            assertThat(r.get("classAttack").getAsDouble()).as(m).isBetween(0.0, 100.0);
            assertThat(r.get("miaAttackerAccuracy").getAsDouble()).as(m).isBetween(0.0, 100.0);
            for (String mode : new String[] {"fewShot", "retainOnly"}) {
                JsonObject curve = r.getAsJsonObject("relearning").getAsJsonObject(mode);
                assertThat(curve.getAsJsonArray("steps").toString()).as(m + " " + mode).isEqualTo("[0,2,4]");
                assertThat(curve.getAsJsonArray("forgetAccuracy")).as(m + " " + mode).hasSize(3);
                // step 0 is the model as it is: its forgotten-class test accuracy
                assertThat(curve.getAsJsonArray("forgetAccuracy").get(0).getAsDouble()).as(m + " " + mode)
                        .isCloseTo(r.get("forgetTestAccuracy").getAsDouble(), within(1e-3));
                // the area between this curve and Retrain's, by the trapezoid rule on the checkpoints
                double area = 0;
                JsonArray mine = curve.getAsJsonArray("forgetAccuracy");
                JsonArray theirs = retrain.getAsJsonObject("relearning").getAsJsonObject(mode).getAsJsonArray("forgetAccuracy");
                int[] steps = {0, 2, 4};
                for (int i = 0; i + 1 < 3; i++) {
                    double d0 = mine.get(i).getAsDouble() - theirs.get(i).getAsDouble();
                    double d1 = mine.get(i + 1).getAsDouble() - theirs.get(i + 1).getAsDouble();
                    area += (steps[i + 1] - steps[i]) * (d0 + d1) / 2;
                }
                JsonObject vs = r.getAsJsonObject("vsRetrain").getAsJsonObject("relearning").getAsJsonObject(mode);
                assertThat(vs.get("forgetArea").getAsDouble()).as(m + " " + mode).isCloseTo(area, within(1e-2));
                assertThat(vs.get("meanForgetGap").getAsDouble()).as(m + " " + mode).isCloseTo(area / 4, within(1e-2));
                JsonArray gaps = vs.getAsJsonArray("forgetGaps");
                assertThat(gaps).as(m + " " + mode).hasSize(3);
                assertThat(gaps.get(2).getAsJsonObject().get("gap").getAsDouble()).as(m + " " + mode)
                        .isCloseTo(mine.get(2).getAsDouble() - theirs.get(2).getAsDouble(), within(1e-3));
            }
            JsonObject gaps = r.getAsJsonObject("vsRetrain").getAsJsonObject("probeGaps");
            assertThat(gaps.keySet()).as(m).containsExactlyElementsOf(layers);
            for (int i = 0; i < layers.size(); i++) {
                double gap = r.getAsJsonArray("probes").get(i).getAsJsonObject().get("forgetAccuracy").getAsDouble()
                        - retrain.getAsJsonArray("probes").get(i).getAsJsonObject().get("forgetAccuracy").getAsDouble();
                assertThat(gaps.get(layers.get(i)).getAsDouble()).as(m + " " + layers.get(i)).isCloseTo(gap, within(1e-3));
            }
        }
        assertThat(retrain.get("avgGap").getAsDouble()).isZero();
        assertThat(retrain.getAsJsonObject("vsRetrain").get("classAttackGap").getAsDouble()).isZero();
        assertThat(ours.get("routingShift").getAsDouble()).isBetween(0.0, 1.0);

        // the base and the Retrain model are in the model cache; the Retrain model was trained like the base,
        // on the same un-augmented images with the base's recipe (which augments)
        List<Path> cached;
        try (var dirs = Files.list(tmp.resolve("protocol-cache").resolve("models"))) {
            cached = dirs.filter(SavedModels::isModel).sorted().toList();
        }
        assertThat(cached).hasSize(2);
        try (TrainedModel a = TrainedModel.load(cached.get(0)); TrainedModel b = TrainedModel.load(cached.get(1))) {
            TrainedModel oracle = Unlearner.forgottenClasses(a.model()).isEmpty() ? b : a;
            TrainedModel base = oracle == a ? b : a;
            assertThat(Unlearner.forgottenClasses(oracle.model())).containsExactly(3);
            assertThat(Unlearner.forgottenClasses(base.model())).isEmpty();
            assertThat(oracle.recipe()).isEqualTo(base.recipe()).isPresent();
            assertThat(base.recipe().orElseThrow().augments()).isTrue();
        }
        String md = Files.readString(docs.resolve("RESULTS.md"));
        assertThat(md).contains("## Settings of every method").contains("| expert-targeted | " + chosen + " **(chosen)** |")
                .contains("## The tuning class, 3 (cat): reported apart, not evidence")
                .contains("| retrain | all | retrain | 1 |").contains("| ours-router | experts-and-router | suppress | 1 |")
                .contains("| head-only | head-only | suppress | 1 |")
                .contains("few-shot @4 | few-shot area | retain-only @4 | retain-only area | Avg.Gap");
        // the tuning class is not evidence: the recipe's own table has no row, and no target line is drawn from it
        String recipeSection = md.substring(md.indexOf("## Class-wise forgetting, forget-ready recipe"),
                md.indexOf("## The tuning class"));
        assertThat(recipeSection).doesNotContain("| ours-router |").doesNotContain("Targets (issues 12 and 14")
                .doesNotContain("Charts:");

        // a rerun trains and unlearns nothing and writes the same records
        Run second = run(args);
        assertThat(second.code).as(second.err).isZero();
        assertThat(second.err).doesNotContain("training the").doesNotContain("Retrain oracle")
                .doesNotContain(" on class 3 (cat), forget-ready seed 0 ...").doesNotContain("sweep: EXPERT_TARGETED")
                .contains("sweep of expert-targeted: chose " + chosen);
        JsonObject again = JsonParser.parseString(Files.readString(docs.resolve("results/cifar10-classwise.json"))).getAsJsonObject();
        assertThat(again.get("records")).isEqualTo(json.get("records"));
        assertThat(again.get("validationSweep")).isEqualTo(json.get("validationSweep"));
    }

    /** The record of a method in the protocol's JSON. */
    private static JsonObject record(JsonObject json, String method) {
        for (var e : json.getAsJsonArray("records")) {
            JsonObject r = e.getAsJsonObject();
            if (r.has("method") && method.equals(r.get("method").getAsString())) {
                return r;
            }
        }
        throw new AssertionError("no " + method + " record in " + json);
    }

    /** Avg. Gap by hand: the mean of |UA - UA_r|, |RA - RA_r|, |TA - TA_r|, |MIA - MIA_r|. */
    private static double meanGap(JsonObject e, JsonObject reference) {
        double sum = 0;
        for (String metric : new String[] {"ua", "ra", "ta", "mia"}) {
            sum += Math.abs(e.get(metric).getAsDouble() - reference.get(metric).getAsDouble());
        }
        return sum / 4;
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

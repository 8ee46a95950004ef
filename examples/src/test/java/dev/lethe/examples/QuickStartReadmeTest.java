package dev.lethe.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import dev.lethe.moe.model.ModelFiles;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Unlearner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick start is {@link QuickStart}: the snippet, its imports and its dependencies
 * cannot drift from code that compiles and runs.
 */
class QuickStartReadmeTest {

    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    private static String readme() throws IOException {
        return Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    }

    private static String quickStartSource() throws IOException {
        return Files.readString(ROOT.resolve("examples/src/main/java/dev/lethe/examples/QuickStart.java"),
                StandardCharsets.UTF_8);
    }

    /** The fenced block that follows an HTML comment marker in the README. */
    private static String readmeBlock(String marker) throws IOException {
        String readme = readme();
        int at = readme.indexOf("<!-- " + marker + " -->");
        assertThat(at).as("README.md has the marker <!-- %s -->", marker).isNotNegative();
        Matcher m = Pattern.compile("```\\w*\\n(.*?)\\n```", Pattern.DOTALL).matcher(readme);
        assertThat(m.find(at)).as("a code block after <!-- %s -->", marker).isTrue();
        return m.group(1);
    }

    @Test
    void readmeSnippet_isTheMarkedBodyOfQuickStart() throws IOException {
        String source = quickStartSource();
        String begin = "// quick-start:begin\n";
        String region = source.substring(source.indexOf(begin) + begin.length(), source.indexOf("// quick-start:end"));
        String dedented = Arrays.stream(region.split("\n", -1))
                .map(l -> l.startsWith("        ") ? l.substring(8) : l.strip())
                .collect(Collectors.joining("\n"))
                .strip();
        assertThat(readmeBlock("quick-start:code")).isEqualTo(dedented);
    }

    @Test
    void readmeImports_areTheImportsOfQuickStart() throws IOException {
        Set<String> inSource = quickStartSource().lines().filter(l -> l.startsWith("import "))
                .collect(Collectors.toCollection(LinkedHashSet::new));
        assertThat(readmeBlock("quick-start:imports").lines()).containsExactlyElementsOf(inSource);
    }

    @Test
    void readmeDependencies_bringTheModuleOfEveryImportAndTheEngine() throws IOException {
        String xml = readmeBlock("quick-start:dependencies");
        List<String> declared = new ArrayList<>();
        Matcher m = Pattern.compile("<artifactId>([^<]+)</artifactId>").matcher(xml);
        while (m.find()) {
            declared.add(m.group(1));
        }
        // which module each package of the imports comes from, and what a declared module brings along
        Map<String, String> moduleOf = Map.of("dev.lethe.cifar", "moe-cifar", "dev.lethe.unlearn", "moe-unlearn",
                "dev.lethe.moe", "moe-core");
        Map<String, List<String>> brings = Map.of("moe-unlearn", List.of("moe-unlearn", "moe-core"),
                "moe-cifar", List.of("moe-cifar"), "moe-core", List.of("moe-core"));
        Set<String> available = new LinkedHashSet<>();
        declared.forEach(a -> available.addAll(brings.getOrDefault(a, List.of(a))));
        for (String line : (Iterable<String>) readmeBlock("quick-start:imports").lines()::iterator) {
            String type = line.substring("import ".length(), line.length() - 1);
            moduleOf.forEach((pkg, module) -> {
                if (type.startsWith(pkg + ".")) {
                    assertThat(available).as("README declares the module of %s", type).contains(module);
                }
            });
        }
        assertThat(declared).contains("lethe-runtime");
        assertThat(xml).containsPattern("<artifactId>lethe-runtime</artifactId>.*\\s*<type>pom</type>");
        for (String artifact : declared) {
            assertThat(ROOT.resolve(artifact).resolve("pom.xml")).as("module %s exists", artifact).isRegularFile();
        }
        // the README names the engine versions the runtime artifact resolves to
        String pom = Files.readString(ROOT.resolve("pom.xml"), StandardCharsets.UTF_8);
        String djl = tag(pom, "djl.version");
        String pytorch = tag(pom, "pytorch.version");
        assertThat(readme()).contains("pytorch-engine " + djl).contains("JNI " + pytorch + "-" + djl).contains("libtorch " + pytorch);
        String runtime = Files.readString(ROOT.resolve("lethe-runtime/pom.xml"), StandardCharsets.UTF_8);
        assertThat(runtime).contains("<artifactId>pytorch-engine</artifactId>").contains("<artifactId>pytorch-jni</artifactId>")
                .contains("<artifactId>pytorch-native-cpu</artifactId><classifier>linux-x86_64</classifier>");
    }

    private static String tag(String xml, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(xml);
        assertThat(m.find()).as("<%s> in pom.xml", name).isTrue();
        return m.group(1);
    }

    @Test
    void run_onTinySyntheticData_forgetsCatAndSavesTheModelWithItsRecipe(@TempDir Path tmp) throws Exception {
        // 1,100 images per file: 5,500 training images, 5,000 of them held out for validation as in CIFAR-10
        Path data = SyntheticCifar.write(tmp.resolve("data"), 1100);
        Path out = tmp.resolve("cat-forgotten");
        PrintStream original = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            QuickStart.run(data, 64, 1, out);
        } finally {
            System.setOut(original);
        }
        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("cat").contains("experts selected for class 3");
        ModelFiles.Manifest manifest = ModelFiles.verify(out);
        assertThat(manifest.metadata()).containsEntry("dataset", "CIFAR-10");
        try (Model forgotten = MoeResNet.load(out)) {
            assertThat(Unlearner.forgottenClasses(forgotten)).containsExactly(3);
            assertThat(TrainingRecipe.of(forgotten))
                    .contains(TrainingRecipe.forgetReady().toBuilder().optEpochs(1).optSeed(0).build());
            assertThat(((MoeResNet) forgotten.getBlock()).config().widths()).containsExactly(16, 32, 64);
        }
    }
}

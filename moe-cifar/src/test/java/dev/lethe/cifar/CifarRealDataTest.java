package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset.Usage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks the real CIFAR-10 archive, {@code ../shared/data/cifar-10-binary.tar.gz} from the repository
 * root (override with {@code -Dlethe.cifar10=PATH}); skipped when it is absent. Decompressed once.
 */
class CifarRealDataTest {
    private static CifarData data;

    @BeforeAll
    static void load() throws IOException {
        String override = System.getProperty("lethe.cifar10");
        // surefire runs in the module folder; the repository root is its parent
        Path archive = override != null
                ? Paths.get(override)
                : Paths.get("").toAbsolutePath().getParent().resolve("../shared/data/cifar-10-binary.tar.gz")
                        .normalize();
        Assumptions.assumeTrue(Files.exists(archive),
                "real CIFAR-10 not found at " + archive + "; skipping (set -Dlethe.cifar10=PATH to point at it)");
        data = CifarData.load(archive, CifarVariant.CIFAR10, LabelMode.FINE);
    }

    @Test
    void load_realCifar10_hasOfficialSizesClassesAndNames() {
        assertThat(data.trainSize()).isEqualTo(50_000);
        assertThat(data.testSize()).isEqualTo(10_000);
        assertThat(data.classNames()).containsExactly(
                "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");
        int[] train = new int[10];
        int[] firstBatch = new int[10];
        for (int i = 0; i < 50_000; i++) {
            train[data.train().labels[i]]++;
            if (i < 10_000) {
                firstBatch[data.train().labels[i]]++;
            }
        }
        int[] test = new int[10];
        for (int i = 0; i < 10_000; i++) {
            test[data.test().labels[i]]++;
        }
        assertThat(train).containsOnly(5000);
        assertThat(test).containsOnly(1000);
        assertThat(firstBatch).containsExactly(1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981);
    }

    @Test
    void channelMeanAndStd_realCifar10_matchPublishedConstants() {
        float[] mean = data.channelMean();
        float[] std = data.channelStd();
        float[] publishedMean = CifarVariant.CIFAR10.mean();
        float[] publishedStd = CifarVariant.CIFAR10.std();

        for (int c = 0; c < 3; c++) {
            assertThat(mean[c]).isCloseTo(publishedMean[c], offset(0.001f));
            assertThat(std[c]).isCloseTo(publishedStd[c], offset(0.001f));
        }
    }

    @Test
    void datasets_realCifar10_split45kAnd5kStratified() throws Exception {
        CifarDataset train = CifarDataset.builder().optData(data).setSampling(128, true).optAugment(true).build();
        CifarDataset validation = CifarDataset.builder().optData(data).optUsage(Usage.VALIDATION)
                .setSampling(128, false).build();

        assertThat(train.size()).isEqualTo(45_000);
        assertThat(validation.size()).isEqualTo(5_000);
        int[] perClass = new int[10];
        for (int label : validation.labels()) {
            perClass[label]++;
        }
        assertThat(perClass).containsOnly(500);
        try (NDManager manager = NDManager.newBaseManager()) {
            Batch batch = train.getData(manager).iterator().next();
            try (batch) {
                NDArray x = batch.getData().singletonOrThrow();
                assertThat(x.getShape()).isEqualTo(new Shape(128, 3, 32, 32));
                // normalised data: the batch mean is near 0 (padding and sampling make it only roughly so)
                assertThat(x.mean().getFloat()).isBetween(-0.5f, 0.5f);
            }
        }
        assertThat(List.of(train.classNames().get(3))).containsExactly("cat");
    }
}

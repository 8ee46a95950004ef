package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarDataTest {
    @TempDir Path dir;

    /** Every image, label and pixel of {@code data} equals the synthetic source. */
    private static void assertSynthetic(CifarData data, int trainCount, int testCount) {
        CifarVariant variant = data.variant();
        assertThat(data.trainSize()).isEqualTo(trainCount);
        assertThat(data.testSize()).isEqualTo(testCount);
        for (boolean test : new boolean[] {false, true}) {
            CifarReader.Records records = test ? data.test() : data.train();
            for (int i = 0; i < records.size(); i++) {
                assertThat(records.labels[i] & 0xff)
                        .as("label of image %d", i)
                        .isEqualTo(SyntheticCifar.label(variant, data.labelMode(), i));
                for (int k : new int[] {0, 1, 2, 1023, 1024, 2048, 3071}) {
                    assertThat(records.pixels[i * 3072 + k] & 0xff).isEqualTo(SyntheticCifar.pixel(i, k, test));
                }
            }
        }
    }

    @Test
    void load_cifar10FolderHoldingBatchesFolder_readsEveryImageInOrder() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, SyntheticCifar.files(CifarVariant.CIFAR10, 50, 20));

        CifarData data = CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE);

        assertSynthetic(data, 50, 20);
        assertThat(data.classNames()).isEqualTo(SyntheticCifar.CIFAR10_NAMES);
        assertThat(data.numClasses()).isEqualTo(10);
    }

    @Test
    void load_cifar10BatchesFolderItself_readsEveryImage() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, SyntheticCifar.files(CifarVariant.CIFAR10, 50, 20));

        CifarData data = CifarData.load(dir.resolve("cifar-10-batches-bin"), CifarVariant.CIFAR10, LabelMode.FINE);

        assertSynthetic(data, 50, 20);
    }

    @Test
    void load_cifar10TarGz_equalsFolder() throws IOException {
        Path archive = SyntheticCifar.writeArchive(dir.resolve("c10.tar.gz"), CifarVariant.CIFAR10,
                SyntheticCifar.files(CifarVariant.CIFAR10, 50, 20));

        CifarData data = CifarData.load(archive, CifarVariant.CIFAR10, LabelMode.FINE);

        assertSynthetic(data, 50, 20);
        assertThat(data.classNames()).isEqualTo(SyntheticCifar.CIFAR10_NAMES);
    }

    @Test
    void load_folderHoldingArchive_readsArchive() throws IOException {
        SyntheticCifar.writeArchive(dir.resolve("cifar-10-binary.tar.gz"), CifarVariant.CIFAR10,
                SyntheticCifar.files(CifarVariant.CIFAR10, 50, 20));

        assertSynthetic(CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE), 50, 20);
    }

    @Test
    void load_cifar100TarGzFine_hasHundredClassesAndFineLabels() throws IOException {
        Path archive = SyntheticCifar.writeArchive(dir.resolve("c100.tar.gz"), CifarVariant.CIFAR100,
                SyntheticCifar.files(CifarVariant.CIFAR100, 200, 100));

        CifarData data = CifarData.load(archive, CifarVariant.CIFAR100, LabelMode.FINE);

        assertSynthetic(data, 200, 100);
        assertThat(data.numClasses()).isEqualTo(100);
        assertThat(data.className(42)).isEqualTo("fine42");
    }

    @Test
    void load_cifar100FolderCoarse_hasTwentyClassesAndCoarseLabels() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR100, SyntheticCifar.files(CifarVariant.CIFAR100, 200, 100));

        CifarData data = CifarData.load(dir, CifarVariant.CIFAR100, LabelMode.COARSE);

        assertSynthetic(data, 200, 100);
        assertThat(data.numClasses()).isEqualTo(20);
        assertThat(data.classNames()).isEqualTo(SyntheticCifar.coarseNames());
    }

    @Test
    void load_cifar100TarGzCoarse_hasCoarseLabels() throws IOException {
        Path archive = SyntheticCifar.writeArchive(dir.resolve("c100.tar.gz"), CifarVariant.CIFAR100,
                SyntheticCifar.files(CifarVariant.CIFAR100, 200, 100));

        assertSynthetic(CifarData.load(archive, CifarVariant.CIFAR100, LabelMode.COARSE), 200, 100);
    }

    @Test
    void load_cifar10Coarse_throwsNamingTheRule() {
        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.COARSE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only CIFAR-100 has coarse labels");
    }

    @Test
    void classId_knownName_returnsItsIndex() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, SyntheticCifar.files(CifarVariant.CIFAR10, 5, 1));
        CifarData data = CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE);

        assertThat(data.classId("cat")).isEqualTo(3);
        assertThat(data.classId("truck")).isEqualTo(9);
        assertThat(data.className(3)).isEqualTo("cat");
    }

    @Test
    void classId_unknownName_throwsListingKnownNames() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, SyntheticCifar.files(CifarVariant.CIFAR10, 5, 1));
        CifarData data = CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE);

        assertThatThrownBy(() -> data.classId("unicorn"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'unicorn'")
                .hasMessageContaining("airplane, automobile");
        assertThatThrownBy(() -> data.className(10)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void channelMeanAndStd_matchDirectComputation() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, SyntheticCifar.files(CifarVariant.CIFAR10, 20, 1));
        CifarData data = CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE);

        for (int c = 0; c < 3; c++) {
            double sum = 0;
            double sumSq = 0;
            for (int i = 0; i < 20; i++) {
                for (int p = 0; p < 1024; p++) {
                    double v = SyntheticCifar.pixel(i, c * 1024 + p, false) / 255.0;
                    sum += v;
                    sumSq += v * v;
                }
            }
            double mean = sum / 20480;
            double std = Math.sqrt(sumSq / 20480 - mean * mean);
            assertThat((double) data.channelMean()[c]).isCloseTo(mean, org.assertj.core.data.Offset.offset(1e-6));
            assertThat((double) data.channelStd()[c]).isCloseTo(std, org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void of_pixelLengthNotMatchingLabels_throwsNamingBoth() {
        assertThatThrownBy(() -> CifarData.of(CifarVariant.CIFAR10, LabelMode.FINE, SyntheticCifar.CIFAR10_NAMES,
                        new byte[2], new byte[3072], new byte[0], new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("trainPixels.length (3072) must be 3072 * trainLabels.length (2)");
    }

    @Test
    void of_labelOutOfRange_throws() {
        assertThatThrownBy(() -> CifarData.of(CifarVariant.CIFAR10, LabelMode.FINE, SyntheticCifar.CIFAR10_NAMES,
                        new byte[] {10}, new byte[3072], new byte[0], new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("trainLabels[0] (10) must be < numClasses (10)");
    }

    @Test
    void of_copiesItsInput() {
        byte[] labels = {1};
        byte[] pixels = new byte[3072];
        CifarData data = CifarData.of(CifarVariant.CIFAR10, LabelMode.FINE, SyntheticCifar.CIFAR10_NAMES,
                labels, pixels, new byte[0], new byte[0]);
        labels[0] = 2;
        pixels[0] = 9;

        assertThat(data.train().labels[0]).isEqualTo((byte) 1);
        assertThat(data.train().pixels[0]).isEqualTo((byte) 0);
    }

    @Test
    void variantConstants_areTheDocumentedOnes() {
        assertThat(CifarVariant.CIFAR10.mean()).containsExactly(0.4914f, 0.4822f, 0.4465f);
        assertThat(CifarVariant.CIFAR10.std()).containsExactly(0.2470f, 0.2435f, 0.2616f);
        assertThat(CifarVariant.CIFAR100.mean()).containsExactly(0.5071f, 0.4865f, 0.4409f);
        assertThat(CifarVariant.CIFAR100.std()).containsExactly(0.2673f, 0.2564f, 0.2762f);
        assertThat(CifarVariant.CIFAR10.archiveUri().toString())
                .isEqualTo("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
        assertThat(CifarVariant.CIFAR100.archiveUri().toString())
                .isEqualTo("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz");
        assertThat(CifarVariant.CIFAR100.numClasses(LabelMode.COARSE)).isEqualTo(20);
    }
}

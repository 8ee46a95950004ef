package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset.Usage;
import ai.djl.training.dataset.Record;
import ai.djl.translate.Pipeline;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarDatasetTest {
    private static final int TRAIN = 1000;
    private static final int TEST = 100;

    @TempDir static Path dir;
    private static CifarData data;
    private static NDManager manager;

    @BeforeAll
    static void setUp() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, SyntheticCifar.files(CifarVariant.CIFAR10, TRAIN, TEST));
        data = CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE);
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    private static CifarDataset.Builder builder() {
        return CifarDataset.builder().optData(data).optValidationSize(100).setSampling(128, false);
    }

    private static int[] originalIndices(CifarDataset dataset) {
        return IntStream.range(0, (int) dataset.size()).map(dataset::originalIndex).toArray();
    }

    private static List<float[]> epoch(CifarDataset dataset) throws Exception {
        List<float[]> batches = new ArrayList<>();
        try (NDManager step = manager.newSubManager()) {
            for (Batch batch : dataset.getData(step)) {
                try (batch) {
                    batches.add(batch.getData().singletonOrThrow().toFloatArray());
                }
            }
        }
        return batches;
    }

    @Test
    void validation_isStratifiedAndDisjointFromTrain() {
        CifarDataset train = builder().optUsage(Usage.TRAIN).build();
        CifarDataset validation = builder().optUsage(Usage.VALIDATION).build();

        assertThat(train.size()).isEqualTo(900);
        assertThat(validation.size()).isEqualTo(100);
        int[] perClass = new int[10];
        for (int label : validation.labels()) {
            perClass[label]++;
        }
        assertThat(perClass).containsOnly(10);
        Set<Integer> all = new HashSet<>();
        for (int i : originalIndices(train)) {
            all.add(i);
        }
        for (int i : originalIndices(validation)) {
            assertThat(all.add(i)).as("validation image %d is also in train", i).isTrue();
        }
        assertThat(all).hasSize(TRAIN);
        assertThat(originalIndices(train)).isSorted();
    }

    @Test
    void validation_sameSeedSameSplit_otherSeedOtherSplit() {
        int[] first = originalIndices(builder().optUsage(Usage.VALIDATION).optSplitSeed(7).build());
        int[] again = originalIndices(builder().optUsage(Usage.VALIDATION).optSplitSeed(7).build());
        int[] other = originalIndices(builder().optUsage(Usage.VALIDATION).optSplitSeed(8).build());

        assertThat(again).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void train_zeroValidationSize_holdsAllTrainingImages() {
        CifarDataset train = builder().optValidationSize(0).build();

        assertThat(originalIndices(train)).isEqualTo(IntStream.range(0, TRAIN).toArray());
    }

    @Test
    void build_validationUsageWithZeroSize_throws() {
        assertThatThrownBy(() -> builder().optUsage(Usage.VALIDATION).optValidationSize(0).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("validationSize (0) must be > 0 for usage VALIDATION");
    }

    @Test
    void build_validationLargerThanTrainingSet_throws() {
        assertThatThrownBy(() -> CifarDataset.builder().optData(data).setSampling(8, false).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("validationSize (5000) must be < the number of training images (1000)");
    }

    @Test
    void keepClasses_test_holdsExactlyThatClassWithOriginalLabelsAndIndices() throws IOException {
        CifarDataset cats = builder().optUsage(Usage.TEST).optKeepClasses(data.classId("cat")).optNormalize(false)
                .build();

        assertThat(originalIndices(cats)).isEqualTo(IntStream.range(0, TEST).filter(i -> i % 10 == 3).toArray());
        assertThat(cats.labels()).containsOnly(3);
        for (int i = 0; i < cats.size(); i++) {
            try (NDManager step = manager.newSubManager()) {
                Record record = cats.get(step, i);
                assertThat(SyntheticCifar.imageNumber(record.getData().singletonOrThrow().toFloatArray(), 0))
                        .isEqualTo(cats.originalIndex(i));
                assertThat(record.getLabels().singletonOrThrow().getFloat()).isEqualTo(3f);
            }
        }
    }

    @Test
    void dropClasses_train_isTheComplementOfKeep() {
        int[] kept = originalIndices(builder().optKeepClasses(3, 5).build());
        int[] dropped = originalIndices(builder().optDropClasses(3, 5).build());
        int[] all = originalIndices(builder().build());

        int[] union = IntStream.concat(Arrays.stream(kept), Arrays.stream(dropped)).sorted().toArray();
        assertThat(union).isEqualTo(all);
        assertThat(Arrays.stream(dropped).map(i -> i % 10)).doesNotContain(3, 5);
        assertThat(Arrays.stream(kept).map(i -> i % 10)).containsOnly(3, 5);
    }

    @Test
    void limit_keepsTheFirstItems() {
        CifarDataset limited = builder().optUsage(Usage.TEST).optLimit(25).build();

        assertThat(limited.size()).isEqualTo(25);
        assertThat(originalIndices(limited)).isEqualTo(IntStream.range(0, 25).toArray());
    }

    @Test
    void getData_batchesAreOneFloat32ArrayWithFloatClassIds() throws Exception {
        CifarDataset train = builder().optNormalize(false).build();
        int seen = 0;
        try (NDManager step = manager.newSubManager()) {
            for (Batch batch : train.getData(step)) {
                NDArray x = batch.getData().singletonOrThrow();
                NDArray y = batch.getLabels().singletonOrThrow();
                int n = batch.getSize();
                assertThat(n).isEqualTo(Math.min(128, 900 - seen));
                assertThat(x.getShape()).isEqualTo(new Shape(n, 3, 32, 32));
                assertThat(x.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(y.getShape()).isEqualTo(new Shape(n));
                assertThat(y.getDataType()).isEqualTo(DataType.FLOAT32);
                float[] pixels = x.toFloatArray();
                float[] labels = y.toFloatArray();
                for (int j = 0; j < n; j++) {
                    assertThat(SyntheticCifar.imageNumber(pixels, j * 3072)).isEqualTo(train.originalIndex(seen + j));
                    assertThat(labels[j]).isEqualTo((float) train.label(seen + j));
                }
                assertThat(batch.getManager().getParentManager()).isSameAs(step);
                batch.close();
                assertThat(x.isReleased()).isTrue();
                seen += n;
            }
        }
        assertThat(seen).isEqualTo(900);
    }

    @Test
    void getData_normalised_usesVariantMeanAndStd() throws Exception {
        CifarDataset test = builder().optUsage(Usage.TEST).optLimit(3).build();

        float[] image = epoch(test).get(0);

        int raw = SyntheticCifar.pixel(1, 1024 + 5, true);
        assertThat(image[3072 + 1024 + 5]).isEqualTo((raw / 255f - 0.4822f) / 0.2435f);
    }

    @Test
    void getData_customNormalization_usesGivenConstants() throws Exception {
        CifarDataset test = builder().optUsage(Usage.TEST).optLimit(1)
                .optNormalization(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.5f, 1f}).build();

        float[] image = epoch(test).get(0);

        assertThat(image[2048 + 9]).isEqualTo(SyntheticCifar.pixel(0, 2048 + 9, true) / 255f - 0.5f);
    }

    @Test
    void getData_augmented_isReproducibleAndDiffersBetweenEpochsAndSeeds() throws Exception {
        CifarDataset a = builder().optAugment(true).optAugmentSeed(5).build();
        CifarDataset b = builder().optAugment(true).optAugmentSeed(5).build();
        CifarDataset c = builder().optAugment(true).optAugmentSeed(6).build();

        List<float[]> a1 = epoch(a);
        List<float[]> b1 = epoch(b);
        List<float[]> a2 = epoch(a);
        List<float[]> c1 = epoch(c);

        for (int i = 0; i < a1.size(); i++) {
            assertThat(b1.get(i)).isEqualTo(a1.get(i));
        }
        assertThat(a2.get(0)).isNotEqualTo(a1.get(0));
        assertThat(c1.get(0)).isNotEqualTo(a1.get(0));
        List<float[]> plain = epoch(builder().build());
        assertThat(a1.get(0)).isNotEqualTo(plain.get(0));
    }

    @Test
    void getData_augmented_eachImageIsAPadCropFlipOfItsSource() throws Exception {
        CifarDataset train = builder().optAugment(true).optNormalize(false).optLimit(200).build();
        Set<Boolean> flips = new HashSet<>();
        int seen = 0;
        try (NDManager step = manager.newSubManager()) {
            for (Batch batch : train.getData(step)) {
                try (batch) {
                    float[] pixels = batch.getData().singletonOrThrow().toFloatArray();
                    for (int j = 0; j < batch.getSize(); j++) {
                        flips.add(cropOf(pixels, j * 3072, train.originalIndex(seen + j)));
                    }
                    seen += batch.getSize();
                }
            }
        }
        assertThat(seen).isEqualTo(200);
        assertThat(flips).containsExactlyInAnyOrder(true, false);
    }

    /** Returns the flip of the pad-4 crop of training image {@code image} that {@code out} holds. */
    private static boolean cropOf(float[] out, int at, int image) {
        for (int top = 0; top <= 8; top++) {
            for (int left = 0; left <= 8; left++) {
                for (boolean flip : new boolean[] {false, true}) {
                    boolean same = true;
                    for (int k = 0; k < 3072 && same; k++) {
                        int c = k / 1024;
                        int y = k % 1024 / 32 + top - 4;
                        int x = (flip ? 31 - k % 32 : k % 32) + left - 4;
                        int raw = y < 0 || y >= 32 || x < 0 || x >= 32
                                ? 0 : SyntheticCifar.pixel(image, c * 1024 + y * 32 + x, false);
                        same = out[at + k] == raw / 255f;
                    }
                    if (same) {
                        return flip;
                    }
                }
            }
        }
        throw new AssertionError("batch image is no pad-crop-flip of training image " + image);
    }

    @Test
    void getData_augmentedNormalised_padsWithNormalisedZero() throws Exception {
        CifarDataset train = builder().optAugment(true).optLimit(128).build();
        float[] pixels = epoch(train).get(0);
        float red0 = (0f - 0.4914f) / 0.2470f;
        long padded = 0;
        for (int k = 0; k < pixels.length; k++) {
            if (k % 3072 < 1024 && pixels[k] == red0) {
                padded++;
            }
        }
        // about 8/9 of 128 images are shifted, each padding at least 32 red pixels
        assertThat(padded).isGreaterThan(64 * 32);
    }

    @Test
    void get_returnsChwImageAndScalarLabel() throws IOException {
        CifarDataset test = builder().optUsage(Usage.TEST).build();
        try (NDManager step = manager.newSubManager()) {
            Record record = test.get(step, 17);

            assertThat(record.getData().singletonOrThrow().getShape()).isEqualTo(new Shape(3, 32, 32));
            assertThat(record.getLabels().singletonOrThrow().getShape()).isEqualTo(new Shape());
            assertThat(record.getLabels().singletonOrThrow().getFloat()).isEqualTo(7f);
        }
    }

    @Test
    void labels_returnsACopy() {
        CifarDataset test = builder().optUsage(Usage.TEST).build();
        int[] labels = test.labels();
        labels[0] = 9;

        assertThat(test.label(0)).isZero();
        assertThat(test.labels()[0]).isZero();
        assertThat(test.numClasses()).isEqualTo(10);
        assertThat(test.classNames()).isEqualTo(SyntheticCifar.CIFAR10_NAMES);
        assertThat(test.data()).isSameAs(data);
    }

    @Test
    void build_keepAndDrop_throws() {
        assertThatThrownBy(() -> builder().optKeepClasses(1).optDropClasses(2).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("optKeepClasses ([1]) and optDropClasses ([2]) are exclusive: give one");
    }

    @Test
    void build_classIdOutOfRange_throws() {
        assertThatThrownBy(() -> builder().optKeepClasses(10).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("class id (10) must be in [0, 10) for CIFAR-10 FINE labels");
    }

    @Test
    void build_pipeline_throws() {
        assertThatThrownBy(() -> builder().optPipeline(new Pipeline()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pipelines/transforms are not supported");
    }

    @Test
    void build_dataWithOtherVariant_throws() {
        assertThatThrownBy(() -> builder().optVariant(CifarVariant.CIFAR100).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("variant (CIFAR-100) must match the data's variant (CIFAR-10)");
    }

    @Test
    void build_noData_saysHowToGetIt() {
        assertThatThrownBy(() -> CifarDataset.builder().setSampling(8, false).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("optDownload(true)")
                .hasMessageContaining("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
    }

    @Test
    void prepare_pathBasedCifar100Coarse_loadsAndStratifiesByCoarseLabel() throws Exception {
        Path archive = SyntheticCifar.writeArchive(dir.resolve("c100.tar.gz"), CifarVariant.CIFAR100,
                SyntheticCifar.files(CifarVariant.CIFAR100, 400, 100));
        CifarDataset validation = CifarDataset.builder().optPath(archive).optVariant(CifarVariant.CIFAR100)
                .optLabelMode(LabelMode.COARSE).optUsage(Usage.VALIDATION).optValidationSize(40)
                .setSampling(16, false).build();

        assertThatThrownBy(validation::size)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("call prepare() first");
        validation.prepare();

        assertThat(validation.size()).isEqualTo(40);
        assertThat(validation.numClasses()).isEqualTo(20);
        int[] perClass = new int[20];
        for (int label : validation.labels()) {
            perClass[label]++;
        }
        assertThat(perClass).containsOnly(2);
        for (int i = 0; i < validation.size(); i++) {
            assertThat(validation.label(i)).isEqualTo(SyntheticCifar.coarseLabel(validation.originalIndex(i)));
        }
    }

    @Test
    void getData_pathBasedWithoutPrepare_preparesItself() throws Exception {
        CifarDataset test = CifarDataset.builder().optPath(dir).optUsage(Usage.TEST).setSampling(64, false).build();

        assertThat(epoch(test)).hasSize(2);
        assertThat(test.size()).isEqualTo(TEST);
    }
}

package dev.lethe.moe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchAugmentationTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** One 1×4×4 image holding 0..15 row-major. */
    private NDArray ramp(int images) {
        float[] v = new float[images * 16];
        for (int i = 0; i < v.length; i++) {
            v[i] = i % 16;
        }
        return manager.create(v, new Shape(images, 1, 4, 4));
    }

    @Test
    void alternating_flipsEveryImageEveryOtherEpoch_halfOfThemInTheFirst() {
        BatchAugmentation a = new BatchAugmentation(TrainingRecipe.Flip.ALTERNATING, 0, 3);
        int first = 0;
        for (long i = 0; i < 2000; i++) {
            boolean e0 = a.flips(i, 0);
            first += e0 ? 1 : 0;
            assertThat(a.flips(i, 1)).isEqualTo(!e0);
            assertThat(a.flips(i, 2)).isEqualTo(e0);
        }
        assertThat(first).isBetween(900, 1100);
    }

    @Test
    void apply_flip_mirrorsEachRow() {
        BatchAugmentation a = new BatchAugmentation(TrainingRecipe.Flip.ALTERNATING, 0, 3);
        long index = 0;
        while (!a.flips(index, 0)) {
            index++;
        }
        float[] out = a.apply(ramp(1), new long[] {index}, 0).toFloatArray();
        assertThat(out).startsWith(3, 2, 1, 0, 7, 6, 5, 4);
        assertThat(a.apply(ramp(1), new long[] {index}, 1).toFloatArray()).isEqualTo(ramp(1).toFloatArray());
    }

    @Test
    void apply_translation_shiftsWithReflectedBorders() {
        BatchAugmentation a = new BatchAugmentation(TrainingRecipe.Flip.NONE, 1, 11);
        int seen = 0;
        for (long index = 0; index < 200 && seen < 20; index++) {
            float[] out = a.apply(ramp(1), new long[] {index}, 0).toFloatArray();
            // rows and columns move together: out[y][x] = in[r(y + dy)][r(x + dx)] for one (dy, dx)
            boolean matched = false;
            for (int dy = -1; dy <= 1 && !matched; dy++) {
                for (int dx = -1; dx <= 1 && !matched; dx++) {
                    boolean all = true;
                    for (int y = 0; y < 4; y++) {
                        for (int x = 0; x < 4; x++) {
                            int sy = BatchAugmentation.reflect(y + dy, 4);
                            int sx = BatchAugmentation.reflect(x + dx, 4);
                            all &= out[y * 4 + x] == sy * 4 + sx;
                        }
                    }
                    matched = all;
                }
            }
            assertThat(matched).as("image %s is a reflected translation", index).isTrue();
            seen++;
        }
        assertThat(BatchAugmentation.reflect(-1, 4)).isEqualTo(1);
        assertThat(BatchAugmentation.reflect(4, 4)).isEqualTo(2);
    }

    @Test
    void apply_dependsOnTheImageIndexOnly_notOnItsBatch() {
        BatchAugmentation a = new BatchAugmentation(TrainingRecipe.Flip.RANDOM, 2, 5);
        float[] together = a.apply(ramp(3), new long[] {10, 11, 12}, 4).toFloatArray();
        float[] alone = a.apply(ramp(1), new long[] {11}, 4).toFloatArray();
        float[] second = new float[16];
        System.arraycopy(together, 16, second, 0, 16);
        assertThat(second).isEqualTo(alone);
    }

    @Test
    void apply_wrongIndexCount_isRejected() {
        BatchAugmentation a = new BatchAugmentation(TrainingRecipe.Flip.RANDOM, 0, 5);
        assertThatThrownBy(() -> a.apply(ramp(2), new long[] {1}, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("indices (1) must have one entry per image (2)");
    }
}

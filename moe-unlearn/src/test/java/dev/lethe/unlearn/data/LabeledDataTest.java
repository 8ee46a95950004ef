package dev.lethe.unlearn.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import dev.lethe.moe.train.MoeTraining;
import java.util.List;
import org.junit.jupiter.api.Test;

class LabeledDataTest {

    private static ArrayDataset dataset(NDManager m, boolean withLabels) {
        ArrayDataset.Builder b = new ArrayDataset.Builder()
                .setData(m.arange(0f, 6f).reshape(6, 1))
                .setSampling(2, false);
        if (withLabels) {
            b.optLabels(m.create(new float[] {0, 1, 2, 0, 1, 2}));
        }
        return b.build();
    }

    @Test
    void read_dataWithoutLabels_clearError() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> LabeledData.read(dataset(m, false), 3, m))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("has no label; unlearning needs labelled data");
        }
    }

    @Test
    void read_labelledData_derivesForgetAndRetainSets() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            LabeledData d = LabeledData.read(dataset(m, true), 3, m);
            assertThat(d.indicesOf(1)).containsExactly(1, 4);
            assertThat(d.indicesExcept(1)).containsExactly(0, 2, 3, 5);
            try (Batch b = d.batch(m, new int[] {4, 1})) {
                assertThat(b.getData().head().toFloatArray()).containsExactly(4f, 1f);
                assertThat(MoeTraining.toIntLabels(b.getLabels().head())).containsExactly(1, 1);
            }
            LabeledData sub = d.subset(d.indicesExcept(1));
            assertThat(sub.labels()).containsExactly(0, 2, 0, 2);
            assertThat(sub.view(new int[] {1, 3}, 2, false).size()).isEqualTo(2);
        }
    }

    @Test
    void of_mismatchedLabels_clearErrors() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> LabeledData.of(dataset(m, true), new int[] {0, 1}, List.of("a", "b", "c")))
                    .hasMessage("labels has 2 entries but the dataset has 6 items");
            assertThatThrownBy(() -> LabeledData.of(dataset(m, true), new int[] {0, 1, 2, 0, 1, 7}, List.of("a", "b", "c")))
                    .hasMessage("label of item 5 (7) must be in [0, 3)");
        }
    }

}

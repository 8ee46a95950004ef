package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.gson.JsonObject;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.AuditRecord;
import dev.lethe.unlearn.Models;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bit-identity measurement: equal models pass, one changed value or one masked expert is named. */
class ExactCheckTest {

    private static final MoeResNet.Config CONFIG = MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4)
            .optTopK(1).optSharedExpert(true).optNumClasses(4).build();

    @Test
    void compare_copies_areBitIdentical_andOneChangedValueOrMaskIsNamed() throws Exception {
        try (Model a = MoeResNet.newModel(CONFIG); Model b = Models.copy(a)) {
            Map<String, String> reference = ExactCheck.fingerprint(a);
            JsonObject same = ExactCheck.compare(ExactCheck.fingerprint(b), reference);
            assertThat(same.get("bitIdentical").getAsBoolean()).isTrue();
            assertThat(same.get("tensors").getAsInt()).isEqualTo(a.getBlock().getParameters().size());
            assertThat(same.get("masksEqual").getAsBoolean()).isTrue();

            // one value of the head changed by one ulp
            Pair<String, Parameter> head = null;
            for (Pair<String, Parameter> p : b.getBlock().getParameters()) {
                if (p.getKey().contains("head") && p.getKey().endsWith("weight")) {
                    head = p;
                }
            }
            assertThat(head).isNotNull();
            float[] v = head.getValue().getArray().toFloatArray();
            v[0] = Math.nextUp(v[0]);
            head.getValue().getArray().set(v);
            JsonObject changed = ExactCheck.compare(ExactCheck.fingerprint(b), reference);
            assertThat(changed.get("bitIdentical").getAsBoolean()).isFalse();
            assertThat(changed.get("differing").getAsInt()).isEqualTo(1);
            assertThat(changed.getAsJsonArray("firstDiffering").get(0).getAsString()).isEqualTo(head.getKey());
            assertThat(changed.get("masksEqual").getAsBoolean()).isTrue();

            // a masked expert with equal values
            try (Model c = Models.copy(a)) {
                ((MoeResNet) c.getBlock()).moeLayers().get(1).maskExpert(2, true);
                JsonObject masked = ExactCheck.compare(ExactCheck.fingerprint(c), reference);
                assertThat(masked.get("bitIdentical").getAsBoolean()).isFalse();
                assertThat(masked.get("masksEqual").getAsBoolean()).isFalse();
                assertThat(masked.getAsJsonArray("firstDiffering").get(0).getAsString()).isEqualTo(
                        new java.util.ArrayList<>(dev.lethe.moe.MoeBlocks.find(c.getBlock()).keySet()).get(1)
                                + AuditRecord.MASK_SUFFIX);
            }
        }
    }
}

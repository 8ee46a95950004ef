package dev.lethe.eval.attack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.lethe.eval.TintedImages;
import dev.lethe.unlearn.data.LabeledData;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MembershipInferenceTest {

    /** n probabilities uniform in [low, high]. */
    private static float[] uniform(int n, double low, double high, long seed) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (low + (high - low) * r.nextDouble());
        }
        return out;
    }

    @Test
    void efficacy_separatedSides_countsForgetImagesOnTheNonMemberSide() {
        float[] members = {0.90f, 0.93f, 0.95f, 0.97f, 0.99f, 1.00f};
        float[] nonMembers = {0.05f, 0.10f, 0.15f, 0.20f, 0.25f, 0.30f};
        // 0.02 and 0.18 look like non-members, 0.96 like a member: 2 of 3
        assertThat(MembershipInference.efficacy(members, nonMembers, new float[] {0.02f, 0.96f, 0.18f}))
                .isCloseTo(200.0 / 3, within(1e-9));
    }

    @Test
    void efficacy_forgetLooksLikeNonMembers_isNear100() {
        float[] members = uniform(1000, 0.85, 1.0, 1);
        float[] nonMembers = uniform(1000, 0.0, 0.7, 2);
        float[] forget = uniform(500, 0.0, 0.4, 3);
        assertThat(MembershipInference.efficacy(members, nonMembers, forget)).isGreaterThanOrEqualTo(99.0);
    }

    @Test
    void efficacy_forgetLooksLikeMembers_isNear0() {
        float[] members = uniform(1000, 0.85, 1.0, 1);
        float[] nonMembers = uniform(1000, 0.0, 0.7, 2);
        float[] forget = uniform(500, 0.9, 1.0, 4);
        assertThat(MembershipInference.efficacy(members, nonMembers, forget)).isLessThanOrEqualTo(1.0);
    }

    @Test
    void efficacy_overlappingSides_followsTheDensities() {
        // members and non-members overlap on [0.6, 0.8]; the attacker splits them near the middle
        float[] members = uniform(800, 0.6, 1.0, 5);
        float[] nonMembers = uniform(800, 0.4, 0.8, 6);
        double low = MembershipInference.efficacy(members, nonMembers, uniform(400, 0.4, 0.6, 7));
        double middle = MembershipInference.efficacy(members, nonMembers, uniform(400, 0.6, 0.8, 8));
        double high = MembershipInference.efficacy(members, nonMembers, uniform(400, 0.8, 1.0, 9));
        assertThat(low).isGreaterThan(95.0);
        assertThat(high).isLessThan(5.0);
        assertThat(middle).isBetween(5.0, 95.0);
    }

    @Test
    void efficacy_cappedTraining_matchesUncappedOnSeparableData() {
        float[] members = uniform(3000, 0.8, 1.0, 10);
        float[] nonMembers = uniform(2000, 0.0, 0.6, 11);
        float[] forget = uniform(300, 0.0, 1.0, 12);
        double all = MembershipInference.efficacy(members, nonMembers, forget);
        double capped = MembershipInference.efficacy(members, nonMembers, forget, 200);
        assertThat(capped).isCloseTo(all, within(2.0));
        // the boundary lies in the gap (0.6, 0.8): about 70 % of uniform [0, 1] falls below it
        assertThat(all).isBetween(60.0, 80.0);
        assertThat(MembershipInference.trainPerSide(3000, 2000, 200)).isEqualTo(200);
        assertThat(MembershipInference.attack(members, nonMembers, forget, 200).trainPerSide()).isEqualTo(200);
        assertThat(MembershipInference.trainPerSide(3000, 2000, MembershipInference.UNLIMITED)).isEqualTo(2000);
    }

    @Test
    void efficacy_invalidArguments_namesParameterAndRule() {
        float[] ok = {0.5f};
        assertThatThrownBy(() -> MembershipInference.efficacy(ok, ok, ok, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxTrainPerSide (0) must be >= 1");
        assertThatThrownBy(() -> MembershipInference.efficacy(new float[0], ok, ok))
                .hasMessage("memberProbs must not be empty");
        assertThatThrownBy(() -> MembershipInference.efficacy(ok, ok, new float[] {0.2f, 1.5f}))
                .hasMessage("forgetProbs[1] (1.5) must be a probability in [0, 1]");
        assertThatThrownBy(() -> MembershipInference.efficacy(ok, new float[] {Float.NaN}, ok))
                .hasMessage("nonMemberProbs[0] (NaN) must be a probability in [0, 1]");
    }

    @Test
    void attack_separatedSides_attackerIsPerfectOnHeldOutExamples_andEfficacyIsUnchanged() {
        float[] members = uniform(600, 0.85, 1.0, 21);
        float[] nonMembers = uniform(600, 0.0, 0.7, 22);
        float[] forget = uniform(300, 0.0, 1.0, 23);
        MembershipInference.Result r = MembershipInference.attack(members, nonMembers, forget, MembershipInference.UNLIMITED);
        assertThat(r.attackerAccuracy()).isEqualTo(100.0);
        assertThat(r.efficacy()).isEqualTo(MembershipInference.efficacy(members, nonMembers, forget));
        assertThat(r.trainPerSide()).isEqualTo(600);
    }

    @Test
    void attack_indistinguishableSides_attackerIsNearChance_soItsEfficacySaysNothing() {
        // members and non-members from one distribution: a model that generalises perfectly
        float[] members = uniform(800, 0.5, 1.0, 31);
        float[] nonMembers = uniform(800, 0.5, 1.0, 32);
        MembershipInference.Result r = MembershipInference.attack(members, nonMembers, uniform(200, 0, 0.1, 33),
                MembershipInference.UNLIMITED);
        assertThat(r.attackerAccuracy()).isBetween(40.0, 60.0);
    }

    @Test
    void attack_halfOverlappingSides_attackerAccuracyIsTheBayesRate() {
        // members uniform on [0.5, 1], non-members on [0, 1]: the best rule ("member above 0.5") is
        // right on all non-members below 0.5 and all members, 75 % of the time
        float[] members = uniform(1000, 0.5, 1.0, 41);
        float[] nonMembers = uniform(1000, 0.0, 1.0, 42);
        MembershipInference.Result r = MembershipInference.attack(members, nonMembers, new float[] {0.1f},
                MembershipInference.UNLIMITED);
        assertThat(r.attackerAccuracy()).isBetween(70.0, 78.0);
        assertThat(MembershipInference.attack(new float[] {0.9f}, new float[] {0.1f}, new float[] {0.1f}, 5)
                .attackerAccuracy()).as("one example per side cannot be cross-validated").isNaN();
    }

    @Test
    void classWise_nonMembersAreTheTestImagesOfTheOtherClassesOnly() {
        try (NDManager m = NDManager.newBaseManager()) {
            LabeledData train = TintedImages.make(m, 90, 1);
            LabeledData test = TintedImages.make(m, 40, 2);
            MembershipInference.Sets sets = MembershipInference.Sets.classWise(train, test, 2);
            // non-members: every test image not of class 2, and none of class 2
            assertThat(sets.nonMembers()).containsExactly(test.indicesExcept(2));
            assertThat(java.util.Arrays.stream(sets.nonMembers()).map(test::label)).doesNotContain(2).hasSize(sets.nonMembers().length);
            assertThat(sets.nonMembers().length + test.indicesOf(2).length).isEqualTo(40);
            // members: the first |non-members| retain images, in index order
            int[] retain = train.indicesExcept(2);
            assertThat(sets.members()).containsExactly(java.util.Arrays.copyOf(retain, sets.nonMembers().length));
            assertThat(sets.forget()).containsExactly(train.indicesOf(2));
            assertThatThrownBy(() -> MembershipInference.Sets.classWise(train, test, 3))
                    .hasMessage("forgetClass (3) must be in [0, 3)");
        }
    }
}

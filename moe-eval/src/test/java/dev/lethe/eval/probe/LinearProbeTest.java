package dev.lethe.eval.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LinearProbeTest {

    /** Rows of class c: Gaussian noise (sd 1) around centres[c]. */
    private static float[][] around(double[][] centres, int[] labels, long seed) {
        Random r = new Random(seed);
        float[][] x = new float[labels.length][centres[0].length];
        for (int i = 0; i < labels.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] = (float) (centres[labels[i]][j] + r.nextGaussian());
            }
        }
        return x;
    }

    private static int[] labels(int n, int numClasses, long seed) {
        Random r = new Random(seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(numClasses);
        }
        return y;
    }

    private static double[][] centres(int numClasses, int d, double spread, long seed) {
        Random r = new Random(seed);
        double[][] c = new double[numClasses][d];
        for (double[] row : c) {
            for (int j = 0; j < d; j++) {
                row[j] = spread * r.nextGaussian();
            }
        }
        return c;
    }

    private static double accuracy(int[] predicted, int[] labels) {
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            correct += predicted[i] == labels[i] ? 1 : 0;
        }
        return 100.0 * correct / labels.length;
    }

    @Test
    void fit_separableClasses_recoversThemOnHeldOutRows() {
        double[][] centres = centres(4, 16, 1.5, 1);
        int[] trainLabels = labels(400, 4, 2);
        int[] testLabels = labels(400, 4, 3);
        LinearProbe probe = LinearProbe.fit(around(centres, trainLabels, 4), trainLabels, 4, 7);
        float[][] test = around(centres, testLabels, 5);
        for (int c = 0; c < 4; c++) {
            assertThat(probe.accuracyOf(test, testLabels, c)).as("class %d", c).isGreaterThan(95.0);
        }
        assertThat(probe.numFeatures()).isEqualTo(16);
        assertThat(probe.numClasses()).isEqualTo(4);
        assertThat(probe.toString()).contains("steps=300", "seed=7");
    }

    @Test
    void fit_badlyScaledFeatures_standardisesThem() {
        double[][] centres = centres(3, 8, 1.5, 11);
        int[] trainLabels = labels(300, 3, 12);
        int[] testLabels = labels(300, 3, 13);
        float[][] train = around(centres, trainLabels, 14);
        float[][] test = around(centres, testLabels, 15);
        for (float[][] x : new float[][][] {train, test}) {
            for (float[] row : x) {
                row[0] = row[0] * 1000f + 1e4f; // a huge, offset feature
                row[7] = 3f; // a constant feature
            }
        }
        LinearProbe probe = LinearProbe.fit(train, trainLabels, 3, 0);
        assertThat(accuracy(probe.predict(test), testLabels)).isGreaterThan(95.0);
    }

    @Test
    void fit_noiseFeatures_staysNearChance() {
        Random r = new Random(21);
        float[][] train = new float[300][16];
        float[][] test = new float[900][16];
        for (float[][] x : new float[][][] {train, test}) {
            for (float[] row : x) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = (float) r.nextGaussian();
                }
            }
        }
        int[] trainLabels = labels(300, 3, 22);
        int[] testLabels = labels(900, 3, 23);
        LinearProbe probe = LinearProbe.fit(train, trainLabels, 3, 0);
        assertThat(accuracy(probe.predict(test), testLabels)).isBetween(100.0 / 3 - 8, 100.0 / 3 + 8);
    }

    @Test
    void fit_classWithoutItsOwnFeatures_isNotRecovered() {
        // classes 0 and 1 are separable; each class-2 row is drawn like a class-0 or class-1 row
        double[][] centres = {{3, 0, 0, 0}, {-3, 0, 0, 0}};
        Random r = new Random(31);
        int n = 600;
        int[] y = labels(2 * n, 3, 32);
        float[][] x = new float[2 * n][4];
        for (int i = 0; i < 2 * n; i++) {
            double[] centre = centres[y[i] == 2 ? r.nextInt(2) : y[i]];
            for (int j = 0; j < 4; j++) {
                x[i][j] = (float) (centre[j] + r.nextGaussian());
            }
        }
        float[][] train = java.util.Arrays.copyOfRange(x, 0, n);
        float[][] test = java.util.Arrays.copyOfRange(x, n, 2 * n);
        int[] trainLabels = java.util.Arrays.copyOfRange(y, 0, n);
        int[] testLabels = java.util.Arrays.copyOfRange(y, n, 2 * n);
        LinearProbe probe = LinearProbe.fit(train, trainLabels, 3, 0);
        assertThat(probe.accuracyOf(test, testLabels, 2)).isLessThan(100.0 / 3);
        // a class-0-like row is twice as likely to be class 0 as class 2
        assertThat(probe.accuracyOf(test, testLabels, 0)).isGreaterThan(75.0);
        assertThat(probe.accuracyOf(test, testLabels, 1)).isGreaterThan(75.0);
    }

    @Test
    void fit_sameSeed_isDeterministic() {
        double[][] centres = centres(3, 6, 0.5, 41); // overlapping: predictions depend on the fit
        int[] y = labels(200, 3, 42);
        float[][] x = around(centres, y, 43);
        float[][] test = around(centres, labels(200, 3, 44), 45);
        assertThat(LinearProbe.fit(x, y, 3, 9).predict(test)).containsExactly(LinearProbe.fit(x, y, 3, 9).predict(test));
        assertThat(LinearProbe.fit(x, y, 3, 9).accuracyOf(test, y, 5)).isNaN();
    }

    @Test
    void fit_invalidArguments_namesParameterAndRule() {
        float[][] x = {{1f, 2f}, {3f, 4f}};
        assertThatThrownBy(() -> LinearProbe.fit(x, new int[] {0, 3}, 3, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("labels[1] (3) must be in [0, 3)");
        assertThatThrownBy(() -> LinearProbe.fit(x, new int[] {0}, 3, 0))
                .hasMessage("labels has 1 entries but features has 2 rows");
        assertThatThrownBy(() -> LinearProbe.fit(new float[][] {{1f, 2f}, {3f}}, new int[] {0, 1}, 2, 0))
                .hasMessage("features row 1 has 1 columns but 2 are expected");
        assertThatThrownBy(() -> LinearProbe.fit(new float[][] {{1f, Float.NaN}}, new int[] {0}, 2, 0))
                .hasMessage("features row 0 has a non-finite value (NaN)");
        assertThatThrownBy(() -> LinearProbe.fit(x, new int[] {0, 1}, 1, 0))
                .hasMessage("numClasses (1) must be >= 2");
        LinearProbe probe = LinearProbe.fit(x, new int[] {0, 1}, 2, 0);
        assertThatThrownBy(() -> probe.predict(new float[][] {{1f, 2f, 3f}}))
                .hasMessage("features row 0 has 3 columns but 2 are expected");
    }
}

package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CifarPixelsTest {
    private static final float[] UNIT = CifarPixels.lookup(null, null);

    private static byte[] randomImages(int n, long seed) {
        byte[] pixels = new byte[n * 3072];
        new Random(seed).nextBytes(pixels);
        return pixels;
    }

    private static float img(byte[] pixels, int image, int c, int y, int x) {
        return (pixels[image * 3072 + c * 1024 + y * 32 + x] & 0xff) / 255f;
    }

    /** Straightforward reference: pad by 4 zeros, crop at (top, left), then maybe mirror. */
    private static float reference(byte[] pixels, int image, int c, int y, int x, int top, int left, boolean flip) {
        int cx = flip ? 31 - x : x;
        int py = y + top;
        int px = cx + left;
        if (py < 4 || py >= 36 || px < 4 || px >= 36) {
            return 0f;
        }
        return img(pixels, image, c, py - 4, px - 4);
    }

    @Test
    void lookup_normalise_isPixelOver255MinusMeanOverStd() {
        float[] mean = CifarVariant.CIFAR10.mean();
        float[] std = CifarVariant.CIFAR10.std();
        float[] lut = CifarPixels.lookup(mean, std);

        assertThat(lut[0]).isEqualTo((0f - 0.4914f) / 0.2470f);
        assertThat(lut[255]).isEqualTo((1f - 0.4914f) / 0.2470f);
        assertThat(lut[256 + 128]).isEqualTo((128 / 255f - 0.4822f) / 0.2435f);
        assertThat(lut[512 + 17]).isEqualTo((17 / 255f - 0.4465f) / 0.2616f);
        assertThat(UNIT[200]).isEqualTo(200 / 255f);
    }

    @Test
    void copy_writesEveryPlaneInOrder() {
        byte[] pixels = randomImages(3, 1);
        float[] out = new float[3072 + 5];

        CifarPixels.copy(pixels, 2, UNIT, out, 5);

        for (int k = 0; k < 3072; k++) {
            assertThat(out[5 + k]).isEqualTo((pixels[2 * 3072 + k] & 0xff) / 255f);
        }
    }

    @Test
    void shifted_flipOnly_isExactMirror() {
        byte[] pixels = randomImages(1, 2);
        float[] out = new float[3072];

        CifarPixels.shifted(pixels, 0, UNIT, 0, 0, true, out, 0);

        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    assertThat(out[c * 1024 + y * 32 + x]).isEqualTo(img(pixels, 0, c, y, 31 - x));
                }
            }
        }
    }

    @Test
    void shifted_cropOffset_shiftsImageAndFillsZeros() {
        byte[] pixels = randomImages(1, 3);
        float[] out = new float[3072];

        // crop origin (6, 1) in the padded 40x40 image: down 2 rows, right 3 columns
        CifarPixels.shifted(pixels, 0, UNIT, 2, -3, false, out, 0);

        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    float expected = y + 2 < 32 && x - 3 >= 0 ? img(pixels, 0, c, y + 2, x - 3) : 0f;
                    assertThat(out[c * 1024 + y * 32 + x]).as("c=%d y=%d x=%d", c, y, x).isEqualTo(expected);
                }
            }
        }
        assertThat(out[0]).isZero(); // x < 3
        assertThat(out[30 * 32 + 10]).isZero(); // y >= 30
        assertThat(out[5 * 32 + 3]).isEqualTo(img(pixels, 0, 0, 7, 0));
    }

    @Test
    void shifted_everyOffsetAndFlip_equalsPadCropFlipReference() {
        byte[] pixels = randomImages(2, 4);
        float[] out = new float[3072];
        for (int top = 0; top <= 8; top++) {
            for (int left = 0; left <= 8; left++) {
                for (boolean flip : new boolean[] {false, true}) {
                    CifarPixels.shifted(pixels, 1, UNIT, top - 4, left - 4, flip, out, 0);
                    for (int c = 0; c < 3; c++) {
                        for (int y = 0; y < 32; y++) {
                            for (int x = 0; x < 32; x++) {
                                if (out[c * 1024 + y * 32 + x] != reference(pixels, 1, c, y, x, top, left, flip)) {
                                    throw new AssertionError("mismatch at top=" + top + " left=" + left + " flip="
                                            + flip + " c=" + c + " y=" + y + " x=" + x);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void shifted_normalised_fillsPaddingWithNormalisedZero() {
        byte[] pixels = randomImages(1, 5);
        float[] lut = CifarPixels.lookup(CifarVariant.CIFAR10.mean(), CifarVariant.CIFAR10.std());
        float[] out = new float[3072];

        CifarPixels.shifted(pixels, 0, lut, -4, 0, false, out, 0);

        assertThat(out[0]).isEqualTo(-0.4914f / 0.2470f);
        assertThat(out[1024 + 3 * 32 + 31]).isEqualTo(-0.4822f / 0.2435f);
        assertThat(out[2048 + 4 * 32]).isEqualTo(lut[512 + (pixels[2048] & 0xff)]);
    }

    @Test
    void augment_sameSeed_sameImages_andDrawsCoverAllOffsetsAndFlips() {
        byte[] pixels = randomImages(1, 6);
        float[] a = new float[3072];
        float[] b = new float[3072];
        SplittableRandom first = new SplittableRandom(11);
        SplittableRandom second = new SplittableRandom(11);
        Set<String> seen = new HashSet<>();
        for (int draw = 0; draw < 2000; draw++) {
            CifarPixels.augment(pixels, 0, UNIT, first, a, 0);
            CifarPixels.augment(pixels, 0, UNIT, second, b, 0);
            assertThat(a).isEqualTo(b);
            seen.add(matchingCrop(pixels, a));
        }
        assertThat(seen).hasSize(9 * 9 * 2);
    }

    /** Finds which (top, left, flip) produced {@code out}. */
    private static String matchingCrop(byte[] pixels, float[] out) {
        for (int top = 0; top <= 8; top++) {
            for (int left = 0; left <= 8; left++) {
                for (boolean flip : new boolean[] {false, true}) {
                    boolean same = true;
                    for (int k = 0; k < 3072 && same; k++) {
                        same = out[k] == reference(pixels, 0, k / 1024, k % 1024 / 32, k % 32, top, left, flip);
                    }
                    if (same) {
                        return top + "," + left + "," + flip;
                    }
                }
            }
        }
        throw new AssertionError("augmented image is no pad-crop-flip of the source");
    }
}

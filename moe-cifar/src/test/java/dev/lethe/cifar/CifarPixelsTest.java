package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CifarPixelsTest {
    private static byte[] randomImages(int n, long seed) {
        byte[] pixels = new byte[n * 3072];
        new Random(seed).nextBytes(pixels);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] |= 1; // no zero bytes, so padding is told apart from image content
        }
        return pixels;
    }

    private static byte img(byte[] pixels, int image, int c, int y, int x) {
        return pixels[image * 3072 + c * 1024 + y * 32 + x];
    }

    /** Straightforward reference: pad by 4 zeros, crop at (top, left), then maybe mirror. */
    private static byte reference(byte[] pixels, int image, int c, int y, int x, int top, int left, boolean flip) {
        int cx = flip ? 31 - x : x;
        int py = y + top;
        int px = cx + left;
        if (py < 4 || py >= 36 || px < 4 || px >= 36) {
            return 0;
        }
        return img(pixels, image, c, py - 4, px - 4);
    }

    @Test
    void copy_writesTheImageAtTheOffset() {
        byte[] pixels = randomImages(3, 1);
        byte[] out = new byte[3072 + 5];

        CifarPixels.copy(pixels, 2, out, 5);

        assertThat(Arrays.copyOfRange(out, 5, 5 + 3072)).isEqualTo(Arrays.copyOfRange(pixels, 6144, 9216));
        assertThat(Arrays.copyOf(out, 5)).containsOnly(0);
    }

    @Test
    void shifted_flipOnly_isExactMirror() {
        byte[] pixels = randomImages(1, 2);
        byte[] out = new byte[3072];

        CifarPixels.shifted(pixels, 0, 0, 0, true, out, 0);

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
        byte[] out = new byte[3072];

        // crop origin (6, 1) in the padded 40x40 image: content moves up 2 rows and right 3 columns
        CifarPixels.shifted(pixels, 0, 2, -3, false, out, 0);

        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    byte expected = y + 2 < 32 && x - 3 >= 0 ? img(pixels, 0, c, y + 2, x - 3) : 0;
                    assertThat(out[c * 1024 + y * 32 + x]).as("c=%d y=%d x=%d", c, y, x).isEqualTo(expected);
                }
            }
        }
        assertThat(out[0]).isZero(); // x < 3
        assertThat(out[2048 + 30 * 32 + 10]).isZero(); // y >= 30
        assertThat(out[5 * 32 + 3]).isEqualTo(img(pixels, 0, 0, 7, 0));
    }

    @Test
    void shifted_everyOffsetAndFlip_equalsPadCropFlipReference() {
        byte[] pixels = randomImages(2, 4);
        byte[] out = new byte[3072 + 7];
        for (int top = 0; top <= 8; top++) {
            for (int left = 0; left <= 8; left++) {
                for (boolean flip : new boolean[] {false, true}) {
                    CifarPixels.shifted(pixels, 1, top - 4, left - 4, flip, out, 7);
                    for (int c = 0; c < 3; c++) {
                        for (int y = 0; y < 32; y++) {
                            for (int x = 0; x < 32; x++) {
                                if (out[7 + c * 1024 + y * 32 + x] != reference(pixels, 1, c, y, x, top, left, flip)) {
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
    void augment_sameSeed_sameImages_andDrawsCoverAllOffsetsAndFlips() {
        byte[] pixels = randomImages(1, 6);
        byte[] a = new byte[3072];
        byte[] b = new byte[3072];
        SplittableRandom first = new SplittableRandom(11);
        SplittableRandom second = new SplittableRandom(11);
        Set<String> seen = new HashSet<>();
        for (int draw = 0; draw < 2000; draw++) {
            CifarPixels.augment(pixels, 0, first, a, 0);
            CifarPixels.augment(pixels, 0, second, b, 0);
            assertThat(a).isEqualTo(b);
            seen.add(matchingCrop(pixels, a));
        }
        assertThat(seen).hasSize(9 * 9 * 2);
    }

    /** Finds which (top, left, flip) produced {@code out}. */
    private static String matchingCrop(byte[] pixels, byte[] out) {
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

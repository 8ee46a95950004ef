package dev.lethe.cifar;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Gathers the bytes of a batch's images on the host, applying the standard CIFAR training
 * augmentation on the way: a random crop of the image padded by 4 zero bytes on every side, then a
 * random horizontal flip. The bytes then become one uint8 NDArray that libtorch casts and normalises
 * (see {@link CifarDataset}). Measured on one core: this is about 1.7&times; faster than
 * augmenting and normalising into a float[] on the host and handing libtorch 4&times; the bytes.
 */
final class CifarPixels {
    static final int SIDE = 32;
    static final int PLANE = SIDE * SIDE;
    static final int PAD = 4;

    private CifarPixels() {}

    /** Copies image {@code image} of {@code pixels} (3,072 bytes) to {@code out[at]}. */
    static void copy(byte[] pixels, int image, byte[] out, int at) {
        System.arraycopy(pixels, image * CifarVariant.IMAGE_BYTES, out, at, CifarVariant.IMAGE_BYTES);
    }

    /** Draws crop and flip for one image and writes it; three draws per image, in this order. */
    static void augment(byte[] pixels, int image, SplittableRandom random, byte[] out, int at) {
        int shiftY = random.nextInt(2 * PAD + 1) - PAD;
        int shiftX = random.nextInt(2 * PAD + 1) - PAD;
        boolean flip = random.nextBoolean();
        shifted(pixels, image, shiftY, shiftX, flip, out, at);
    }

    /**
     * Writes image {@code image} cropped and flipped: {@code out(c, y, x) = img(c, y + shiftY, x' +
     * shiftX)} with {@code x' = flip ? 31 - x : x}, and 0 where that falls outside the image. Equals
     * torchvision's {@code RandomCrop(32, padding=4)} with crop origin {@code (shiftY + 4, shiftX + 4)}
     * followed by {@code RandomHorizontalFlip}.
     */
    static void shifted(byte[] pixels, int image, int shiftY, int shiftX, boolean flip, byte[] out, int at) {
        int src = image * CifarVariant.IMAGE_BYTES;
        // output columns whose source column x' + shiftX lies inside the image
        int lo = flip ? Math.max(0, shiftX) : Math.max(0, -shiftX);
        int hi = flip ? Math.min(SIDE, SIDE + shiftX) : Math.min(SIDE, SIDE - shiftX);
        for (int c = 0; c < 3; c++) {
            int planeIn = src + c * PLANE;
            int planeOut = at + c * PLANE;
            for (int y = 0; y < SIDE; y++) {
                int d = planeOut + y * SIDE;
                int sy = y + shiftY;
                if (sy < 0 || sy >= SIDE) {
                    Arrays.fill(out, d, d + SIDE, (byte) 0);
                    continue;
                }
                int row = planeIn + sy * SIDE;
                Arrays.fill(out, d, d + lo, (byte) 0);
                if (flip) {
                    int s = row + SIDE - 1 + shiftX;
                    for (int x = lo; x < hi; x++) {
                        out[d + x] = pixels[s - x];
                    }
                } else {
                    System.arraycopy(pixels, row + shiftX + lo, out, d + lo, hi - lo);
                }
                Arrays.fill(out, d + hi, d + SIDE, (byte) 0);
            }
        }
    }
}

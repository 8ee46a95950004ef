package dev.lethe.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The charts' PNG encoding: palette images that keep a chart's colours. */
class ChartsTest {

    @Test
    void toPalette_fewColours_keepsEveryPixelExactly() {
        BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                image.setRGB(x, y, (x * 6) << 16 | (y * 8) << 8 | 0x40); // 1,200 pixels, 1,200 colours
            }
        }
        BufferedImage small = image.getSubimage(0, 0, 16, 16); // 256 colours: all kept

        BufferedImage out = Charts.toPalette(small);

        assertThat(out.getColorModel()).isInstanceOf(IndexColorModel.class);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                assertThat(out.getRGB(x, y) & 0xFFFFFF).isEqualTo(small.getRGB(x, y) & 0xFFFFFF);
            }
        }
    }

    @Test
    void toPalette_moreColoursThanThePalette_mapsRareOnesToTheNearestFrequentColour() {
        BufferedImage image = new BufferedImage(300, 3, BufferedImage.TYPE_INT_RGB);
        for (int x = 0; x < 300; x++) {
            for (int y = 0; y < 3; y++) {
                image.setRGB(x, y, x < 255 ? x << 16 : 0xFFFFFF); // 255 reds and white: 256 colours
            }
        }
        image.setRGB(0, 0, 0x000001); // a 257th colour, seen once: nearest is black
        image.setRGB(299, 2, 0xFFFFFE); // a 258th, nearest white

        BufferedImage out = Charts.toPalette(image);

        assertThat(out.getRGB(0, 0) & 0xFFFFFF).isEqualTo(0x000000);
        assertThat(out.getRGB(299, 2) & 0xFFFFFF).isEqualTo(0xFFFFFF);
        assertThat(out.getRGB(10, 1) & 0xFFFFFF).isEqualTo(10 << 16);
    }

    @Test
    void curves_writesAPaletteImageThatKeepsEverySeriesColour(@TempDir Path dir) throws Exception {
        Map<String, double[][]> series = new LinkedHashMap<>();
        series.put("retrain", new double[][] {{0, 10, 50}, {0, 2, 15}});
        series.put("a", new double[][] {{0, 10, 50}, {5, 60, 70}});
        series.put("b", new double[][] {{0, 10, 50}, {1, 20, 40}});
        Path png = dir.resolve("curves.png");

        Charts.curves(png, "t", "accuracy (%)", List.of(new Charts.Panel("steps", series)), "retrain", 100);

        BufferedImage read = ImageIO.read(png.toFile());
        assertThat(read.getColorModel()).isInstanceOf(IndexColorModel.class);
        assertThat(read.getWidth()).isEqualTo(Charts.curvesSize(1).width);
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < read.getHeight(); y++) {
            for (int x = 0; x < read.getWidth(); x++) {
                colours.add(read.getRGB(x, y) & 0xFFFFFF);
            }
        }
        // both series' colours (each keeps the colour of its place among all names) and the reference's black
        assertThat(colours).contains(0x000000, 0xDD8452, 0x55A868);
    }
}

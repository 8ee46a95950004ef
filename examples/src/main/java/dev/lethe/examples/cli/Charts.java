package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.lethe.moe.routing.RoutingStats;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Font;
import java.awt.Paint;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedRangeXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * PNG charts of reports, drawn with JFreeChart in headless mode: heatmaps (class × expert
 * routing), grouped bar charts (per-class accuracy before / after / retrain), curves in panels that
 * share their value axis (relearning curves per mode) and lines over categories (probe accuracy per
 * stage). The size of each PNG is given by a method or constant of its own, e.g. {@link
 * #curvesSize}.
 */
public final class Charts {

    private static final Color[] SERIES_COLORS = {
        new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868), new Color(0xC44E52), new Color(0x8172B3),
        new Color(0x937860), new Color(0xDA8BC3), new Color(0x8C8C8C), new Color(0xCCB974), new Color(0x64B5CD),
        new Color(0x1B9E77), new Color(0xE7298A), new Color(0x66A61E), new Color(0x7570B3)
    };

    /** The size of {@link #categoryLines} charts. */
    public static final Dimension CATEGORY_LINES_SIZE = new Dimension(760, 440);
    private static final int MAX_ANNOTATED_CELLS = 400;
    private static final int PALETTE_SIZE = 256;

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private Charts() {}

    /**
     * Draws a heatmap: one row per row label (first row on top), one column per column label, each
     * cell shaded from white (0) to dark blue ({@code max}) and labelled with its value when there
     * are at most 400 cells.
     *
     * @param png the file to write (its folder is created)
     * @param title the chart title
     * @param rowLabels row names, top to bottom
     * @param columnLabels column names, left to right
     * @param values {@code values[row][column]}
     * @param max the value drawn darkest (values above it are clamped), &gt; 0
     * @param legend the legend's caption, e.g. "share of the class's gate mass"
     * @throws IOException if writing fails
     * @throws IllegalArgumentException if the shapes disagree
     */
    public static void heatmap(
            Path png,
            String title,
            List<String> rowLabels,
            List<String> columnLabels,
            double[][] values,
            double max,
            String legend)
            throws IOException {
        checkNotNull(png, "png must not be null");
        checkArgument(values.length == rowLabels.size(), "values has %s rows but there are %s row labels",
                values.length, rowLabels.size());
        checkArgument(max > 0, "max (%s) must be > 0", max);
        int rows = rowLabels.size();
        int cols = columnLabels.size();
        double[] x = new double[rows * cols];
        double[] y = new double[rows * cols];
        double[] z = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            checkArgument(values[r].length == cols, "row %s has %s values but there are %s column labels",
                    r, values[r].length, cols);
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                x[i] = c;
                y[i] = r;
                z[i] = values[r][c];
            }
        }
        DefaultXYZDataset dataset = new DefaultXYZDataset();
        dataset.addSeries("values", new double[][] {x, y, z});

        SymbolAxis xAxis = new SymbolAxis(null, columnLabels.toArray(new String[0]));
        xAxis.setGridBandsVisible(false);
        SymbolAxis yAxis = new SymbolAxis(null, rowLabels.toArray(new String[0]));
        yAxis.setGridBandsVisible(false);
        yAxis.setInverted(true);
        XYBlockRenderer renderer = new XYBlockRenderer();
        BlueScale scale = new BlueScale(max);
        renderer.setPaintScale(scale);
        XYPlot plot = new XYPlot(dataset, xAxis, yAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        if (rows * cols <= MAX_ANNOTATED_CELLS) {
            Font font = new Font(Font.SANS_SERIF, Font.PLAIN, cols > 12 ? 9 : 11);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    double v = values[r][c];
                    XYTextAnnotation a = new XYTextAnnotation(String.format(Locale.ROOT, "%.2f", v), c, r);
                    a.setFont(font);
                    a.setPaint(v > 0.55 * max ? Color.WHITE : Color.DARK_GRAY);
                    plot.addAnnotation(a);
                }
            }
        }
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        NumberAxis legendAxis = new NumberAxis(legend);
        legendAxis.setRange(0, max);
        PaintScaleLegend psl = new PaintScaleLegend(scale, legendAxis);
        psl.setPosition(RectangleEdge.RIGHT);
        psl.setMargin(4, 4, 40, 4);
        psl.setStripWidth(12);
        chart.addSubtitle(psl);
        chart.setBackgroundPaint(Color.WHITE);
        Dimension size = heatmapSize(rows, cols);
        write(png, chart, size.width, size.height);
    }

    /**
     * @param rows rows of a {@link #heatmap}
     * @param cols columns
     * @return the size of its PNG
     */
    public static Dimension heatmapSize(int rows, int cols) {
        return new Dimension(Math.max(480, 160 + 56 * cols), Math.max(260, 120 + 26 * rows));
    }

    /**
     * @param categories groups of a {@link #groupedBars} chart
     * @param series bars per group
     * @return the size of its PNG
     */
    public static Dimension groupedBarsSize(int categories, int series) {
        return new Dimension(Math.min(Math.max(760, 120 + categories * (24 + 14 * series)), 4000), 420);
    }

    /**
     * @param panels panels of a {@link #curves} chart
     * @return the size of its PNG
     */
    public static Dimension curvesSize(int panels) {
        return new Dimension(120 + 460 * panels, 460);
    }

    /**
     * One panel of a {@link #curves} chart: its title and its series, each {@code {x[], y[]}}
     * (points with a NaN y are left out).
     *
     * @param title the panel's title (its x axis label)
     * @param series series name → {x values, y values}, in legend order
     */
    public record Panel(String title, Map<String, double[][]> series) {}

    /**
     * Draws line charts side by side that share their value axis: e.g. relearning curves, one panel
     * per mode, one line per method. The series named {@code reference} (e.g. Retrain) is drawn in
     * thick black in every panel; every other series keeps its colour across panels.
     *
     * @param png the file to write
     * @param title the chart title
     * @param valueLabel the value axis label, e.g. "forgotten class, test accuracy (%)"
     * @param panels the panels, left to right, at least one
     * @param reference the name of the series drawn in black, or null
     * @param maxValue the top of the value axis (e.g. 100), or NaN to fit the data
     * @throws IOException if writing fails
     */
    public static void curves(Path png, String title, String valueLabel, List<Panel> panels, String reference,
            double maxValue) throws IOException {
        checkArgument(panels != null && !panels.isEmpty(), "panels must not be empty");
        NumberAxis range = new NumberAxis(valueLabel);
        if (!Double.isNaN(maxValue)) {
            range.setRange(0, maxValue);
        }
        CombinedRangeXYPlot combined = new CombinedRangeXYPlot(range);
        combined.setGap(12);
        List<String> names = new ArrayList<>();
        for (Panel p : panels) {
            for (String n : p.series().keySet()) {
                if (!names.contains(n)) {
                    names.add(n);
                }
            }
        }
        for (Panel p : panels) {
            XYSeriesCollection data = new XYSeriesCollection();
            XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
            int i = 0;
            for (Map.Entry<String, double[][]> e : p.series().entrySet()) {
                double[][] xy = e.getValue();
                checkArgument(xy.length == 2 && xy[0].length == xy[1].length,
                        "series %s of panel %s must be {x[], y[]} of equal lengths", e.getKey(), p.title());
                XYSeries series = new XYSeries(e.getKey(), false, true);
                for (int k = 0; k < xy[0].length; k++) {
                    if (!Double.isNaN(xy[1][k])) {
                        series.add(xy[0][k], xy[1][k]);
                    }
                }
                data.addSeries(series);
                boolean isReference = e.getKey().equals(reference);
                renderer.setSeriesPaint(i, isReference ? Color.BLACK
                        : SERIES_COLORS[names.indexOf(e.getKey()) % SERIES_COLORS.length]);
                renderer.setSeriesStroke(i, new BasicStroke(isReference ? 3.5f : 1.6f));
                renderer.setSeriesShapesVisible(i, !isReference);
                renderer.setSeriesVisibleInLegend(i, panels.indexOf(p) == 0);
                i++;
            }
            NumberAxis domain = new NumberAxis(p.title());
            XYPlot plot = new XYPlot(data, domain, null, renderer);
            plot.setBackgroundPaint(Color.WHITE);
            plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
            plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
            combined.add(plot, 1);
        }
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, combined, true);
        chart.setBackgroundPaint(Color.WHITE);
        Dimension size = curvesSize(panels.size());
        write(png, chart, size.width, size.height);
    }

    /**
     * Draws one line per series over categories (e.g. probe accuracy per stage, one line per
     * method), {@link #CATEGORY_LINES_SIZE}. The series named {@code reference} is drawn in thick
     * black.
     *
     * @param png the file to write
     * @param title the chart title
     * @param valueLabel the value axis label
     * @param categories the x positions, left to right
     * @param series each series' name and one value per category (NaN: left out)
     * @param reference the name of the series drawn in black, or null
     * @param maxValue the top of the value axis, or NaN to fit the data
     * @throws IOException if writing fails
     */
    public static void categoryLines(Path png, String title, String valueLabel, List<String> categories,
            Map<String, double[]> series, String reference, double maxValue) throws IOException {
        DefaultCategoryDataset dataset = new DefaultCategoryDataset();
        for (Map.Entry<String, double[]> s : series.entrySet()) {
            checkArgument(s.getValue().length == categories.size(), "series %s has %s values for %s categories",
                    s.getKey(), s.getValue().length, categories.size());
            for (int i = 0; i < categories.size(); i++) {
                dataset.addValue(Double.isNaN(s.getValue()[i]) ? null : s.getValue()[i], s.getKey(), categories.get(i));
            }
        }
        JFreeChart chart = ChartFactory.createLineChart(title, null, valueLabel, dataset);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        if (!Double.isNaN(maxValue)) {
            plot.getRangeAxis().setRange(0, maxValue);
        }
        LineAndShapeRenderer renderer = (LineAndShapeRenderer) plot.getRenderer();
        renderer.setDefaultShapesVisible(true);
        int i = 0;
        for (String name : series.keySet()) {
            boolean isReference = name.equals(reference);
            renderer.setSeriesPaint(i, isReference ? Color.BLACK : SERIES_COLORS[i % SERIES_COLORS.length]);
            renderer.setSeriesStroke(i, new BasicStroke(isReference ? 3.5f : 1.6f));
            i++;
        }
        write(png, chart, CATEGORY_LINES_SIZE.width, CATEGORY_LINES_SIZE.height);
    }

    /**
     * Draws the class × expert routing of one MoE layer: row c is class c's share of gate mass per
     * expert (rows sum to 1), darkest at the largest share.
     *
     * @param png the file to write
     * @param title the chart title, e.g. the layer's name
     * @param stats the layer's routing statistics, with class histograms
     * @param classNames class names in id order
     * @throws IOException if writing fails
     */
    public static void routingHeatmap(Path png, String title, RoutingStats stats, List<String> classNames)
            throws IOException {
        checkArgument(stats.numClasses() > 0, "the routing statistics have no class histogram");
        double[][] shares = new double[stats.numClasses()][];
        double max = 0;
        for (int c = 0; c < shares.length; c++) {
            shares[c] = stats.classShares(c);
            for (double v : shares[c]) {
                max = Math.max(max, v);
            }
        }
        List<String> rows = new ArrayList<>();
        for (int c = 0; c < shares.length; c++) {
            rows.add(c < classNames.size() ? classNames.get(c) : "class " + c);
        }
        heatmap(png, title, rows, expertLabels(stats.numExperts()), shares, max > 0 ? max : 1,
                "share of the class's gate mass");
    }

    /**
     * @param numExperts E
     * @return "E0", "E1", ...
     */
    public static List<String> expertLabels(int numExperts) {
        List<String> out = new ArrayList<>();
        for (int e = 0; e < numExperts; e++) {
            out.add("E" + e);
        }
        return out;
    }

    /**
     * Draws a grouped bar chart: one group per category, one bar per series (in map order).
     * Series values that are NaN are left out.
     *
     * @param png the file to write
     * @param title the chart title
     * @param valueLabel the value axis label, e.g. "test accuracy (%)"
     * @param categories the group names, e.g. class names
     * @param series each series' name and one value per category
     * @param maxValue the top of the value axis (e.g. 100), or NaN to fit the data
     * @throws IOException if writing fails
     */
    public static void groupedBars(
            Path png,
            String title,
            String valueLabel,
            List<String> categories,
            Map<String, double[]> series,
            double maxValue)
            throws IOException {
        DefaultCategoryDataset dataset = new DefaultCategoryDataset();
        for (Map.Entry<String, double[]> s : series.entrySet()) {
            checkArgument(s.getValue().length == categories.size(), "series %s has %s values for %s categories",
                    s.getKey(), s.getValue().length, categories.size());
            for (int i = 0; i < categories.size(); i++) {
                double v = s.getValue()[i];
                if (!Double.isNaN(v)) {
                    dataset.addValue(v, s.getKey(), categories.get(i));
                }
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(title, null, valueLabel, dataset);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlineStroke(new BasicStroke(0.5f));
        if (!Double.isNaN(maxValue)) {
            plot.getRangeAxis().setRange(0, maxValue);
        }
        CategoryAxis axis = plot.getDomainAxis();
        if (categories.size() > 12) {
            axis.setCategoryLabelPositions(CategoryLabelPositions.UP_90);
        } else {
            // class names such as "automobile" must not be cut to "au..."
            axis.setMaximumCategoryLabelWidthRatio(2.0f);
            axis.setCategoryMargin(0.15);
        }
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setItemMargin(0.05);
        for (int i = 0; i < series.size(); i++) {
            renderer.setSeriesPaint(i, SERIES_COLORS[i % SERIES_COLORS.length]);
        }
        Dimension size = groupedBarsSize(categories.size(), series.size());
        write(png, chart, size.width, size.height);
    }

    private static void write(Path png, JFreeChart chart, int width, int height) throws IOException {
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        ImageIO.write(toPalette(chart.createBufferedImage(width, height)), "png", png.toFile());
    }

    /**
     * The image as an 8-bit palette image of its {@value #PALETTE_SIZE} most frequent colours, each
     * pixel mapped to the nearest of them: a chart's flat fills, lines and text keep their colours
     * exactly and only the rarest anti-aliasing shades move, which halves the PNG (so that the
     * charts the docs show can be committed).
     */
    static BufferedImage toPalette(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] rgb = image.getRGB(0, 0, w, h, null, 0, w);
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] &= 0xFFFFFF;
            counts.merge(rgb[i], 1, Integer::sum);
        }
        int[] palette = counts.entrySet().stream()
                .sorted(Map.Entry.<Integer, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(PALETTE_SIZE).mapToInt(Map.Entry::getKey).toArray();
        IndexColorModel model = new IndexColorModel(8, palette.length, palette, 0, false, -1, DataBuffer.TYPE_BYTE);
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, model);
        WritableRaster raster = out.getRaster();
        Map<Integer, Integer> nearest = new HashMap<>();
        for (int i = 0; i < rgb.length; i++) {
            raster.setSample(i % w, i / w, 0, nearest.computeIfAbsent(rgb[i], c -> nearest(palette, c)));
        }
        return out;
    }

    private static int nearest(int[] palette, int color) {
        int best = 0;
        long bestDistance = Long.MAX_VALUE;
        for (int i = 0; i < palette.length; i++) {
            long dr = ((color >> 16) & 0xFF) - ((palette[i] >> 16) & 0xFF);
            long dg = ((color >> 8) & 0xFF) - ((palette[i] >> 8) & 0xFF);
            long db = (color & 0xFF) - (palette[i] & 0xFF);
            long d = dr * dr + dg * dg + db * db;
            if (d < bestDistance) {
                bestDistance = d;
                best = i;
            }
        }
        return best;
    }

    /** White (0) to dark blue (max), linear in the value. */
    private static final class BlueScale implements PaintScale {
        private static final Color LOW = Color.WHITE;
        private static final Color HIGH = new Color(0x08306B);
        private final double max;

        BlueScale(double max) {
            this.max = max;
        }

        @Override
        public double getLowerBound() {
            return 0;
        }

        @Override
        public double getUpperBound() {
            return max;
        }

        @Override
        public Paint getPaint(double value) {
            double t = Double.isNaN(value) ? 0 : Math.max(0, Math.min(1, value / max));
            return new Color(
                    mix(LOW.getRed(), HIGH.getRed(), t),
                    mix(LOW.getGreen(), HIGH.getGreen(), t),
                    mix(LOW.getBlue(), HIGH.getBlue(), t));
        }

        private static int mix(int a, int b, double t) {
            return (int) Math.round(a + (b - a) * t);
        }
    }
}

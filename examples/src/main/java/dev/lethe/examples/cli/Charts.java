package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.lethe.moe.routing.RoutingStats;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;

/**
 * PNG charts of reports, drawn with JFreeChart in headless mode: heatmaps (class × expert
 * routing) and grouped bar charts (per-class accuracy before / after / retrain).
 */
public final class Charts {

    private static final Color[] SERIES_COLORS = {
        new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868), new Color(0xC44E52), new Color(0x8172B3)
    };
    private static final int MAX_ANNOTATED_CELLS = 400;

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
        int width = Math.max(480, 160 + 56 * cols);
        int height = Math.max(260, 120 + 26 * rows);
        write(png, chart, width, height);
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
        int width = Math.max(760, 120 + categories.size() * (24 + 14 * series.size()));
        write(png, chart, Math.min(width, 4000), 420);
    }

    private static void write(Path png, JFreeChart chart, int width, int height) throws IOException {
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
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

package io.switchboard.bench.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * PNG charts of a run, drawn with JFreeChart: throughput and p99 latency per workload and broker.
 */
final class Chart {
  private Chart() {}

  /** The category a result is drawn in: workload id and durability. */
  static String category(Result r) {
    return r.workload().id + (r.durability() == Durability.FSYNC ? " fsync" : "");
  }

  static DefaultCategoryDataset dataset(List<Result> results, ToDoubleFunction<Result> value) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    for (Result r : results) {
      double v = value.applyAsDouble(r);
      if (r.ok() && !Double.isNaN(v) && v > 0) {
        data.addValue(v, r.broker(), category(r));
      }
    }
    return data;
  }

  static void write(Path png, String title, String axis, DefaultCategoryDataset data)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    LogAxis values = new LogAxis(axis);
    double min = Double.MAX_VALUE;
    double max = 0;
    for (int r = 0; r < data.getRowCount(); r++) {
      for (int c = 0; c < data.getColumnCount(); c++) {
        Number n = data.getValue(r, c);
        if (n != null) {
          min = Math.min(min, n.doubleValue());
          max = Math.max(max, n.doubleValue());
        }
      }
    }
    double floor = min == Double.MAX_VALUE ? 1 : Math.pow(10, Math.floor(Math.log10(min)));
    double ceiling = max <= 0 ? 10 : Math.pow(10, Math.ceil(Math.log10(max)));
    values.setSmallestValue(floor);
    values.setRange(floor, Math.max(ceiling, floor * 10));
    values.setNumberFormatOverride(new java.text.DecimalFormat("#,##0"));
    CategoryPlot plot =
        new CategoryPlot(
            data, new CategoryAxis("workload (see the tables)"), values, new BarRenderer());
    plot.setOrientation(PlotOrientation.VERTICAL);
    plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
    BarRenderer bars = (BarRenderer) plot.getRenderer();
    bars.setItemMargin(0.02);
    bars.setBarPainter(new org.jfree.chart.renderer.category.StandardBarPainter());
    bars.setShadowVisible(false);
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    Files.createDirectories(png.toAbsolutePath().getParent());
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 1100, 550);
  }

  /** Draws the charts again from a run's results: {@code Chart RESULTS.json DIR PREFIX}. */
  public static void main(String[] args) throws IOException {
    List<Result> results =
        List.of(
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readValue(Path.of(args[0]).toFile(), Result[].class));
    System.out.println(writeAll(Path.of(args[1]), args[2], results));
  }

  /** Writes {@code <prefix>-throughput.png} and {@code <prefix>-p99.png}; returns their names. */
  static List<String> writeAll(Path dir, String prefix, List<Result> results) throws IOException {
    String tput = prefix + "-throughput.png";
    String p99 = prefix + "-p99.png";
    write(
        dir.resolve(tput),
        "Throughput (msg/s, log scale, higher is better)",
        "msg/s",
        dataset(results, Result::msgPerSec));
    write(
        dir.resolve(p99),
        "p99 latency (µs, log scale, lower is better)",
        "µs",
        dataset(results, Result::p99Us));
    return List.of(tput, p99);
  }
}

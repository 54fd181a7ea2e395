package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartTest {
  @TempDir Path dir;

  @Test
  void writesReadablePngsAndSkipsWhatHasNoFigure() throws Exception {
    List<String> names = Chart.writeAll(dir, "run", ReportTest.RUN);
    assertThat(names).containsExactly("run-throughput.png", "run-p99.png");
    for (String n : names) {
      BufferedImage img = ImageIO.read(dir.resolve(n).toFile());
      assertThat(img.getWidth()).isEqualTo(1100);
      assertThat(img.getHeight()).isEqualTo(550);
    }
    var data = Chart.dataset(ReportTest.RUN, Result::msgPerSec);
    List<String> rows = new java.util.ArrayList<>();
    List<String> columns = new java.util.ArrayList<>();
    for (int i = 0; i < data.getRowCount(); i++) {
      rows.add(data.getRowKey(i).toString());
    }
    for (int i = 0; i < data.getColumnCount(); i++) {
      columns.add(data.getColumnKey(i).toString());
    }
    assertThat(rows).contains("Switchboard", "Kafka", "NATS");
    assertThat(columns).contains("1", "1 fsync", "4", "5a", "7").doesNotContain("2");
  }
}

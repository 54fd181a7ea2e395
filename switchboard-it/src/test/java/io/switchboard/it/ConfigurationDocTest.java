package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.spi.config.ConfigKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md is generated from the configuration catalogue: the server's keys and those
 * of every front end the command line ships with (this module's class path has them all). Run the
 * build with {@code -Dswitchboard.regenerateDocs=true} to rewrite it after changing a key.
 */
class ConfigurationDocTest {
  private static final Path DOC = Path.of("..", "docs", "configuration.md");

  static final String START = "<!-- generated: the configuration catalogue -->\n";
  static final String END = "<!-- end of generated -->\n";

  /** The generated part: precedence and the table of every key. */
  static String render() {
    StringBuilder sb = new StringBuilder();
    sb.append(START)
        .append("A value comes from, in order of precedence: a flag (`--set KEY=VALUE`, or the")
        .append(" shortcuts `--data`, `--bind`, `--port`), the environment variable, the YAML")
        .append(" file given with `--config` (nested maps or dotted keys), the default. The whole")
        .append(" configuration is checked before anything starts; every bad or unknown key is")
        .append(" reported at once, by name.\n\n")
        .append("| key | environment | default | meaning |\n")
        .append("| --- | --- | --- | --- |\n");
    for (ConfigKey<?> k : SwitchboardServer.configKeys(SwitchboardServer.discoverFrontEnds())) {
      sb.append("| `")
          .append(k.name())
          .append("` | `")
          .append(k.envName())
          .append("` | `")
          .append(k.defaultValue())
          .append("` | ")
          .append(k.doc().replace("|", "\\|"))
          .append(" |\n");
    }
    return sb.append(END).toString();
  }

  /** The text between the markers is generated; what surrounds it is written by hand. */
  @Test
  void docsConfigurationMdMatchesTheCatalogue() throws IOException {
    String doc = Files.readString(DOC);
    int start = doc.indexOf(START);
    int end = doc.indexOf(END);
    assertThat(start).as("docs/configuration.md lacks the generated-part markers").isNotNegative();
    assertThat(end).isGreaterThan(start);
    String expected = render();
    if (Boolean.getBoolean("switchboard.regenerateDocs")) {
      doc = doc.substring(0, start) + expected + doc.substring(end + END.length());
      Files.writeString(DOC, doc);
    }
    assertThat(doc.substring(start, end + END.length()))
        .as("docs/configuration.md is stale: rebuild with -Dswitchboard.regenerateDocs=true")
        .isEqualTo(expected);
  }
}

package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigKey;
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

  static String render() {
    StringBuilder sb = new StringBuilder();
    sb.append("# Configuration reference\n\n")
        .append("Generated from the configuration catalogue (`ConfigCatalogue` and each front")
        .append(" end's keys) by `ConfigurationDocTest`; do not edit by hand.\n\n")
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
    return sb.toString();
  }

  @Test
  void docsConfigurationMdMatchesTheCatalogue() throws IOException {
    String expected = render();
    if (Boolean.getBoolean("switchboard.regenerateDocs")) {
      Files.writeString(DOC, expected);
    }
    assertThat(Files.readString(DOC))
        .as("docs/configuration.md is stale: rebuild with -Dswitchboard.regenerateDocs=true")
        .isEqualTo(expected);
  }
}

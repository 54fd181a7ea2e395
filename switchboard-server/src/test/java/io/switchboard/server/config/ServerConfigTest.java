package io.switchboard.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigTest {
  // A front end's keys as it declares them (the server knows no front end): the native ones.
  static final ConfigKey<Integer> PORT =
      new ConfigKey<>("native.port", "7400", "Port.", ConfigKey.intIn(-1, 65535));
  static final ConfigKey<Integer> MAX_CONNECTIONS =
      new ConfigKey<>(
          "native.max-connections", "10000", "Connections.", ConfigKey.intIn(1, 1_000_000));
  static final ConfigKey<Integer> MAX_FRAME_BYTES =
      new ConfigKey<>(
          "native.max-frame-bytes", "8388608", "Frame size.", ConfigKey.intIn(1024, 64 << 20));

  /** The server's keys followed by a front end's, as the server resolves them. */
  static final List<ConfigKey<?>> KEYS = keys();

  private static List<ConfigKey<?>> keys() {
    List<ConfigKey<?>> all = new ArrayList<>(ConfigCatalogue.ALL);
    all.addAll(List.of(PORT, MAX_CONNECTIONS, MAX_FRAME_BYTES));
    return List.copyOf(all);
  }

  @TempDir Path dir;

  @Test
  void shouldTakeFlagsOverEnvironmentOverFileOverDefaults() throws Exception {
    Path file = dir.resolve("switchboard.yaml");
    Files.writeString(
        file,
        """
        data:
          dir: /var/lib/sb
        native:
          port: 7500
          max-connections: 20
        log.format: json
        """);
    ServerConfig c =
        ServerConfig.load(
            KEYS,
            file,
            Map.of("SWITCHBOARD_NATIVE_PORT", "7600", "SWITCHBOARD_BIND", "0.0.0.0", "HOME", "/x"),
            Map.of("native.port", "7700"));
    assertThat(c.get(PORT)).isEqualTo(7700);
    assertThat(c.origin(PORT)).isEqualTo("flag");
    assertThat(c.get(ConfigCatalogue.BIND)).isEqualTo("0.0.0.0");
    assertThat(c.origin(ConfigCatalogue.BIND)).isEqualTo("env SWITCHBOARD_BIND");
    assertThat(c.get(ConfigCatalogue.DATA_DIR)).isEqualTo("/var/lib/sb");
    assertThat(c.get(MAX_CONNECTIONS)).isEqualTo(20);
    assertThat(c.get(ConfigCatalogue.LOG_FORMAT)).isEqualTo("json");
    assertThat(c.get(MAX_FRAME_BYTES)).isEqualTo(8 << 20);
    assertThat(c.origin(MAX_FRAME_BYTES)).isEqualTo("default");
  }

  @Test
  void shouldReportEveryBadKeyAtOnceWithItsName() throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(
        file,
        """
        native:
          port: 99999
          prot: 7400
        log:
          format: xml
        """);
    assertThatThrownBy(
            () ->
                ServerConfig.load(
                    KEYS,
                    file,
                    Map.of("SWITCHBOARD_BROKER_PARTITION_QUEUE", "lots"),
                    Map.of("no.such", "1")))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_CONFIG);
              assertThat(e.getMessage())
                  .contains("5 problem(s)")
                  .contains("native.port (file): 99999 is not in [-1, 65535]")
                  .contains("native.prot (file): unknown key")
                  .contains("log.format (file): \"xml\" is not one of text, json")
                  .contains(
                      "broker.partition-queue (env SWITCHBOARD_BROKER_PARTITION_QUEUE): \"lots\""
                          + " is not a whole number")
                  .contains("no.such (flag): unknown key");
            });
  }

  @Test
  void aFileThatIsNotAMapIsAnError() throws Exception {
    Path file = dir.resolve("list.yaml");
    Files.writeString(file, "- a\n- b\n");
    assertThatThrownBy(() -> ServerConfig.load(ConfigCatalogue.ALL, file, Map.of(), Map.of()))
        .hasMessageContaining("top level must be a map");
  }

  @Test
  void everyKeyHasADocumentedValidDefaultAndAnEnvironmentName() {
    ServerConfig defaults = ServerConfig.defaults(ConfigCatalogue.ALL);
    for (ConfigKey<?> k : ConfigCatalogue.ALL) {
      assertThat(defaults.get(k)).as(k.name()).isNotNull();
      assertThat(k.doc()).as(k.name()).endsWith(".");
      assertThat(k.envName()).matches("SWITCHBOARD_[A-Z0-9_]+");
    }
  }
}

package io.switchboard.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.config.ServerConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExposureCheckTest {
  @TempDir Path data;

  ServerConfig config(Map<String, String> flags) {
    Map<String, String> all = new HashMap<>(flags);
    all.put("data.dir", data.resolve("d").toString());
    return ServerConfig.resolve(ConfigCatalogue.ALL, Map.of(), Map.of(), all);
  }

  @Test
  void shouldRefuseANonLoopbackBindWithoutRequiredAuthenticationAndSayWhy() {
    assertThatThrownBy(() -> SwitchboardServer.start(config(Map.of("bind", "0.0.0.0")), List.of()))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INSECURE_BIND);
              assertThat(e.getMessage())
                  .contains("0.0.0.0", "auth.required=true", "--insecure", "not a loopback");
            });
    // refused before anything was opened
    assertThat(data.resolve("d")).doesNotExist();
  }

  @Test
  void shouldAcceptLoopbackRequiredAuthenticationOrInsecure() {
    assertThatCode(() -> SwitchboardServer.checkExposure(config(Map.of())))
        .doesNotThrowAnyException();
    assertThatCode(() -> SwitchboardServer.checkExposure(config(Map.of("bind", "localhost"))))
        .doesNotThrowAnyException();
    assertThatCode(
            () ->
                SwitchboardServer.checkExposure(
                    config(Map.of("bind", "0.0.0.0", "auth.required", "true"))))
        .doesNotThrowAnyException();
    assertThatCode(
            () ->
                SwitchboardServer.checkExposure(
                    config(Map.of("bind", "0.0.0.0", "insecure", "true"))))
        .doesNotThrowAnyException();
    assertThatThrownBy(() -> SwitchboardServer.checkExposure(config(Map.of("bind", "::"))))
        .isInstanceOf(SwitchboardException.class);
  }
}

package io.switchboard.server.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.server.config.OtelKeys;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.trace.Tracing;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServerTelemetryTest {
  static ServerConfig config(Map<String, String> flags) {
    return ServerConfig.resolve(ConfigCatalogue.ALL, Map.of(), Map.of(), flags);
  }

  @Test
  void withoutAnEndpointThereIsNoSdkAndTracingIsOff() {
    try (ServerTelemetry t = ServerTelemetry.open(config(Map.of()))) {
      assertThat(t).isSameAs(ServerTelemetry.OFF);
      assertThat(t.tracing()).isSameAs(Tracing.OFF);
    }
  }

  @Test
  void anEndpointTurnsTracingOnAndClosingShutsTheSdkDown() {
    // Nothing listens on port 9: spans are dropped by the exporter, never waited for.
    ServerTelemetry t =
        ServerTelemetry.open(
            config(
                Map.of(
                    OtelKeys.ENDPOINT.name(), "http://127.0.0.1:9",
                    OtelKeys.EXPORT_TIMEOUT_MS.name(), "200")));
    assertThat(t.tracing().enabled()).isTrue();
    t.tracing().deliver("native", io.switchboard.core.Message.of("s", new byte[0], 1), null);
    t.close();
  }

  @Test
  void aBadRatioIsRefusedAtStartNamingTheKey() {
    assertThatThrownBy(() -> config(Map.of(OtelKeys.SAMPLER_RATIO.name(), "1.5")))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_CONFIG))
        .hasMessageContaining("otel.traces.sampler.ratio");
    assertThat(config(Map.of(OtelKeys.SAMPLER_RATIO.name(), "0.25")).get(OtelKeys.SAMPLER_RATIO))
        .isEqualTo(0.25);
  }
}

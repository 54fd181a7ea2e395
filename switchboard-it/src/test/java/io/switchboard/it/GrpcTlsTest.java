package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.switchboard.grpc.v1.Durability;
import io.switchboard.grpc.v1.Message;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC over TLS ({@code grpc.tls-port}, ALPN h2) with the server's certificate: grpc-java's client
 * trusting it checks health and publishes; a client that does not trust it is refused; without
 * {@code tls.cert} the TLS port is a configuration error.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcTlsTest {
  @TempDir Path dir;

  @Test
  void grpcClientsCallOverTlsWithTheServersCertificate() throws Exception {
    TestCertificates.Pem pem = TestCertificates.selfSigned(dir, "server", "switchboard-test");
    try (SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data").toString(),
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "grpc.tls-port",
                "0"))) {
      int port = server.addresses().get("grpc-tls").getPort();
      ManagedChannel trusted =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .sslContext(GrpcSslContexts.forClient().trustManager(pem.cert().toFile()).build())
              .build();
      try {
        assertThat(
                HealthGrpc.newBlockingStub(trusted)
                    .check(HealthCheckRequest.getDefaultInstance())
                    .getStatus())
            .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThat(
                PublisherGrpc.newBlockingStub(trusted)
                    .publish(
                        PublishRequest.newBuilder()
                            .setMessage(Message.newBuilder().setSubject("tls.grpc"))
                            .build())
                    .getDurability())
            .isEqualTo(Durability.DURABILITY_MEMORY);
      } finally {
        trusted.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      ManagedChannel untrusting =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .sslContext(GrpcSslContexts.forClient().build())
              .build();
      try {
        assertThatThrownBy(
                () ->
                    HealthGrpc.newBlockingStub(untrusting)
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.getDefaultInstance()))
            .isInstanceOf(StatusRuntimeException.class);
      } finally {
        untrusting.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aTlsPortWithoutCertificatesIsAConfigurationError() {
    assertThatThrownBy(
            () ->
                SwitchboardServer.startOnFreePorts(
                        Map.of(
                            ConfigCatalogue.DATA_DIR.name(),
                            dir.resolve("data").toString(),
                            "grpc.tls-port",
                            "0"))
                    .close())
        .hasMessageContaining("grpc.tls-port is set but tls.cert and tls.key are not");
  }
}

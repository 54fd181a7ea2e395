package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

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
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC over TLS ({@code grpc.tls-port}, ALPN h2) with the server's certificate: grpc-java's client
 * trusting it checks health and publishes; a client that does not trust it is refused; without
 * {@code tls.cert} the TLS port is a configuration error. Renewed certificate files apply to new
 * gRPC connections without a restart (as on every TLS listener), and with {@code
 * tls.client-auth=require} a client's certificate names its principal while a client without one is
 * refused.
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
  void renewedCertificateFilesApplyToNewGrpcConnectionsWithoutARestart() throws Exception {
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
                "security.reload-check-ms",
                "100",
                "grpc.tls-port",
                "0"))) {
      int port = server.addresses().get("grpc-tls").getPort();
      assertThat(presented(port)).isEqualTo(pem.certificate());
      ManagedChannel before = trusting(port, pem.cert());
      try {
        assertThat(serving(before)).isTrue();
        Path fresh = Files.createDirectory(dir.resolve("fresh"));
        TestCertificates.Pem renewed =
            TestCertificates.selfSigned(fresh, "server", "switchboard-renewed");
        // as a certificate manager does: new files moved into place
        Files.move(renewed.key(), pem.key(), StandardCopyOption.REPLACE_EXISTING);
        Files.move(renewed.cert(), pem.cert(), StandardCopyOption.REPLACE_EXISTING);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> presented(port).equals(renewed.certificate()));
        // A client trusting only the renewed certificate connects; the connection made before
        // the renewal goes on.
        ManagedChannel after = trusting(port, pem.cert()); // the path now holds the renewed one
        try {
          assertThat(serving(after)).isTrue();
        } finally {
          after.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(serving(before)).isTrue();
      } finally {
        before.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aClientCertificateNamesThePrincipalAndAClientWithoutOneIsRefused() throws Exception {
    TestCertificates.Pem pem = TestCertificates.selfSigned(dir, "server", "switchboard-test");
    Path clientDir = Files.createDirectory(dir.resolve("client"));
    TestCertificates.Pem client = TestCertificates.selfSigned(clientDir, "client", "gateway");
    try (SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data").toString(),
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "tls.ca",
                client.cert().toString(),
                "tls.client-auth",
                "require",
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "grpc.tls-port",
                "0"))) {
      server
          .security()
          .addRule(
              new AclRule(
                  "",
                  AclRule.Effect.ALLOW,
                  "cert:CN=gateway",
                  EnumSet.of(Permission.PUBLISH),
                  "mtls.>"),
              "test");
      int port = server.addresses().get("grpc-tls").getPort();
      ManagedChannel withCert =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .sslContext(
                  GrpcSslContexts.forClient()
                      .trustManager(pem.cert().toFile())
                      .keyManager(client.cert().toFile(), client.key().toFile())
                      .build())
              .build();
      try {
        PublisherGrpc.PublisherBlockingStub pub =
            PublisherGrpc.newBlockingStub(withCert).withDeadlineAfter(10, TimeUnit.SECONDS);
        // The certificate's subject is the principal: its rule lets it publish on mtls.>, ...
        assertThat(
                pub.publish(
                        PublishRequest.newBuilder()
                            .setMessage(Message.newBuilder().setSubject("mtls.x"))
                            .build())
                    .getDurability())
            .isEqualTo(Durability.DURABILITY_MEMORY);
        // ... and nowhere else (deny by default): it is not anonymous, nor everyone.
        assertThatThrownBy(
                () ->
                    pub.publish(
                        PublishRequest.newBuilder()
                            .setMessage(Message.newBuilder().setSubject("other.x"))
                            .build()))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e ->
                    assertThat(e.getStatus().getCode())
                        .isEqualTo(io.grpc.Status.Code.PERMISSION_DENIED));
      } finally {
        withCert.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // Without a certificate the handshake is refused: no call gets through.
      ManagedChannel without = trusting(port, pem.cert());
      try {
        assertThatThrownBy(() -> serving(without))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e ->
                    assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE));
      } finally {
        without.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  static ManagedChannel trusting(int port, Path cert) throws Exception {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(GrpcSslContexts.forClient().trustManager(cert.toFile()).build())
        .build();
  }

  static boolean serving(ManagedChannel ch) {
    return HealthGrpc.newBlockingStub(ch)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance())
            .getStatus()
        == HealthCheckResponse.ServingStatus.SERVING;
  }

  /** The certificate a new TLS connection (ALPN h2) to the gRPC TLS port is shown. */
  static X509Certificate presented(int port) throws Exception {
    SSLContext trustAll = SSLContext.getInstance("TLS");
    trustAll.init(
        null,
        new javax.net.ssl.TrustManager[] {
          new javax.net.ssl.X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
              return new X509Certificate[0];
            }
          }
        },
        null);
    try (SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", port)) {
      SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(p);
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
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

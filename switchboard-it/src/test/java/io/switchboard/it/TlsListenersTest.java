package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on every listener (issue 18): the native, HTTP and MQTT front ends each get a TLS port from
 * the same PEM files; a handshake that never finishes is closed; renewed certificate files apply to
 * new connections without a restart.
 */
class TlsListenersTest {
  @TempDir Path dir;
  SwitchboardServer server;
  TestCertificates.Pem pem;

  @BeforeEach
  void start() throws Exception {
    pem = TestCertificates.selfSigned(dir, "server", "switchboard-test");
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data").toString(),
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "tls.handshake-timeout-ms",
                "500",
                "security.reload-check-ms",
                "100",
                "native.tls-port",
                "0",
                "http.tls-port",
                "0",
                "mqtt.tls-port",
                "0"));
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  int port(String name) {
    InetSocketAddress a = server.addresses().get(name);
    assertThat(a).as(name + " in " + server.addresses()).isNotNull();
    return a.getPort();
  }

  static SSLContext trusting(X509Certificate cert) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("server", cert);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  @Test
  void theJavaClientPublishesAndSubscribesOverTls() {
    ClientOptions options =
        ClientOptions.of("127.0.0.1", port("native-tls")).withTls(pem.cert().toString());
    try (SwitchboardClient client = SwitchboardClient.connect(options)) {
      ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
      client.subscribe("tls.>", m -> got.add(m.subject()));
      client.publish("tls.one", "x".getBytes(StandardCharsets.UTF_8));
      await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("tls.one"));
    }
  }

  @Test
  void httpsServesTheSameRoutes() throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(trusting(pem.certificate())).build();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port("http-tls") + "/healthz"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("up");
  }

  @Test
  void theJdkProviderServesWhenChosen() throws Exception {
    try (SwitchboardServer jdk =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data-jdk").toString(),
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "tls.provider",
                "jdk",
                "http.tls-port",
                "0"))) {
      assertThat(jdk.security().tls().orElseThrow().provider()).isEqualTo("JDK");
      HttpClient http = HttpClient.newBuilder().sslContext(trusting(pem.certificate())).build();
      int p = jdk.addresses().get("http-tls").getPort();
      assertThat(
              http.send(
                      HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + p + "/healthz"))
                          .build(),
                      HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void aTlsPortWithoutCertificatesIsAConfigurationError() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                SwitchboardServer.startOnFreePorts(
                    Map.of(
                        ConfigCatalogue.DATA_DIR.name(),
                        dir.resolve("data-none").toString(),
                        "native.tls-port",
                        "0")))
        .hasMessageContaining("native.tls-port is set but tls.cert and tls.key are not");
  }

  @Test
  void mqttConnectsOverTls() throws Exception {
    try (SSLSocket s =
        (SSLSocket)
            trusting(pem.certificate())
                .getSocketFactory()
                .createSocket("127.0.0.1", port("mqtt-tls"))) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      // MQTT 3.1.1 CONNECT, clean session, client id "c"
      out.write(HexFormat.of().parseHex("100d00044d5154540402003c000163"));
      out.flush();
      byte[] connack = s.getInputStream().readNBytes(4);
      assertThat(HexFormat.of().formatHex(connack)).isEqualTo("20020000");
    }
  }

  @Test
  void aHandshakeThatNeverFinishesIsClosedByTheTimeout() throws Exception {
    for (String listener : new String[] {"native-tls", "http-tls", "mqtt-tls"}) {
      try (Socket s = new Socket("127.0.0.1", port(listener))) {
        s.setSoTimeout(10_000);
        long t0 = System.nanoTime();
        InputStream in = s.getInputStream();
        // silent client: the server gives up on the handshake and closes (EOF or a TLS alert)
        while (in.read() >= 0) {
          // an alert record, then EOF
        }
        assertThat((System.nanoTime() - t0) / 1_000_000).as(listener).isBetween(300L, 9_000L);
      }
    }
  }

  @Test
  void renewedCertificateFilesApplyToNewConnectionsWithoutARestart() throws Exception {
    assertThat(presented()).isEqualTo(pem.certificate());
    Path fresh = Files.createDirectory(dir.resolve("fresh"));
    TestCertificates.Pem renewed =
        TestCertificates.selfSigned(fresh, "server", "switchboard-renewed");
    // as a certificate manager does: new files moved into place
    Files.move(renewed.key(), pem.key(), StandardCopyOption.REPLACE_EXISTING);
    Files.move(renewed.cert(), pem.cert(), StandardCopyOption.REPLACE_EXISTING);
    await().atMost(Duration.ofSeconds(10)).until(() -> presented().equals(renewed.certificate()));
  }

  /** The certificate a new TLS connection to the native port is shown. */
  X509Certificate presented() throws Exception {
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
    try (SSLSocket s =
        (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", port("native-tls"))) {
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  @Test
  void aVerifiedClientCertificateIsThePrincipal() throws Exception {
    Path clientDir = Files.createDirectory(dir.resolve("client"));
    TestCertificates.Pem client = TestCertificates.selfSigned(clientDir, "client", "gateway");
    try (SwitchboardServer mtls =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data-mtls").toString(),
                "tls.cert",
                pem.cert().toString(),
                "tls.key",
                pem.key().toString(),
                "tls.ca",
                client.cert().toString(),
                "tls.client-auth",
                "request",
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "http.tls-port",
                "0"))) {
      mtls.security()
          .addRule(
              new io.switchboard.spi.security.AclRule(
                  "",
                  io.switchboard.spi.security.AclRule.Effect.ALLOW,
                  "cert:CN=gateway",
                  java.util.EnumSet.of(io.switchboard.spi.security.Permission.ADMIN),
                  "$streams"),
              "test");
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry(
          "client", client.privateKey(), new char[0], new X509Certificate[] {client.certificate()});
      javax.net.ssl.KeyManagerFactory kmf =
          javax.net.ssl.KeyManagerFactory.getInstance(
              javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
      SSLContext withCert = SSLContext.getInstance("TLS");
      withCert.init(kmf.getKeyManagers(), trustManagers(pem.certificate()), null);
      URI streams =
          URI.create(
              "https://127.0.0.1:" + mtls.addresses().get("http-tls").getPort() + "/v1/streams");
      HttpResponse<String> ok =
          HttpClient.newBuilder()
              .sslContext(withCert)
              .build()
              .send(HttpRequest.newBuilder(streams).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
      // without a certificate (request, not require: the handshake succeeds) nobody is known
      HttpResponse<String> none =
          HttpClient.newBuilder()
              .sslContext(trusting(pem.certificate()))
              .build()
              .send(HttpRequest.newBuilder(streams).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(none.statusCode()).isEqualTo(401);
    }
  }

  static javax.net.ssl.TrustManager[] trustManagers(X509Certificate cert) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("server", cert);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf.getTrustManagers();
  }
}

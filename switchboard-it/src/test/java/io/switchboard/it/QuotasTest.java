package io.switchboard.it;

import static io.switchboard.testkit.PrometheusSamples.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.QuotaLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas on the native protocol and HTTP (issue 18): a connection or subscription past the
 * principal's quota is refused with its code, a native publisher past its rate is slowed (reads
 * paused) and loses nothing, HTTP past a rate answers 429 with Retry-After, and /metrics counts the
 * refusals and throttles.
 */
class QuotasTest {
  @TempDir Path dir;
  SwitchboardServer server;
  HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), "auth.failure-delay-ms", "10"));
    server.security().addUser("alice", "alice-pw", "test");
  }

  @AfterEach
  void stop() {
    http.close();
    server.close();
  }

  void quota(String field, long value) {
    server.security().setQuota("user:alice", QuotaLimits.fromMap(Map.of(field, value)), "test");
  }

  int port(String frontEnd) {
    return server.addresses().get(frontEnd).getPort();
  }

  SwitchboardClient alice() {
    return SwitchboardClient.connect(
        ClientOptions.of("127.0.0.1", port("native"))
            .withReconnect(false)
            .withCredentials("alice", "alice-pw"));
  }

  static ErrorCode codeOf(Throwable t) {
    return ((SwitchboardClientException) t).errorCode();
  }

  String scrape() throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port("http") + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  @Test
  void aNativeConnectionPastTheQuotaIsRefusedAndItsPlaceComesBackWhenOneCloses() throws Exception {
    quota("connections", 1);
    SwitchboardClient first = alice();
    assertThatThrownBy(this::alice)
        .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.QUOTA_CONNECTIONS));
    // anonymous is another principal: not counted against alice
    SwitchboardClient.connect(ClientOptions.of("127.0.0.1", port("native")).withReconnect(false))
        .close();
    first.close();
    await()
        .atMost(Duration.ofSeconds(10))
        .ignoreExceptions()
        .until(
            () -> {
              alice().close();
              return true;
            });
    assertThat(value(scrape(), "switchboard_quota_refused_total", "quota=\"connections\""))
        .isGreaterThanOrEqualTo(1);
  }

  @Test
  void subscriptionsAreCountedOverAllThePrincipalsConnections() {
    quota("consumers", 2);
    try (SwitchboardClient a = alice();
        SwitchboardClient b = alice()) {
      var one = a.subscribe("x.1", m -> {});
      b.subscribe("x.2", m -> {});
      assertThatThrownBy(() -> a.subscribe("x.3", m -> {}))
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.QUOTA_CONSUMERS));
      one.close();
      await()
          .atMost(Duration.ofSeconds(10))
          .ignoreExceptions()
          .until(() -> b.subscribe("x.3", m -> {}) != null);
    }
  }

  @Test
  void aNativePublisherPastItsRateIsSlowedAndEveryPublishIsAcknowledged() throws Exception {
    quota("publish-messages", 20);
    try (SwitchboardClient a = alice()) {
      long start = System.nanoTime();
      for (int i = 0; i < 60; i++) {
        assertThat(a.publish("rates.x", new byte[] {(byte) i})).isNotNull();
      }
      long ms = (System.nanoTime() - start) / 1_000_000;
      // 20 in the first second's bucket, then 40 more at 20/s: about two seconds of pauses
      assertThat(ms).isGreaterThanOrEqualTo(1_500);
    }
    assertThat(value(scrape(), "switchboard_quota_throttled_total", "quota=\"publish-messages\""))
        .isGreaterThanOrEqualTo(1);
  }

  @Test
  void httpPastItsRequestRateAnswers429WithRetryAfterAndTheQuotasCode() throws Exception {
    quota("requests", 2);
    String basic =
        "Basic "
            + Base64.getEncoder().encodeToString("alice:alice-pw".getBytes(StandardCharsets.UTF_8));
    HttpRequest get =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port("http") + "/v1/streams"))
            .header("Authorization", basic)
            .build();
    // The bucket holds a second's worth (2); the request that takes it into debt still goes, and
    // while it is in debt the next is refused. A slow machine refills it between requests, so
    // the refusal may come later than the fourth: sent back to back, one comes soon.
    List<Integer> statuses = new ArrayList<>();
    HttpResponse<String> last = null;
    while (statuses.size() < 50 && (last == null || last.statusCode() != 429)) {
      last = http.send(get, HttpResponse.BodyHandlers.ofString());
      statuses.add(last.statusCode());
    }
    assertThat(statuses.subList(0, 3)).as("%s", statuses).containsOnly(200);
    assertThat(statuses).as("%s", statuses).last().isEqualTo(429);
    assertThat(statuses.subList(0, statuses.size() - 1)).containsOnly(200);
    assertThat(last.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(last.body()).contains("\"code\":28").contains("QUOTA_RATE");
    // the bucket refills: after the wait it answers again
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    assertThat(value(scrape(), "switchboard_quota_refused_total", "quota=\"requests\""))
        .isGreaterThanOrEqualTo(2);
  }

  @Test
  void quotasAreSetListedAndRemovedOverTheAdminApiAndApplyAtOnce() throws Exception {
    String base = "http://127.0.0.1:" + port("http") + "/v1/security/quotas";
    HttpResponse<String> put =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/user:alice"))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"connections\": 1}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(
            http.send(
                    HttpRequest.newBuilder(URI.create(base)).build(),
                    HttpResponse.BodyHandlers.ofString())
                .body())
        .isEqualTo("{\"quotas\":{\"user:alice\":{\"connections\":1}}}");
    try (SwitchboardClient first = alice()) {
      assertThat(first.publish("held.open", new byte[0])).isNotNull();
      assertThatThrownBy(this::alice)
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.QUOTA_CONNECTIONS));
      HttpResponse<String> bad =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/user:alice"))
                  .header("Content-Type", "application/json")
                  .PUT(HttpRequest.BodyPublishers.ofString("{\"conections\": 1}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("unknown quota");
      HttpResponse<Void> rm =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/user:alice")).DELETE().build(),
              HttpResponse.BodyHandlers.discarding());
      assertThat(rm.statusCode()).isEqualTo(204);
      alice().close(); // the quota is gone: a second connection is taken
    }
  }

  /**
   * A Server-Sent Events stream is a subscription (issue 18): past the principal's consumer quota
   * it is refused 429 QUOTA_CONSUMERS, and one that ends gives its place back.
   */
  @Test
  void anEventStreamPastTheConsumerQuotaIs429AndItsPlaceComesBackWhenItEnds() throws Exception {
    quota("consumers", 1);
    String basic =
        "Basic "
            + Base64.getEncoder().encodeToString("alice:alice-pw".getBytes(StandardCharsets.UTF_8));
    HttpRequest events =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port("http") + "/v1/subjects/news.%3E/events"))
            .header("Authorization", basic)
            .header("Accept", "text/event-stream")
            .build();
    io.switchboard.spi.security.QuotaMeter meter =
        server.security().quotas().meter(io.switchboard.spi.security.Principal.user("alice"));
    HttpResponse<java.io.InputStream> first =
        http.send(events, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(first.statusCode()).isEqualTo(200);
    HttpResponse<String> second = http.send(events, HttpResponse.BodyHandlers.ofString());
    assertThat(second.statusCode()).isEqualTo(429);
    assertThat(second.body()).contains("QUOTA_CONSUMERS");
    assertThat(meter.consumers()).isEqualTo(1);
    first.body().close();
    await().atMost(Duration.ofSeconds(10)).until(() -> meter.consumers() == 0);
    HttpResponse<java.io.InputStream> third =
        http.send(events, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(third.statusCode()).isEqualTo(200);
    third.body().close();
  }
}

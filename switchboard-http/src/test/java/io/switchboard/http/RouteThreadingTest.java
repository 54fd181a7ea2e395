package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.Clock;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * REST publish, batch publish, conditional append, reads and JSON-RPC notifications complete on the
 * request's event loop ({@link Exchange#loop()}): the reply is built there (or, for a read, on the
 * broker's executor, handed to the loop), never on a partition runner or a broker thread. The loop
 * here is a queue the test drains itself, so a reply that completes without it fails.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RouteThreadingTest {
  @TempDir Path dir;
  Broker broker;
  Router<Handler> routes;

  final ConcurrentLinkedQueue<Runnable> loop = new ConcurrentLinkedQueue<>();
  final Executor onLoop = loop::add;

  @BeforeEach
  void open() {
    broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    broker.createStream(StreamConfig.builder("S", "s.>").build());
    HttpMetrics metrics =
        new HttpMetrics(
            broker,
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
            new CompositeMeterRegistry(),
            new AtomicInteger(),
            new AtomicInteger(),
            new AtomicInteger(),
            new LongAdder());
    routes = new Router<>();
    new AdminRoutes(broker, new PushRegistry(), () -> true, metrics, Tracing.OFF).register(routes);
    new MessagingRoutes(
            broker, Clock.SYSTEM, new JsonRpc(broker, Clock.SYSTEM, metrics), metrics, Tracing.OFF)
        .register(routes);
  }

  @AfterEach
  void close() {
    broker.close();
  }

  private CompletableFuture<HttpReply> call(HttpMethod method, String uri, String body) {
    QueryStringDecoder decoded = new QueryStringDecoder(uri, StandardCharsets.UTF_8);
    String path = decoded.rawPath();
    Router.Match<Handler> m = routes.find(method, path);
    assertThat(m).as("route for %s", path).isNotNull();
    Exchange x =
        new Exchange(
                method,
                path,
                Map.of(),
                Set.of(),
                decoded.parameters(),
                new DefaultHttpHeaders(),
                body.getBytes(StandardCharsets.UTF_8),
                Access.allowAll(),
                onLoop)
            .withParams(m);
    return m.target().handle(x);
  }

  /** Waits until the broker hands a task to the loop, then runs the loop's tasks here. */
  private void runLoopOnceHandedOver() {
    await().atMost(Duration.ofSeconds(10)).until(() -> !loop.isEmpty());
    Runnable r;
    while ((r = loop.poll()) != null) {
      r.run();
    }
  }

  private HttpReply completedThroughTheLoop(CompletableFuture<HttpReply> reply) {
    runLoopOnceHandedOver();
    await().atMost(Duration.ofSeconds(10)).until(reply::isDone);
    return reply.join();
  }

  @Test
  void aPublishAndABatchAnswerOnTheLoop() {
    HttpReply one = completedThroughTheLoop(call(HttpMethod.POST, "/v1/subjects/s.a", "x"));
    assertThat(one.status()).isEqualTo(200);

    CompletableFuture<HttpReply> batch =
        call(HttpMethod.POST, "/v1/subjects", "[{\"subject\":\"s.b\",\"text\":\"y\"}]");
    assertThat(completedThroughTheLoop(batch).status()).isEqualTo(200);
    assertThat(broker.streamInfo("S").messages()).isEqualTo(2);
  }

  @Test
  void anAppendAndTheReadsAnswerOnTheLoop() {
    HttpReply appended =
        completedThroughTheLoop(call(HttpMethod.POST, "/v1/streams/S/subjects/s.c", "z"));
    assertThat(appended.status()).isEqualTo(200);

    HttpReply read =
        completedThroughTheLoop(call(HttpMethod.GET, "/v1/streams/S/subjects/s.c", ""));
    assertThat(read.status()).isEqualTo(200);
    JsonNode events = json(read).get("events");
    assertThat(events).hasSize(1);

    HttpReply last =
        completedThroughTheLoop(call(HttpMethod.GET, "/v1/streams/S/subjects/s.c/last", ""));
    assertThat(last.status()).isEqualTo(200);
  }

  @Test
  void administrationFetchAndAcksAnswerOnTheLoop() {
    HttpReply created =
        completedThroughTheLoop(
            call(HttpMethod.POST, "/v1/streams", "{\"name\":\"T\",\"subjects\":[\"t.>\"]}"));
    assertThat(created.status()).isEqualTo(201);
    HttpReply consumer =
        completedThroughTheLoop(
            call(HttpMethod.POST, "/v1/streams/T/consumers", "{\"name\":\"C\"}"));
    assertThat(consumer.status()).isEqualTo(201);
    completedThroughTheLoop(call(HttpMethod.POST, "/v1/subjects/t.a", "x"));

    HttpReply fetched =
        completedThroughTheLoop(
            call(HttpMethod.POST, "/v1/streams/T/consumers/C/fetch?max=1&waitMs=5000", ""));
    JsonNode messages = json(fetched).get("messages");
    assertThat(messages).hasSize(1);
    String id = messages.get(0).get("id").asText();

    HttpReply acked =
        completedThroughTheLoop(
            call(
                HttpMethod.POST,
                "/v1/streams/T/consumers/C/acks",
                "[{\"id\":\"" + id + "\",\"op\":\"ack\"}]"));
    assertThat(json(acked).get("results").get(0).asBoolean()).isTrue();
  }

  @Test
  void aJsonRpcNotificationPublishesThroughTheLoop() {
    CompletableFuture<HttpReply> reply =
        call(HttpMethod.POST, "/v1/jsonrpc", "{\"jsonrpc\":\"2.0\",\"method\":\"s.rpc\"}");
    assertThat(reply.join().status()).isEqualTo(204); // a notification has no answer to wait for
    runLoopOnceHandedOver(); // its publish's completion (the metrics) still comes through the loop
    await().atMost(Duration.ofSeconds(10)).until(() -> broker.streamInfo("S").messages() == 1);
  }

  private static JsonNode json(HttpReply r) {
    try {
      return io.switchboard.spi.admin.AdminJson.JSON.readTree(r.body());
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }
}

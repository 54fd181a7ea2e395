package io.switchboard.http.testing;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * A JDK {@link WebSocket} client that collects every JSON text message the server sends, and the
 * close status and reason. Messages are requested one at a time as they arrive. Thread-safe to
 * read.
 */
public final class WsClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  /** A close frame received: status and reason. */
  public record Closed(int status, String reason) {}

  public final ConcurrentLinkedQueue<JsonNode> received = new ConcurrentLinkedQueue<>();
  public final CompletableFuture<Closed> closed = new CompletableFuture<>();
  private final WebSocket ws;

  private WsClient(HttpClient http, URI uri) {
    this.ws =
        http.newWebSocketBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .buildAsync(uri, new Listener())
            .orTimeout(20, TimeUnit.SECONDS)
            .join();
  }

  /** Connects to {@code path} (like {@code /v1/ws}) of the fixture's HTTP port. */
  public static WsClient connect(HttpServerFixture s, String path) {
    return new WsClient(s.http, URI.create("ws://127.0.0.1:" + s.httpPort() + path));
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        try {
          received.add(JSON.readTree(partial.toString()));
        } catch (IOException e) {
          throw new UncheckedIOException("not JSON: " + partial, e);
        }
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closed.complete(new Closed(statusCode, reason));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closed.completeExceptionally(error);
    }
  }

  /** Sends one text message. */
  public WsClient send(String text) {
    ws.sendText(text, true).orTimeout(20, TimeUnit.SECONDS).join();
    return this;
  }

  /** Sends {@code text} and waits for the answer echoing {@code id}. */
  public JsonNode call(String id, String text) {
    send(text);
    return answer(id);
  }

  /** The answer ({@code ok} or {@code error}) whose id is {@code id}, waiting for it. */
  public JsonNode answer(String id) {
    return await()
        .atMost(WAIT)
        .until(
            () ->
                received.stream()
                    .filter(
                        m ->
                            (m.path("op").asText().equals("ok")
                                    || m.path("op").asText().equals("error"))
                                && m.path("id").asText().equals(id))
                    .findFirst()
                    .orElse(null),
            m -> m != null);
  }

  /** The messages of one subscription so far, in order. */
  public List<JsonNode> messages(String sub) {
    return received.stream()
        .filter(m -> m.path("op").asText().equals("message") && m.path("sub").asText().equals(sub))
        .toList();
  }

  /** The JSON-RPC responses so far (objects carrying "jsonrpc", or batch arrays). */
  public List<JsonNode> rpcResponses() {
    return received.stream().filter(m -> m.isArray() || m.has("jsonrpc")).toList();
  }

  public boolean isOpen() {
    return !ws.isOutputClosed() || !ws.isInputClosed();
  }

  /** Closes normally (1000) and waits for the server's close frame. */
  @Override
  public void close() {
    if (!ws.isOutputClosed()) {
      ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").orTimeout(20, TimeUnit.SECONDS).join();
    }
    try {
      closed.get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      ws.abort();
    }
  }
}

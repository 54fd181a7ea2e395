package io.switchboard.http.testing;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;

/**
 * Reads a Server-Sent Events response with the JDK client's streaming body ({@code ofLines()}),
 * collecting events and comment lines as they come, on a virtual thread. Thread-safe to read.
 */
public final class SseClient implements AutoCloseable {
  /** One event as the SSE spec assembles it. */
  public record Event(String id, String type, String data) {}

  public final HttpResponse<Stream<String>> response;
  public final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
  public final ConcurrentLinkedQueue<String> comments = new ConcurrentLinkedQueue<>();
  public final CompletableFuture<Void> ended = new CompletableFuture<>();

  private SseClient(HttpResponse<Stream<String>> response) {
    this.response = response;
    if (response.statusCode() == 200) {
      Thread.ofVirtual().name("sse-reader").start(this::read);
    } else {
      ended.complete(null);
    }
  }

  /** Opens the stream; returns once the response head has arrived (the server has subscribed). */
  public static SseClient open(HttpClient http, HttpRequest request) throws Exception {
    return new SseClient(http.send(request, HttpResponse.BodyHandlers.ofLines()));
  }

  private void read() {
    String id = null;
    String type = "message";
    List<String> data = new ArrayList<>();
    try (Stream<String> lines = response.body()) {
      for (var it = lines.iterator(); it.hasNext(); ) {
        String line = it.next();
        if (line.isEmpty()) {
          if (!data.isEmpty()) {
            events.add(new Event(id, type, String.join("\n", data)));
          }
          id = null;
          type = "message";
          data = new ArrayList<>();
        } else if (line.startsWith(":")) {
          comments.add(line.substring(1).trim());
        } else if (line.startsWith("id: ")) {
          id = line.substring(4);
        } else if (line.startsWith("event: ")) {
          type = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data.add(line.substring(6));
        }
      }
      ended.complete(null);
    } catch (RuntimeException e) {
      ended.completeExceptionally(e);
    }
  }

  /** The events of one type, in order. */
  public List<Event> ofType(String type) {
    return events.stream().filter(e -> e.type().equals(type)).toList();
  }

  /** Closes the connection. */
  @Override
  public void close() {
    response.body().close();
  }
}

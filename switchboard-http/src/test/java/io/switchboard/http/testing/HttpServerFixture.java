package io.switchboard.http.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.FrontEnd;
import io.switchboard.spi.config.ServerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A server started in process with every front end on the class path (each listener on a free
 * port), and a JDK HttpClient pointed at it. Not thread-safe; one per test.
 */
public final class HttpServerFixture implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  public final SwitchboardServer server;
  public final List<FrontEnd> frontEnds;
  public final HttpClient http;
  private final String base;

  private HttpServerFixture(SwitchboardServer server, List<FrontEnd> frontEnds) {
    this.server = server;
    this.frontEnds = frontEnds;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    this.base = "http://127.0.0.1:" + httpPort();
  }

  /** Starts a server in {@code dataDir}; {@code settings} override keys (http.* included). */
  public static HttpServerFixture start(Path dataDir, Map<String, String> settings)
      throws Exception {
    List<FrontEnd> frontEnds = SwitchboardServer.discoverFrontEnds();
    Map<String, String> flags = new HashMap<>();
    flags.put(ConfigCatalogue.DATA_DIR.name(), dataDir.toString());
    flags.putAll(settings);
    flags = SwitchboardServer.onFreePorts(flags);
    ServerConfig config =
        ServerConfig.resolve(SwitchboardServer.configKeys(frontEnds), Map.of(), Map.of(), flags);
    return new HttpServerFixture(SwitchboardServer.start(config, frontEnds), frontEnds);
  }

  /** The running HTTP front end. */
  public io.switchboard.http.HttpFrontEnd httpFrontEnd() {
    return frontEnds.stream()
        .filter(io.switchboard.http.HttpFrontEnd.class::isInstance)
        .map(io.switchboard.http.HttpFrontEnd.class::cast)
        .findFirst()
        .orElseThrow();
  }

  public int httpPort() {
    return server.addresses().get("http").getPort();
  }

  public int nativePort() {
    return server.addresses().get("native").getPort();
  }

  public URI uri(String pathAndQuery) {
    return URI.create(base + pathAndQuery);
  }

  /** A connected native client; the caller closes it. */
  public SwitchboardClient nativeClient() {
    return SwitchboardClient.connect(ClientOptions.of("127.0.0.1", nativePort()));
  }

  /** A request builder for {@code path} with a 30 s timeout. */
  public HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30));
  }

  public HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public HttpResponse<String> get(String path) {
    return send(request(path).GET().build());
  }

  public HttpResponse<String> delete(String path) {
    return send(request(path).DELETE().build());
  }

  public HttpResponse<String> post(String path, String body, String... headers) {
    HttpRequest.Builder b = request(path).POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.build());
  }

  public HttpResponse<String> put(String path, String body) {
    return send(request(path).PUT(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  public static JsonNode json(HttpResponse<String> r) {
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + r.body(), e);
    }
  }

  public static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    server.close();
  }
}

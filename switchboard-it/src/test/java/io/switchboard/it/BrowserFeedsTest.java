package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.testkit.TcpProxy;
import java.io.File;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real browser (headless Chromium from Debian, driven by Selenium) loads a page from another
 * origin that subscribes over Server-Sent Events, the JSON WebSocket and MQTT over WebSocket, and
 * shows what the native client publishes. The event stream goes through a proxy the test cuts:
 * EventSource reconnects with Last-Event-ID and the page ends with every message exactly once, in
 * order.
 */
class BrowserFeedsTest {
  static final int MESSAGES = 100;

  @TempDir Path dir;
  SwitchboardServer server;
  HttpServer page;
  TcpProxy proxy;
  ChromeDriver browser;

  @AfterEach
  void stop() {
    if (browser != null) {
      browser.quit(); // stops chromedriver and the browser it started
    }
    if (proxy != null) {
      proxy.close();
    }
    if (page != null) {
      page.stop(0);
    }
    if (server != null) {
      server.close();
    }
  }

  /** Serves the test page on a loopback port of its own: another origin than the broker. */
  static HttpServer servePage() throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.createContext(
        "/feeds.html",
        x -> {
          byte[] body;
          try (InputStream in = BrowserFeedsTest.class.getResourceAsStream("/browser/feeds.html")) {
            body = in.readAllBytes();
          }
          x.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
          x.sendResponseHeaders(200, body.length);
          x.getResponseBody().write(body);
          x.close();
        });
    s.start();
    return s;
  }

  static ChromeDriver chromium(Path profile) {
    ChromeOptions o = new ChromeOptions();
    o.setBinary("/usr/bin/chromium");
    o.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--user-data-dir=" + profile);
    ChromeDriverService driver =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File("/usr/bin/chromedriver"))
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(driver, o);
  }

  Object js(String script) {
    return ((JavascriptExecutor) browser).executeScript(script);
  }

  long count(String list) {
    return (Long) js("return window.feed." + list + ".length");
  }

  @SuppressWarnings("unchecked")
  List<String> list(String name) {
    return new ArrayList<>((List<String>) js("return window.feed." + name));
  }

  @Test
  void aBrowserGetsEveryMessageOverSseWebSocketAndMqttAndTheEventStreamResumesAfterACut()
      throws Exception {
    page = servePage();
    String pageOrigin = "http://127.0.0.1:" + page.getAddress().getPort();
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.resolve("data").toString(),
                "http.cors-origins",
                pageOrigin));
    int http = server.addresses().get("http").getPort();
    proxy = TcpProxy.start(http);
    try (SwitchboardClient client =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
      client.admin(Admin.Op.STREAM_CREATE, "{\"name\":\"FEED\",\"subjects\":[\"feed.>\"]}");

      browser = chromium(dir.resolve("profile"));
      browser.get(
          pageOrigin
              + "/feeds.html?sse=http://127.0.0.1:"
              + proxy.port()
              + "&ws=ws://127.0.0.1:"
              + http
              + "/v1/ws&mqtt=ws://127.0.0.1:"
              + http
              + "/mqtt");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  Boolean.TRUE.equals(
                      js(
                          "return window.feed.sseOpens > 0 && window.feed.wsReady"
                              + " && window.feed.mqttReady")));

      for (int i = 0; i < MESSAGES / 2; i++) {
        client.publish("feed.news", ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> count("sse") == MESSAGES / 2);

      proxy.cutAll(); // the event stream's connection drops; EventSource reconnects in 1 s
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> (Long) js("return window.feed.sseErrors") > 0);
      for (int i = MESSAGES / 2; i < MESSAGES; i++) {
        client.publish("feed.news", ("m" + i).getBytes(StandardCharsets.UTF_8));
      }

      List<String> expected = new ArrayList<>();
      for (int i = 0; i < MESSAGES; i++) {
        expected.add("m" + i);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> count("sse") >= MESSAGES);
      await().atMost(Duration.ofSeconds(30)).until(() -> count("ws") >= MESSAGES);
      await().atMost(Duration.ofSeconds(30)).until(() -> count("mqtt") >= MESSAGES);
      assertThat(list("sse"))
          .as("SSE: nothing lost or repeated across the cut")
          .isEqualTo(expected);
      assertThat((Long) js("return window.feed.sseOpens"))
          .as("the page reconnected")
          .isGreaterThanOrEqualTo(2L);
      assertThat(list("sseIds").get(MESSAGES - 1)).isEqualTo(Integer.toString(MESSAGES));
      assertThat(list("ws")).isEqualTo(expected);
      assertThat(list("mqtt")).isEqualTo(expected);
      assertThat(proxy.accepted()).isGreaterThanOrEqualTo(2);
    }
  }
}

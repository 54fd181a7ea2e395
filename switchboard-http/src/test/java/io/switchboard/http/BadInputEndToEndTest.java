package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.http.testing.RawHttp;
import io.switchboard.testkit.netty.LeakCheck;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests a careless or hostile client sends (issue 12 §3, a bad-input trial): each is refused
 * with the status and code that say what was wrong, in the caller's terms. One server for the
 * class; each test uses its own subjects and streams.
 */
@ExtendWith(LeakCheck.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputEndToEndTest {
  HttpServerFixture s;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
  }

  @AfterAll
  void stop() {
    if (s != null) {
      s.close();
    }
  }

  @Test
  void shouldAnswer505ToAnHttpVersionItDoesNotSpeak() throws Exception {
    try (RawHttp raw = new RawHttp(s.httpPort())) {
      String answer = raw.send("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n").readToEnd();
      assertThat(answer).startsWith("HTTP/1.1 505 ");
      assertThat(answer)
          .contains("\"error\":\"HTTP_VERSION_NOT_SUPPORTED\"")
          .contains("HTTP version HTTP/9.9 is not supported");
    }
    assertThat(s.get("/healthz").statusCode()).isEqualTo(200);
  }
}

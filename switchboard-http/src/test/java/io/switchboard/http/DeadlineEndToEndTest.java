package io.switchboard.http;

import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A request over HTTP whose sb-deadline has passed is not delivered: 504 DEADLINE_EXPIRED. */
class DeadlineEndToEndTest {
  @TempDir Path dir;
  HttpServerFixture s;

  @BeforeEach
  void start() throws Exception {
    s = HttpServerFixture.start(dir, Map.of());
  }

  @AfterEach
  void stop() {
    s.close();
  }

  @Test
  void shouldAnswerAnExpiredRequestWith504AndNotDeliverIt() {
    var received = new java.util.concurrent.atomic.AtomicInteger();
    s.server.broker().live().subscribe("svc.a", "g", m -> received.incrementAndGet());
    HttpResponse<String> r =
        s.send(
            s.request("/v1/requests/svc.a?timeoutMs=5000")
                .header("Sb-Header-Sb-Deadline", Long.toString(System.currentTimeMillis() - 1000))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .header("Content-Type", "application/json")
                .build());
    assertProblem(r, 504, ErrorCode.DEADLINE_EXPIRED);
    assertThat(received).hasValue(0);
    assertThat(s.server.broker().live().deadlineExpiredCount()).isEqualTo(1);
    assertThat(s.get("/metrics").body()).contains("switchboard_live_deadline_expired_total 1.0");
  }
}

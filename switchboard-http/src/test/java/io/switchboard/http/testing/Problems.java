package io.switchboard.http.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.core.ErrorCode;
import java.net.http.HttpResponse;

/** Assertions on RFC 9457 problem responses. Stateless. */
public final class Problems {
  private Problems() {}

  /** The response is a problem document with this status and code; returns the document. */
  public static JsonNode assertProblem(HttpResponse<String> r, int status, ErrorCode code) {
    assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).contains("application/problem+json");
    JsonNode p = HttpServerFixture.json(r);
    assertThat(p.path("code").asInt()).as("code in %s", r.body()).isEqualTo(code.number());
    assertThat(p.path("error").asText()).isEqualTo(code.name());
    assertThat(p.path("status").asInt()).isEqualTo(status);
    assertThat(p.path("type").asText()).isEqualTo("urn:switchboard:error:" + code.number());
    assertThat(p.path("detail").asText()).isNotBlank();
    return p;
  }
}

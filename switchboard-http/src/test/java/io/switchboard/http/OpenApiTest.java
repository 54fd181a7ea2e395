package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.testkit.netty.LeakCheck;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/openapi.json} is an OpenAPI 3.1 document listing exactly the routes the server
 * serves: every route of the routers is in it, and it has no route the server lacks.
 */
@ExtendWith(LeakCheck.class)
class OpenApiTest {
  static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head");

  @TempDir Path dir;

  @Test
  void shouldListEveryRouteAndNoOther() throws Exception {
    try (HttpServerFixture s = HttpServerFixture.start(dir, Map.of())) {
      HttpResponse<String> r = s.get("/v1/openapi.json");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).contains("application/json");
      JsonNode doc = HttpServerFixture.json(r);
      assertThat(doc.path("openapi").asText()).isEqualTo("3.1.0");

      Set<String> documented = new TreeSet<>();
      for (Map.Entry<String, JsonNode> path : doc.path("paths").properties()) {
        for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
          if (METHODS.contains(op.getKey())) {
            documented.add(op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey());
            assertThat(op.getValue().path("operationId").asText())
                .as("operationId of %s %s", op.getKey(), path.getKey())
                .isNotBlank();
            assertThat(op.getValue().path("responses").has("default"))
                .as("problem response of %s %s", op.getKey(), path.getKey())
                .isTrue();
            Set<String> inPath = new TreeSet<>();
            for (JsonNode p : op.getValue().path("parameters")) {
              if (p.path("in").asText().equals("path")) {
                inPath.add(p.path("name").asText());
              }
            }
            assertThat(inPath)
                .as("path parameters of %s %s", op.getKey(), path.getKey())
                .isEqualTo(templateParams(path.getKey()));
          }
        }
      }
      Set<String> served = new TreeSet<>();
      for (Router.Template t : s.httpFrontEnd().routes()) {
        served.add(t.method().name() + " " + t.template());
      }
      assertThat(documented).isEqualTo(served);
    }
  }

  static Set<String> templateParams(String template) {
    Set<String> out = new TreeSet<>();
    var m = java.util.regex.Pattern.compile("\\{([^}]+)}").matcher(template);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}

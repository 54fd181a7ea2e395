package io.switchboard.http;

import static io.switchboard.http.testing.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.http.testing.HttpServerFixture;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry's routes at the decision point: SUBSCRIBE on {@code $schemas} reads, PUBLISH
 * registers, ADMIN changes levels and deletes.
 */
class SchemaRegistrySecurityTest {
  @TempDir Path dir;
  HttpServerFixture s;

  @BeforeEach
  void start() throws Exception {
    s =
        HttpServerFixture.start(
            dir,
            Map.of("auth.required", "true", "acl.default", "deny", "auth.failure-delay-ms", "10"));
    SecurityAdmin admin = s.server.security();
    admin.addUser("reader", "pw", "test");
    admin.addUser("producer", "pw", "test");
    admin.addUser("root", "pw", "test");
    rule(admin, "user:reader", Permission.SUBSCRIBE);
    rule(admin, "user:producer", Permission.PUBLISH);
    rule(admin, "user:producer", Permission.SUBSCRIBE);
    rule(admin, "user:root", Permission.ADMIN);
  }

  static void rule(SecurityAdmin admin, String who, Permission p) {
    admin.addRule(
        new AclRule("", AclRule.Effect.ALLOW, who, EnumSet.of(p), HttpAccess.SCHEMAS), "test");
  }

  @AfterEach
  void stop() {
    s.close();
  }

  HttpResponse<String> call(String user, String method, String path, String body) {
    String auth =
        "Basic "
            + Base64.getEncoder().encodeToString((user + ":pw").getBytes(StandardCharsets.UTF_8));
    return s.send(
        s.request(path)
            .header("Authorization", auth)
            .header("Content-Type", SchemaRegistryEndToEndTest.MEDIA)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  @Test
  void eachRegistryRouteNeedsItsPermission() {
    String schema = "{\"schema\":\"\\\"string\\\"\"}";
    assertProblem(
        call("reader", "POST", "/subjects/a/versions", schema), 403, ErrorCode.PERMISSION_DENIED);
    assertThat(call("producer", "POST", "/subjects/a/versions", schema).statusCode())
        .isEqualTo(200);
    assertThat(call("reader", "GET", "/schemas/ids/1", null).statusCode()).isEqualTo(200);
    assertThat(call("reader", "POST", "/subjects/a", schema).statusCode()).isEqualTo(200);
    assertProblem(
        call("producer", "PUT", "/config", "{\"compatibility\":\"NONE\"}"),
        403,
        ErrorCode.PERMISSION_DENIED);
    assertProblem(
        call("producer", "DELETE", "/subjects/a", null), 403, ErrorCode.PERMISSION_DENIED);
    assertThat(call("root", "PUT", "/config", "{\"compatibility\":\"NONE\"}").statusCode())
        .isEqualTo(200);
    assertThat(call("root", "DELETE", "/subjects/a", null).statusCode()).isEqualTo(200);
  }
}

package io.switchboard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.QuotaLimits;
import io.switchboard.spi.security.SecurityAdmin;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The security store of a running server, through its HTTP admin API ({@code /v1/security/...},
 * docs/security.md): what {@code switchboard user|acl|quota --server} act on. Each call is one HTTP
 * request, authenticated with Basic (user and password) or Bearer (token), over TLS when the URL is
 * {@code https}. A refusal by the server becomes a {@link Refused} carrying its error code and
 * text; a server that cannot be reached an {@link IOException} wrapped in {@link Unreachable}.
 * Confined to the thread running the command line.
 */
final class HttpSecurityAdmin implements SecurityAdmin {
  /** How long one request may take, connecting included. */
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** The server refused a request: its error code and message, as the problem document said. */
  static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message);
    }
  }

  /** The server could not be reached or did not answer. */
  static final class Unreachable extends RuntimeException {
    Unreachable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final URI base;
  private final String authorization;
  private final HttpClient http;

  /**
   * @param base {@code http(s)://host:port}
   * @param authorization the {@code Authorization} header's value, or null
   * @param tlsCa a PEM file of CA certificates to trust for {@code https}, or null for the JDK's
   */
  HttpSecurityAdmin(URI base, String authorization, Path tlsCa) {
    this.base = base;
    this.authorization = authorization;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(TIMEOUT);
    if (tlsCa != null) {
      b.sslContext(trusting(tlsCa));
    }
    this.http = b.build();
  }

  static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  static String bearer(String token) {
    return "Bearer " + token;
  }

  /**
   * {@code http://HOST:PORT}, {@code https://HOST:PORT}, or {@code HOST:PORT} (https when {@code
   * tls}, else http).
   */
  static URI parse(String server, boolean tls) {
    String s = server.trim();
    if (!s.startsWith("http://") && !s.startsWith("https://")) {
      s = (tls ? "https://" : "http://") + s;
    }
    URI u;
    try {
      u = URI.create(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("\"" + server + "\" is not a URL or HOST:PORT");
    }
    if (u.getHost() == null || u.getPort() < 0) {
      throw new IllegalArgumentException(
          "\"" + server + "\" needs a host and the HTTP port (HOST:PORT or http(s)://HOST:PORT)");
    }
    return URI.create(u.getScheme() + "://" + u.getRawAuthority());
  }

  // ------------------------------------------------------------------ users

  @Override
  public List<String> users() {
    List<String> out = new ArrayList<>();
    send("GET", "/v1/security/users", null).path("users").forEach(n -> out.add(n.asText()));
    return out;
  }

  @Override
  public void addUser(String name, String password, String actor) {
    send("POST", "/v1/security/users", Map.of("name", name, "password", password));
  }

  @Override
  public void setPassword(String name, String password, String actor) {
    send("PUT", "/v1/security/users/" + segment(name), Map.of("password", password));
  }

  @Override
  public void removeUser(String name, String actor) {
    send("DELETE", "/v1/security/users/" + segment(name), null);
  }

  // ------------------------------------------------------------------ rules

  @Override
  public List<AclRule> rules() {
    List<AclRule> out = new ArrayList<>();
    send("GET", "/v1/security/acls", null).path("rules").forEach(n -> out.add(rule(n)));
    return out;
  }

  @Override
  public AclRule addRule(AclRule rule, String actor) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("effect", rule.effect().wireName());
    body.put("principal", rule.principal());
    body.put("permissions", rule.permissions().stream().map(Permission::wireName).toList());
    body.put("resource", rule.resource());
    return rule(send("POST", "/v1/security/acls", body));
  }

  @Override
  public void removeRule(String id, String actor) {
    send("DELETE", "/v1/security/acls/" + segment(id), null);
  }

  private static AclRule rule(JsonNode n) {
    EnumSet<Permission> perms = EnumSet.noneOf(Permission.class);
    n.path("permissions").forEach(p -> perms.add(Permission.parse(p.asText())));
    return new AclRule(
        n.path("id").asText(),
        AclRule.Effect.parse(n.path("effect").asText()),
        n.path("principal").asText(),
        perms,
        n.path("resource").asText());
  }

  // ------------------------------------------------------------------ quotas

  @Override
  public Map<String, QuotaLimits> storedQuotas() {
    Map<String, QuotaLimits> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e :
        send("GET", "/v1/security/quotas", null).path("quotas").properties()) {
      Map<String, Long> fields = new LinkedHashMap<>();
      e.getValue().properties().forEach(f -> fields.put(f.getKey(), f.getValue().asLong()));
      out.put(e.getKey(), QuotaLimits.fromMap(fields));
    }
    return out;
  }

  @Override
  public void setQuota(String principal, QuotaLimits limits, String actor) {
    Map<String, Long> body = new LinkedHashMap<>();
    limits
        .asMap()
        .forEach(
            (k, v) -> {
              if (v != QuotaLimits.INHERIT) {
                body.put(k, v);
              }
            });
    send("PUT", "/v1/security/quotas/" + segment(principal), body);
  }

  @Override
  public void removeQuota(String principal, String actor) {
    send("DELETE", "/v1/security/quotas/" + segment(principal), null);
  }

  // ------------------------------------------------------------------ HTTP

  /** One request; the answer's JSON (empty for 204), or {@link Refused} with the server's code. */
  private JsonNode send(String method, String path, Object body) {
    HttpRequest.Builder r = HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT);
    if (authorization != null) {
      r.header("Authorization", authorization);
    }
    try {
      if (body == null) {
        r.method(method, HttpRequest.BodyPublishers.noBody());
      } else {
        r.header("Content-Type", "application/json")
            .method(
                method,
                HttpRequest.BodyPublishers.ofByteArray(Output.JSON.writeValueAsBytes(body)));
      }
      HttpResponse<byte[]> answer = http.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode json =
          answer.body().length == 0
              ? Output.JSON.createObjectNode()
              : Output.JSON.readTree(answer.body());
      if (answer.statusCode() / 100 != 2) {
        throw new Refused(refusal(answer.statusCode(), json));
      }
      return json;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unreachable("interrupted", e);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new Unreachable(base + " did not answer with JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new Unreachable(
          "cannot reach " + base + ": " + (e.getMessage() == null ? e : e.getMessage()), e);
    }
  }

  /** {@code [21 USER_NOT_FOUND] no user named "bob"}, as a local refusal reads. */
  private static String refusal(int status, JsonNode problem) {
    int code = problem.path("code").asInt(0);
    ErrorCode known = ErrorCode.byNumber(code);
    String detail = problem.path("detail").asText("HTTP " + status);
    return code == 0
        ? "HTTP " + status + ": " + detail
        : "["
            + code
            + " "
            + (known == null ? problem.path("error").asText("?") : known)
            + "] "
            + detail;
  }

  private static String segment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static SSLContext trusting(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new IllegalArgumentException(pem + " holds no certificate");
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("--tls-ca " + pem + ": " + e.getMessage(), e);
    }
  }
}

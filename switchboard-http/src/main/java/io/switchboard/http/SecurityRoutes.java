package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.QuotaLimits;
import io.switchboard.spi.security.SecurityAdmin;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Users and rules over HTTP ({@code /v1/security/...}, needing {@code admin} on {@code $security}:
 * {@link HttpAccess}). Every change is written durably and to the audit log by the security service
 * before it is answered, so the routes run on the blocking executor. Stateless.
 */
final class SecurityRoutes {
  private final SecurityAdmin admin;
  private final Executor blocking;

  SecurityRoutes(SecurityAdmin admin, Executor blocking) {
    this.admin = admin;
    this.blocking = blocking;
  }

  void register(Router<Handler> r) {
    r.add(HttpMethod.GET, "/v1/security/users", x -> run(() -> Map.of("users", admin.users())))
        .add(HttpMethod.POST, "/v1/security/users", this::addUser)
        .add(HttpMethod.PUT, "/v1/security/users/{user}", this::setPassword)
        .add(HttpMethod.DELETE, "/v1/security/users/{user}", this::removeUser)
        .add(HttpMethod.GET, "/v1/security/acls", x -> run(() -> Map.of("rules", rules())))
        .add(HttpMethod.POST, "/v1/security/acls", this::addRule)
        .add(HttpMethod.DELETE, "/v1/security/acls/{id}", this::removeRule)
        .add(HttpMethod.GET, "/v1/security/quotas", x -> run(this::quotas))
        .add(HttpMethod.PUT, "/v1/security/quotas/{principal}", this::setQuota)
        .add(HttpMethod.DELETE, "/v1/security/quotas/{principal}", this::removeQuota);
  }

  /** {@code {"quotas": {"user:alice": {"connections": 2, ...}, "default": {...}}}}: set fields. */
  private Map<String, Object> quotas() {
    Map<String, Object> all = new LinkedHashMap<>();
    admin.storedQuotas().forEach((who, q) -> all.put(who, quotaJson(q)));
    return Map.of("quotas", all);
  }

  static Map<String, Long> quotaJson(QuotaLimits q) {
    Map<String, Long> m = new LinkedHashMap<>();
    q.asMap()
        .forEach(
            (k, v) -> {
              if (v != QuotaLimits.INHERIT) {
                m.put(k, v);
              }
            });
    return m;
  }

  /**
   * {@code {"publish-bytes": n, ...}} (fields left out take the defaults; 0 is unlimited) → 200
   * with the stored quota. Codes: INVALID_ARGUMENT.
   */
  private CompletableFuture<HttpReply> setQuota(Exchange x) {
    JsonNode body = AdminJson.parse(x.body());
    if (!body.isObject()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "a quota is an object of limits by name");
    }
    Map<String, Long> fields = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : body.properties()) {
      if (!e.getValue().canConvertToExactIntegral()) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "quota \"" + e.getKey() + "\" needs a whole number");
      }
      fields.put(e.getKey(), e.getValue().asLong());
    }
    QuotaLimits q = QuotaLimits.fromMap(fields);
    String who = x.param("principal");
    return blocking(
        () -> {
          admin.setQuota(who, q, actor(x));
          return HttpReply.json(200, Map.of("principal", who, "quota", quotaJson(q)));
        });
  }

  /** → 204. Codes: QUOTA_NOT_FOUND. */
  private CompletableFuture<HttpReply> removeQuota(Exchange x) {
    String who = x.param("principal");
    return blocking(
        () -> {
          admin.removeQuota(who, actor(x));
          return HttpReply.noContent();
        });
  }

  /** {@code {"name", "password"}} → 201. Codes: USER_EXISTS, INVALID_ARGUMENT. */
  private CompletableFuture<HttpReply> addUser(Exchange x) {
    JsonNode body = AdminJson.parse(x.body());
    String name = AdminJson.text(body, "name");
    String password = AdminJson.text(body, "password");
    return blocking(
        () -> {
          admin.addUser(name, password, actor(x));
          return HttpReply.json(201, Map.of("name", name));
        });
  }

  /** {@code {"password"}} → 204. Codes: USER_NOT_FOUND, INVALID_ARGUMENT. */
  private CompletableFuture<HttpReply> setPassword(Exchange x) {
    String password = AdminJson.text(AdminJson.parse(x.body()), "password");
    String name = x.param("user");
    return blocking(
        () -> {
          admin.setPassword(name, password, actor(x));
          return HttpReply.noContent();
        });
  }

  /** → 204. Codes: USER_NOT_FOUND. */
  private CompletableFuture<HttpReply> removeUser(Exchange x) {
    String name = x.param("user");
    return blocking(
        () -> {
          admin.removeUser(name, actor(x));
          return HttpReply.noContent();
        });
  }

  /**
   * {@code {"effect": "allow"|"deny", "principal", "permissions": [...], "resource"}} → 201 with
   * the rule and its id. Codes: INVALID_ARGUMENT, INVALID_PATTERN.
   */
  private CompletableFuture<HttpReply> addRule(Exchange x) {
    AclRule rule = ruleOf(AdminJson.parse(x.body()));
    return blocking(() -> HttpReply.json(201, json(admin.addRule(rule, actor(x)))));
  }

  /** → 204. Codes: ACL_RULE_NOT_FOUND. */
  private CompletableFuture<HttpReply> removeRule(Exchange x) {
    String id = x.param("id");
    return blocking(
        () -> {
          admin.removeRule(id, actor(x));
          return HttpReply.noContent();
        });
  }

  static AclRule ruleOf(JsonNode body) {
    EnumSet<Permission> perms = EnumSet.noneOf(Permission.class);
    JsonNode list = body.path("permissions");
    if (!list.isArray()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "\"permissions\" is an array of permission names");
    }
    for (JsonNode p : list) {
      try {
        perms.add(Permission.parse(p.asText()));
      } catch (IllegalArgumentException e) {
        throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, e.getMessage());
      }
    }
    return new AclRule(
        "",
        AclRule.Effect.parse(AdminJson.text(body, "effect")),
        AdminJson.text(body, "principal"),
        perms,
        AdminJson.text(body, "resource"));
  }

  private List<Map<String, Object>> rules() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (AclRule r : admin.rules()) {
      out.add(json(r));
    }
    return out;
  }

  static Map<String, Object> json(AclRule r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", r.id());
    m.put("effect", r.effect().wireName());
    m.put("principal", r.principal());
    m.put(
        "permissions", EnumSet.copyOf(r.permissions()).stream().map(Permission::wireName).toList());
    m.put("resource", r.resource());
    return m;
  }

  /** Who made a change, for the audit log: the principal and where it connected from. */
  private static String actor(Exchange x) {
    return x.access().principal().id() + " over HTTP";
  }

  private CompletableFuture<HttpReply> run(java.util.function.Supplier<Object> read) {
    return blocking(() -> HttpReply.json(200, read.get()));
  }

  private CompletableFuture<HttpReply> blocking(java.util.function.Supplier<HttpReply> work) {
    return CompletableFuture.supplyAsync(work, blocking);
  }
}

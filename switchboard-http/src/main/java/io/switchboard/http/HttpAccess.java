package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.AttributeKey;
import io.switchboard.broker.Broker;
import io.switchboard.broker.live.LiveBus;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.QuotaMeter;
import io.switchboard.spi.security.StreamReads;

/**
 * What each HTTP route is checked on at the decision point (issue 18; docs/security.md). Stateless.
 * Routes whose body names several targets (a batch publish, JSON-RPC, WebSocket operations, a live
 * event stream) check each inside, with the {@link Access} of the request.
 */
final class HttpAccess {
  private HttpAccess() {}

  /** The one target of every schema registry route. */
  static final String SCHEMAS = "$schemas";

  /** The access of the request being answered, and of an event stream or WebSocket after it. */
  static final AttributeKey<Access> ACCESS = AttributeKey.valueOf("sb-access");

  /** The connection's current access; allow-all when none was set (tests of handlers alone). */
  static Access of(Channel ch) {
    Access a = ch.attr(ACCESS).get();
    return a == null ? Access.allowAll() : a;
  }

  /**
   * Checks a routed request.
   *
   * @throws io.switchboard.core.SwitchboardException {@code PERMISSION_DENIED}
   */
  static void check(Access access, HttpMethod method, String template, Exchange x, Broker broker) {
    String m = method.name();
    checkQuota(access, template, m, x);
    switch (template) {
      case "/healthz",
          "/readyz",
          "/v1/subjects",
          "/v1/jsonrpc",
          "/v1/subjects/{pattern}/events" -> {
        // open, or checked per entry inside the route
      }
      case "/metrics" -> access.check(Permission.ADMIN, "$metrics");
      case "/v1/streams" ->
          access.check(
              Permission.ADMIN,
              m.equals("GET") ? Permission.STREAMS_TARGET : bodyName(x, "$unnamed"));
      case "/v1/streams/{stream}" -> access.check(Permission.ADMIN, x.param("stream"));
      case "/v1/streams/{stream}/consumers" ->
          access.check(
              Permission.ADMIN,
              Permission.consumerTarget(
                  x.param("stream"),
                  m.equals("GET") ? Permission.CONSUMERS_TOKEN : bodyName(x, "$unnamed")));
      case "/v1/streams/{stream}/consumers/{consumer}" ->
          access.check(Permission.ADMIN, consumer(x));
      case "/v1/streams/{stream}/consumers/{consumer}/acks" ->
          access.check(Permission.CONSUME, consumer(x));
      case "/v1/streams/{stream}/consumers/{consumer}/fetch",
          "/v1/streams/{stream}/consumers/{consumer}/events" -> {
        access.check(Permission.CONSUME, consumer(x));
        // What a consumer delivers cannot be skipped: all of it must be readable.
        StreamReads.checkConsumer(access, broker, x.param("stream"), x.param("consumer"));
      }
      case "/v1/subjects/{subject}" -> checkPublish(access, x.param("subject"));
      case "/v1/requests/{subject}" -> access.check(Permission.REQUEST, x.param("subject"));
      case "/v1/streams/{stream}/subjects/{subject}" -> {
        if (m.equals("POST")) {
          checkPublish(access, x.param("subject"));
        } else {
          access.check(Permission.CONSUME, read(x));
          access.check(Permission.SUBSCRIBE, x.param("subject"));
        }
      }
      case "/v1/streams/{stream}/subjects/{subject}/last" -> {
        access.check(Permission.CONSUME, read(x));
        access.check(Permission.SUBSCRIBE, x.param("subject"));
      }
      // A follow skips, message by message, what the principal may not subscribe to.
      case "/v1/streams/{stream}/events" -> access.check(Permission.CONSUME, read(x));
      case "/v1/security/users",
          "/v1/security/users/{user}",
          "/v1/security/acls",
          "/v1/security/acls/{id}",
          "/v1/security/quotas",
          "/v1/security/quotas/{principal}" ->
          access.check(Permission.ADMIN, Permission.SECURITY_TARGET);
      // The schema registry (Confluent's API): reading needs SUBSCRIBE, registering PUBLISH,
      // changing levels and deleting ADMIN, each on the one target $schemas.
      case "/subjects/{s}/versions" ->
          access.check(m.equals("POST") ? Permission.PUBLISH : Permission.SUBSCRIBE, SCHEMAS);
      case "/subjects",
          "/subjects/{s}",
          "/subjects/{s}/versions/{v}",
          "/subjects/{s}/versions/{v}/schema",
          "/schemas/ids/{id}",
          "/schemas/ids/{id}/versions",
          "/schemas/types",
          "/compatibility/subjects/{s}/versions",
          "/compatibility/subjects/{s}/versions/{v}",
          "/config",
          "/config/{s}" ->
          access.check(
              m.equals("GET") || m.equals("POST") ? Permission.SUBSCRIBE : Permission.ADMIN,
              SCHEMAS);
      default ->
          // A route added without a row here is refused to everyone but an admin of everything.
          access.check(Permission.ADMIN, ">");
    }
  }

  /**
   * The principal's quotas (issue 18): HTTP cannot slow a client down, so while a bucket is in debt
   * the request is refused with 429 QUOTA_RATE and Retry-After, and an admitted one is charged:
   * every request to the request rate, a publish to the publish rates. Health checks are free.
   *
   * @throws io.switchboard.core.SwitchboardException {@code QUOTA_RATE}
   */
  private static void checkQuota(Access access, String template, String method, Exchange x) {
    if (template.equals("/healthz") || template.equals("/readyz")) {
      return;
    }
    access.checkRate(QuotaMeter.Rate.REQUESTS);
    boolean publish =
        method.equals("POST")
            && (template.equals("/v1/subjects/{subject}")
                || template.equals("/v1/streams/{stream}/subjects/{subject}"));
    if (publish) {
      checkPublishRate(access);
    }
    access.quota().request();
    if (publish) {
      access.quota().publish(1, x.body().length);
    }
  }

  /**
   * Refuses while the publish buckets are in debt; the caller charges what it then publishes.
   *
   * @throws io.switchboard.core.SwitchboardException {@code QUOTA_RATE}
   */
  static void checkPublishRate(Access access) {
    access.checkRate(QuotaMeter.Rate.PUBLISH_MESSAGES);
    access.checkRate(QuotaMeter.Rate.PUBLISH_BYTES);
  }

  /** A publish to a reply inbox is a reply, any other a publish. */
  static void checkPublish(Access access, String subject) {
    access.check(
        subject.startsWith(LiveBus.INBOX_PREFIX) ? Permission.REPLY : Permission.PUBLISH, subject);
  }

  private static String consumer(Exchange x) {
    return Permission.consumerTarget(x.param("stream"), x.param("consumer"));
  }

  private static String read(Exchange x) {
    return Permission.consumerTarget(x.param("stream"), Permission.READ_TOKEN);
  }

  private static String bodyName(Exchange x, String otherwise) {
    try {
      JsonNode n = AdminJson.parse(x.body()).path("name");
      return n.isTextual() && !n.asText().isEmpty() ? n.asText() : otherwise;
    } catch (RuntimeException e) {
      return otherwise; // the route refuses the body itself, with its own code
    }
  }
}

package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Futures;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification) on the live bus, for {@code POST
 * /v1/jsonrpc} and WebSocket connections: a call's {@code method} is a subject and its {@code
 * params} the request payload; the call is a request/reply answered by any responder on any
 * protocol, and its {@code result} is the reply. A notification (no {@code id}) is a
 * fire-and-forget publish. Errors are the spec's error objects, each carrying our problem document
 * (code included) in {@code data}. Thread-safe: holds the broker and the clock.
 */
final class JsonRpc {
  private static final Logger LOG = LoggerFactory.getLogger(JsonRpc.class);

  /** Spec §5.1: invalid JSON was received. */
  static final int PARSE_ERROR = -32700;

  /** Spec §5.1: the JSON sent is not a valid Request object. */
  static final int INVALID_REQUEST = -32600;

  /** Spec §5.1: the method does not exist — here, nothing subscribes to the subject. */
  static final int METHOD_NOT_FOUND = -32601;

  /** Spec §5.1: invalid method parameters (params not an object or array). */
  static final int INVALID_PARAMS = -32602;

  /** Server error range (-32000 to -32099): any other failure; our code is in data. */
  static final int SERVER_ERROR = -32000;

  /** Server error range: no reply within the timeout (REQUEST_TIMEOUT). */
  static final int TIMEOUT = -32001;

  /** 1,000 calls per batch, as a REST batch publish: bounded work for one message. */
  static final int MAX_BATCH = 1000;

  private static final Set<String> MEMBERS = Set.of("jsonrpc", "method", "params", "id");

  private final Broker broker;
  private final Clock clock;
  private final HttpMetrics metrics;
  private final LongAdder failedNotifications = new LongAdder();

  JsonRpc(Broker broker, Clock clock, HttpMetrics metrics) {
    this.broker = broker;
    this.clock = clock;
    this.metrics = metrics;
  }

  /** Whether a parsed WebSocket message is JSON-RPC (a batch, or an object naming the version). */
  static boolean isRpc(JsonNode n) {
    return n.isArray() || (n.isObject() && n.has("jsonrpc"));
  }

  /**
   * Answers a parsed message: one call or a batch. Every broker future it waits for completes on
   * {@code loop} (the connection's event loop), so results are built there, never on a replier's
   * thread, the live bus's timer or a partition runner.
   *
   * @return the response (an object, or an array for a batch), or null when there is nothing to
   *     answer (only notifications)
   */
  CompletableFuture<JsonNode> call(JsonNode body, long timeoutMs, Access access, Executor loop) {
    if (!body.isArray()) {
      return single(body, timeoutMs, access, loop).thenApply(r -> r);
    }
    if (body.isEmpty()) {
      return done(error(NullNode.instance, INVALID_REQUEST, invalid("an empty batch")));
    }
    if (body.size() > MAX_BATCH) {
      return done(
          error(
              NullNode.instance,
              INVALID_REQUEST,
              invalid("a batch holds at most " + MAX_BATCH + " calls, not " + body.size())));
    }
    List<CompletableFuture<ObjectNode>> calls = new ArrayList<>(body.size());
    for (JsonNode n : body) {
      calls.add(single(n, timeoutMs, access, loop));
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              ArrayNode out = AdminJson.JSON.createArrayNode();
              for (CompletableFuture<ObjectNode> c : calls) {
                ObjectNode r = c.join();
                if (r != null) {
                  out.add(r);
                }
              }
              return out.isEmpty() ? null : out;
            });
  }

  /**
   * Answers a body that may not be JSON: a parse error (id null, spec §5.1) when it is not.
   *
   * @return as {@link #call}
   */
  CompletableFuture<JsonNode> call(byte[] body, long timeoutMs, Access access, Executor loop) {
    JsonNode parsed;
    try {
      parsed = MessagingRoutes.parseJson(body);
    } catch (SwitchboardException e) {
      return done(error(NullNode.instance, PARSE_ERROR, e));
    }
    return call(parsed, timeoutMs, access, loop);
  }

  /** Notifications whose publish failed (nobody to tell but the logs and this count). */
  long failedNotifications() {
    return failedNotifications.sum();
  }

  private CompletableFuture<ObjectNode> single(
      JsonNode req, long timeoutMs, Access access, Executor loop) {
    if (!req.isObject()) {
      return done(error(NullNode.instance, INVALID_REQUEST, invalid("a call is a JSON object")));
    }
    JsonNode id = req.get("id");
    if (id != null && !(id.isTextual() || id.isNumber() || id.isNull())) {
      return done(
          error(
              NullNode.instance, INVALID_REQUEST, invalid("id must be a string, number or null")));
    }
    JsonNode answerId = id == null ? NullNode.instance : id;
    List<String> unknown = new ArrayList<>();
    req.fieldNames()
        .forEachRemaining(
            f -> {
              if (!MEMBERS.contains(f)) {
                unknown.add(f);
              }
            });
    if (!unknown.isEmpty()) {
      return done(
          error(
              answerId,
              INVALID_REQUEST,
              invalid("unknown member(s) " + String.join(", ", unknown))));
    }
    if (!req.path("jsonrpc").isTextual() || !req.get("jsonrpc").asText().equals("2.0")) {
      return done(error(answerId, INVALID_REQUEST, invalid("\"jsonrpc\" must be \"2.0\"")));
    }
    JsonNode method = req.get("method");
    if (method == null || !method.isTextual()) {
      return done(error(answerId, INVALID_REQUEST, invalid("\"method\" must be a string")));
    }
    JsonNode params = req.get("params");
    if (params != null && !params.isObject() && !params.isArray()) {
      return done(
          error(answerId, INVALID_PARAMS, invalid("\"params\" must be an object or an array")));
    }
    Message m = messageOf(method.asText(), params);
    // A notification is a publish, a call a request (issue 18).
    try {
      if (id == null) {
        HttpAccess.checkPublish(access, m.subject());
      } else {
        access.check(Permission.REQUEST, m.subject());
      }
    } catch (SwitchboardException e) {
      if (id == null) {
        failedNotifications.increment();
        return done(null);
      }
      return done(failure(answerId, e));
    }
    if (id == null) {
      notify(m, loop);
      return done(null);
    }
    return Futures.completeOn(broker.live().request(m, Duration.ofMillis(timeoutMs)), loop)
        .handle((reply, e) -> e == null ? result(answerId, reply) : failure(answerId, e));
  }

  private Message messageOf(String subject, JsonNode params) {
    if (params == null) {
      return new Message(subject, null, List.of(), new byte[0], clock.nowMs(), null);
    }
    byte[] payload;
    try {
      payload = AdminJson.JSON.writeValueAsBytes(params);
    } catch (IOException e) {
      throw new IllegalStateException("a parsed tree always writes", e);
    }
    return new Message(
        subject,
        null,
        List.of(
            new Header(MessageJson.CONTENT_TYPE_HEADER, MessagingRoutes.utf8("application/json"))),
        payload,
        clock.nowMs(),
        null);
  }

  /** Fire and forget: a failure is counted and logged, there is no one to answer. */
  private void notify(Message m, Executor loop) {
    CompletableFuture<?> f;
    try {
      f = broker.publish(m, PublishOptions.NONE, loop);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (ack, e) -> {
          if (e != null) {
            failedNotifications.increment();
            LOG.debug("JSON-RPC notification on {} not published", m.subject(), e);
          } else {
            metrics.published(m.payload().length);
          }
        });
  }

  /**
   * The reply as a result: its payload as JSON when it parses, else as a string when it is UTF-8
   * text, else {@code {"base64": "..."}}.
   */
  private static ObjectNode result(JsonNode id, Message reply) {
    ObjectNode r = envelope(id);
    byte[] payload = reply.payload();
    JsonNode value = null;
    try {
      value = payload.length == 0 ? null : AdminJson.JSON.readTree(payload);
    } catch (IOException e) {
      // not JSON: text or bytes below
    }
    if (value == null || value.isMissingNode()) {
      String text = MessageJson.utf8(payload);
      if (text != null) {
        r.put("result", text);
      } else {
        r.putObject("result").put("base64", Base64.getEncoder().encodeToString(payload));
      }
    } else {
      r.set("result", value);
    }
    return r;
  }

  private static ObjectNode failure(JsonNode id, Throwable t) {
    SwitchboardException e = HttpErrors.unwrap(t);
    if (e.code() == ErrorCode.INTERNAL) {
      LOG.warn("SB-HTTP-5003 JSON-RPC call {} failed unexpectedly", id, t);
    }
    int code =
        switch (e.code()) {
          case NO_RESPONDERS, INVALID_SUBJECT -> METHOD_NOT_FOUND;
          case REQUEST_TIMEOUT -> TIMEOUT;
          default -> SERVER_ERROR;
        };
    return error(id, code, e);
  }

  private static SwitchboardException invalid(String why) {
    return SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, why);
  }

  /** The spec's message for our codes; the detail stays in the problem document in data. */
  private static String message(int code) {
    return switch (code) {
      case PARSE_ERROR -> "Parse error";
      case INVALID_REQUEST -> "Invalid Request";
      case METHOD_NOT_FOUND -> "Method not found";
      case INVALID_PARAMS -> "Invalid params";
      case TIMEOUT -> "Request timed out";
      default -> "Server error";
    };
  }

  static ObjectNode error(JsonNode id, int code, SwitchboardException cause) {
    ObjectNode r = envelope(id);
    ObjectNode err = r.putObject("error");
    err.put("code", code);
    err.put("message", message(code));
    err.set("data", HttpErrors.problem(cause, null));
    return r;
  }

  private static ObjectNode envelope(JsonNode id) {
    ObjectNode r = AdminJson.JSON.createObjectNode();
    r.put("jsonrpc", "2.0");
    r.set("id", id);
    return r;
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}

package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.timeout.IdleStateEvent;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.session.ConnectionSession;
import io.switchboard.spi.session.SessionFraming;
import io.switchboard.spi.session.SessionLimits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WebSocket connection on {@code GET /v1/ws} (docs/http.md, "WebSocket"): text frames of JSON
 * in both directions. A client message is an object with an {@code op} and an {@code id} that its
 * answer ({@code ok} or {@code error}, with a problem document) echoes; it may subscribe to several
 * patterns (live, with queue groups), consume durable consumers (push within credits), publish,
 * request and ack. A JSON-RPC 2.0 call or batch is answered as on {@code POST /v1/jsonrpc}.
 *
 * <p>Bounds: subscriptions per connection ({@code http.ws-max-subscriptions}); operations in
 * progress ({@value #MAX_IN_FLIGHT}, past which the connection stops reading); the bytes waiting to
 * be written ({@code http.ws-max-pending-bytes}), past which the reader is sent a close frame 1008
 * with {@code 3024 SLOW_CONSUMER} and disconnected; the message size ({@code http.max-body-bytes}).
 * An idle connection is pinged, and closed (1001) when a second idle period passes without an
 * answer.
 *
 * <p>Subscriptions, operations in progress, slow readers, the hop to the loop and the close are the
 * shared {@link ConnectionSession}'s, with this protocol's frames plugged in.
 *
 * <p>Confined to the connection's event loop: the live bus calls the sinks there, push feeds and
 * broker futures hop onto it.
 */
final class WebSocketHandler extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final Logger LOG = LoggerFactory.getLogger(WebSocketHandler.class);

  /** The upgrade route. */
  static final String PATH = "/v1/ws";

  /** Operations in progress on one connection before it stops reading (as the native front end). */
  static final int MAX_IN_FLIGHT = 1024;

  /** How long a connection being closed may take to flush its close frame. */
  static final long LINGER_MS = 5_000;

  /** RFC 6455 §7.4.1 status codes used here. */
  static final int GOING_AWAY = 1001;

  static final int UNSUPPORTED_DATA = 1003;
  static final int POLICY_VIOLATION = 1008;
  static final int MESSAGE_TOO_BIG = 1009;

  /** A close reason is at most 123 bytes (RFC 6455 §5.5: control payloads ≤ 125). */
  static final int MAX_REASON_BYTES = 123;

  /** Longest subscription id a client may choose. */
  static final int MAX_SUB_ID = 64;

  private static final Set<String> SUBSCRIBE = Set.of("op", "id", "sub", "pattern", "queue");
  private static final Set<String> CONSUME =
      Set.of("op", "id", "sub", "stream", "consumer", "member", "credits");
  private static final Set<String> FOLLOW =
      Set.of("op", "id", "sub", "stream", "subject", "start", "position");
  private static final Set<String> UNSUBSCRIBE = Set.of("op", "id", "sub");
  private static final Set<String> SETTLE =
      Set.of("op", "id", "sub", "stream", "consumer", "delivery", "delayMs", "error");
  private static final Set<String> PUBLISH = with(MessageJson.ENVELOPE_FIELDS, "op", "id");
  private static final Set<String> REQUEST =
      with(MessageJson.ENVELOPE_FIELDS, "op", "id", "timeoutMs");

  private final HttpService service;
  private final WebSocketServerHandshaker handshaker;
  private final long timeoutMs;

  /** Subscriptions by {@code sub}, operations in progress, slow readers, the close. */
  private ConnectionSession<String> session;

  private ChannelHandlerContext ctx;
  private long nextSub;
  private boolean counted;
  private boolean ended;
  private boolean pingOutstanding;

  /** Who opened this WebSocket (the upgrade request's credential); every operation is checked. */
  private final io.switchboard.spi.security.Access access;

  private WebSocketHandler(
      HttpService service,
      WebSocketServerHandshaker handshaker,
      long timeoutMs,
      io.switchboard.spi.security.Access access) {
    super(true); // frames are released after channelRead0; what is kept is copied out
    this.service = service;
    this.access = access;
    this.handshaker = handshaker;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Answers the upgrade request: the handshake response, then this handler takes the connection.
   * Borrows {@code request}. Codes (before anything is written): TOO_MANY_CONNECTIONS,
   * HTTP_MALFORMED_REQUEST (not a WebSocket handshake, or an unsupported version), INVALID_ARGUMENT
   * ({@code timeoutMs}).
   */
  static void upgrade(
      ChannelHandlerContext ctx, FullHttpRequest request, Exchange x, HttpService service) {
    long timeoutMs =
        x.queryLong(
            "timeoutMs",
            MessagingRoutes.DEFAULT_REQUEST_TIMEOUT_MS,
            1,
            MessagingRoutes.MAX_REQUEST_TIMEOUT_MS);
    String host = request.headers().get(HttpHeaderNames.HOST, "localhost");
    WebSocketDecoderConfig decoder =
        WebSocketDecoderConfig.newBuilder()
            .maxFramePayloadLength(service.settings().maxBodyBytes())
            .allowExtensions(false)
            .build();
    WebSocketServerHandshaker handshaker =
        new WebSocketServerHandshakerFactory("ws://" + host + PATH, null, decoder)
            .newHandshaker(request);
    if (handshaker == null) {
      throw SwitchboardException.of(
          ErrorCode.HTTP_MALFORMED_REQUEST,
          "unsupported WebSocket version "
              + request.headers().get("Sec-WebSocket-Version")
              + "; 13 is supported");
    }
    WebSocketHandler ws = new WebSocketHandler(service, handshaker, timeoutMs, x.access());
    ws.reserve();
    try {
      handshaker
          .handshake(ctx.channel(), request)
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (!f.isSuccess()) {
                      ws.release();
                      f.channel().close();
                      return;
                    }
                    f.channel()
                        .pipeline()
                        .addAfter(
                            ctx.name(),
                            "ws-aggregator",
                            new WebSocketFrameAggregator(service.settings().maxBodyBytes()))
                        .addAfter("ws-aggregator", "ws", ws);
                    f.channel().config().setAutoRead(true);
                  });
    } catch (WebSocketHandshakeException e) {
      ws.release();
      throw SwitchboardException.of(
          ErrorCode.HTTP_MALFORMED_REQUEST,
          "not a WebSocket handshake: " + NettyErrors.handshake(e));
    }
  }

  private void reserve() {
    int max = service.settings().maxWsConnections();
    if (service.wsConnections().incrementAndGet() > max) {
      service.wsConnections().decrementAndGet();
      throw SwitchboardException.of(ErrorCode.TOO_MANY_CONNECTIONS, max);
    }
    try {
      access.openConnection(); // the principal's connection quota: a refused upgrade is a 429
    } catch (SwitchboardException e) {
      service.wsConnections().decrementAndGet();
      throw e;
    }
    counted = true;
  }

  private void release() {
    if (counted) {
      counted = false;
      service.wsConnections().decrementAndGet();
      access.closeConnection(); // and its subscriptions' places in the quota
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    // No live message is dropped here: past the pending-bytes bound (the channel's high water mark
    // from now on) the reader is cut off instead.
    session =
        new ConnectionSession<>(
            ctx,
            new SessionLimits(
                service.settings().wsMaxSubscriptions(),
                MAX_IN_FLIGHT,
                MAX_IN_FLIGHT / 2,
                Long.MAX_VALUE,
                service.settings().wsMaxPendingBytes(),
                LINGER_MS),
            FRAMING);
    session.meterSubscriptions(access);
  }

  /**
   * The drop notice {@code {"op": "dropped", "sub", "dropped"}} (live messages the live bus dropped
   * for a subscription, a running total) and the fatal close frame: 1008 with the code's number and
   * name (RFC 6455 §7.4.1: policy violation).
   */
  private static final SessionFraming<String> FRAMING =
      new SessionFraming<>() {
        @Override
        public Object dropNotice(String sub, long totalDropped) {
          ObjectNode m = AdminJson.JSON.createObjectNode();
          m.put("op", "dropped");
          m.put("sub", sub);
          m.put("dropped", totalDropped);
          return new TextWebSocketFrame(Unpooled.wrappedBuffer(json(m)));
        }

        @Override
        public Object fatalFrame(ErrorCode code, String message) {
          return new CloseWebSocketFrame(POLICY_VIOLATION, code.number() + " " + code.name());
        }
      };

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    ended = true;
    session.closed();
    release();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    session.writabilityChanged(); // past http.ws-max-pending-bytes: cut off (SLOW_CONSUMER)
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      if (pingOutstanding) {
        closeWith(GOING_AWAY, "idle: no answer to a ping");
      } else if (!ended) {
        pingOutstanding = true;
        ctx.writeAndFlush(new PingWebSocketFrame(), ctx.voidPromise());
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof TooLongFrameException) {
      closeWith(
          MESSAGE_TOO_BIG, "a message is at most " + service.settings().maxBodyBytes() + " bytes");
      return;
    }
    if (!(cause instanceof CorruptedWebSocketFrameException)) {
      LOG.debug("WebSocket {} failed", ctx.channel().remoteAddress(), cause);
    }
    // A protocol violation was already answered with a close frame by Netty's decoder.
    ended = true;
    stop();
    ctx.close();
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    pingOutstanding = false;
    if (ended) {
      return;
    }
    switch (frame) {
      case TextWebSocketFrame t -> onText(t.content().toString(StandardCharsets.UTF_8));
      case PingWebSocketFrame p ->
          ctx.writeAndFlush(new PongWebSocketFrame(p.content().retain()), ctx.voidPromise());
      case PongWebSocketFrame p -> {
        // an answer to our ping: the peer is alive
      }
      case CloseWebSocketFrame c -> {
        ended = true;
        stop();
        handshaker.close(ctx.channel(), c.retain());
      }
      case BinaryWebSocketFrame b ->
          closeWith(UNSUPPORTED_DATA, "only text frames of JSON are accepted");
      default ->
          closeWith(UNSUPPORTED_DATA, "unexpected frame " + frame.getClass().getSimpleName());
    }
  }

  // ------------------------------------------------------------------ client messages

  private void onText(String text) {
    JsonNode n;
    try {
      n = MessagingRoutes.parseJson(text.getBytes(StandardCharsets.UTF_8));
    } catch (SwitchboardException e) {
      answerError(null, e);
      return;
    }
    if (JsonRpc.isRpc(n)) {
      track(
          service.rpc().call(n, timeoutMs, access, ctx.executor()),
          r -> send((ObjectNode) null, r));
      return;
    }
    if (!n.isObject()) {
      answerError(null, invalid("a message is a JSON object with \"op\" and \"id\""));
      return;
    }
    JsonNode id = n.get("id");
    if (id == null || !(id.isTextual() || id.isNumber())) {
      answerError(null, invalid("a message needs an \"id\" (a string or number)"));
      return;
    }
    CompletableFuture<ObjectNode> answer;
    try {
      answer = op(n.path("op").asText(""), (ObjectNode) n);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    track(
        answer.handle((fields, e) -> e == null ? ok(id, fields) : error(id, e)),
        r -> send(r, null));
  }

  /**
   * One operation. Codes: INVALID_ARGUMENT (unknown op or field, bad values), those of {@link
   * #subscribe}, {@link #consume}, {@link #unsubscribe}, {@link #settle}, {@link #publish}, {@link
   * #request}.
   */
  private CompletableFuture<ObjectNode> op(String op, ObjectNode n) {
    return switch (op) {
      case "subscribe" -> done(subscribe(n));
      case "consume" -> done(consume(n));
      case "follow" -> done(follow(n));
      case "unsubscribe" -> done(unsubscribe(n));
      case "ack", "nack", "in_progress" -> settle(op, n);
      case "publish" -> publish(n);
      case "request" -> request(n);
      default ->
          throw invalid(
              "op must be subscribe, consume, follow, unsubscribe, ack, nack, in_progress,"
                  + " publish or request, not \""
                  + op
                  + "\"");
    };
  }

  /**
   * {@code {"op": "subscribe", "id", "pattern", "queue"?, "sub"?}}: a live subscription. Codes:
   * INVALID_PATTERN, TOO_MANY_SUBSCRIPTIONS, SUBSCRIPTION_EXISTS, INVALID_ARGUMENT,
   * LIVE_BUS_CLOSED.
   */
  private ObjectNode subscribe(ObjectNode n) {
    fields(n, SUBSCRIBE);
    String sub = newSub(n);
    String pattern = text(n, "pattern", true);
    io.switchboard.spi.security.Decision decision =
        access.decide(io.switchboard.spi.security.Permission.SUBSCRIBE, pattern);
    if (decision == io.switchboard.spi.security.Decision.DENY) {
      throw access.denied(io.switchboard.spi.security.Permission.SUBSCRIBE, pattern);
    }
    long[] sequence = {0};
    LiveSubscription live =
        service
            .broker()
            .live()
            .subscribe(
                pattern,
                text(n, "queue", false),
                session.liveSink(
                    sub,
                    // a forbidden subject under a wildcard, or a grant revoked since, is skipped
                    m ->
                        access.allows(
                            io.switchboard.spi.security.Permission.SUBSCRIBE, m.subject()),
                    m -> {
                      ObjectNode out = AdminJson.JSON.createObjectNode();
                      out.put("op", "message");
                      out.put("sub", sub);
                      out.put("seq", ++sequence[0]);
                      out.set(
                          "message",
                          MessageJson.live(
                              service.tracing().deliver(MessagingRoutes.PROTOCOL, m, null)));
                      send(out, null, false);
                      service
                          .metrics()
                          .delivered(HttpMetrics.Transport.WEBSOCKET, m.payload().length);
                    }),
                ctx.executor());
    session.add(sub, live::close);
    return fields().put("sub", sub);
  }

  /**
   * {@code {"op": "consume", "id", "stream", "consumer", "member"?, "credits"?, "sub"?}}: push
   * delivery of a durable consumer, at most {@code credits} (1 to 1,000, default 10)
   * unacknowledged. Codes: STREAM_NOT_FOUND, CONSUMER_NOT_FOUND, TOO_MANY_SUBSCRIPTIONS,
   * SUBSCRIPTION_EXISTS, INVALID_ARGUMENT, BROKER_CLOSED.
   */
  private ObjectNode consume(ObjectNode n) {
    fields(n, CONSUME);
    String sub = newSub(n);
    String stream = text(n, "stream", true);
    String consumer = text(n, "consumer", true);
    String member = text(n, "member", false);
    long credits =
        whole(
            n, "credits", ConsumerEventStream.DEFAULT_CREDITS, 1, ConsumerEventStream.MAX_CREDITS);
    // What a consumer delivers cannot be skipped: all of it must be readable (and it exists).
    io.switchboard.spi.security.ConsumerGrant grant =
        new io.switchboard.spi.security.ConsumerGrant(access, service.broker(), stream, consumer);
    PushFeed feed =
        new PushFeed(
            service.broker(),
            service.pushes(),
            stream,
            consumer,
            member == null ? AdminRoutes.DEFAULT_MEMBER : member,
            (int) credits,
            ctx.executor(),
            d -> deliver(sub, consumer, grant, d));
    session.add(sub, new ConsumerFeed(feed));
    return fields().put("sub", sub);
  }

  /**
   * {@code {"op": "follow", "id", "stream", "subject"?, "start"?, "position"?, "sub"?}}: replays
   * the stream from {@code position} (one handed out before: resumes right after it) or {@code
   * start} ({@code latest}, the default, {@code earliest}, or an offset), then follows it. Each
   * message carries the {@code position} after it. Answers {@code sub} and the starting {@code
   * position}. Codes: STREAM_NOT_FOUND, INVALID_ARGUMENT, INVALID_PATTERN, TOO_MANY_SUBSCRIPTIONS,
   * SUBSCRIPTION_EXISTS, BROKER_CLOSED.
   */
  private ObjectNode follow(ObjectNode n) {
    fields(n, FOLLOW);
    String sub = newSub(n);
    String stream = text(n, "stream", true);
    access.check(
        io.switchboard.spi.security.Permission.CONSUME,
        io.switchboard.spi.security.Permission.consumerTarget(
            stream, io.switchboard.spi.security.Permission.READ_TOKEN));
    long[] next =
        StreamFollower.startPosition(
            service.broker(),
            stream,
            text(n, "position", false),
            n.path("start").isNumber() ? n.get("start").asText() : text(n, "start", false),
            "\"position\"");
    String from = StreamFollower.position(next);
    StreamFollower follower =
        StreamFollower.open(
            service.broker(),
            stream,
            text(n, "subject", false),
            next,
            ctx.executor(),
            ctx.channel()::isWritable,
            (position, d) -> {
              ObjectNode m = AdminJson.JSON.createObjectNode();
              m.put("op", "message");
              m.put("sub", sub);
              m.put("position", position);
              m.set("message", MessageJson.delivery(d, service.tracing(), null));
              send(m, null);
              service
                  .metrics()
                  .delivered(HttpMetrics.Transport.WEBSOCKET, d.message().payload().length);
            },
            access);
    session.add(sub, follower::close);
    return fields().put("sub", sub).put("position", from);
  }

  private void deliver(
      String sub, String consumer, io.switchboard.spi.security.ConsumerGrant grant, Delivery d) {
    RuntimeException revoked = grant.revoked();
    if (revoked != null) {
      // The rules changed since consume: the feed ends (what its member holds goes back) and the
      // client is told once: {"op": "error", "sub", "error"}. Later deliveries find no feed.
      if (session.remove(sub) != null) {
        ObjectNode m = AdminJson.JSON.createObjectNode();
        m.put("op", "error");
        m.put("sub", sub);
        m.set("error", HttpErrors.problem(HttpErrors.unwrap(revoked), null));
        send(m, null);
      }
      return;
    }
    ObjectNode m = AdminJson.JSON.createObjectNode();
    m.put("op", "message");
    m.put("sub", sub);
    m.set("message", MessageJson.delivery(d, service.tracing(), consumer));
    send(m, null);
    service.metrics().delivered(HttpMetrics.Transport.WEBSOCKET, d.message().payload().length);
  }

  /** {@code {"op": "unsubscribe", "id", "sub"}}. Codes: SUBSCRIPTION_NOT_FOUND. */
  private ObjectNode unsubscribe(ObjectNode n) {
    fields(n, UNSUBSCRIBE);
    String sub = text(n, "sub", true);
    if (session.remove(sub) == null) {
      throw SwitchboardException.of(ErrorCode.SUBSCRIPTION_NOT_FOUND, sub);
    }
    return fields();
  }

  /**
   * {@code {"op": "ack" | "nack" | "in_progress", "id", "delivery", "sub" | "stream" + "consumer",
   * "delayMs"?, "error"?}}: settles a delivery of a consumer feed of this connection (or of any
   * consumer, named); answers {@code "result"}: false when that delivery was no longer the live
   * one. Codes: SUBSCRIPTION_NOT_FOUND, STREAM_NOT_FOUND, CONSUMER_NOT_FOUND, INVALID_ARGUMENT
   * (also for a partition the stream does not have).
   */
  private CompletableFuture<ObjectNode> settle(String op, ObjectNode n) {
    fields(n, SETTLE);
    String sub = text(n, "sub", false);
    String stream;
    String consumer;
    if (sub != null) {
      if (!(session.get(sub) instanceof ConsumerFeed(PushFeed feed))) {
        throw SwitchboardException.of(ErrorCode.SUBSCRIPTION_NOT_FOUND, sub);
      }
      stream = feed.stream();
      consumer = feed.consumer();
    } else {
      stream = text(n, "stream", true);
      consumer = text(n, "consumer", true);
    }
    access.check(
        io.switchboard.spi.security.Permission.CONSUME,
        io.switchboard.spi.security.Permission.consumerTarget(stream, consumer));
    MessageJson.DeliveryId id = MessageJson.parseDeliveryId(text(n, "delivery", true));
    AdminRoutes.checkPartition(
        id, AdminRoutes.partitionCount(service.broker(), stream), stream, "");
    long delayMs = whole(n, "delayMs", -1, -1, Long.MAX_VALUE);
    // The consumer's runner completes the settle: the answer is built back on this loop.
    return session
        .onLoop(
            AdminRoutes.settle(
                service.broker(),
                service.pushes(),
                stream,
                consumer,
                op,
                id,
                delayMs,
                text(n, "error", false)))
        .thenApply(result -> fields().put("result", result));
  }

  /**
   * {@code {"op": "publish", "id", "subject", "json" | "text" | "base64", "key"?, "headers"?,
   * "replyTo"?, "messageId"?}}: answers {@code "ack"} as a REST publish does. Codes: those of a
   * publish.
   */
  private CompletableFuture<ObjectNode> publish(ObjectNode n) {
    MessageJson.Envelope e = MessageJson.envelope(n, "the publish", PUBLISH);
    HttpAccess.checkPublish(access, e.subject());
    // Past the principal's publish quota the publish is taken and reading pauses (issue 18).
    session.pauseReadingFor(access.quota().publish(1, e.payload().length));
    // Completes on this loop, so the answer's JSON is built here, not on the partition's runner.
    return service
        .broker()
        .publish(message(e), new PublishOptions(null, e.messageId()), ctx.executor())
        .thenApply(
            ack -> {
              service.metrics().published(e.payload().length);
              return fields().set("ack", MessagingRoutes.ackJson(ack));
            });
  }

  /**
   * {@code {"op": "request", "id", "subject", payload as for publish, "timeoutMs"?}}: answers
   * {@code "reply"}, the first reply as a message. Codes: NO_RESPONDERS, REQUEST_TIMEOUT,
   * TOO_MANY_PENDING_REQUESTS, INVALID_SUBJECT.
   */
  private CompletableFuture<ObjectNode> request(ObjectNode n) {
    MessageJson.Envelope e = MessageJson.envelope(n, "the request", REQUEST);
    access.check(io.switchboard.spi.security.Permission.REQUEST, e.subject());
    session.pauseReadingFor(access.quota().request());
    long wait = whole(n, "timeoutMs", timeoutMs, 1, MessagingRoutes.MAX_REQUEST_TIMEOUT_MS);
    // The responder's thread completes the request: the answer is built back on this loop.
    return session
        .onLoop(service.broker().live().request(message(e), Duration.ofMillis(wait)))
        .thenApply(reply -> fields().set("reply", MessageJson.live(reply)));
  }

  private Message message(MessageJson.Envelope e) {
    return new Message(
        e.subject(), e.key(), e.headers(), e.payload(), service.clock().nowMs(), e.replyTo());
  }

  // ------------------------------------------------------------------ subscriptions

  /** A consumer's push feed among the subscriptions, for acks naming their subscription. */
  private record ConsumerFeed(PushFeed feed) implements ConnectionSession.Feed {
    @Override
    public void close() {
      feed.close();
    }
  }

  /**
   * The subscription id a subscribe or consume names, or a new one. Codes: TOO_MANY_SUBSCRIPTIONS,
   * SUBSCRIPTION_EXISTS, INVALID_ARGUMENT.
   */
  private String newSub(ObjectNode n) {
    String sub = text(n, "sub", false);
    if (sub == null) {
      do {
        sub = Long.toString(++nextSub);
      } while (session.contains(sub));
    } else if (sub.isEmpty() || sub.length() > MAX_SUB_ID) {
      throw invalid("\"sub\" must have 1 to " + MAX_SUB_ID + " characters");
    }
    session.admit(sub);
    return sub;
  }

  /** Closes every subscription (the connection is ending). */
  private void stop() {
    session.closeAll();
  }

  // ------------------------------------------------------------------ answers and writing

  /** Counts an operation in progress; past the bound the connection stops reading. */
  private <T> void track(CompletableFuture<T> work, Consumer<T> then) {
    session
        .track(work)
        .whenComplete(
            (r, e) -> {
              if (e != null) {
                answerError(null, e);
              } else {
                then.accept(r);
              }
            });
  }

  private ObjectNode ok(JsonNode id, ObjectNode fields) {
    ObjectNode r = AdminJson.JSON.createObjectNode();
    r.put("op", "ok");
    r.set("id", id);
    r.setAll(fields);
    return r;
  }

  private ObjectNode error(JsonNode id, Throwable t) {
    SwitchboardException e = HttpErrors.unwrap(t);
    service.failedRequests().increment();
    if (e.code() == ErrorCode.INTERNAL) {
      LOG.warn("SB-HTTP-5002 WebSocket operation failed unexpectedly", t);
    }
    ObjectNode r = AdminJson.JSON.createObjectNode();
    r.put("op", "error");
    r.set("id", id);
    r.set("error", HttpErrors.problem(e, null));
    return r;
  }

  private void answerError(JsonNode id, Throwable t) {
    send(error(id, t), null);
  }

  /**
   * Writes one JSON message as a text frame; past the pending-bytes bound the session cuts the
   * connection off instead. Exactly one of the arguments is used: {@code object}, else {@code
   * value} (may be null: nothing to send).
   */
  private void send(ObjectNode object, JsonNode value) {
    send(object, value, true);
  }

  /** As {@link #send(ObjectNode, JsonNode)}; without {@code flush} it waits for the next flush. */
  private void send(ObjectNode object, JsonNode value, boolean flush) {
    JsonNode out = object != null ? object : value;
    if (out == null || ended || session.closing()) {
      return;
    }
    byte[] bytes = json(out);
    // Ownership of the buffer passes to the frame, and of the frame to the session's write.
    ByteBuf buf = ctx.alloc().buffer(bytes.length);
    buf.writeBytes(bytes);
    session.write(new TextWebSocketFrame(buf), flush);
  }

  private static byte[] json(JsonNode out) {
    try {
      return AdminJson.JSON.writeValueAsBytes(out);
    } catch (IOException e) {
      throw new IllegalStateException("a JSON tree always writes", e);
    }
  }

  /**
   * Ends the connection with a close frame (queued behind what the peer has not read; the
   * connection is closed within {@link #LINGER_MS} even if the peer never gets that far).
   */
  private void closeWith(int status, String reason) {
    if (session.closing()) {
      return;
    }
    ended = true;
    byte[] r = reason.getBytes(StandardCharsets.UTF_8);
    String cut =
        r.length <= MAX_REASON_BYTES
            ? reason
            : new String(r, 0, MAX_REASON_BYTES, StandardCharsets.UTF_8).replace("\uFFFD", "");
    session.closeWith(new CloseWebSocketFrame(status, cut));
  }

  // ------------------------------------------------------------------ JSON helpers

  private static ObjectNode fields() {
    return AdminJson.JSON.createObjectNode();
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  private static SwitchboardException invalid(String why) {
    return SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, why);
  }

  private static void fields(ObjectNode n, Set<String> allowed) {
    for (String f : (Iterable<String>) n::fieldNames) {
      if (!allowed.contains(f)) {
        throw invalid("op " + n.path("op").asText() + ": unknown field \"" + f + "\"");
      }
    }
  }

  private static String text(ObjectNode n, String name, boolean required) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      if (required) {
        throw invalid("op " + n.path("op").asText() + " needs a string field \"" + name + "\"");
      }
      return null;
    }
    if (!v.isTextual()) {
      throw invalid("field \"" + name + "\" must be a string");
    }
    return v.asText();
  }

  private static long whole(ObjectNode n, String name, long fallback, long min, long max) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < min || v.asLong() > max) {
      throw invalid("\"" + name + "\" must be a whole number in [" + min + ", " + max + "]");
    }
    return v.asLong();
  }

  private static Set<String> with(Set<String> base, String... more) {
    Set<String> out = new HashSet<>(base);
    out.addAll(Set.of(more));
    return Set.copyOf(out);
  }
}

package io.switchboard.mqtt;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodes;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.util.concurrent.ScheduledFuture;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.ScramExchange;
import io.switchboard.spi.security.Security;
import io.switchboard.spi.session.ConnectionSession;
import io.switchboard.spi.session.SessionFraming;
import io.switchboard.spi.session.SessionLimits;
import io.switchboard.spi.session.SessionPush;
import io.switchboard.spi.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT connection (3.1.1 or 5.0): turns packets into broker calls and live messages into
 * PUBLISH packets (docs/mqtt.md). Every field is confined to the connection's event loop; broker
 * callbacks hop back onto it.
 *
 * <p>Retained messages live in the compacted stream {@link MqttFrontEnd#RETAINED_STREAM}.
 *
 * <p>A clean session's subscriptions and in-flight QoS 1/2 state live as long as the connection. A
 * persistent session's QoS 1/2 subscriptions are delivered through {@link MqttSessions}: a
 * forwarder into the session's inbox stream and a durable consumer pushing it to this connection.
 */
final class MqttConnection extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(MqttConnection.class);

  /** Header carrying the QoS an MQTT publisher used, so delivery takes the lower of the two. */
  static final String QOS_HEADER = "sb-mqtt-qos";

  /** Header naming the MQTT client that published a message (for no-local). */
  static final String ORIGIN_HEADER = "sb-mqtt-origin";

  /** Header carrying the v5 subscription identifier a session inbox copy is delivered with. */
  static final String SUBSCRIPTION_ID_HEADER = "sb-mqtt-sub-id";

  /** Header marking a message published with the retain flag (for retain-as-published). */
  static final String RETAIN_HEADER = "sb-mqtt-retain";

  /** Retained messages sent to one new subscription at most. */
  static final int MAX_RETAINED_PER_SUBSCRIBE = 10_000;

  /** Header carrying a v5 content type. */
  static final String CONTENT_TYPE_HEADER = "content-type";

  /** Header carrying a v5 payload format indicator (1: UTF-8 text). */
  static final String PAYLOAD_FORMAT_HEADER = "sb-mqtt-payload-format";

  /** Topic aliases a v5 client may define towards the server. */
  static final int TOPIC_ALIAS_MAXIMUM = 64;

  private final Broker broker;
  private final MqttSettings settings;
  private final ProtocolMeters meters;
  private final ProtocolMeters.Delivery delivery;
  private final MqttSessions sessions;

  /** Reads the time for message expiry; the broker's consumers expire by the same wall clock. */
  private final Clock clock = Clock.SYSTEM;

  /**
   * Whether this connection has a stored session in {@link MqttSessions}: one whose expiry interval
   * is above 0, or one it resumed (with Clean Start 0) whatever its own interval — that session
   * then lasts until this connection ends [MQTT-3.1.2-23].
   */
  private boolean persistent;

  /** The Session Expiry Interval in force: the CONNECT's, or the DISCONNECT's if it gave one. */
  private long sessionExpiryMs;

  /** The CONNECT's Session Expiry Interval: a DISCONNECT may not raise a 0 [MQTT-3.14.2-2]. */
  private long connectExpiryMs;

  /**
   * Push delivery of this session's inbox (persistent sessions only), the session's one push feed
   * (under {@link #INBOX_FEED}): deliveries that reach the loop after it closed, or once the
   * connection is ending, go back to the consumer at once.
   */
  private SessionPush inbox;

  /**
   * Inbox deliveries in flight by packet id, acknowledged to the consumer on PUBACK (QoS 1) or
   * PUBREC (QoS 2: the client has the message; only its PUBREL–PUBCOMP exchange is left).
   */
  private final Map<Integer, io.switchboard.broker.consumer.Delivery> inboxInflight =
      new HashMap<>();

  /**
   * The packet id each in-flight inbox message went out with, by where it is stored: the consumer's
   * ack timeout hands a message back while it is still in flight here, and it must not go out a
   * second time on the same connection [MQTT-4.4.0-1].
   */
  private final Map<MqttSessions.InboxPosition, Integer> inboxPacketIds = new HashMap<>();

  /**
   * Inbox messages a previous connection of the session had sent and not had acknowledged: these,
   * and only these, go out again with DUP set [MQTT-3.3.1-1] (a message can come back from the
   * consumer without ever having been sent: fetched by a leaving connection, or handed back by the
   * ack timeout). Null when not known (sessions reloaded after a restart): then every delivery the
   * consumer counts as a redelivery gets DUP.
   */
  private java.util.Set<MqttSessions.InboxPosition> sentBefore;

  /**
   * Completes once this connection has let go of its session's inbox (its push subscription is
   * closed and what it held is handed back), so the next connection of the session starts after it,
   * and redeliveries come first and in order. Null without a stored session.
   */
  private java.util.concurrent.CompletableFuture<Void> inboxReleased;

  private ChannelHandlerContext ctx;

  /**
   * The shared per-connection session, for the parts of it MQTT uses: the hop to the loop, reading
   * held during session steps, the slow-reader measure with drop counting, the inbox's push feed,
   * and the close with a linger. (Subscriptions stay in {@link #subscriptions}: a filter's quota
   * refusal is a reason code, not an error, and deliveries look across every filter.)
   */
  private ConnectionSession<String> session;

  private ScheduledFuture<?> connectTimer;
  private boolean connected;

  // Security (issue 18): CONNECT's credential is checked before the CONNECT is handled; packets
  // a client sends right behind its CONNECT wait (a few) until then.
  private final Security security;
  private final Tracing tracing;

  /** The protocol named on this front end's spans. */
  private static final String PROTOCOL = "mqtt";

  private Access access;
  private boolean authenticating;
  private final java.util.ArrayDeque<Object> heldDuringAuth = new java.util.ArrayDeque<>();

  /**
   * MQTT 5 enhanced authentication (§4.12): the method CONNECT named (kept for re-authentication,
   * which must use the same one [MQTT-4.12.1-1]), the SCRAM exchange in progress (CONNECT's or a
   * re-authentication's), the CONNECT waiting for it, and the server-final message for CONNACK.
   */
  private String authMethod;

  private ScramExchange authExchange;
  private MqttConnectMessage authConnect;
  private byte[] authServerFinal;

  /**
   * Packets held behind a CONNECT whose credential is being checked; more closes the connection.
   */
  static final int MAX_HELD_DURING_AUTH = 32;

  private boolean v5;
  private String clientId;
  private Message will;
  private long willDelayMs;
  private boolean normalDisconnect;
  private long keepAliveMs;
  private long lastReadNs;
  private ScheduledFuture<?> keepAliveTimer;

  /** Subscriptions by topic filter; a filter may stand for two subject patterns. */
  private final Map<String, Subscribed> subscriptions = new LinkedHashMap<>();

  /** Client-to-server topic aliases (v5). */
  private final Map<Integer, String> aliases = new HashMap<>();

  /** Inbound QoS 2 packet ids published and waiting for PUBREL. */
  private final Set<Integer> awaitingRelease = new HashSet<>();

  /** Inbound QoS 1/2 publishes not yet answered. */
  private int inboundInflight;

  /** Outbound QoS 1/2 messages by packet id: 1 waits for PUBACK, 2 for PUBREC, 3 for PUBCOMP. */
  private final Map<Integer, Integer> outboundInflight = new HashMap<>();

  private int clientReceiveMaximum = 65_535;
  private long clientMaxPacketBytes = Long.MAX_VALUE;

  /** Topic aliases this connection sends (none unless a v5 client allows them). */
  private MqttTopicAliases outboundAliases = new MqttTopicAliases(0);

  private int nextPacketId = 1;

  /**
   * One subscribed filter: its options, and its live subscriptions (none for a QoS 1/2 filter of a
   * stored session, which its inbox serves; filled in as they are made).
   */
  private record Subscribed(
      MqttSessions.Sub sub, boolean retainAsPublished, List<LiveSubscription> subs) {}

  /**
   * @param meters the MQTT front end's counters (connections, messages, bad input)
   * @param transport the delivery counters' transport tag: {@code tcp} or {@code websocket}
   */
  MqttConnection(
      Broker broker,
      MqttSettings settings,
      ProtocolMeters meters,
      String transport,
      MqttSessions sessions,
      Security security) {
    this(broker, settings, meters, transport, sessions, security, Tracing.OFF);
  }

  /**
   * @param tracing spans of publishes and deliveries ({@link Tracing#OFF}: none)
   */
  MqttConnection(
      Broker broker,
      MqttSettings settings,
      ProtocolMeters meters,
      String transport,
      MqttSessions sessions,
      Security security,
      Tracing tracing) {
    this.tracing = tracing;
    this.broker = broker;
    this.security = security;
    this.settings = settings;
    this.meters = meters;
    this.delivery = meters.delivery(transport);
    this.sessions = sessions;
  }

  /** A connection without security (tests of the codec path). */
  MqttConnection(
      Broker broker,
      MqttSettings settings,
      ProtocolMeters meters,
      String transport,
      MqttSessions sessions) {
    this(broker, settings, meters, transport, sessions, Security.OPEN);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start(ctx);
    ctx.fireChannelActive();
  }

  /** Mounted on a WebSocket that is already open (MQTT over WebSocket): start at once. */
  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      start(ctx);
    }
  }

  private void start(ChannelHandlerContext ctx) {
    if (this.ctx != null) {
      return;
    }
    this.ctx = ctx;
    // Live QoS 0 messages past the pending-bytes bound are dropped and counted (MQTT has no notice
    // for it); a slow reader is never cut off: QoS 1/2 deliveries wait for the socket instead.
    session =
        new ConnectionSession<>(
            ctx,
            new SessionLimits(
                1, // the inbox's push feed; filters are bounded in subscriptions
                MAX_HELD_PACKETS,
                MAX_HELD_PACKETS,
                settings.maxPendingBytes(),
                Long.MAX_VALUE,
                DISCONNECT_LINGER_MS),
            framing());
    meters.opened();
    connectTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (!connected) {
                    ctx.close(); // [MQTT-3.1.4] no CONNECT in time: close, no packet to send
                  }
                },
                settings.connectTimeoutMs(),
                TimeUnit.MILLISECONDS);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      sendWaiting(); // the socket drained: QoS 1/2 deliveries held back for it go out
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    inactive(ctx);
  }

  private void inactive(ChannelHandlerContext ctx) {
    meters.closed();
    releaseHeld();
    releaseHeldDuringAuth();
    if (connectTimer != null) {
      connectTimer.cancel(false);
    }
    if (keepAliveTimer != null) {
      keepAliveTimer.cancel(false);
    }
    for (Subscribed s : subscriptions.values()) {
      s.subs().forEach(LiveSubscription::close);
    }
    subscriptions.clear();
    if (access != null) {
      access.closeConnection(); // and its subscriptions' places in the quota
    }
    if (connected && sessions != null && sessions.available()) {
      sessions.disconnected(clientId, persistent ? sessionExpiryMs : 0, this, releasing());
    }
    releaseInbox();
    if (connected && sessions != null) {
      sessions.unregister(clientId, this);
    }
    if (connected && !normalDisconnect && will != null) {
      // [MQTT-3.1.2-8] the will is published when the network connection ends without DISCONNECT;
      // v5: after its delay interval, unless the client is back first [MQTT-3.1.3-9].
      Message w = will;
      Runnable publish = () -> publishToBroker(w, w.header(RETAIN_HEADER) != null);
      // [MQTT-3.1.3-9] when the delay ends or the session does, whichever is first.
      long delayMs = Math.min(willDelayMs, persistent ? sessionExpiryMs : 0);
      if (delayMs > 0 && sessions != null) {
        sessions.delayWill(clientId, delayMs, publish);
      } else {
        publish.run();
      }
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("mqtt connection {} failed", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (sessionStep) {
      hold(msg);
      return;
    }
    read(ctx, msg);
  }

  // ------------------------------------------------------------------ session steps off the loop

  /**
   * Packets at most held while a session step runs. Auto-read is off by then, and Netty's read loop
   * stops with it, so only the rest of the read that brought the step's packet can arrive: at most
   * 64 KiB (the default receive buffer's largest) of packets of 2 bytes or more. More than that is
   * not a client pipelining, and is closed.
   */
  static final int MAX_HELD_PACKETS = 32_768;

  /**
   * Whether a step of the stored session (CONNECT, SUBSCRIBE, UNSUBSCRIBE) is running on the
   * broker's executor ({@link MqttSessions}): until it answers, reading stops and packets already
   * read wait in {@link #held}, so nothing after it is handled before it, and nothing is lost.
   */
  private boolean sessionStep;

  private final java.util.ArrayDeque<Object> held = new java.util.ArrayDeque<>();

  /** A session step starts: stop reading until {@link #sessionStepDone}. */
  private void sessionStepStarted() {
    sessionStep = true;
    session.holdReading();
  }

  /** The session step answered (on the loop): handle what waited, in order, then read on. */
  private void sessionStepDone() {
    sessionStep = false;
    // Nothing is read before this task ends: a step started by a held packet holds reading again.
    session.resumeReading();
    while (!sessionStep && !held.isEmpty() && ctx.channel().isActive()) {
      read(ctx, held.poll());
    }
  }

  private void hold(Object msg) {
    lastReadNs = System.nanoTime(); // the client is alive, whatever the step takes
    if (held.size() >= MAX_HELD_PACKETS) {
      io.netty.util.ReferenceCountUtil.release(msg);
      meters.badInput("too_many_packets_while_busy");
      releaseHeld();
      ctx.close();
      return;
    }
    held.add(msg);
  }

  private void releaseHeld() {
    Object m;
    while ((m = held.poll()) != null) {
      io.netty.util.ReferenceCountUtil.release(m);
    }
  }

  private void read(ChannelHandlerContext ctx, Object msg) {
    MqttMessage m = (MqttMessage) msg;
    try {
      lastReadNs = System.nanoTime();
      if (session.closing()) {
        return;
      }
      if (m.decoderResult().isFailure()) {
        decodeFailure(m.decoderResult().cause());
        return;
      }
      MqttMessageType type = m.fixedHeader().messageType();
      if (!connected && authConnect != null && type != MqttMessageType.AUTH) {
        // [MQTT-3.1.2-30] only AUTH or DISCONNECT until CONNACK when enhanced auth is used
        if (type == MqttMessageType.DISCONNECT) {
          ctx.close();
          return;
        }
        meters.badInput("packet_during_enhanced_auth");
        protocolErrorOrRefuse("only AUTH until CONNACK");
        return;
      }
      if (type == MqttMessageType.CONNECT && access == null && !authenticating) {
        authenticate((MqttConnectMessage) m);
        return;
      }
      if (type == MqttMessageType.CONNECT) {
        connect((MqttConnectMessage) m);
        return;
      }
      if (type == MqttMessageType.AUTH && v5Connect()) {
        auth(m);
        return;
      }
      if (!connected && authenticating && heldDuringAuth.size() < MAX_HELD_DURING_AUTH) {
        heldDuringAuth.add(io.netty.util.ReferenceCountUtil.retain(msg));
        return;
      }
      if (!connected) {
        meters.badInput("packet_before_connect");
        ctx.close(); // [MQTT-3.1.0-1] the first packet must be CONNECT
        return;
      }
      switch (type) {
        case PUBLISH -> publish((MqttPublishMessage) m);
        case PUBACK -> outboundAck(m, 1);
        case PUBREC -> pubrec(m);
        case PUBCOMP -> outboundAck(m, 3);
        case PUBREL -> pubrel(m);
        case SUBSCRIBE -> subscribe((MqttSubscribeMessage) m);
        case UNSUBSCRIBE -> unsubscribe((MqttUnsubscribeMessage) m);
        case PINGREQ -> ctx.writeAndFlush(MqttMessage.PINGRESP);
        case DISCONNECT -> disconnectReceived(m);
        default -> protocolError("unexpected " + type);
      }
    } catch (SwitchboardException e) {
      protocolError(e.detail());
    } finally {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  // ------------------------------------------------------------------ connect

  /**
   * Checks CONNECT's credential, then handles the CONNECT (and the packets held behind it) on the
   * loop. User name and password are checked against the user's SCRAM keys; a password that is a
   * JWT (three dot-separated base64url parts, {@code eyJ...}) is a bearer token whatever the user
   * name; without either, the client certificate of a mutual-TLS connection, else anonymous.
   * Refusals: v5 CONNACK 0x86 (bad user name or password) or 0x87 (not authorized: no credential,
   * or the will's topic is forbidden); 3.1.1 0x04 or 0x05.
   */
  private void authenticate(MqttConnectMessage c) {
    authenticating = true;
    boolean version5 = c.variableHeader().version() == 5;
    if (version5
        && c.variableHeader().properties().getProperty(MqttProperties.AUTHENTICATION_METHOD)
            != null) {
      enhancedAuthentication(c);
      return;
    }
    String user = c.variableHeader().hasUserName() ? c.payload().userName() : null;
    byte[] pw = c.variableHeader().hasPassword() ? c.payload().passwordInBytes() : null;
    java.net.InetAddress source =
        ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
            ? a.getAddress()
            : null;
    java.util.concurrent.CompletableFuture<Principal> who;
    String password = pw == null ? null : new String(pw, StandardCharsets.UTF_8);
    if (password != null
        && password.startsWith("eyJ")
        && password.chars().filter(ch -> ch == '.').count() == 2) {
      who = security.authenticator().bearer(password, source);
    } else if (user != null && password != null) {
      who = security.authenticator().password(user, password, source);
    } else if (user != null || password != null) {
      who =
          java.util.concurrent.CompletableFuture.failedFuture(
              SwitchboardException.of(
                  ErrorCode.AUTHENTICATION_FAILED, "user name and password go together"));
    } else {
      var cert = io.switchboard.spi.Listeners.peerCertificate(ctx.channel());
      if (cert.isPresent()) {
        who =
            java.util.concurrent.CompletableFuture.completedFuture(
                security.authenticator().certificate(cert.get()));
      } else if (security.authRequired()) {
        who =
            java.util.concurrent.CompletableFuture.failedFuture(
                SwitchboardException.of(
                    ErrorCode.AUTHENTICATION_REQUIRED, "CONNECT without credentials"));
      } else {
        who = java.util.concurrent.CompletableFuture.completedFuture(Principal.ANONYMOUS);
      }
    }
    java.util.function.BiConsumer<Principal, Throwable> then =
        (principal, e) -> credentialChecked(c, version5, principal, e);
    if (who.isDone()) {
      // Anonymous or a certificate: decided already, handled in this read like before.
      Principal p = who.isCompletedExceptionally() ? null : who.join();
      Throwable failure = null;
      if (p == null) {
        try {
          who.join();
        } catch (java.util.concurrent.CompletionException ex) {
          failure = ex.getCause();
        }
      }
      then.accept(p, failure);
    } else {
      session.onLoop(who).whenComplete(then);
    }
  }

  /**
   * The CONNECT's credential was checked (on the loop): refused with a CONNACK, or the CONNECT and
   * the packets held behind it handled.
   */
  private void credentialChecked(
      MqttConnectMessage c, boolean version5, Principal principal, Throwable e) {
    authenticating = false;
    if (session.closing()) {
      releaseHeldDuringAuth();
      return;
    }
    if (e != null) {
      releaseHeldDuringAuth();
      meters.badInput("authentication_failed");
      refuse(
          codeOf(e) == ErrorCode.AUTHENTICATION_FAILED
              ? (version5
                  ? MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USERNAME_OR_PASSWORD
                  : MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD)
              : notAuthorized(version5));
      return;
    }
    Access a = security.access(principal);
    try {
      a.openConnection(); // the principal's connection quota
    } catch (SwitchboardException over) {
      releaseHeldDuringAuth();
      refuse(
          version5
              ? MqttConnectReturnCode.CONNECTION_REFUSED_QUOTA_EXCEEDED
              : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
      return;
    }
    access = a;
    if (c.variableHeader().isWillFlag() && !willAllowed(c.payload().willTopic())) {
      releaseHeldDuringAuth();
      refuse(notAuthorized(version5));
      return;
    }
    channelRead(ctx, c);
    while (!heldDuringAuth.isEmpty()) {
      channelRead(ctx, heldDuringAuth.poll());
    }
  }

  // ------------------------------------------------------------------ enhanced authentication

  /** Whether this connection speaks MQTT 5 (known from CONNECT, also before CONNACK). */
  private boolean v5Connect() {
    return v5 || (authConnect != null);
  }

  /**
   * MQTT 5 enhanced authentication (§4.12) with SCRAM-SHA-256/512: CONNECT carries the method and
   * client-first; the server answers AUTH 0x18 with server-first; the client's AUTH 0x18 carries
   * client-final; CONNACK 0x00 carries server-final. A method not offered gets CONNACK 0x8C; a
   * failed exchange (wrong proof, unknown user: the same answer, after the failed-login delay)
   * CONNACK 0x87. Reading waits while a step is checked, so a client has one packet in the server's
   * hands at a time before it is authenticated.
   */
  private void enhancedAuthentication(MqttConnectMessage c) {
    MqttProperties props = c.variableHeader().properties();
    String method = stringProperty(props, MqttProperties.AUTHENTICATION_METHOD);
    byte[] data = binaryProperty(props, MqttProperties.AUTHENTICATION_DATA);
    ScramExchange exchange;
    try {
      exchange = security.authenticator().scram(method, source());
    } catch (SwitchboardException e) {
      authenticating = false;
      meters.badInput("bad_authentication_method");
      refuse(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_AUTHENTICATION_METHOD);
      return;
    }
    authMethod = method;
    authExchange = exchange;
    authConnect = c;
    authStep(data == null ? new byte[0] : data);
  }

  /** An AUTH packet: the next step of CONNECT's exchange, or a re-authentication (§4.12.1). */
  private void auth(MqttMessage m) {
    var header =
        (io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader) m.variableHeader();
    byte reason = header == null ? 0 : header.reasonCode();
    MqttProperties props = header == null ? MqttProperties.NO_PROPERTIES : header.properties();
    String method = stringProperty(props, MqttProperties.AUTHENTICATION_METHOD);
    byte[] data = binaryProperty(props, MqttProperties.AUTHENTICATION_DATA);
    if (authMethod == null || !authMethod.equals(method)) {
      // [MQTT-4.12.0-5] / [MQTT-4.12.1-1]: AUTH only within the method CONNECT chose
      protocolErrorOrRefuse("AUTH without the connection's authentication method");
      return;
    }
    if (reason == REAUTHENTICATE && connected && authExchange == null) {
      try {
        authExchange = security.authenticator().scram(method, source());
      } catch (SwitchboardException e) {
        protocolErrorOrRefuse("authentication method not offered");
        return;
      }
      authStep(data == null ? new byte[0] : data);
      return;
    }
    if (reason != CONTINUE_AUTHENTICATION || authExchange == null) {
      protocolErrorOrRefuse("unexpected AUTH reason 0x" + Integer.toHexString(reason & 0xFF));
      return;
    }
    authStep(data == null ? new byte[0] : data);
  }

  /** Hands one client message to the exchange; answers when it has (on the loop). */
  private void authStep(byte[] clientMessage) {
    ScramExchange exchange = authExchange;
    session.holdReading();
    session
        .onLoop(exchange.next(clientMessage))
        .whenComplete(
            (step, e) -> {
              session.resumeReading();
              if (session.closing()) {
                return;
              }
              if (e != null) {
                authFailed();
              } else if (!step.complete()) {
                ctx.writeAndFlush(authPacket(CONTINUE_AUTHENTICATION, step.serverMessage()));
              } else {
                authSucceeded(step.principal(), step.serverMessage());
              }
            });
  }

  private void authFailed() {
    authExchange = null;
    meters.badInput("authentication_failed");
    if (connected) {
      disconnect(MqttReasonCodes.Disconnect.NOT_AUTHORIZED, "re-authentication failed");
      return;
    }
    authConnect = null;
    authenticating = false;
    refuse(MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED_5);
  }

  private void authSucceeded(Principal principal, byte[] serverFinal) {
    authExchange = null;
    if (connected) {
      // A re-authentication proves the same principal again; another one is not a switch.
      if (!principal.equals(access.principal())) {
        disconnect(MqttReasonCodes.Disconnect.NOT_AUTHORIZED, "re-authenticated as another user");
        return;
      }
      ctx.writeAndFlush(authPacket(SUCCESS, serverFinal));
      return;
    }
    MqttConnectMessage c = authConnect;
    authConnect = null;
    authServerFinal = serverFinal; // CONNACK carries it (accepted())
    credentialChecked(c, true, principal, null);
  }

  private MqttMessage authPacket(byte reason, byte[] data) {
    MqttProperties props = new MqttProperties();
    props.add(new MqttProperties.StringProperty(MqttProperties.AUTHENTICATION_METHOD, authMethod));
    props.add(new MqttProperties.BinaryProperty(MqttProperties.AUTHENTICATION_DATA, data));
    return MqttMessageBuilders.auth().reasonCode(reason).properties(props).build();
  }

  /** Before CONNACK a CONNACK 0x82 refusal; after it a DISCONNECT 0x82. */
  private void protocolErrorOrRefuse(String why) {
    if (connected) {
      protocolError(why);
    } else {
      meters.badInput("protocol_error");
      authConnect = null;
      authExchange = null;
      refuse(MqttConnectReturnCode.CONNECTION_REFUSED_PROTOCOL_ERROR);
    }
  }

  private java.net.InetAddress source() {
    return ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
        ? a.getAddress()
        : null;
  }

  private static String stringProperty(MqttProperties props, int id) {
    MqttProperties.MqttProperty<?> p = props.getProperty(id);
    return p == null ? null : (String) p.value();
  }

  private static byte[] binaryProperty(MqttProperties props, int id) {
    MqttProperties.MqttProperty<?> p = props.getProperty(id);
    return p == null ? null : (byte[]) p.value();
  }

  /** AUTH reason codes (MQTT 5 §3.15.2.1). */
  private static final byte SUCCESS = 0x00;

  private static final byte CONTINUE_AUTHENTICATION = 0x18;
  private static final byte REAUTHENTICATE = 0x19;

  private static MqttConnectReturnCode notAuthorized(boolean version5) {
    return version5
        ? MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED_5
        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED;
  }

  private boolean willAllowed(String willTopic) {
    try {
      return access.allows(Permission.PUBLISH, MqttTopics.toSubject(willTopic));
    } catch (RuntimeException e) {
      return true; // an invalid will topic is refused by connect() with its own reason
    }
  }

  private void releaseHeldDuringAuth() {
    while (!heldDuringAuth.isEmpty()) {
      io.netty.util.ReferenceCountUtil.release(heldDuringAuth.poll());
    }
  }

  private void decodeFailure(Throwable cause) {
    if (!connected && cause instanceof MqttUnacceptableProtocolVersionException) {
      meters.badInput("unsupported_protocol_version");
      refuse(MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION);
    } else if (!connected && cause instanceof MqttIdentifierRejectedException) {
      meters.badInput("client_identifier_not_valid");
      refuse(
          v5
              ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
              : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
    } else if (cause instanceof TooLongFrameException) {
      disconnect(MqttReasonCodes.Disconnect.PACKET_TOO_LARGE, cause.getMessage());
    } else {
      disconnect(MqttReasonCodes.Disconnect.MALFORMED_PACKET, String.valueOf(cause.getMessage()));
    }
  }

  private void refuse(MqttConnectReturnCode code) {
    session.closeWith(MqttMessageBuilders.connAck().returnCode(code).build());
  }

  private void connect(MqttConnectMessage c) {
    if (connected) {
      protocolError("a second CONNECT"); // [MQTT-3.1.0-2]
      return;
    }
    connectTimer.cancel(false);
    v5 = c.variableHeader().version() == 5;
    if (meters.connections() > settings.maxConnections()) {
      refuse(
          v5
              ? MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_BUSY
              : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
      return;
    }
    String id = c.payload().clientIdentifier();
    boolean assigned = false;
    if (id == null || id.isEmpty()) {
      if (!v5 && !c.variableHeader().isCleanSession()) {
        refuse(MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED); // [MQTT-3.1.3-8]
        return;
      }
      id = "sb-" + UUID.randomUUID();
      assigned = true;
    }
    clientId = id;
    // Authentication goes here: once the client id is known, before the connection takes over
    // another one of the same id and before its session is touched. A check that needs the disk or
    // a remote service runs off the loop as the session step below does (sessionStepStarted, then
    // sessionStepDone back on the loop), and a refusal is a CONNACK: 0x86/0x87 (v5), 4/5 (3.1.1).
    if (sessions != null) {
      MqttConnection previous = sessions.register(clientId, this);
      if (previous != null && previous != this) {
        previous.takenOver();
      }
    }
    MqttProperties props = c.variableHeader().properties();
    if (v5) {
      Integer receiveMax = intProperty(props, MqttProperties.RECEIVE_MAXIMUM);
      if (receiveMax != null) {
        clientReceiveMaximum = receiveMax;
      }
      Integer maxPacket = intProperty(props, MqttProperties.MAXIMUM_PACKET_SIZE);
      if (maxPacket != null) {
        clientMaxPacketBytes = Integer.toUnsignedLong(maxPacket);
      }
      Integer aliasMax = intProperty(props, MqttProperties.TOPIC_ALIAS_MAXIMUM);
      if (aliasMax != null) {
        outboundAliases = new MqttTopicAliases(aliasMax);
      }
    }
    if (c.variableHeader().isWillFlag()) {
      try {
        will =
            toMessage(
                c.payload().willTopic(),
                c.payload().willMessageInBytes(),
                MqttQoS.valueOf(c.variableHeader().willQos()),
                c.payload().willProperties());
        io.switchboard.core.subject.Subjects.validateSubject(
            will.subject(), io.switchboard.core.subject.SubjectLimits.DEFAULTS);
      } catch (SwitchboardException | IllegalArgumentException e) {
        refuse(
            v5
                ? MqttConnectReturnCode.CONNECTION_REFUSED_TOPIC_NAME_INVALID
                : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
        return;
      }
      if (v5) {
        Integer delay =
            intProperty(c.payload().willProperties(), MqttProperties.WILL_DELAY_INTERVAL);
        willDelayMs = delay == null ? 0 : Integer.toUnsignedLong(delay) * 1000;
      }
      if (c.variableHeader().isWillRetain()) {
        if (!settings.retainAvailable() && v5) {
          refuse(MqttConnectReturnCode.CONNECTION_REFUSED_RETAIN_NOT_SUPPORTED);
          return;
        }
        will = will.withHeader(RETAIN_HEADER, new byte[] {1});
      }
    }
    connected = true;
    int keepAlive = c.variableHeader().keepAliveTimeSeconds();
    int maxKeepAlive = settings.maxKeepAliveSeconds();
    Integer serverKeepAlive = null;
    if (v5 && maxKeepAlive > 0 && (keepAlive == 0 || keepAlive > maxKeepAlive)) {
      // [MQTT-3.2.2-21] the client must use the Server Keep Alive the CONNACK gives it.
      keepAlive = maxKeepAlive;
      serverKeepAlive = maxKeepAlive;
    }
    if (keepAlive > 0) {
      // [MQTT-3.1.2-24] one and a half keep-alive periods without a packet end the connection.
      keepAliveMs = keepAlive * 1500L;
      lastReadNs = System.nanoTime();
      scheduleKeepAliveCheck(keepAliveMs);
    }
    boolean cleanStart = c.variableHeader().isCleanSession();
    // 3.1.1: clean session 0 is a session that never expires, 1 one that ends with the connection.
    long expiryMs = cleanStart ? 0 : Long.MAX_VALUE;
    if (v5) {
      expiryMs = expiryMs(intProperty(props, MqttProperties.SESSION_EXPIRY_INTERVAL));
    }
    sessionExpiryMs = expiryMs;
    connectExpiryMs = expiryMs;
    if (sessions == null || !sessions.available()) {
      persistent = false;
      accepted(null, expiryMs, assigned, serverKeepAlive);
      return;
    }
    // The session step touches the broker's disk: it runs off the loop, and reading waits for it.
    // [MQTT-3.1.2-4..6] Clean Start 0 resumes a stored session whatever this CONNECT's expiry.
    persistent = expiryMs > 0; // for now: a resumed session makes it so too, once it answers
    long expiry = expiryMs;
    boolean idAssigned = assigned;
    Integer keepAliveToSend = serverKeepAlive;
    sessionStepStarted();
    sessions
        .connect(clientId, cleanStart, expiryMs, this, ctx.executor())
        .whenComplete(
            (resumed, e) -> {
              if (!ctx.channel().isActive()) {
                // Closed meanwhile: inactive() asked for the session's end, which runs after this.
                return;
              }
              if (e != null) {
                sessionRefused(expiry, e);
                return;
              }
              persistent = resumed != null || expiry > 0;
              accepted(resumed, expiry, idAssigned, keepAliveToSend);
              sessionStepDone();
            });
  }

  /**
   * The session step failed (the broker's storage, or the broker closing): the client is told at
   * once with a CONNACK, and the connection is no session's any more.
   */
  private void sessionRefused(long expiryMs, Throwable e) {
    LOG.warn("mqtt client {}: its session could not be set up: {}", clientId, e.toString());
    connected = false; // no will, no second session end from inactive()
    if (keepAliveTimer != null) {
      keepAliveTimer.cancel(false);
    }
    sessions.disconnected(clientId, persistent ? expiryMs : 0, this, List.of());
    sessions.unregister(clientId, this);
    releaseHeld();
    refuse(
        v5
            ? MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE_5
            : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
  }

  /**
   * CONNECT accepted: CONNACK, then a resumed session's QoS 0 subscriptions taken up again and its
   * inbox claimed.
   *
   * @param resumed the stored session resumed, or null
   */
  private void accepted(
      MqttSessions.Definition resumed, long expiryMs, boolean assigned, Integer serverKeepAlive) {
    boolean sessionPresent = resumed != null;
    MqttProperties ackProps = MqttProperties.NO_PROPERTIES;
    if (v5) {
      MqttMessageBuilders.ConnAckPropertiesBuilder b =
          new MqttMessageBuilders.ConnAckPropertiesBuilder()
              .receiveMaximum(settings.maxInflight())
              .maximumPacketSize(settings.maxPacketBytes())
              .topicAliasMaximum(TOPIC_ALIAS_MAXIMUM)
              .retainAvailable(settings.retainAvailable())
              .wildcardSubscriptionAvailable(true)
              .sharedSubscriptionAvailable(true)
              .subscriptionIdentifiersAvailable(true)
              .sessionExpiryInterval(
                  persistent ? (expiryMs == Long.MAX_VALUE ? 0xFFFFFFFFL : expiryMs / 1000) : 0);
      // (A resumed session with this CONNECT's interval 0 is announced as 0: it ends with it.)
      if (assigned) {
        b.assignedClientId(clientId);
      }
      if (serverKeepAlive != null) {
        b.serverKeepAlive(serverKeepAlive);
      }
      if (authServerFinal != null) {
        // §4.12: enhanced authentication ends with the method and the server's final data
        b.authenticationMethod(authMethod).authenticationData(authServerFinal);
        authServerFinal = null;
      }
      ackProps = b.build();
    }
    ctx.writeAndFlush(
        MqttMessageBuilders.connAck()
            .returnCode(MqttConnectReturnCode.CONNECTION_ACCEPTED)
            .sessionPresent(sessionPresent)
            .properties(ackProps)
            .build());
    if (resumed != null) {
      // QoS 0 subscriptions of the session are live only: take them up again.
      for (MqttSessions.Sub sub : resumed.subscriptions()) {
        String filter =
            sub.group() == null ? sub.filter() : "$share/" + sub.group() + "/" + sub.filter();
        if (sub.qos() == 0) {
          currentSubscriptionId = sub.subscriptionId();
          subscribeOne(
              filter,
              null, // stored already
              MqttQoS.AT_MOST_ONCE,
              new MqttSubscriptionOption(
                  MqttQoS.AT_MOST_ONCE,
                  sub.noLocal(),
                  false,
                  MqttSubscriptionOption.RetainedHandlingPolicy.DONT_SEND_AT_SUBSCRIBE));
        } else {
          subscriptions.put(filter, new Subscribed(sub, false, List.of()));
        }
      }
      currentSubscriptionId = 0;
      access.holdConsumers(subscriptions.size()); // a resumed session's count as the principal's
    }
    if (persistent) {
      var released = new java.util.concurrent.CompletableFuture<Void>();
      inboxReleased = released;
      sessions
          .claimInbox(clientId, released)
          // Posted even when already on the loop: the inbox starts after this CONNECT's CONNACK.
          .whenComplete((ignored, e) -> session.loop().execute(this::startInbox));
    }
  }

  private void scheduleKeepAliveCheck(long delayMs) {
    keepAliveTimer =
        ctx.executor()
            .schedule(
                () -> {
                  long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastReadNs);
                  if (idleMs >= keepAliveMs) {
                    disconnect(MqttReasonCodes.Disconnect.KEEP_ALIVE_TIMEOUT, "keep-alive timeout");
                  } else {
                    scheduleKeepAliveCheck(keepAliveMs - idleMs);
                  }
                },
                delayMs,
                TimeUnit.MILLISECONDS);
  }

  /** A v5 Session Expiry Interval property as milliseconds: absent is 0, 0xFFFFFFFF never. */
  private static long expiryMs(Integer seconds) {
    long s = seconds == null ? 0 : Integer.toUnsignedLong(seconds);
    return s == 0xFFFFFFFFL ? Long.MAX_VALUE : s * 1000;
  }

  private static Integer intProperty(MqttProperties props, int id) {
    MqttProperties.MqttProperty<?> p = props.getProperty(id);
    return p == null ? null : (Integer) p.value();
  }

  // ------------------------------------------------------------------ publish in

  private void publish(MqttPublishMessage p) {
    MqttQoS qos = p.fixedHeader().qosLevel();
    int packetId = p.variableHeader().packetId();
    String topic = p.variableHeader().topicName();
    MqttProperties props = p.variableHeader().properties();
    if (v5) {
      Integer alias = intProperty(props, MqttProperties.TOPIC_ALIAS);
      if (alias != null) {
        if (alias < 1 || alias > TOPIC_ALIAS_MAXIMUM) {
          disconnect(MqttReasonCodes.Disconnect.TOPIC_ALIAS_INVALID, "topic alias " + alias);
          return;
        }
        if (topic.isEmpty()) {
          topic = aliases.get(alias);
          if (topic == null) {
            protocolError("unknown topic alias " + alias);
            return;
          }
        } else {
          aliases.put(alias, topic);
        }
      }
    }
    if (topic.isEmpty() || topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) {
      disconnect(MqttReasonCodes.Disconnect.TOPIC_NAME_INVALID, "topic name \"" + topic + "\"");
      return;
    }
    boolean retain = p.fixedHeader().isRetain();
    if (retain && !settings.retainAvailable()) {
      if (v5) {
        disconnect(MqttReasonCodes.Disconnect.RETAIN_NOT_SUPPORTED, "retained messages");
        return;
      }
      retain = false; // 3.1.1 cannot be told; the message still goes out, unretained
    }
    if (qos == MqttQoS.EXACTLY_ONCE && awaitingRelease.contains(packetId)) {
      // [MQTT-4.3.3] a resent QoS 2 publish is not delivered again: answer PUBREC again.
      ctx.writeAndFlush(pubReply(MqttMessageType.PUBREC, packetId, (byte) 0));
      return;
    }
    if (qos != MqttQoS.AT_MOST_ONCE && ++inboundInflight > settings.maxInflight()) {
      disconnect(MqttReasonCodes.Disconnect.RECEIVE_MAXIMUM_EXCEEDED, "receive maximum exceeded");
      return;
    }
    // The broker validates the subject (a topic too deep or too long for one) as it publishes.
    Message message = toMessage(topic, ByteBufUtil.getBytes(p.payload()), qos, props);
    // Past the principal's publish quota the message is taken and reading pauses (issue 18).
    session.pauseReadingFor(access.quota().publish(1, message.payload().length));
    if (!access.allows(
        message.subject().startsWith(io.switchboard.broker.live.LiveBus.INBOX_PREFIX)
            ? Permission.REPLY
            : Permission.PUBLISH,
        message.subject())) {
      publishRefused(qos, packetId);
      return;
    }
    String published = topic;
    int payloadBytes = message.payload().length;
    if (retain) {
      message = message.withHeader(RETAIN_HEADER, new byte[] {1});
    }
    // Completes on this loop (the broker's executor overloads): no hop by hand.
    publishToBroker(message, retain)
        .whenComplete(
            (ack, e) -> {
              if (e != null && codeOf(e) == ErrorCode.INVALID_SUBJECT) {
                // [MQTT-4.7.3] a topic no subject can hold: a protocol error.
                disconnect(
                    MqttReasonCodes.Disconnect.TOPIC_NAME_INVALID,
                    "topic \"" + published + "\" is too deep or too long");
                return;
              }
              if (e == null) {
                meters.published(payloadBytes);
              }
              if (qos == MqttQoS.AT_MOST_ONCE) {
                return;
              }
              inboundInflight--;
              if (e != null) {
                publishFailed(qos, packetId, e);
              } else if (qos == MqttQoS.AT_LEAST_ONCE) {
                ctx.writeAndFlush(pubReply(MqttMessageType.PUBACK, packetId, (byte) 0));
              } else {
                awaitingRelease.add(packetId);
                ctx.writeAndFlush(pubReply(MqttMessageType.PUBREC, packetId, (byte) 0));
              }
            });
  }

  /**
   * Publishes to the broker; a retained message is also written to the retained stream under {@code
   * $MQTT.retained.<subject>} (an empty payload there clears the topic [MQTT-3.3.1-6]). The future
   * completes, on this connection's loop, when both are acknowledged.
   */
  private java.util.concurrent.CompletableFuture<?> publishToBroker(
      Message message, boolean retain) {
    Tracing.Op span = tracing.publish(PROTOCOL, message);
    var live =
        span == null
            ? broker.publish(message, PublishOptions.NONE, ctx.executor())
            : span.stored(broker.publish(span.message(), PublishOptions.NONE, ctx.executor()));
    if (!retain) {
      return live;
    }
    var stored =
        broker.publish(
            message.withSubject(MqttFrontEnd.RETAINED_PREFIX + message.subject()),
            PublishOptions.NONE,
            ctx.executor());
    return java.util.concurrent.CompletableFuture.allOf(live, stored);
  }

  /**
   * A publish the broker refused: v5 says why in the acknowledgement's reason code; v3 has no way
   * to, so the connection is closed and the client resends (at-least-once holds).
   */
  private static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : ErrorCode.INTERNAL;
  }

  private void publishFailed(MqttQoS qos, int packetId, Throwable t) {
    ErrorCode code = codeOf(t);
    if (!v5) {
      LOG.debug("mqtt publish from {} failed ({}); closing (v3 cannot say why)", clientId, code);
      ctx.close();
      return;
    }
    byte reason = MqttReasons.publishReason(code);
    ctx.writeAndFlush(
        pubReply(
            qos == MqttQoS.AT_LEAST_ONCE ? MqttMessageType.PUBACK : MqttMessageType.PUBREC,
            packetId,
            reason));
  }

  /**
   * A publish the rules refuse: v5 PUBACK/PUBREC 0x87 (not authorized); 3.1.1 cannot say no, so it
   * is acknowledged and dropped [MQTT-3.3.5-2]. QoS 0 is dropped.
   */
  private void publishRefused(MqttQoS qos, int packetId) {
    if (qos == MqttQoS.AT_MOST_ONCE) {
      return;
    }
    inboundInflight--;
    if (v5) {
      ctx.writeAndFlush(
          pubReply(
              qos == MqttQoS.AT_LEAST_ONCE ? MqttMessageType.PUBACK : MqttMessageType.PUBREC,
              packetId,
              MqttReasons.NOT_AUTHORIZED));
    } else if (qos == MqttQoS.AT_LEAST_ONCE) {
      ctx.writeAndFlush(pubReply(MqttMessageType.PUBACK, packetId, (byte) 0));
    } else {
      awaitingRelease.add(packetId);
      ctx.writeAndFlush(pubReply(MqttMessageType.PUBREC, packetId, (byte) 0));
    }
  }

  private void pubrel(MqttMessage m) {
    int packetId = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
    boolean known = awaitingRelease.remove(packetId);
    if (!known) {
      meters.badInput("packet_identifier_not_found");
    }
    ctx.writeAndFlush(
        pubReply(
            MqttMessageType.PUBCOMP,
            packetId,
            known || !v5
                ? (byte) 0
                : MqttReasonCodes.PubComp.PACKET_IDENTIFIER_NOT_FOUND.byteValue()));
  }

  /** A message for the broker from an MQTT publish (or will). */
  private Message toMessage(String topic, byte[] payload, MqttQoS qos, MqttProperties props) {
    String subject = MqttTopics.toSubject(topic);
    List<Header> headers = new ArrayList<>();
    headers.add(new Header(QOS_HEADER, new byte[] {(byte) qos.value()}));
    if (clientId != null) {
      headers.add(new Header(ORIGIN_HEADER, clientId.getBytes(StandardCharsets.UTF_8)));
    }
    String replyTo = null;
    if (props != null && !props.isEmpty()) {
      for (MqttProperties.MqttProperty<?> p : props.listAll()) {
        switch (p.propertyId()) {
          case MqttProperties.USER_PROPERTY -> {
            @SuppressWarnings("unchecked")
            List<MqttProperties.StringPair> pairs = (List<MqttProperties.StringPair>) p.value();
            for (MqttProperties.StringPair pair : pairs) {
              headers.add(new Header(pair.key, pair.value.getBytes(StandardCharsets.UTF_8)));
            }
          }
          case MqttProperties.CONTENT_TYPE ->
              headers.add(
                  new Header(
                      CONTENT_TYPE_HEADER, ((String) p.value()).getBytes(StandardCharsets.UTF_8)));
          case MqttProperties.PAYLOAD_FORMAT_INDICATOR ->
              headers.add(
                  new Header(
                      PAYLOAD_FORMAT_HEADER, new byte[] {((Integer) p.value()).byteValue()}));
          case MqttProperties.PUBLICATION_EXPIRY_INTERVAL ->
              headers.add(
                  new Header(
                      Message.TTL_HEADER,
                      Long.toString(Integer.toUnsignedLong((Integer) p.value()) * 1000)
                          .getBytes(StandardCharsets.US_ASCII)));
          case MqttProperties.RESPONSE_TOPIC -> replyTo = MqttTopics.toSubject((String) p.value());
          case MqttProperties.CORRELATION_DATA ->
              headers.add(new Header(Message.CORRELATION_ID, (byte[]) p.value()));
          default -> {
            // topic alias handled by the caller; others carry nothing for the broker
          }
        }
      }
    }
    return new Message(subject, null, headers, payload, 0, replyTo);
  }

  // ------------------------------------------------------------------ subscribe

  private void subscribe(MqttSubscribeMessage s) {
    int packetId = s.idAndPropertiesVariableHeader().messageId();
    Integer subscriptionId =
        v5
            ? intProperty(
                s.idAndPropertiesVariableHeader().properties(),
                MqttProperties.SUBSCRIPTION_IDENTIFIER)
            : null;
    currentSubscriptionId = subscriptionId == null ? 0 : subscriptionId;
    List<MqttTopicSubscription> requested = s.payload().topicSubscriptions();
    if (requested.isEmpty()) {
      // [MQTT-3.8.3-2] (3.1.1: [MQTT-3.8.3-3]) at least one filter: none is a protocol error.
      protocolError("SUBSCRIBE without a topic filter");
      return;
    }
    if (v5) {
      for (MqttTopicSubscription t : requested) {
        if (!MqttReasons.validSubscription(t.topicFilter())) {
          // [MQTT-4.7.1-1..3] [MQTT-4.7.3-1] [MQTT-4.8.2-1] a malformed filter: v5 is told why.
          disconnect(
              MqttReasonCodes.Disconnect.TOPIC_FILTER_INVALID,
              "topic filter \"" + t.topicFilter() + "\"");
          return;
        }
      }
    }
    List<Integer> reasons = new ArrayList<>();
    List<Map.Entry<String, MqttQoS>> retainedToSend = new ArrayList<>();
    // With a stored session, each filter's storing step (null: none), in the order of the filters.
    List<java.util.concurrent.CompletableFuture<Void>> stored = new ArrayList<>();
    for (MqttTopicSubscription t : requested) {
      boolean existed = subscriptions.containsKey(t.topicFilter());
      int steps = stored.size();
      int granted = subscribeOne(t.topicFilter(), stored, t.qualityOfService(), t.option());
      if (stored.size() == steps) {
        stored.add(null);
      }
      reasons.add(granted);
      access.holdConsumers(subscriptions.size()); // the next filter is checked against it
      var handling = t.option().retainHandling();
      boolean sendRetained =
          granted <= 2
              && !t.topicFilter().startsWith("$share/") // MQTT 5 §4.8.2: never to shared ones
              && handling != MqttSubscriptionOption.RetainedHandlingPolicy.DONT_SEND_AT_SUBSCRIBE
              && !(existed
                  && handling
                      == MqttSubscriptionOption.RetainedHandlingPolicy
                          .SEND_AT_SUBSCRIBE_IF_NOT_YET_EXISTS);
      if (sendRetained && settings.retainAvailable()) {
        String filter = t.topicFilter();
        MqttQoS qos = MqttQoS.valueOf(granted);
        retainedToSend.add(Map.entry(filter, qos));
      }
    }
    if (stored.stream().allMatch(java.util.Objects::isNull)) {
      subscribed(packetId, reasons, retainedToSend);
      return;
    }
    // The SUBACK waits until the session has stored its subscriptions (off the loop), and so does
    // every packet after it: a PUBLISH the client sends next must find them in place.
    sessionStepStarted();
    java.util.concurrent.CompletableFuture.allOf(
            stored.stream()
                .filter(java.util.Objects::nonNull)
                .toArray(java.util.concurrent.CompletableFuture<?>[]::new))
        .whenComplete(
            (ignored, e) -> {
              if (!ctx.channel().isActive()) {
                return;
              }
              for (int i = 0; i < stored.size(); i++) {
                var step = stored.get(i);
                if (step != null && step.isCompletedExceptionally()) {
                  String filter = requested.get(i).topicFilter();
                  LOG.warn("mqtt client {}: subscription {} not stored", clientId, filter);
                  Subscribed undone = subscriptions.remove(filter);
                  if (undone != null) {
                    undone.subs().forEach(LiveSubscription::close);
                  }
                  reasons.set(i, v5 ? 0x80 : MqttQoS.FAILURE.value()); // unspecified error
                  retainedToSend.removeIf(r -> r.getKey().equals(filter));
                }
              }
              access.holdConsumers(subscriptions.size());
              subscribed(packetId, reasons, retainedToSend);
              sessionStepDone();
            });
  }

  /** SUBACK, then the retained messages of the filters that take them. */
  private void subscribed(
      int packetId, List<Integer> reasons, List<Map.Entry<String, MqttQoS>> retainedToSend) {
    // Reason codes as they are: a v5 failure (0x8F, 0x97) is no QoS, so no MqttQoS can carry it.
    ctx.writeAndFlush(
        new io.netty.handler.codec.mqtt.MqttSubAckMessage(
            new MqttFixedHeader(MqttMessageType.SUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
            new io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader(
                packetId, MqttProperties.NO_PROPERTIES),
            new io.netty.handler.codec.mqtt.MqttSubAckPayload(reasons)));
    // [MQTT-3.3.1-9] retained messages follow the SUBACK, with the retain flag set. Looking them
    // up reads the retained stream: on the broker's executor, then sent from this loop.
    if (!retainedToSend.isEmpty()) {
      broker
          .offload(
              () -> {
                List<List<StoredMessage>> found = new ArrayList<>();
                for (Map.Entry<String, MqttQoS> r : retainedToSend) {
                  found.add(retainedFor(r.getKey()));
                }
                return found;
              },
              ctx.executor())
          .whenComplete(
              (found, e) -> {
                if (e != null) {
                  LOG.debug("mqtt client {}: retained look-up failed: {}", clientId, e.toString());
                  return;
                }
                if (session.closing()) {
                  return;
                }
                for (int i = 0; i < found.size(); i++) {
                  Map.Entry<String, MqttQoS> r = retainedToSend.get(i);
                  sendRetained(r.getKey(), r.getValue(), found.get(i));
                }
                ctx.flush();
              });
    }
  }

  /** The retained messages a filter may see (the broker's executor: this reads a stream). */
  private List<StoredMessage> retainedFor(String filter) {
    List<StoredMessage> out = new ArrayList<>();
    for (String pattern : MqttTopics.toPatterns(filter)) {
      out.addAll(
          broker.lastMessages(
              MqttFrontEnd.RETAINED_STREAM,
              MqttFrontEnd.RETAINED_PREFIX + pattern,
              MAX_RETAINED_PER_SUBSCRIBE));
    }
    return out;
  }

  private void sendRetained(String filter, MqttQoS granted, List<StoredMessage> retained) {
    for (var stored : retained) {
      Message m = stored.message();
      if (m.payload().length == 0) {
        continue; // cleared
      }
      Message original =
          m.withSubject(m.subject().substring(MqttFrontEnd.RETAINED_PREFIX.length()));
      String topic;
      try {
        topic = MqttTopics.toTopic(original.subject());
      } catch (IllegalArgumentException e) {
        continue;
      }
      if (!MqttTopics.wildcardMaySee(filter, topic)) {
        continue;
      }
      byte[] q = m.header(QOS_HEADER);
      MqttQoS published = q == null ? MqttQoS.AT_LEAST_ONCE : MqttQoS.valueOf(q[0]);
      deliver(topic, original, MqttQoS.valueOf(Math.min(published.value(), granted.value())), true);
    }
  }

  /** The subscription identifier of the SUBSCRIBE being handled (0: none). */
  private int currentSubscriptionId;

  /**
   * Subscribes one filter; returns the granted QoS or a failure reason code. With a stored session
   * the subscription is stored too, off the loop: the step's future goes into {@code stored} (null:
   * it is stored already).
   */
  private int subscribeOne(
      String filter,
      List<java.util.concurrent.CompletableFuture<Void>> stored,
      MqttQoS requested,
      MqttSubscriptionOption option) {
    String group = null;
    String mqttFilter = filter;
    if (filter.startsWith("$share/")) {
      int slash = filter.indexOf('/', 7);
      if (slash < 0 || slash == 7) {
        return MqttQoS.FAILURE.value();
      }
      group = filter.substring(7, slash);
      mqttFilter = filter.substring(slash + 1);
    }
    if (!MqttReasons.validFilter(mqttFilter)) {
      return v5 ? 0x8F : MqttQoS.FAILURE.value(); // topic filter invalid
    }
    if (!subscribeAllowed(mqttFilter)) {
      return v5 ? 0x87 : MqttQoS.FAILURE.value(); // not authorized (3.1.1: failure, 0x80)
    }
    Subscribed old = subscriptions.remove(filter);
    if (old != null) {
      old.subs().forEach(LiveSubscription::close); // [MQTT-3.8.4-3] replaces the old one
    }
    if (subscriptions.size() >= settings.maxSubscriptions()) {
      return v5 ? 0x97 : MqttQoS.FAILURE.value(); // quota exceeded
    }
    if (old == null && access.consumerQuotaFull()) {
      return v5 ? 0x97 : MqttQoS.FAILURE.value(); // the principal's subscription quota
    }
    MqttQoS granted = requested == MqttQoS.FAILURE ? MqttQoS.AT_MOST_ONCE : requested;
    var sub =
        new MqttSessions.Sub(
            mqttFilter, granted.value(), group, option.isNoLocal(), currentSubscriptionId);
    if (persistent) {
      if (stored != null) {
        stored.add(sessions.subscribe(clientId, sub, ctx.executor()));
      }
      if (granted != MqttQoS.AT_MOST_ONCE) {
        // Delivered through the session's inbox, which outlives this connection.
        subscriptions.put(filter, new Subscribed(sub, option.isRetainAsPublished(), List.of()));
        return granted.value();
      }
    }
    Subscribed subscribed = new Subscribed(sub, option.isRetainAsPublished(), new ArrayList<>());
    try {
      for (String pattern : MqttTopics.toPatterns(mqttFilter)) {
        subscribed
            .subs()
            .add(
                broker.live().subscribe(pattern, group, new Deliverer(subscribed), ctx.executor()));
      }
    } catch (SwitchboardException e) {
      subscribed.subs().forEach(LiveSubscription::close);
      return v5 ? 0x8F : MqttQoS.FAILURE.value();
    }
    subscriptions.put(filter, subscribed);
    return granted.value();
  }

  private void unsubscribe(MqttUnsubscribeMessage u) {
    int packetId = u.idAndPropertiesVariableHeader().messageId();
    if (u.payload().topics().isEmpty()) {
      protocolError("UNSUBSCRIBE without a topic filter"); // [MQTT-3.10.3-2]
      return;
    }
    List<Short> reasons = new ArrayList<>();
    List<java.util.concurrent.CompletableFuture<Void>> stored = new ArrayList<>();
    for (String filter : u.payload().topics()) {
      Subscribed s = subscriptions.remove(filter);
      if (s != null) {
        s.subs().forEach(LiveSubscription::close);
      }
      stored.add(persistent ? sessions.unsubscribe(clientId, filter, ctx.executor()) : null);
      reasons.add(s != null ? (short) 0x00 : (short) 0x11); // 0x11: no subscription existed
    }
    access.holdConsumers(subscriptions.size());
    if (!persistent) {
      unsubscribed(packetId, reasons);
      return;
    }
    sessionStepStarted(); // the UNSUBACK, and every packet after it, wait until it is stored
    java.util.concurrent.CompletableFuture.allOf(
            stored.toArray(java.util.concurrent.CompletableFuture<?>[]::new))
        .whenComplete(
            (ignored, e) -> {
              if (!ctx.channel().isActive()) {
                return;
              }
              for (int i = 0; i < stored.size(); i++) {
                if (stored.get(i).isCompletedExceptionally()) {
                  reasons.set(i, (short) 0x80); // unspecified error
                }
              }
              unsubscribed(packetId, reasons);
              sessionStepDone();
            });
  }

  private void unsubscribed(int packetId, List<Short> reasons) {
    MqttMessageBuilders.UnsubAckBuilder ack = MqttMessageBuilders.unsubAck().packetId(packetId);
    if (v5) {
      reasons.forEach(ack::addReasonCode);
    }
    ctx.writeAndFlush(ack.build());
  }

  /**
   * Delivers live messages of one filter to this connection. Event loop only.
   *
   * <p>A message matching several of the connection's (non-shared) subscriptions goes out once, at
   * the highest QoS they grant it, carrying every one of their subscription identifiers — as
   * Mosquitto, HiveMQ and EMQX do (MQTT 5 §3.3.4 allows either this or one copy per subscription).
   * Each of those subscriptions' sinks is handed the message; only the first of them in
   * subscription order sends it. With a stored session, a copy at QoS 1 or 2 is the inbox's to send
   * ({@link MqttSessions} decides the same way), and live sinks send only what all of them grant at
   * QoS 0. A shared subscription is a copy of its own [MQTT-4.8.2].
   */
  private final class Deliverer implements LiveSink {
    private final Subscribed own;

    Deliverer(Subscribed own) {
      this.own = own;
    }

    @Override
    public void onMessage(Message m) {
      if (session.closing()) {
        return;
      }
      String topic;
      try {
        topic = MqttTopics.toTopic(m.subject());
      } catch (IllegalArgumentException e) {
        session.dropped(null, 1); // a subject no MQTT topic maps to (not by the escaping rules)
        return;
      }
      MqttSessions.Sub sub = own.sub();
      if (!MqttTopics.wildcardMaySee(sub.filter(), topic)) {
        return;
      }
      boolean fromSelf = fromThisClient(m);
      byte[] q = m.header(QOS_HEADER);
      int published = q == null ? MqttQoS.AT_LEAST_ONCE.value() : q[0];
      boolean retained = m.header(RETAIN_HEADER) != null;
      if (sub.group() != null) {
        if (sub.noLocal() && fromSelf) {
          return; // [MQTT-3.8.3-3] no-local: not back to the publisher
        }
        // [MQTT-3.3.1-12] a live delivery clears the retain flag unless retain-as-published.
        deliver(
            topic,
            withSubscriptionIds(m, sub.subscriptionId() > 0 ? sub.subscriptionId() + "" : null),
            MqttQoS.valueOf(Math.min(published, sub.qos())),
            own.retainAsPublished() && retained);
        return;
      }
      Matched all = matching(topic, fromSelf, published, retained);
      Subscribed carrier = all.carrier();
      int qos = all.qos();
      String ids = all.ids();
      boolean retain = all.retain();
      if (carrier != own || (persistent && qos > 0)) {
        return; // another sink sends it, or the session's inbox does
      }
      deliver(topic, withSubscriptionIds(m, ids), MqttQoS.valueOf(qos), retain);
    }

    /** What the live bus dropped for this sink so far (its mailbox was full). */
    private long busDropped;

    @Override
    public void onDropped(long totalDropped) {
      session.dropped(null, totalDropped - busDropped);
      busDropped = totalDropped;
    }

    @Override
    public void onBatchEnd() {
      ctx.flush();
    }
  }

  /**
   * What this connection's non-shared subscriptions make of a message on {@code topic}: the highest
   * QoS they grant it (-1: none matches), their subscription identifiers (comma-separated; null:
   * none), whether one of them keeps the retain flag, and the first of them with live subscriptions
   * (the one whose sink sends it).
   */
  private record Matched(int qos, String ids, boolean retain, Subscribed carrier) {}

  private Matched matching(String topic, boolean fromSelf, int published, boolean retained) {
    Subscribed carrier = null;
    int qos = -1;
    StringBuilder ids = null;
    boolean retain = false;
    for (Subscribed s : subscriptions.values()) {
      MqttSessions.Sub other = s.sub();
      if (other.group() != null
          || !MqttTopics.matches(other.filter(), topic)
          || (other.noLocal() && fromSelf)) {
        continue;
      }
      qos = Math.max(qos, Math.min(published, other.qos()));
      if (other.subscriptionId() > 0) {
        ids = ids == null ? new StringBuilder() : ids.append(',');
        ids.append(other.subscriptionId());
      }
      retain |= s.retainAsPublished() && retained;
      if (carrier == null && !s.subs().isEmpty()) {
        carrier = s;
      }
    }
    return new Matched(qos, ids == null ? null : ids.toString(), retain, carrier);
  }

  /**
   * What a copy from the session's inbox goes out as now — by the session's subscriptions, as a
   * live delivery would ({@link #matching}); a copy made for a shared subscription by that one — or
   * null when none of them takes it at QoS 1 or 2 any more (unsubscribed meanwhile: [MQTT-3.10.4]
   * lets queued messages go).
   */
  private Waiting fromInbox(Message copy) {
    byte[] subject = copy.header(io.switchboard.broker.BindingSpec.ORIGINAL_SUBJECT_HEADER);
    if (subject == null) {
      return null;
    }
    String topic;
    try {
      topic = MqttTopics.toTopic(new String(subject, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      return null;
    }
    byte[] q = copy.header(QOS_HEADER);
    int published = q == null ? MqttQoS.AT_LEAST_ONCE.value() : q[0];
    byte[] share = copy.header(MqttSessions.SHARE_HEADER);
    int qos;
    String ids;
    if (share != null) {
      Subscribed s = subscriptions.get(new String(share, StandardCharsets.UTF_8));
      if (s == null) {
        return null;
      }
      qos = Math.min(published, s.sub().qos());
      ids = s.sub().subscriptionId() > 0 ? Integer.toString(s.sub().subscriptionId()) : null;
    } else {
      Matched all = matching(topic, fromThisClient(copy), published, false);
      qos = all.qos();
      ids = all.ids();
    }
    return qos <= 0
        ? null
        : new Waiting(topic, withSubscriptionIds(copy, ids), MqttQoS.valueOf(qos), false);
  }

  /**
   * Whether some subject the filter covers may be read; a filter partly forbidden is granted and
   * filtered per message ({@link #deliver}, {@link #deliverFromInbox}).
   */
  private boolean subscribeAllowed(String mqttFilter) {
    for (String pattern : MqttTopics.toPatterns(mqttFilter)) {
      if (access.decide(Permission.SUBSCRIBE, pattern) != Decision.DENY) {
        return true;
      }
    }
    return false;
  }

  private void deliver(String topic, Message m, MqttQoS qos, boolean retainFlag) {
    if (!access.allows(Permission.SUBSCRIBE, m.subject())) {
      return; // forbidden under a wildcard, or revoked since the SUBSCRIBE
    }
    if (qos == MqttQoS.AT_MOST_ONCE && !session.offerLive(null)) {
      return; // at-most-once: a slow reader loses live messages (counted), not our memory
    }
    boolean backlogged = session.pendingBytes() > settings.maxPendingBytes();
    if (qos != MqttQoS.AT_MOST_ONCE
        && (backlogged
            || (!waiting.isEmpty() && !draining)
            || outboundInflight.size() >= Math.min(clientReceiveMaximum, settings.maxInflight()))) {
      // The client's window is full, or the socket is behind: wait (in order, within a bound)
      // for an acknowledgement or for the socket to drain.
      if (waiting.size() >= MAX_WAITING) {
        session.dropped(null, 1);
      } else {
        waiting.add(new Waiting(topic, m, qos, retainFlag));
      }
      return;
    }
    m = tracing.deliver(PROTOCOL, m, null); // OFF: m itself
    MqttProperties props = outgoing(topic, m, qos);
    if (props == null) {
      return;
    }
    int packetId = 0;
    if (qos != MqttQoS.AT_MOST_ONCE) {
      packetId = nextFreePacketId();
      outboundInflight.put(packetId, qos == MqttQoS.AT_LEAST_ONCE ? 1 : 2);
    }
    MqttPublishMessage out =
        MqttMessageBuilders.publish()
            .topicName(aliased(topic, props))
            .qos(qos)
            .retained(retainFlag)
            .messageId(packetId)
            .properties(props)
            .payload(Unpooled.wrappedBuffer(m.payload()))
            .build();
    delivered(m.payload().length);
    // Live deliveries come in batches; the sink flushes at the end of each (onBatchEnd).
    ctx.write(out, ctx.voidPromise());
  }

  /**
   * The v5 properties for delivering {@code m} (empty for 3.1.1), or null when it is not to be sent
   * to this client: its time to live ran out while it waited [MQTT-3.3.2-5], or the PUBLISH would
   * be larger than the client's Maximum Packet Size [MQTT-3.1.2-24] — skipped for this client only,
   * as if delivered, and counted as dropped.
   */
  private MqttProperties outgoing(String topic, Message m, MqttQoS qos) {
    long nowMs = clock.nowMs();
    if (MqttReasons.remainingTtlMs(m, nowMs) <= 0) {
      session.dropped(null, 1);
      return null;
    }
    MqttProperties props = v5 ? MqttReasons.outboundProperties(m, nowMs) : null;
    long bytes =
        MqttPacketSize.publish(
            outboundAliases.topicNameBytes(topic),
            outboundAliases.aliasPropertyBytes(),
            qos != MqttQoS.AT_MOST_ONCE,
            props,
            m.payload().length);
    if (bytes > clientMaxPacketBytes) {
      session.dropped(null, 1);
      return null;
    }
    return props == null ? MqttProperties.NO_PROPERTIES : props;
  }

  /**
   * The topic name to send for {@code topic}: itself, or — when the client accepts topic aliases —
   * an alias added to {@code props}, with the topic only the first time (an empty name after). Call
   * only for a PUBLISH that is then written.
   */
  private String aliased(String topic, MqttProperties props) {
    MqttTopicAliases.Alias a = outboundAliases.aliasFor(topic);
    if (a == null) {
      return topic;
    }
    props.add(new MqttProperties.IntegerProperty(MqttProperties.TOPIC_ALIAS, a.alias()));
    return a.sendTopic() ? topic : "";
  }

  /** {@code m} with the subscription identifiers (comma-separated) it is delivered for, if any. */
  private static Message withSubscriptionIds(Message m, String ids) {
    return ids == null
        ? m
        : m.withHeader(SUBSCRIPTION_ID_HEADER, ids.getBytes(StandardCharsets.US_ASCII));
  }

  private boolean fromThisClient(Message m) {
    byte[] origin = m.header(ORIGIN_HEADER);
    return origin != null
        && clientId != null
        && clientId.equals(new String(origin, StandardCharsets.UTF_8));
  }

  /** A QoS 1/2 live delivery waiting for room in the client's in-flight window. */
  private record Waiting(String topic, Message message, MqttQoS qos, boolean retain) {}

  /**
   * 10,000 messages: what a client whose in-flight window is full may have waiting for it (as
   * Mosquitto's max_queued_messages); past it live messages for it are dropped and counted.
   */
  static final int MAX_WAITING = 10_000;

  private final java.util.ArrayDeque<Waiting> waiting = new java.util.ArrayDeque<>();

  /** True while {@link #sendWaiting} hands a waiting message to {@link #deliver}. */
  private boolean draining;

  /** An acknowledgement freed a slot: send what waits, oldest first. */
  private void sendWaiting() {
    boolean sent = false;
    while (!waiting.isEmpty()
        && outboundInflight.size() < Math.min(clientReceiveMaximum, settings.maxInflight())
        && session.pendingBytes() <= settings.maxPendingBytes()) {
      Waiting w = waiting.poll();
      draining = true;
      try {
        deliver(w.topic(), w.message(), w.qos(), w.retain());
      } finally {
        draining = false;
      }
      sent = true;
    }
    if (sent) {
      ctx.flush();
    }
  }

  private int nextFreePacketId() {
    while (true) {
      int id = nextPacketId;
      nextPacketId = nextPacketId == 65_535 ? 1 : nextPacketId + 1;
      if (!outboundInflight.containsKey(id)) {
        return id;
      }
    }
  }

  /** PUBACK (stage 1) or PUBCOMP (stage 3) for an outbound message. */
  private void outboundAck(MqttMessage m, int stage) {
    int packetId = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
    Integer state = outboundInflight.get(packetId);
    if (state != null && state == stage) {
      outboundInflight.remove(packetId);
      ackInbox(packetId);
      sendWaiting();
    } else {
      meters.badInput("packet_identifier_not_found"); // [MQTT-4.3] ignored, but counted
    }
  }

  /**
   * Starts push delivery of this persistent session's inbox to the connection, once the session's
   * previous connection has let go of it ({@link MqttSessions#claimInbox}).
   */
  private void startInbox() {
    if (session.closing()) {
      inboxReleased.complete(null); // gone before it started: nothing to let go of
      return;
    }
    MqttSessions.HandOver left = sessions.takeHandOver(clientId);
    sentBefore = left.sentBefore();
    // [MQTT-4.4.0-1] PUBREL again for QoS 2 messages the client had received, before anything new.
    for (int id : left.releasing()) {
      if (!outboundInflight.containsKey(id)) {
        outboundInflight.put(id, 3);
        ctx.write(pubReply(MqttMessageType.PUBREL, id, (byte) 0));
      }
    }
    ctx.flush();
    int credits = Math.min(clientReceiveMaximum, settings.maxInflight());
    inbox =
        session.push(
            INBOX_FEED,
            broker,
            MqttSessions.INBOX_STREAM,
            MqttSessions.consumerName(clientId),
            INBOX_MEMBER,
            credits,
            batch -> batch.forEach(this::deliverFromInbox));
  }

  /** The inbox's id among the session's feeds (MQTT's filters are not kept there). */
  private static final String INBOX_FEED = "$inbox";

  /**
   * Lets go of the session's inbox: what the client did not acknowledge goes back to the session at
   * once, so a reconnect gets it without waiting for the ack timeout; the push subscription closes,
   * and the member leaves the consumer. The consumer's agent answers the leave after any delivery
   * it was still making to this connection, and {@link #inboxReleased} completes back on the event
   * loop after those deliveries' tasks, which hand them back too: only then does the session's next
   * connection start (redeliveries first, in order).
   */
  private void releaseInbox() {
    var released = inboxReleased;
    if (released == null) {
      return; // no stored session
    }
    // QoS 2 deliveries the client has (PUBREC came) and whose PUBCOMP did not: the session's next
    // connection sends PUBREL for them again [MQTT-4.4.0-1].
    sessions.handOver(clientId, java.util.Set.copyOf(inboxPacketIds.keySet()), releasing());
    if (inbox == null) {
      released.complete(null); // never started, or already let go
      return;
    }
    var push = inbox.subscription();
    inbox = null;
    for (var d : inboxInflight.values()) {
      push.nack(d, 0, "connection closed");
    }
    inboxInflight.clear();
    inboxPacketIds.clear();
    session.remove(INBOX_FEED); // closes it, never blocking
    var loop = ctx.executor();
    broker
        .leave(MqttSessions.INBOX_STREAM, MqttSessions.consumerName(clientId), INBOX_MEMBER)
        .whenComplete(
            (held, e) -> {
              try {
                loop.execute(() -> released.complete(null));
              } catch (java.util.concurrent.RejectedExecutionException stopping) {
                released.complete(null); // the server is stopping
              }
            });
  }

  /** Packet ids of outbound QoS 2 messages waiting for PUBCOMP. */
  private List<Integer> releasing() {
    List<Integer> ids = new ArrayList<>();
    outboundInflight.forEach(
        (id, state) -> {
          if (state == 3) {
            ids.add(id);
          }
        });
    return ids;
  }

  /** Event loop: one message of the session's inbox, at its recorded QoS. */
  private void deliverFromInbox(io.switchboard.broker.consumer.Delivery d) {
    Integer sentAs = inboxPacketIds.get(MqttSessions.InboxPosition.of(d));
    if (sentAs != null) {
      // Handed back by the ack timeout while still in flight here: it is not sent again on this
      // connection; later acks and nacks name this delivery, and its extra credit goes back.
      inboxInflight.put(sentAs, d);
      inbox.settled(1);
      return;
    }
    Waiting copy = fromInbox(d.message());
    if (copy == null) {
      inbox.subscription().ack(d); // no subscription of the session wants it any more
      return;
    }
    Message m = copy.message();
    String topic = copy.topic();
    MqttQoS qos = copy.qos();
    byte[] original = d.message().header(io.switchboard.broker.BindingSpec.ORIGINAL_SUBJECT_HEADER);
    if (original != null
        && !access.allows(Permission.SUBSCRIBE, new String(original, StandardCharsets.UTF_8))) {
      inbox.subscription().ack(d); // forbidden for this principal: done, never sent
      return;
    }
    m = tracing.deliver(PROTOCOL, m, null); // OFF: m itself
    MqttProperties props = outgoing(topic, m, qos);
    if (props == null) {
      inbox.subscription().ack(d); // expired or too large for this client: done, as if delivered
      return;
    }
    var position = MqttSessions.InboxPosition.of(d);
    boolean dup = sentBefore == null ? d.deliveryCount() > 1 : sentBefore.remove(position);
    int packetId = nextFreePacketId();
    outboundInflight.put(packetId, qos == MqttQoS.AT_LEAST_ONCE ? 1 : 2);
    inboxInflight.put(packetId, d);
    inboxPacketIds.put(MqttSessions.InboxPosition.of(d), packetId);
    MqttPublishMessage out =
        new MqttPublishMessage(
            new MqttFixedHeader(MqttMessageType.PUBLISH, dup, qos, false, 0),
            new io.netty.handler.codec.mqtt.MqttPublishVariableHeader(
                aliased(topic, props), packetId, props),
            Unpooled.wrappedBuffer(m.payload()));
    delivered(m.payload().length);
    ctx.writeAndFlush(out, ctx.voidPromise());
  }

  /**
   * A message went out: counted and charged to the principal's consume quota; past it reading
   * pauses, so acknowledgements wait and the in-flight window (receive maximum) holds further QoS 1
   * and 2 deliveries back.
   */
  private void delivered(int payloadBytes) {
    delivery.delivered(payloadBytes);
    session.pauseReadingFor(access.quota().consume(payloadBytes));
  }

  private void pubrec(MqttMessage m) {
    int packetId = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
    Integer state = outboundInflight.get(packetId);
    if (state == null || state != 2) {
      meters.badInput("packet_identifier_not_found");
      ctx.writeAndFlush(
          pubReply(
              MqttMessageType.PUBREL,
              packetId,
              v5 ? MqttReasonCodes.PubRel.PACKET_IDENTIFIER_NOT_FOUND.byteValue() : 0));
      return;
    }
    outboundInflight.put(packetId, 3);
    // The client has a QoS 2 message once it sends PUBREC: the session's copy is done with, and
    // a resumed session sends PUBREL for it, never the message again [MQTT-4.3.3].
    ackInbox(packetId);
    ctx.writeAndFlush(pubReply(MqttMessageType.PUBREL, packetId, (byte) 0));
  }

  /** The inbox message sent as {@code packetId}, if any, is done: the consumer moves on. */
  private void ackInbox(int packetId) {
    var d = inboxInflight.remove(packetId);
    if (d != null) {
      inboxPacketIds.remove(MqttSessions.InboxPosition.of(d));
      if (inbox != null) {
        inbox.subscription().ack(d);
      }
    }
  }

  // ------------------------------------------------------------------ plumbing

  private MqttMessage pubReply(MqttMessageType type, int packetId, byte reason) {
    MqttQoS qos = type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE;
    MqttFixedHeader header = new MqttFixedHeader(type, false, qos, false, 0);
    if (v5) {
      return new MqttMessage(
          header,
          new MqttPubReplyMessageVariableHeader(packetId, reason, MqttProperties.NO_PROPERTIES));
    }
    return new MqttMessage(header, MqttMessageIdVariableHeader.from(packetId));
  }

  private void disconnectReceived(MqttMessage m) {
    byte reason = 0;
    if (m.variableHeader()
        instanceof io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader h) {
      reason = h.reasonCode();
      Integer expiry = intProperty(h.properties(), MqttProperties.SESSION_EXPIRY_INTERVAL);
      if (expiry != null) {
        long ms = expiryMs(expiry);
        if (connectExpiryMs == 0 && ms != 0) {
          protocolError("a session expiry interval on DISCONNECT after 0 on CONNECT");
          return; // [MQTT-3.14.2-2]; the will, if any, is published as for any error
        }
        sessionExpiryMs = ms; // [MQTT-3.14.2.2.2] the session now ends this long after
      }
    }
    // v5 reason 0x04 "disconnect with will message" keeps the will; any other clean DISCONNECT
    // discards it [MQTT-3.1.2-10].
    normalDisconnect = reason != 0x04;
    ctx.close();
  }

  /** Another connection with this client id arrived: end this one [MQTT-3.1.4-2]. Any thread. */
  void takenOver() {
    // Posted even from this loop: the new connection's CONNECT finishes first.
    session
        .loop()
        .execute(
            () -> disconnect(MqttReasonCodes.Disconnect.SESSION_TAKEN_OVER, "session taken over"));
  }

  /**
   * The member name a session's connection pushes its inbox as: the same for every connection of
   * the session, which take turns ({@link MqttSessions#claimInbox}).
   */
  static final String INBOX_MEMBER = "connection";

  /** 1 s for a DISCONNECT to be written before the connection is closed regardless. */
  static final long DISCONNECT_LINGER_MS = 1_000;

  /** Reasons to disconnect that are not the client's bad input, so not counted as such. */
  private static final java.util.Set<MqttReasonCodes.Disconnect> NOT_BAD_INPUT =
      java.util.EnumSet.of(
          MqttReasonCodes.Disconnect.SESSION_TAKEN_OVER,
          MqttReasonCodes.Disconnect.KEEP_ALIVE_TIMEOUT,
          MqttReasonCodes.Disconnect.SERVER_SHUTTING_DOWN,
          MqttReasonCodes.Disconnect.SERVER_BUSY);

  private void protocolError(String why) {
    disconnect(MqttReasonCodes.Disconnect.PROTOCOL_ERROR, why);
  }

  /**
   * Ends the connection for a client's fault: v5 gets a DISCONNECT with the reason first
   * [MQTT-4.13.2], v3 is just closed (it has no way to hear why).
   */
  private void disconnect(MqttReasonCodes.Disconnect reason, String why) {
    if (session.closing()) {
      return;
    }
    if (!NOT_BAD_INPUT.contains(reason)) {
      meters.badInput(reason.name().toLowerCase(java.util.Locale.ROOT));
    }
    LOG.debug("mqtt client {}: {} ({})", clientId, reason, why);
    // A client that does not read could hold that write, and the close behind it, forever; a
    // session's next connection waits for this one to close (MqttSessions.claimInbox): the
    // session closes it within DISCONNECT_LINGER_MS regardless.
    session.closeWith(disconnectPacket(reason, why));
  }

  /** v5's DISCONNECT with a reason [MQTT-4.13.2]; null for v3, which is just closed. */
  private MqttMessage disconnectPacket(MqttReasonCodes.Disconnect reason, String why) {
    if (!v5 || !connected) {
      return null;
    }
    MqttProperties props = new MqttProperties();
    props.add(new MqttProperties.StringProperty(MqttProperties.REASON_STRING, why));
    return MqttMessageBuilders.disconnect()
        .reasonCode(reason.byteValue())
        .properties(props)
        .build();
  }

  /** MQTT has no drop notice; the fatal frame is the DISCONNECT a v5 client understands. */
  private SessionFraming<String> framing() {
    return new SessionFraming<>() {
      @Override
      public Object dropNotice(String id, long totalDropped) {
        return null;
      }

      @Override
      public Object fatalFrame(ErrorCode code, String message) {
        return disconnectPacket(MqttReasonCodes.Disconnect.IMPLEMENTATION_SPECIFIC_ERROR, message);
      }
    };
  }

  /** Messages dropped for this connection (slow reader, full in-flight window, too large). */
  long dropped() {
    return session.dropped();
  }
}

package io.switchboard.nativ;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.Settlement;
import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.live.LiveSubscription;
import io.switchboard.broker.stream.ProducerSequence;
import io.switchboard.broker.stream.PublishAck;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.codec.FrameDecodeFailure;
import io.switchboard.protocol.codec.NativeFrameDecoder;
import io.switchboard.protocol.frame.AckEntry;
import io.switchboard.protocol.frame.Acked;
import io.switchboard.protocol.frame.Acks;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.protocol.frame.AdminReply;
import io.switchboard.protocol.frame.AuthChallenge;
import io.switchboard.protocol.frame.AuthResponse;
import io.switchboard.protocol.frame.Consume;
import io.switchboard.protocol.frame.Credit;
import io.switchboard.protocol.frame.Deliveries;
import io.switchboard.protocol.frame.DeliveryEntry;
import io.switchboard.protocol.frame.DeliveryPush;
import io.switchboard.protocol.frame.Dropped;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Fetch;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Goodbye;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.Last;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.protocol.frame.Messages;
import io.switchboard.protocol.frame.Ok;
import io.switchboard.protocol.frame.Ping;
import io.switchboard.protocol.frame.Pong;
import io.switchboard.protocol.frame.PubAck;
import io.switchboard.protocol.frame.PubAckBatch;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.protocol.frame.PublishBatch;
import io.switchboard.protocol.frame.Read;
import io.switchboard.protocol.frame.ReadSubject;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.protocol.frame.Request;
import io.switchboard.protocol.frame.StoredEntry;
import io.switchboard.protocol.frame.Subscribe;
import io.switchboard.protocol.frame.Unsubscribe;
import io.switchboard.protocol.frame.Welcome;
import io.switchboard.spi.Listeners;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.admin.AdminJson;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Authorizer;
import io.switchboard.spi.security.ConsumerGrant;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.ScramExchange;
import io.switchboard.spi.security.Security;
import io.switchboard.spi.security.StreamReads;
import io.switchboard.spi.session.ConnectionSession;
import io.switchboard.spi.session.SessionFraming;
import io.switchboard.spi.session.SessionLimits;
import io.switchboard.spi.session.SessionPush;
import io.switchboard.spi.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one native connection's frames into broker calls and the broker's answers into frames
 * ({@code docs/protocol.md}). One instance per connection; every field is confined to the
 * connection's event loop, and broker callbacks hop back onto it before touching them.
 *
 * <p>Errors: a request that fails is answered with an ERROR frame carrying its request id and code,
 * and the connection carries on. A decode failure, an unsupported version, a handshake timeout or a
 * slow reader gets a fatal ERROR (request id 0) and the connection is closed; other connections are
 * not affected.
 */
final class NativeAdapter extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(NativeAdapter.class);

  /** The protocol named on this front end's spans. */
  private static final String PROTOCOL = "native";

  private final Broker broker;
  private final NativeSettings settings;
  private final String serverId;
  private final ProtocolMeters meters;
  private final ProtocolMeters.Delivery delivery;

  /**
   * Subscriptions by sid (live, and push consumers), requests in flight, slow readers, the fatal
   * close: the shared per-connection session, with this protocol's frames plugged in.
   */
  private ConnectionSession<Integer> session;

  private ChannelHandlerContext ctx;

  /** This connection's own member name, once a frame needed it, and the consumers it used. */
  private String connectionMember;

  private final Set<List<String>> connectionMemberOf = new HashSet<>();
  private ScheduledFuture<?> handshakeTimer;
  private final Security security;

  /** Spans of publishes, requests and deliveries ({@link Tracing#OFF}: none, no header read). */
  private final Tracing tracing;

  /** Who this connection acts as, once its HELLO was accepted; every frame is checked on it. */
  private Access access;

  private boolean authenticating;
  private PendingScram scram;
  private boolean welcomed;

  NativeAdapter(
      Broker broker,
      NativeSettings settings,
      String serverId,
      ProtocolMeters meters,
      Security security,
      Tracing tracing) {
    this.tracing = tracing;
    this.broker = broker;
    this.security = security;
    this.settings = settings;
    this.serverId = serverId;
    this.meters = meters;
    this.delivery = meters.delivery(NativeFrontEnd.TRANSPORT);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    session =
        new ConnectionSession<>(
            ctx,
            SessionLimits.dropThenCutOff(
                settings.maxSubscriptions(),
                settings.maxPendingRequests(),
                settings.maxPendingBytes(),
                LINGER_MS),
            FRAMING);
  }

  /**
   * [P-9.3] a DROPPED notice; [P-12.1] a fatal ERROR (request id 0), then the output is shut down
   * once it is written, so the peer reads everything sent before it and then the end of the stream
   * (closing at once with unread input would reset the connection and could destroy the frame).
   */
  private static final SessionFraming<Integer> FRAMING =
      new SessionFraming<>() {
        @Override
        public Object dropNotice(Integer sid, long totalDropped) {
          return new Dropped(sid, totalDropped);
        }

        @Override
        public Object fatalFrame(ErrorCode code, String message) {
          return ErrorFrame.of(0, true, code, message);
        }

        @Override
        public boolean halfCloseOnFatal() {
          return true;
        }
      };

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    meters.opened();
    if (meters.connections() > settings.maxConnections()) {
      fatal(
          ErrorCode.TOO_MANY_CONNECTIONS,
          ErrorCode.TOO_MANY_CONNECTIONS.format(settings.maxConnections()));
      return;
    }
    handshakeTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (!welcomed) {
                    meters.badInput("handshake_timeout");
                    fatal(
                        ErrorCode.HANDSHAKE_TIMEOUT,
                        ErrorCode.HANDSHAKE_TIMEOUT.format(settings.handshakeTimeoutMs()));
                  }
                },
                settings.handshakeTimeoutMs(),
                TimeUnit.MILLISECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    meters.closed();
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
    }
    // Every subscription stops (a push's close never blocks); then the connection's member leaves
    // its consumers, which gives back at once what it held. Both only post to the consumers.
    session.closed();
    if (access != null) {
      access.closeConnection();
    }
    for (List<String> sc : connectionMemberOf) {
      broker.leave(sc.get(0), sc.get(1), connectionMember);
    }
    connectionMemberOf.clear();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    // [P-9.3] answers and deliveries alone passed twice the outbound limit (the high water
    // mark): the reader is too slow; the session cuts it off rather than grow the server's memory.
    session.writabilityChanged();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("native connection {} failed", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (session.closing()) {
      return;
    }
    if (msg instanceof FrameDecodeFailure failure) {
      meters.badInput(failure.code().name().toLowerCase(java.util.Locale.ROOT));
      fatal(failure.code(), failure.message());
      return;
    }
    Frame frame = (Frame) msg;
    try {
      handle(frame);
    } catch (SwitchboardException e) {
      fail(requestIdOf(frame), e);
    } catch (RuntimeException e) {
      LOG.warn("SB-SERVER-4002 native request {} failed unexpectedly", frame.type(), e);
      fail(requestIdOf(frame), SwitchboardException.of(ErrorCode.INTERNAL, e.toString()));
    }
  }

  private void handle(Frame frame) {
    if (!(frame instanceof Hello) && !(frame instanceof AuthResponse) && access == null) {
      // [P-4.4] a client waits for WELCOME; while its credential is checked nothing else goes.
      meters.badInput("handshake_required");
      fatal(
          ErrorCode.HANDSHAKE_REQUIRED,
          ErrorCode.HANDSHAKE_REQUIRED.format(frame.type(), "WELCOME before any other frame"));
      return;
    }
    switch (frame) {
      case Hello h -> hello(h);
      case AuthResponse r -> authResponse(r);
      case Ping p -> write(new Pong(p.token()));
      case Pong p -> {}
      case Goodbye g -> ctx.close();
      case Publish p -> publish(p);
      case PublishBatch b -> publishBatch(b);
      case Subscribe s -> subscribe(s);
      case Unsubscribe u -> unsubscribe(u);
      case Request r -> request(r);
      case Fetch f -> fetch(f);
      case Consume c -> consume(c);
      case Credit c -> credit(c);
      case Acks a -> acks(a);
      case Read r -> read(r);
      case ReadSubject r -> readSubject(r);
      case Last l -> last(l);
      case Admin a -> admin(a);
      default -> {
        meters.badInput("unexpected_frame");
        throw SwitchboardException.of(ErrorCode.UNEXPECTED_FRAME, frame.type(), "from a client");
      }
    }
  }

  // ------------------------------------------------------------------ handshake

  private void hello(Hello h) {
    int version = FrameDescriptor.negotiateVersion(h.minVersion(), h.maxVersion());
    if (version == 0) {
      fatal(
          ErrorCode.UNSUPPORTED_VERSION,
          ErrorCode.UNSUPPORTED_VERSION.format(
              h.minVersion(),
              h.maxVersion(),
              FrameDescriptor.MIN_VERSION,
              FrameDescriptor.MAX_VERSION));
      return;
    }
    if (authenticating || access != null) {
      throw SwitchboardException.of(ErrorCode.UNEXPECTED_FRAME, "HELLO", "after HELLO");
    }
    authenticating = true;
    // Nothing more is read until the credential is checked (the pre-auth bound, issue 18).
    session.holdReading();
    if (NativeFrameDecoder.startsExchange(h.authToken())) {
      startScram(h, version);
      return;
    }
    session
        .onLoop(authenticate(h.authToken()))
        .whenComplete((principal, e) -> authenticated(h, version, principal, e));
  }

  /** The credential check is over: WELCOME (and reading again) or a fatal error. */
  private void authenticated(Hello h, int version, Principal principal, Throwable e) {
    authenticating = false;
    scram = null;
    if (session.closing()) {
      return;
    }
    if (e != null) {
      SwitchboardException x = unwrapAuth(e);
      meters.badInput("authentication_failed");
      fatal(x.code(), x.getMessage());
      return;
    }
    Access a = security.access(principal);
    try {
      a.openConnection(); // the principal's connection quota
    } catch (SwitchboardException x) {
      fatal(x.code(), x.getMessage());
      return;
    }
    access = a;
    session.meterSubscriptions(a);
    welcome(h, version);
    session.resumeReading();
  }

  /**
   * [P-4.5] A SCRAM exchange: HELLO carried {@code SCRAM-SHA-… client-first}; the server answers
   * AUTH_CHALLENGE server-first and reads the one AUTH_RESPONSE (client-final) the decoder lets
   * through, within the pre-authentication size limit.
   */
  private void startScram(Hello h, int version) {
    String text = new String(h.authToken(), StandardCharsets.UTF_8);
    int space = text.indexOf(' ');
    if (space < 0) {
      authenticated(
          h,
          version,
          null,
          SwitchboardException.of(
              ErrorCode.AUTHENTICATION_FAILED, "SCRAM credential is not MECHANISM client-first"));
      return;
    }
    ScramExchange exchange;
    try {
      exchange = security.authenticator().scram(text.substring(0, space), source());
    } catch (SwitchboardException x) {
      authenticated(h, version, null, x);
      return;
    }
    scram = new PendingScram(exchange, h, version);
    session
        .onLoop(exchange.next(text.substring(space + 1).getBytes(StandardCharsets.UTF_8)))
        .whenComplete(
            (step, e) -> {
              if (session.closing()) {
                return;
              }
              if (e != null || step.complete()) {
                // a one-message SCRAM never completes; treat it as the failure it is
                authenticated(
                    h,
                    version,
                    null,
                    e != null
                        ? e
                        : SwitchboardException.of(
                            ErrorCode.AUTHENTICATION_FAILED, "SCRAM exchange out of order"));
                return;
              }
              write(new AuthChallenge(step.serverMessage()));
              session.resumeReading(); // for the AUTH_RESPONSE, and nothing else (the decoder)
            });
  }

  /** [P-4.5] The client-final message: server-final in an AUTH_CHALLENGE, then WELCOME. */
  private void authResponse(AuthResponse r) {
    PendingScram p = scram;
    if (p == null || access != null) {
      throw SwitchboardException.of(
          ErrorCode.UNEXPECTED_FRAME, "AUTH_RESPONSE", "outside a SCRAM exchange");
    }
    session.holdReading(); // until WELCOME (authenticated() resumes)
    session
        .onLoop(p.exchange().next(r.data()))
        .whenComplete(
            (step, e) -> {
              if (session.closing()) {
                return;
              }
              if (e == null && !step.complete()) {
                e = SwitchboardException.of(ErrorCode.AUTHENTICATION_FAILED, "SCRAM not complete");
              }
              if (e == null) {
                write(new AuthChallenge(step.serverMessage()));
              }
              authenticated(p.hello(), p.version(), e == null ? step.principal() : null, e);
            });
  }

  private record PendingScram(ScramExchange exchange, Hello hello, int version) {}

  private java.net.InetAddress source() {
    return ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
        ? a.getAddress()
        : null;
  }

  /**
   * [P-4.1] The HELLO's credential: null (anonymous, or the client certificate's subject under
   * mutual TLS), {@code PLAIN <authzid>NUL<user>NUL<password>} (RFC 4616's message) or {@code
   * BEARER <token>}.
   */
  private CompletableFuture<Principal> authenticate(byte[] token) {
    java.net.InetAddress source = source();
    if (token == null || token.length == 0) {
      java.util.Optional<java.security.cert.X509Certificate> cert =
          Listeners.peerCertificate(ctx.channel());
      if (cert.isPresent()) {
        return CompletableFuture.completedFuture(security.authenticator().certificate(cert.get()));
      }
      if (security.authRequired()) {
        return CompletableFuture.failedFuture(
            SwitchboardException.of(
                ErrorCode.AUTHENTICATION_REQUIRED,
                "send a credential in HELLO (SCRAM, PLAIN or BEARER, docs/protocol.md [P-4.1])"));
      }
      return CompletableFuture.completedFuture(Principal.ANONYMOUS);
    }
    String text = new String(token, StandardCharsets.UTF_8);
    int space = text.indexOf(' ');
    String mechanism = space < 0 ? text : text.substring(0, space);
    String rest = space < 0 ? "" : text.substring(space + 1);
    switch (mechanism) {
      case "PLAIN" -> {
        String[] parts = rest.split("\u0000", -1);
        if (parts.length != 3 || (!parts[0].isEmpty() && !parts[0].equals(parts[1]))) {
          return CompletableFuture.failedFuture(
              SwitchboardException.of(
                  ErrorCode.AUTHENTICATION_FAILED,
                  "PLAIN credential is not authzid NUL user NUL password"));
        }
        return security.authenticator().password(parts[1], parts[2], source);
      }
      case "BEARER" -> {
        return security.authenticator().bearer(rest, source);
      }
      default -> {
        return CompletableFuture.failedFuture(
            SwitchboardException.of(
                ErrorCode.AUTHENTICATION_FAILED,
                "unknown mechanism; the credential starts with SCRAM-SHA-256, SCRAM-SHA-512,"
                    + " PLAIN or BEARER"));
      }
    }
  }

  private static SwitchboardException unwrapAuth(Throwable e) {
    Throwable c = e;
    while (c instanceof java.util.concurrent.CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c instanceof SwitchboardException x
        ? x
        : SwitchboardException.of(ErrorCode.AUTHENTICATION_FAILED, "credential check failed");
  }

  private void welcome(Hello h, int version) {
    handshakeTimer.cancel(false);
    welcomed = true;
    write(
        new Welcome(
            version,
            h.features() & FrameDescriptor.FEATURES_V1,
            serverId,
            settings.limits().maxFrameBytes(),
            settings.maxPendingRequests(),
            settings.maxPendingBytes(),
            0));
  }

  // ------------------------------------------------------------------ publish

  private void publish(Publish p) {
    checkPublish(p.subject());
    // Past the principal's publish quota the publish is taken and reading pauses (issue 18).
    session.pauseReadingFor(access.quota().publish(1, p.payload().length));
    session.started();
    traced(toMessage(p), options(p))
        .whenComplete(
            (ack, e) -> {
              session.finished();
              if (e != null) {
                fail(p.requestId(), e);
                return;
              }
              meters.published(p.payload().length);
              if (!p.noAck()) {
                write(pubAck(p.requestId(), ack));
              }
            });
  }

  private void publishBatch(PublishBatch batch) {
    session.started();
    List<CompletableFuture<PublishAck>> futures = new ArrayList<>(batch.publishes().size());
    long bytes = 0;
    for (Publish p : batch.publishes()) {
      bytes += p.payload().length;
    }
    session.pauseReadingFor(access.quota().publish(batch.publishes().size(), bytes));
    for (Publish p : batch.publishes()) {
      try {
        checkPublish(p.subject());
        futures.add(traced(toMessage(p), options(p)));
      } catch (SwitchboardException e) {
        futures.add(CompletableFuture.failedFuture(e));
      }
    }
    // Each publish completes on this loop, so the last one completes allOf here too.
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .whenComplete(
            (v, ignored) -> {
              session.finished();
              List<PubAck> acks = new ArrayList<>();
              for (int i = 0; i < futures.size(); i++) {
                Publish p = batch.publishes().get(i);
                CompletableFuture<PublishAck> f = futures.get(i);
                if (f.isCompletedExceptionally()) {
                  fail(p.requestId(), causeOf(f));
                  continue;
                }
                meters.published(p.payload().length);
                if (!p.noAck()) {
                  acks.add(pubAck(p.requestId(), f.join()));
                }
              }
              if (!acks.isEmpty()) {
                write(new PubAckBatch(acks));
              }
            });
  }

  /**
   * A message went out: counted, and charged to the principal's consume quota; past it reading
   * pauses, so credits and fetches wait (live subscriptions keep the slow-reader policy).
   */
  private void delivered(int payloadBytes) {
    delivery.delivered(payloadBytes);
    session.pauseReadingFor(access.quota().consume(payloadBytes));
  }

  /** A publish to a reply inbox is a reply ({@link Permission#REPLY}), any other a publish. */
  private void checkPublish(String subject) {
    access.check(
        subject.startsWith(LiveBus.INBOX_PREFIX) ? Permission.REPLY : Permission.PUBLISH, subject);
  }

  /** The broker's publish, in a publish span when tracing is on. */
  private CompletableFuture<PublishAck> traced(Message m, PublishOptions options) {
    Tracing.Op span = tracing.publish(PROTOCOL, m);
    return span == null
        ? broker.publish(m, options, ctx.executor())
        : span.stored(broker.publish(span.message(), options, ctx.executor()));
  }

  private static Message toMessage(Publish p) {
    return new Message(
        p.subject(), p.key(), p.headers(), p.payload(), p.timestampMs(), p.replyTo());
  }

  private static PublishOptions options(Publish p) {
    ProducerSequence producer =
        p.producer() == null
            ? null
            : new ProducerSequence(
                p.producer().producerId(), p.producer().epoch(), p.producer().sequence());
    return new PublishOptions(
        p.expectedStream(), p.messageId(), p.expectedLastSubjectOffset(), producer);
  }

  private static PubAck pubAck(int requestId, PublishAck a) {
    return new PubAck(
        requestId,
        a.stream(),
        a.partition(),
        a.offset(),
        PubAck.Durability.valueOf(a.durability().name()),
        a.duplicate(),
        a.deliverAtMs());
  }

  // ------------------------------------------------------------------ live

  private void subscribe(Subscribe s) {
    session.admit(s.sid());
    // [P-7.1] a pattern that overlaps forbidden subjects is accepted and filtered per message:
    // the subscription never receives what its principal may not read.
    Decision decision = access.decide(Permission.SUBSCRIBE, s.pattern());
    if (decision == Decision.DENY) {
      throw access.denied(Permission.SUBSCRIBE, s.pattern());
    }
    // Checked per message also when rules may change later (a revoked grant applies at once); only
    // a server without security skips it.
    boolean filter = decision == Decision.FILTER || security.authorizer() != Authorizer.ALLOW_ALL;
    int sid = s.sid();
    AtomicLong remaining = new AtomicLong(Long.MAX_VALUE);
    // [P-9.3] past the outbound limit the session drops live messages, counts them and sends
    // DROPPED once the queue drains; each drained batch is flushed once.
    LiveSubscription sub =
        broker
            .live()
            .subscribe(
                s.pattern(),
                s.queueGroup(),
                session.liveSink(
                    sid,
                    m ->
                        remaining.get() > 0
                            && (!filter || access.allows(Permission.SUBSCRIBE, m.subject())),
                    live -> {
                      delivered(live.payload().length);
                      Message m = tracing.deliver(PROTOCOL, live, null);
                      session.write(
                          new LiveMessage(
                              sid,
                              m.timestampMs(),
                              m.subject(),
                              m.replyTo(),
                              m.headers(),
                              m.key(),
                              m.payload()),
                          false);
                      if (remaining.decrementAndGet() == 0) {
                        session.remove(sid); // [P-7.2] the auto-unsubscribe count is reached
                      }
                    }),
                ctx.executor());
    session.add(sid, new CountedSubscription(sub, remaining));
    write(new Ok(s.requestId()));
  }

  /** A live subscription with its auto-unsubscribe count. */
  private record CountedSubscription(LiveSubscription inner, AtomicLong remaining)
      implements ConnectionSession.Feed {
    @Override
    public void close() {
      inner.close();
    }
  }

  private void unsubscribe(Unsubscribe u) {
    ConnectionSession.Feed feed = session.get(u.sid());
    if (feed instanceof CountedSubscription counted && u.maxMessages() > 0) {
      counted.remaining().set(u.maxMessages());
      return;
    }
    if (session.remove(u.sid()) == null) { // a push consumer's close never blocks
      throw SwitchboardException.of(ErrorCode.SUBSCRIPTION_NOT_FOUND, u.sid());
    }
  }

  private void request(Request r) {
    access.check(Permission.REQUEST, r.subject());
    session.pauseReadingFor(access.quota().request());
    Message m = new Message(r.subject(), null, r.headers(), r.payload(), 0, null);
    Duration timeout = Duration.ofMillis(Math.max(1, r.timeoutMs()));
    Tracing.Op span = tracing.request(PROTOCOL, m);
    CompletableFuture<Message> answer =
        span == null
            ? broker.live().request(m, timeout)
            : span.replied(broker.live().request(span.message(), timeout));
    // The reply completes on the responder's thread: the session hops it to this loop.
    session
        .track(answer)
        .whenComplete(
            (reply, e) -> {
              if (e != null) {
                fail(r.requestId(), e);
              } else {
                write(new Reply(r.requestId(), reply.headers(), reply.payload()));
              }
            });
  }

  // ------------------------------------------------------------------ consumers

  private void fetch(Fetch f) {
    access.check(Permission.CONSUME, Permission.consumerTarget(f.stream(), f.consumer()));
    StreamReads.checkConsumer(access, broker, f.stream(), f.consumer());
    session.started();
    broker
        .fetch(
            f.stream(),
            f.consumer(),
            member(f.stream(), f.consumer(), f.member()),
            f.maxMessages(),
            f.maxWaitMs(),
            ctx.executor())
        .whenComplete(
            (list, e) -> {
              session.finished();
              if (e != null) {
                fail(f.requestId(), e);
              } else {
                list.forEach(d -> delivered(d.message().payload().length));
                write(
                    new Deliveries(
                        f.requestId(), list.stream().map(d -> entry(d, f.consumer())).toList()));
              }
            });
  }

  /**
   * [P-8] A frame without a member name reads as this connection's own member, which leaves its
   * consumers when the connection closes (a named member keeps its assignment across connections).
   */
  private String member(String stream, String consumer, String named) {
    if (named != null && !named.isEmpty()) {
      return named;
    }
    if (connectionMember == null) {
      connectionMember = "conn-" + ctx.channel().id().asLongText();
    }
    connectionMemberOf.add(List.of(stream, consumer));
    return connectionMember;
  }

  private DeliveryEntry entry(Delivery d, String consumer) {
    Message m = tracing.deliver(PROTOCOL, d.message(), consumer);
    return new DeliveryEntry(
        d.partition(),
        d.offset(),
        d.deliveryCount(),
        m.timestampMs(),
        m.subject(),
        m.replyTo(),
        m.headers(),
        m.key(),
        m.payload());
  }

  private void consume(Consume c) {
    ConsumerGrant grant = new ConsumerGrant(access, broker, c.stream(), c.consumer());
    int sid = c.sid();
    // Each duty cycle's deliveries reach the loop as one task and leave in one flush.
    session.push(
        sid,
        broker,
        c.stream(),
        c.consumer(),
        member(c.stream(), c.consumer(), c.member()),
        c.credits(),
        batch -> {
          if (grant.revoked() != null) {
            return; // revoked since CONSUME: not delivered, redelivered later
          }
          for (Delivery d : batch) {
            delivered(d.message().payload().length);
            session.write(new DeliveryPush(sid, entry(d, c.consumer())), false);
          }
          session.flush();
        });
    write(new Ok(c.requestId()));
  }

  /** [P-8.4] widens a push subscription's window; an unknown sid is a non-fatal error. */
  private void credit(Credit c) {
    if (!(session.get(c.sid()) instanceof SessionPush push)) {
      throw SwitchboardException.of(ErrorCode.SUBSCRIPTION_NOT_FOUND, c.sid());
    }
    push.grant(c.credits());
  }

  private void acks(Acks a) {
    access.check(Permission.CONSUME, Permission.consumerTarget(a.stream(), a.consumer()));
    SessionPush push = session.pushFor(a.stream(), a.consumer());
    // The whole frame goes to the consumer as one settlement: one hand-over, one wake-up.
    List<Settlement> entries = new ArrayList<>(a.entries().size());
    int credits = 0;
    for (AckEntry e : a.entries()) {
      entries.add(
          switch (e.kind()) {
            case ACK -> {
              credits++;
              yield Settlement.ack(e.partition(), e.offset());
            }
            case NACK -> {
              credits++;
              yield Settlement.nack(
                  e.partition(), e.offset(), e.deliveryCount(), e.delayMs(), e.error());
            }
            case IN_PROGRESS -> Settlement.inProgress(e.partition(), e.offset(), e.deliveryCount());
          });
    }
    if (push != null) {
      push.settled(credits);
    }
    session.started();
    broker
        .settle(a.stream(), a.consumer(), entries, ctx.executor())
        .whenComplete(
            (results, e) -> {
              session.finished();
              if (e != null) {
                fail(a.requestId(), e);
              } else if (a.confirm()) {
                write(new Acked(a.requestId(), results));
              }
            });
  }

  // ------------------------------------------------------------------ reads

  // Reads and admin may touch disk or take a broker monitor: they run on the broker's executor
  // and answer back on this loop (the threading contract, docs/architecture.md).

  private void read(Read r) {
    Decision whole = checkRead(r.stream());
    offload(
        r.requestId(),
        () ->
            broker.readMessages(
                r.stream(), r.partition(), r.fromOffset(), r.maxBytes(), r.maxMessages()),
        got ->
            new Messages(
                r.requestId(),
                got.nextOffset(),
                readable(whole, got.messages()).stream().map(NativeAdapter::stored).toList()));
  }

  private void readSubject(ReadSubject r) {
    checkRead(r.stream(), r.subject());
    offload(
        r.requestId(),
        () -> {
          List<StoredMessage> got =
              broker.readSubject(
                  r.stream(), r.subject(), r.fromOffset(), Math.max(1, r.maxMessages()));
          long next = got.isEmpty() ? r.fromOffset() : got.getLast().offset() + 1;
          return new Messages(
              r.requestId(), next, got.stream().map(NativeAdapter::stored).toList());
        });
  }

  private void last(Last l) {
    checkRead(l.stream(), l.subject());
    offload(
        l.requestId(),
        () ->
            new Messages(
                l.requestId(),
                -1,
                broker.lastMessage(l.stream(), l.subject()).map(NativeAdapter::stored).stream()
                    .toList()));
  }

  /** A read of one subject: CONSUME on {@code STREAM.$read} and SUBSCRIBE on the subject. */
  private void checkRead(String stream, String subject) {
    access.check(Permission.CONSUME, Permission.consumerTarget(stream, Permission.READ_TOKEN));
    access.check(Permission.SUBSCRIBE, subject);
  }

  /**
   * CONSUME on {@code STREAM.$read}, and the subject decision over the whole stream: reads skip the
   * messages whose subject the principal may not subscribe to ({@link StreamReads}).
   */
  private Decision checkRead(String stream) {
    access.check(Permission.CONSUME, Permission.consumerTarget(stream, Permission.READ_TOKEN));
    return StreamReads.stream(access, broker, stream);
  }

  /** On this loop: {@code got} without what the principal may not read (counted). */
  private List<StoredMessage> readable(Decision whole, List<StoredMessage> got) {
    return StreamReads.readable(access, whole, got, m -> m.message().subject());
  }

  /** Runs {@code answer} on the broker's executor and writes its frame (or error) on this loop. */
  private void offload(int requestId, java.util.function.Supplier<Frame> answer) {
    offload(requestId, answer, f -> f);
  }

  /**
   * Runs {@code read} on the broker's executor, then {@code answer} on this loop (where the
   * connection's {@link io.switchboard.spi.security.Access} lives), and writes the frame (or
   * error).
   */
  private <T> void offload(
      int requestId,
      java.util.function.Supplier<T> read,
      java.util.function.Function<T, Frame> answer) {
    session.started();
    broker
        .offload(read, ctx.executor())
        .whenComplete(
            (got, e) -> {
              session.finished();
              if (e != null) {
                fail(requestId, e);
                return;
              }
              Frame frame;
              try {
                frame = answer.apply(got);
              } catch (RuntimeException x) {
                fail(requestId, x);
                return;
              }
              write(frame);
            });
  }

  private static StoredEntry stored(StoredMessage s) {
    Message m = s.message();
    return new StoredEntry(
        s.partition(),
        s.offset(),
        m.timestampMs(),
        m.subject(),
        m.replyTo(),
        m.headers(),
        m.key(),
        m.payload());
  }

  // ------------------------------------------------------------------ admin

  private void admin(Admin a) {
    JsonNode body =
        AdminJson.parse(a.body().length == 0 ? "{}".getBytes(StandardCharsets.UTF_8) : a.body());
    access.check(Permission.ADMIN, adminTarget(a.op(), body));
    offload(
        a.requestId(),
        () -> {
          Object result =
              switch (a.op()) {
                case STREAM_CREATE -> broker.createStream(AdminJson.streamConfig(body));
                case STREAM_UPDATE -> broker.updateStream(AdminJson.streamConfig(body));
                case STREAM_DELETE -> {
                  broker.deleteStream(AdminJson.text(body, "name"));
                  yield null;
                }
                case STREAM_INFO -> broker.streamInfo(AdminJson.text(body, "name"));
                case STREAM_LIST -> Map.of("streams", broker.listStreams());
                case CONSUMER_CREATE ->
                    broker.createConsumer(
                        AdminJson.text(body, "stream"), AdminJson.consumerConfig(body));
                case CONSUMER_DELETE -> {
                  broker.deleteConsumer(
                      AdminJson.text(body, "stream"), AdminJson.text(body, "name"));
                  yield null;
                }
                case CONSUMER_INFO ->
                    broker.consumerInfo(
                        AdminJson.text(body, "stream"), AdminJson.text(body, "name"));
                case CONSUMER_LIST ->
                    Map.of("consumers", broker.listConsumers(AdminJson.text(body, "stream")));
              };
          // [P-11] a delete answers with an empty body.
          return new AdminReply(
              a.requestId(), result == null ? new byte[0] : AdminJson.write(result));
        });
  }

  /** What an admin operation is checked on ({@link Permission#ADMIN}). */
  private static String adminTarget(Admin.Op op, JsonNode body) {
    return switch (op) {
      case STREAM_CREATE, STREAM_UPDATE, STREAM_DELETE, STREAM_INFO -> AdminJson.text(body, "name");
      case STREAM_LIST -> Permission.STREAMS_TARGET;
      case CONSUMER_CREATE -> {
        // The name is inside the definition; a definition without one is refused by the create.
        JsonNode name = body.path("config").path("name");
        yield Permission.consumerTarget(
            AdminJson.text(body, "stream"), name.isTextual() ? name.asText() : "$unnamed");
      }
      case CONSUMER_DELETE, CONSUMER_INFO ->
          Permission.consumerTarget(AdminJson.text(body, "stream"), AdminJson.text(body, "name"));
      case CONSUMER_LIST ->
          Permission.consumerTarget(AdminJson.text(body, "stream"), Permission.CONSUMERS_TOKEN);
    };
  }

  // ------------------------------------------------------------------ plumbing

  /** Writes and flushes {@code f}, unless the connection is ending. */
  private void write(Frame f) {
    session.write(f);
  }

  private void fail(int requestId, Throwable t) {
    Throwable c = t instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : t;
    SwitchboardException e =
        c instanceof SwitchboardException se
            ? se
            : SwitchboardException.of(ErrorCode.INTERNAL, String.valueOf(c));
    if (e.code() == ErrorCode.INTERNAL) {
      LOG.warn("SB-SERVER-4003 request {} failed", requestId, c);
    }
    write(ErrorFrame.of(requestId, false, e.code(), e.detail()));
  }

  private static Throwable causeOf(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  /** How long a connection ended by a fatal error may keep sending before it is closed. */
  static final long LINGER_MS = 5_000;

  /**
   * Sends a fatal error, then ends the connection ([P-12.1]): output is shut down once the error is
   * written, and what the peer still sends is discarded until it closes or {@link #LINGER_MS}
   * passes ({@link #FRAMING}).
   */
  private void fatal(ErrorCode code, String message) {
    session.fatal(code, message);
  }

  private static int requestIdOf(Frame f) {
    return switch (f) {
      case Publish p -> p.requestId();
      case Subscribe s -> s.requestId();
      case Request r -> r.requestId();
      case Fetch x -> x.requestId();
      case Consume c -> c.requestId();
      case Acks a -> a.requestId();
      case Read r -> r.requestId();
      case ReadSubject r -> r.requestId();
      case Last l -> l.requestId();
      case Admin a -> a.requestId();
      default -> 0;
    };
  }
}

package io.switchboard.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.codec.FrameDecodeFailure;
import io.switchboard.protocol.codec.NativeFrameDecoder;
import io.switchboard.protocol.codec.NativeFrameEncoder;
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
import io.switchboard.protocol.frame.ReadSubject;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.protocol.frame.Request;
import io.switchboard.protocol.frame.Subscribe;
import io.switchboard.protocol.frame.Unsubscribe;
import io.switchboard.protocol.frame.Welcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to a Switchboard server over the native protocol ({@code docs/protocol.md}).
 * Thread-safe: every method may be called from any thread, and requests pipeline (many in flight,
 * answered in any order).
 *
 * <p>Publishing: publishes queue in an outbox drained by the network thread, so those made while a
 * frame is being written go out together in one PUBLISH_BATCH. With {@link
 * ClientOptions#idempotent()} (the default) each publish carries a unique message id, and a publish
 * not yet acknowledged when the connection drops is sent again after the reconnect: the stream
 * stores it once (within its duplicate window).
 *
 * <p>Reconnecting ({@link ClientOptions#reconnect()}, the default): a lost connection is re-dialled
 * with exponential back-off and jitter; subscriptions and push consumers are restored; requests
 * other than publishes that were in flight fail with the retriable {@code CONNECTION_LOST}; a
 * server that cannot be reached at all gives {@code CONNECTION_FAILED}.
 *
 * <p>Callbacks: subscription handlers run on one callback thread per client, in arrival order,
 * never on the network thread — a slow handler delays other handlers of this client, not its I/O.
 */
public final class SwitchboardClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SwitchboardClient.class);

  /** Publishes waiting for an acknowledgement, connected or not; past it publishing fails. */
  static final int MAX_PENDING_PUBLISHES = 65_536;

  /** First reconnect delay; doubles per failed attempt up to the configured maximum. */
  static final long FIRST_RECONNECT_DELAY_MS = 50;

  private enum State {
    CONNECTED,
    RECONNECTING,
    CLOSED
  }

  /** A request waiting for its answer; {@code retry} is resent after a reconnect, else failed. */
  private record Pending(CompletableFuture<Frame> answer, Publish retry) {}

  /** A subscription to restore after a reconnect: its frame (with a fresh request id) and sink. */
  private record Sub(Frame frame, Consumer<Frame> sink) {}

  /** A frame for a subscription's handler, waiting for the callback thread. */
  private record Dispatch(Sub sub, Frame frame) {}

  /**
   * Frames for handlers waiting for the callback thread; past this many the connection stops
   * reading until half have been handled, so a slow handler pushes back on the server (which drops
   * live messages for a reader that falls behind) instead of growing this process's memory.
   */
  public static final int MAX_QUEUED_CALLBACKS = 65_536;

  private final java.util.Queue<Dispatch> inbox =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final AtomicInteger inboxSize = new AtomicInteger();
  private final AtomicBoolean draining = new AtomicBoolean();

  /**
   * Whether reading is paused for the handlers: written on the network thread only (which alone
   * pauses and resumes), read by the callback thread to know when to ask for a resume.
   */
  private volatile boolean readPaused;

  private final AtomicBoolean resumeScheduled = new AtomicBoolean();

  private final ClientOptions options;
  private final EventLoopGroup group;
  private final ExecutorService callbacks;
  private final Bootstrap bootstrap;
  private final io.netty.handler.ssl.SslContext ssl;
  private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();
  private final Map<Integer, Sub> subscriptions = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Publish> outbox = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean flushScheduled = new AtomicBoolean();
  private final AtomicInteger ids = new AtomicInteger();
  private final AtomicInteger pendingPublishes = new AtomicInteger();
  private final String producerTag = Long.toHexString(ThreadLocalRandom.current().nextLong());
  private final AtomicLong producerSequence = new AtomicLong();
  private final AtomicLong reconnects = new AtomicLong();
  private volatile Channel channel;
  private volatile ClientTracing tracing = ClientTracing.OFF;
  private volatile Welcome welcome;
  private volatile State state = State.RECONNECTING;
  private volatile String closeReason;
  private volatile boolean closedByCaller;
  private int reconnectAttempt;

  private SwitchboardClient(ClientOptions options) {
    this.options = options;
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    this.callbacks =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "switchboard-client-callbacks");
              t.setDaemon(true);
              return t;
            });
    this.ssl = options.tls() ? sslContext(options) : null;
    this.bootstrap =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeoutMs())
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    if (ssl != null) {
                      ch.pipeline()
                          .addLast(ssl.newHandler(ch.alloc(), options.host(), options.port()));
                    }
                    ch.pipeline()
                        .addLast(new NativeFrameDecoder(Role.CLIENT, ProtocolLimits.DEFAULTS))
                        .addLast(NativeFrameEncoder.INSTANCE)
                        .addLast(new Handler());
                  }
                });
  }

  /** A TLS client context trusting {@code options.tlsCa()} (or the JDK's trust store). */
  private static io.netty.handler.ssl.SslContext sslContext(ClientOptions options) {
    try {
      io.netty.handler.ssl.SslContextBuilder b = io.netty.handler.ssl.SslContextBuilder.forClient();
      if (options.tlsCa() != null) {
        b.trustManager(new java.io.File(options.tlsCa()));
      }
      // Verify that the certificate names the host, as HTTPS does.
      b.endpointIdentificationAlgorithm("HTTPS");
      return b.build();
    } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
      throw new SwitchboardClientException(
          ErrorCode.INVALID_CONFIG.number(),
          ErrorCode.INVALID_CONFIG.format("TLS: " + e.getMessage()));
    }
  }

  /**
   * Connects and completes the handshake.
   *
   * @throws SwitchboardClientException when the server cannot be reached (code {@code
   *     CONNECTION_FAILED}) or refuses the handshake (its code)
   */
  public static SwitchboardClient connect(ClientOptions options) {
    SwitchboardClient c = new SwitchboardClient(options);
    try {
      c.dial().get(options.connectTimeoutMs(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      c.state = State.CLOSED;
      c.close();
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      if (cause instanceof SwitchboardClientException sce) {
        throw sce;
      }
      throw new SwitchboardClientException(
          ErrorCode.CONNECTION_FAILED.number(),
          ErrorCode.CONNECTION_FAILED.format(options.host() + ":" + options.port(), cause));
    }
    return c;
  }

  /** Connects to {@code HOST:PORT} with default options. */
  public static SwitchboardClient connect(String address) {
    return connect(ClientOptions.parse(address));
  }

  /** Opens a connection and says HELLO; completes with the WELCOME. */
  private CompletableFuture<Welcome> dial() {
    CompletableFuture<Welcome> done = new CompletableFuture<>();
    bootstrap
        .connect(options.host(), options.port())
        .addListener(
            (io.netty.channel.ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    done.completeExceptionally(
                        new SwitchboardClientException(
                            ErrorCode.CONNECTION_FAILED.number(),
                            ErrorCode.CONNECTION_FAILED.format(
                                options.host() + ":" + options.port(), f.cause().getMessage())));
                    return;
                  }
                  Handler h = f.channel().pipeline().get(Handler.class);
                  h.welcomed = done;
                  h.scram = options.scram();
                  f.channel()
                      .writeAndFlush(
                          new Hello(
                              FrameDescriptor.MIN_VERSION,
                              FrameDescriptor.MAX_VERSION,
                              FrameDescriptor.FEATURES_V1,
                              options.clientName(),
                              options.helloCredential(h.scram)));
                });
    return done;
  }

  /** The server's handshake answer on the current connection: version, features, limits. */
  public Welcome welcome() {
    return welcome;
  }

  /** Whether this client is closed for good (by {@link #close()}, or a loss without reconnect). */
  public boolean isClosed() {
    return state == State.CLOSED;
  }

  public boolean isConnected() {
    Channel ch = channel;
    return state == State.CONNECTED && ch != null && ch.isActive();
  }

  /**
   * Frames received for subscription handlers and not yet handled (at most about {@link
   * #MAX_QUEUED_CALLBACKS}: past it the connection stops reading until handlers catch up).
   */
  public int queuedCallbacks() {
    return inboxSize.get();
  }

  /** How many times the connection was re-established. */
  public long reconnects() {
    return reconnects.get();
  }

  // ------------------------------------------------------------------ tracing

  /**
   * Traces this client's traffic through {@code otel} (the application's SDK, often {@code
   * GlobalOpenTelemetry.get()}): publishes and requests get a span whose W3C trace context travels
   * in the {@code traceparent} / {@code tracestate} headers, and every subscription and consumer
   * handler runs in a {@code process} span, child of the context its message carries, current while
   * it runs. Without this call the client neither reads nor adds trace headers. Returns this
   * client.
   */
  public SwitchboardClient withTracing(io.opentelemetry.api.OpenTelemetry otel) {
    this.tracing = ClientTracing.of(otel);
    return this;
  }

  // ------------------------------------------------------------------ publish

  /** Publishes; the future completes with where it was stored, or fails with the server's code. */
  public CompletableFuture<PubAck> publishAsync(String subject, byte[] payload) {
    return publishAsync(PublishBuilder.to(subject, payload));
  }

  /** Publishes what {@code p} describes. */
  public CompletableFuture<PubAck> publishAsync(PublishBuilder p) {
    if (state == State.CLOSED) {
      return CompletableFuture.failedFuture(disconnected());
    }
    if (pendingPublishes.incrementAndGet() > MAX_PENDING_PUBLISHES) {
      pendingPublishes.decrementAndGet();
      return CompletableFuture.failedFuture(
          new SwitchboardClientException(
              ErrorCode.PUBLISH_BACKPRESSURE.number(),
              MAX_PENDING_PUBLISHES + " publishes are waiting for acknowledgements (the limit)"));
    }
    io.opentelemetry.api.trace.Span span =
        tracing.startOutgoing(
            "publish", io.opentelemetry.api.trace.SpanKind.PRODUCER, p.subject(), p.headerList());
    int id = nextId();
    String autoId =
        options.idempotent() && !p.hasMessageId()
            ? producerTag + "-" + producerSequence.incrementAndGet()
            : null;
    Publish frame = p.build(id, autoId);
    CompletableFuture<Frame> answer = new CompletableFuture<>();
    answer.whenComplete((f, e) -> pendingPublishes.decrementAndGet());
    // Only a publish the stream can de-duplicate is safe to send twice.
    pending.put(id, new Pending(answer, frame.messageId() != null ? frame : null));
    outbox.add(frame);
    scheduleFlush();
    // A no-ack publish completes once written (flush); errors still arrive as frames.
    return ClientTracing.endOn(span, answer.thenApply(PubAck.class::cast));
  }

  /** Publishes and waits for the acknowledgement. */
  public PubAck publish(String subject, byte[] payload) {
    return await(publishAsync(subject, payload));
  }

  /** Publishes what {@code p} describes and waits for the acknowledgement. */
  public PubAck publish(PublishBuilder p) {
    return await(publishAsync(p));
  }

  private void scheduleFlush() {
    Channel ch = channel;
    if (state == State.CONNECTED && ch != null && flushScheduled.compareAndSet(false, true)) {
      ch.eventLoop().execute(() -> flush(ch));
    }
  }

  /** Network thread: drains the outbox into PUBLISH or PUBLISH_BATCH frames. */
  private void flush(Channel ch) {
    try {
      int maxBatchBytes =
          Math.max(64 * 1024, welcome == null ? 1 << 20 : welcome.maxFrameBytes() / 2);
      while (ch.isActive() && !outbox.isEmpty()) {
        List<Publish> batch = new ArrayList<>();
        long bytes = 0;
        Publish p;
        while (batch.size() < ProtocolLimits.DEFAULT_MAX_BATCH_ENTRIES
            && bytes < maxBatchBytes
            && (p = outbox.poll()) != null) {
          batch.add(p);
          bytes += p.payload().length + (p.key() == null ? 0 : p.key().length) + 256;
        }
        if (batch.size() == 1) {
          ch.write(batch.get(0), ch.voidPromise());
        } else if (!batch.isEmpty()) {
          ch.write(new PublishBatch(batch), ch.voidPromise());
        }
        for (Publish sent : batch) {
          if (sent.noAck()) {
            Pending done = pending.remove(sent.requestId());
            if (done != null) {
              done.answer()
                  .complete(
                      new PubAck(sent.requestId(), null, -1, -1, PubAck.Durability.MEMORY, false));
            }
          }
        }
      }
      ch.flush();
    } finally {
      flushScheduled.set(false);
    }
    if (!outbox.isEmpty() && ch.isActive()) {
      scheduleFlush();
    }
  }

  // ------------------------------------------------------------------ live

  /** A live subscription or push consumer; {@link #close()} ends it. */
  public final class Subscription implements AutoCloseable {
    private final int sid;

    private Subscription(int sid) {
      this.sid = sid;
    }

    public int sid() {
      return sid;
    }

    /** Widens a push consumer's window by {@code credits} messages. */
    public void grant(int credits) {
      Channel ch = channel;
      if (ch != null && ch.isActive()) {
        ch.writeAndFlush(new Credit(sid, credits));
      }
    }

    @Override
    public void close() {
      Channel ch = channel;
      if (subscriptions.remove(sid) != null && ch != null && ch.isActive()) {
        ch.writeAndFlush(new Unsubscribe(sid, 0));
      }
    }
  }

  /**
   * Subscribes to {@code pattern} (in {@code queueGroup} when not null); {@code handler} gets each
   * message on the callback thread. {@code onDropped}, when not null, hears how many messages the
   * server dropped because this subscription fell behind. Restored after a reconnect.
   */
  public Subscription subscribe(
      String pattern, String queueGroup, Consumer<LiveMessage> handler, Consumer<Long> onDropped) {
    int sid = nextId();
    Consumer<Frame> sink =
        f -> {
          if (f instanceof LiveMessage m) {
            ClientTracing t = tracing;
            if (t.enabled()) {
              t.process(m.subject(), queueGroup, m.headers(), () -> handler.accept(m));
            } else {
              handler.accept(m);
            }
          } else if (f instanceof Dropped d && onDropped != null) {
            onDropped.accept(d.totalDropped());
          }
        };
    return open(sid, new Subscribe(sid, sid, pattern, queueGroup), sink);
  }

  /**
   * Subscribes to {@code pattern} for reading by iteration rather than by handler: messages wait in
   * a buffer of {@code capacity}; when the reader falls that far behind, newer messages are dropped
   * and counted ({@link LiveMessages#dropped()}), as the server does for a slow connection.
   */
  public LiveMessages subscribe(String pattern, String queueGroup, int capacity) {
    LiveMessages messages = new LiveMessages(capacity);
    messages.attach(
        subscribe(pattern, queueGroup, messages::offer, n -> messages.serverDropped.set(n)));
    return messages;
  }

  /** Subscribes with no queue group and no drop notices. */
  public Subscription subscribe(String pattern, Consumer<LiveMessage> handler) {
    return subscribe(pattern, null, handler, null);
  }

  /**
   * Push delivery of a durable consumer as {@code member}: at most {@code credits} messages
   * unacknowledged at once; acknowledge each with {@link #ack} (which returns its credit). Restored
   * after a reconnect.
   */
  public Subscription consume(
      String stream, String consumer, String member, int credits, Consumer<DeliveryEntry> handler) {
    int sid = nextId();
    Consumer<Frame> sink =
        f -> {
          if (f instanceof DeliveryPush d) {
            ClientTracing t = tracing;
            DeliveryEntry e = d.delivery();
            if (t.enabled()) {
              t.process(e.subject(), consumer, e.headers(), () -> handler.accept(e));
            } else {
              handler.accept(e);
            }
          }
        };
    return open(sid, new Consume(sid, sid, credits, stream, consumer, member), sink);
  }

  private Subscription open(int sid, Frame frame, Consumer<Frame> sink) {
    subscriptions.put(sid, new Sub(frame, sink));
    try {
      await(send(requestIdOf(frame), frame));
    } catch (RuntimeException e) {
      subscriptions.remove(sid);
      throw e;
    }
    return new Subscription(sid);
  }

  private static int requestIdOf(Frame f) {
    if (f instanceof Subscribe s) {
      return s.requestId();
    }
    return ((Consume) f).requestId();
  }

  /** The frame that restores {@code sub}, with a fresh request id. */
  private Frame renewed(Sub sub, int requestId) {
    if (sub.frame() instanceof Subscribe s) {
      return new Subscribe(requestId, s.sid(), s.pattern(), s.queueGroup());
    }
    Consume c = (Consume) sub.frame();
    return new Consume(requestId, c.sid(), c.credits(), c.stream(), c.consumer(), c.member());
  }

  /**
   * Sends a request and waits up to {@code timeout} for the first reply; fails with {@code
   * NO_RESPONDERS} at once when nobody subscribes to the subject, {@code REQUEST_TIMEOUT} after the
   * timeout.
   */
  public CompletableFuture<Reply> request(String subject, byte[] payload, Duration timeout) {
    return request(subject, List.of(), payload, timeout);
  }

  /**
   * {@link #request(String, byte[], Duration)} with {@code headers} for the responder (a timeout
   * under 1 ms is sent as 1 ms, the protocol's minimum).
   */
  public CompletableFuture<Reply> request(
      String subject, List<Header> headers, byte[] payload, Duration timeout) {
    int id = nextId();
    io.opentelemetry.api.trace.Span span = null;
    ClientTracing t = tracing;
    if (t.enabled()) {
      headers = new ArrayList<>(headers);
      span =
          t.startOutgoing("request", io.opentelemetry.api.trace.SpanKind.CLIENT, subject, headers);
    }
    return ClientTracing.endOn(
        span,
        send(
                id,
                new Request(
                    id,
                    (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())),
                    subject,
                    headers,
                    payload))
            .thenApply(Reply.class::cast));
  }

  /** Answers a request received by a subscription: publishes to its reply subject. */
  public CompletableFuture<PubAck> reply(LiveMessage request, byte[] payload) {
    return reply(request, List.of(), payload);
  }

  /**
   * Answers a request received by a subscription with {@code headers} (the request's correlation id
   * is copied after them).
   */
  public CompletableFuture<PubAck> reply(
      LiveMessage request, List<Header> headers, byte[] payload) {
    if (request.replyTo() == null) {
      throw new IllegalArgumentException(
          "message on " + request.subject() + " has no reply subject");
    }
    PublishBuilder p = PublishBuilder.to(request.replyTo(), payload);
    for (Header h : headers) {
      p.header(h.key(), h.value());
    }
    for (Header h : request.headers()) {
      if (h.key().equals(Message.CORRELATION_ID)) {
        p.header(h.key(), h.value());
      }
    }
    return publishAsync(p);
  }

  // ------------------------------------------------------------------ durable consumers

  /** Pulls up to {@code max} messages of a consumer, waiting up to {@code waitMs} for the first. */
  public List<DeliveryEntry> fetch(
      String stream, String consumer, String member, int max, int waitMs) {
    int id = nextId();
    Frame f =
        await(
            send(id, new Fetch(id, max, waitMs, stream, consumer, member)),
            waitMs + options.requestTimeoutMs());
    return ((Deliveries) f).deliveries();
  }

  /** Acknowledges a delivery; true when it was still unacknowledged. */
  public boolean ack(String stream, String consumer, DeliveryEntry d) {
    return await(ackAsync(stream, consumer, d));
  }

  /**
   * Acknowledges a delivery without waiting. Acknowledgements made while a frame is being written
   * travel together in one ACKS frame per consumer; the future says whether the delivery was still
   * unacknowledged.
   */
  public CompletableFuture<Boolean> ackAsync(String stream, String consumer, DeliveryEntry d) {
    return queueAck(stream, consumer, AckEntry.ack(d.partition(), d.offset(), d.deliveryCount()));
  }

  /** Gives a delivery back for redelivery after {@code delayMs} (negative: the back-off). */
  public boolean nack(String stream, String consumer, DeliveryEntry d, long delayMs, String error) {
    return await(nackAsync(stream, consumer, d, delayMs, error));
  }

  /** As {@link #nack}, without waiting. */
  public CompletableFuture<Boolean> nackAsync(
      String stream, String consumer, DeliveryEntry d, long delayMs, String error) {
    return queueAck(
        stream,
        consumer,
        AckEntry.nack(d.partition(), d.offset(), d.deliveryCount(), Math.max(-1, delayMs), error));
  }

  /** Restarts a delivery's ack deadline. */
  public boolean inProgress(String stream, String consumer, DeliveryEntry d) {
    return await(
        queueAck(
            stream, consumer, AckEntry.inProgress(d.partition(), d.offset(), d.deliveryCount())));
  }

  /** An acknowledgement waiting to be sent. */
  private record QueuedAck(
      String stream, String consumer, AckEntry entry, CompletableFuture<Boolean> result) {}

  private final ConcurrentLinkedQueue<QueuedAck> ackOutbox = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean ackFlushScheduled = new AtomicBoolean();

  private CompletableFuture<Boolean> queueAck(String stream, String consumer, AckEntry entry) {
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    Channel ch = channel;
    if (state != State.CONNECTED || ch == null || !ch.isActive()) {
      // Not retried: the delivery times out and comes back, which is what an ack lost does.
      result.completeExceptionally(disconnected());
      return result;
    }
    ackOutbox.add(new QueuedAck(stream, consumer, entry, result));
    if (ackFlushScheduled.compareAndSet(false, true)) {
      ch.eventLoop().execute(() -> flushAcks(ch));
    }
    return result;
  }

  /** Network thread: sends the queued acknowledgements, one ACKS frame per consumer and batch. */
  private void flushAcks(Channel ch) {
    ackFlushScheduled.set(false);
    Map<String, List<QueuedAck>> byConsumer = new java.util.LinkedHashMap<>();
    QueuedAck q;
    int taken = 0;
    while (taken < ProtocolLimits.DEFAULT_MAX_BATCH_ENTRIES && (q = ackOutbox.poll()) != null) {
      byConsumer
          .computeIfAbsent(q.stream() + "\u0000" + q.consumer(), k -> new ArrayList<>())
          .add(q);
      taken++;
    }
    for (List<QueuedAck> group : byConsumer.values()) {
      int id = nextId();
      List<AckEntry> entries = new ArrayList<>(group.size());
      for (QueuedAck a : group) {
        entries.add(a.entry());
      }
      send(id, new Acks(id, true, group.get(0).stream(), group.get(0).consumer(), entries))
          .whenComplete(
              (f, e) -> {
                for (int i = 0; i < group.size(); i++) {
                  if (e != null) {
                    group.get(i).result().completeExceptionally(e);
                  } else {
                    group.get(i).result().complete(((Acked) f).applied().get(i));
                  }
                }
              });
    }
    if (!ackOutbox.isEmpty() && ackFlushScheduled.compareAndSet(false, true)) {
      ch.eventLoop().execute(() -> flushAcks(ch));
    }
  }

  // ------------------------------------------------------------------ reads and admin

  /** Every message of {@code subject} in {@code stream} from {@code fromOffset}, at most max. */
  public Messages readSubject(String stream, String subject, long fromOffset, int max) {
    int id = nextId();
    return (Messages) await(send(id, new ReadSubject(id, fromOffset, max, stream, subject)));
  }

  /** The last message on {@code subject} in {@code stream} (empty list when none). */
  public Messages last(String stream, String subject) {
    int id = nextId();
    return (Messages) await(send(id, new Last(id, stream, subject)));
  }

  /**
   * An admin operation with a JSON body (shapes in {@code docs/protocol.md}); returns the JSON
   * answer.
   */
  public String admin(Admin.Op op, String json) {
    int id = nextId();
    AdminReply r =
        (AdminReply) await(send(id, new Admin(id, op, json.getBytes(StandardCharsets.UTF_8))));
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ plumbing

  private int nextId() {
    return ids.updateAndGet(i -> i == Integer.MAX_VALUE ? 1 : i + 1);
  }

  /** Sends a request that is not retried: it fails if the connection is down or drops. */
  private CompletableFuture<Frame> send(int id, Frame f) {
    CompletableFuture<Frame> answer = new CompletableFuture<>();
    Channel ch = channel;
    if (state != State.CONNECTED || ch == null || !ch.isActive()) {
      answer.completeExceptionally(disconnected());
      return answer;
    }
    pending.put(id, new Pending(answer, null));
    ch.writeAndFlush(f)
        .addListener(
            w -> {
              if (!w.isSuccess()) {
                Pending p = pending.remove(id);
                if (p != null) {
                  p.answer().completeExceptionally(disconnected());
                }
              }
            });
    return answer;
  }

  private <T> T await(CompletableFuture<T> f) {
    return await(f, options.requestTimeoutMs());
  }

  private <T> T await(CompletableFuture<T> f, long timeoutMs) {
    try {
      return f.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SwitchboardClientException(ErrorCode.INTERNAL.number(), "interrupted");
    } catch (TimeoutException e) {
      throw new SwitchboardClientException(
          ErrorCode.REQUEST_TIMEOUT.number(),
          "no answer from the server within " + timeoutMs + " ms");
    } catch (ExecutionException e) {
      Throwable c = e.getCause() instanceof CompletionException ce ? ce.getCause() : e.getCause();
      if (c instanceof SwitchboardClientException sce) {
        throw sce;
      }
      throw new SwitchboardClientException(ErrorCode.INTERNAL.number(), String.valueOf(c));
    }
  }

  private SwitchboardClientException disconnected() {
    // CLOSED also follows a loss without reconnect: only close() makes it "client closed".
    String why =
        (closedByCaller ? " (client closed)" : state == State.CLOSED ? "" : " (reconnecting)")
            + (closeReason == null ? "" : ": " + closeReason);
    return new SwitchboardClientException(
        ErrorCode.CONNECTION_LOST.number(),
        ErrorCode.CONNECTION_LOST.format(options.host() + ":" + options.port(), why));
  }

  /** Network thread: the connection is up again; restore subscriptions and unanswered publishes. */
  private void onConnected(Channel ch, Welcome w) {
    boolean reconnect = channel != null;
    welcome = w;
    channel = ch;
    if (readPaused) {
      // Handlers are still behind on what the last connection brought: this one waits too.
      ch.config().setAutoRead(false);
    }
    reconnectAttempt = 0;
    state = State.CONNECTED;
    if (!reconnect) {
      return;
    }
    reconnects.incrementAndGet();
    LOG.info("reconnected to {}:{}", options.host(), options.port());
    for (Sub sub : subscriptions.values()) {
      int id = nextId();
      CompletableFuture<Frame> ok = new CompletableFuture<>();
      pending.put(id, new Pending(ok, null));
      ok.whenComplete(
          (f, e) -> {
            if (e != null) {
              LOG.warn("could not restore subscription {}: {}", sub.frame(), e.getMessage());
            }
          });
      ch.write(renewed(sub, id), ch.voidPromise());
    }
    // Unanswered publishes go first, in their original order, then whatever queued since.
    TreeMap<Integer, Publish> retry = new TreeMap<>();
    pending.forEach(
        (id, p) -> {
          if (p.retry() != null) {
            retry.put(id, p.retry());
          }
        });
    List<Publish> queued = new ArrayList<>();
    Publish q;
    while ((q = outbox.poll()) != null) {
      if (!retry.containsKey(q.requestId())) {
        queued.add(q);
      }
    }
    outbox.addAll(retry.values());
    outbox.addAll(queued);
    ch.flush();
    scheduleFlush();
  }

  /** Network thread: the connection is gone. */
  private void onDisconnected() {
    if (state == State.CLOSED || !options.reconnect()) {
      state = State.CLOSED;
      SwitchboardClientException ex = disconnected();
      pending.values().forEach(p -> p.answer().completeExceptionally(ex));
      pending.clear();
      outbox.clear();
      return;
    }
    state = State.RECONNECTING;
    SwitchboardClientException ex = disconnected();
    pending
        .entrySet()
        .removeIf(
            e -> {
              if (e.getValue().retry() == null) {
                e.getValue().answer().completeExceptionally(ex);
                return true;
              }
              return false;
            });
    // Unacknowledged publishes without an id were dropped above; take them out of the outbox too.
    outbox.removeIf(p -> !pending.containsKey(p.requestId()));
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    long base =
        Math.min(
            options.maxReconnectDelayMs(),
            FIRST_RECONNECT_DELAY_MS << Math.min(20, reconnectAttempt++));
    long delay = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
    group.schedule(
        () -> {
          if (state == State.CLOSED) {
            return;
          }
          dial()
              .whenComplete(
                  (w, e) -> {
                    if (e != null && state != State.CLOSED) {
                      group.execute(this::scheduleReconnect);
                    }
                  });
        },
        delay,
        TimeUnit.MILLISECONDS);
  }

  private final class Handler extends SimpleChannelInboundHandler<Object> {
    CompletableFuture<Welcome> welcomed = new CompletableFuture<>();

    /** This connection's SCRAM exchange ([P-4.5]), or null when HELLO carried all of it. */
    ScramClient scram;

    /** Whether the server proved it knows the user's credential (server-final verified). */
    boolean serverProven;

    /** [P-4.5] server-first: answer with the proof; server-final: check the server's signature. */
    private void onChallenge(ChannelHandlerContext ctx, AuthChallenge c) {
      if (scram == null || serverProven) {
        refuseServer(ctx, "an AUTH_CHALLENGE the client did not ask for");
        return;
      }
      if (!scram.started()) {
        byte[] answer = scram.clientFinal(c.data());
        if (answer == null) {
          refuseServer(ctx, scram.problem());
          return;
        }
        ctx.writeAndFlush(new AuthResponse(answer));
        return;
      }
      if (!scram.verify(c.data())) {
        refuseServer(ctx, scram.problem());
        return;
      }
      serverProven = true;
    }

    /** The handshake fails with {@code SERVER_NOT_PROVEN} and the connection closes. */
    private void refuseServer(ChannelHandlerContext ctx, String why) {
      String message = ErrorCode.SERVER_NOT_PROVEN.format(options.user(), why);
      closeReason = message;
      welcomed.completeExceptionally(
          new SwitchboardClientException(ErrorCode.SERVER_NOT_PROVEN.number(), message));
      ctx.close();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof FrameDecodeFailure failure) {
        closeReason = failure.message();
        ctx.close();
        return;
      }
      Frame f = (Frame) msg;
      // Java 17: no pattern switch; the common frames come first.
      if (f instanceof PubAck a) {
        complete(a.requestId(), a);
      } else if (f instanceof PubAckBatch b) {
        b.acks().forEach(a -> complete(a.requestId(), a));
      } else if (f instanceof LiveMessage m) {
        dispatch(ctx, m.sid(), m);
      } else if (f instanceof DeliveryPush d) {
        dispatch(ctx, d.sid(), d);
      } else if (f instanceof Deliveries d) {
        complete(d.requestId(), d);
      } else if (f instanceof Acked a) {
        complete(a.requestId(), a);
      } else if (f instanceof Ok o) {
        complete(o.requestId(), o);
      } else if (f instanceof Reply r) {
        complete(r.requestId(), r);
      } else if (f instanceof Messages m) {
        complete(m.requestId(), m);
      } else if (f instanceof AdminReply r) {
        complete(r.requestId(), r);
      } else if (f instanceof ErrorFrame e) {
        onError(ctx, e);
      } else if (f instanceof Dropped d) {
        dispatch(ctx, d.sid(), d);
      } else if (f instanceof Welcome w) {
        if (scram != null && !serverProven) {
          refuseServer(ctx, "WELCOME without a verified server signature");
          return;
        }
        onConnected(ctx.channel(), w);
        welcomed.complete(w);
      } else if (f instanceof AuthChallenge c) {
        onChallenge(ctx, c);
      } else if (f instanceof Ping p) {
        ctx.writeAndFlush(new Pong(p.token()));
      } else if (f instanceof Goodbye g) {
        closeReason = g.reason();
        ctx.close();
      }
    }

    private void onError(ChannelHandlerContext ctx, ErrorFrame e) {
      SwitchboardClientException ex = new SwitchboardClientException(e.code(), e.message());
      if (e.requestId() != 0) {
        Pending p = pending.remove(e.requestId());
        if (p != null) {
          p.answer().completeExceptionally(ex);
        }
        return;
      }
      closeReason = ex.getMessage();
      welcomed.completeExceptionally(ex);
      if (e.fatal()) {
        ctx.close();
      }
    }

    private void complete(int requestId, Frame f) {
      Pending p = pending.remove(requestId);
      if (p != null) {
        p.answer().complete(f);
      }
    }

    /**
     * Hands a frame to its handler on the callback thread. Frames queue in order and one task
     * drains whatever has queued, so a burst costs one hand-over between threads, not one per
     * message.
     */
    private void dispatch(ChannelHandlerContext ctx, int sid, Frame f) {
      Sub sub = subscriptions.get(sid);
      if (sub == null) {
        return;
      }
      inbox.add(new Dispatch(sub, f));
      if (inboxSize.incrementAndGet() >= MAX_QUEUED_CALLBACKS && !readPaused) {
        readPaused = true;
        ctx.channel().config().setAutoRead(false);
        if (inboxSize.get() <= MAX_QUEUED_CALLBACKS / 2) {
          // The handlers caught up before they could see the pause: resume here.
          readPaused = false;
          ctx.channel().config().setAutoRead(true);
        }
      }
      if (draining.compareAndSet(false, true)) {
        callbacks.execute(SwitchboardClient.this::drainInbox);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      welcomed.completeExceptionally(disconnected());
      if (ctx.channel() == channel || channel == null) {
        onDisconnected();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      closeReason = String.valueOf(cause.getMessage());
      ctx.close();
    }
  }

  /**
   * Asks the network thread to read again if it paused for the handlers. Pausing and resuming are
   * both decided there, so a resume can never overtake the pause it answers.
   */
  private void resumeReading() {
    Channel ch = channel;
    if (ch == null || !resumeScheduled.compareAndSet(false, true)) {
      return;
    }
    ch.eventLoop()
        .execute(
            () -> {
              resumeScheduled.set(false);
              Channel current = channel; // a reconnect may have replaced ch meanwhile
              if (readPaused && inboxSize.get() <= MAX_QUEUED_CALLBACKS / 2 && current != null) {
                readPaused = false;
                current.config().setAutoRead(true);
              }
            });
  }

  /** Callback thread: runs the handlers of every queued frame, in order. */
  private void drainInbox() {
    do {
      for (Dispatch d; (d = inbox.poll()) != null; ) {
        if (inboxSize.decrementAndGet() <= MAX_QUEUED_CALLBACKS / 2 && readPaused) {
          resumeReading();
        }
        try {
          d.sub().sink().accept(d.frame());
        } catch (RuntimeException e) {
          LOG.warn("a subscription handler failed on {}", d.frame().type(), e);
        }
      }
      draining.set(false);
    } while (!inbox.isEmpty() && draining.compareAndSet(false, true));
  }

  /** Says goodbye and closes the connection and its threads; pending requests fail. */
  @Override
  public void close() {
    State before = state;
    closedByCaller = before != State.CLOSED;
    state = State.CLOSED;
    Channel ch = channel;
    if (ch != null && ch.isActive() && before != State.CLOSED) {
      ch.writeAndFlush(new Goodbye(0, "client closed")).awaitUninterruptibly(1, TimeUnit.SECONDS);
      ch.close().awaitUninterruptibly();
    }
    SwitchboardClientException ex = disconnected();
    pending.values().forEach(p -> p.answer().completeExceptionally(ex));
    pending.clear();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    callbacks.shutdown();
  }
}

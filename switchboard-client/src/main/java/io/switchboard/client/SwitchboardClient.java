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
import io.switchboard.protocol.frame.ReadSubject;
import io.switchboard.protocol.frame.Reply;
import io.switchboard.protocol.frame.Request;
import io.switchboard.protocol.frame.Subscribe;
import io.switchboard.protocol.frame.Unsubscribe;
import io.switchboard.protocol.frame.Welcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A connection to a Switchboard server over the native protocol ({@code docs/protocol.md}).
 * Thread-safe: every method may be called from any thread, and requests pipeline (many in flight,
 * answered in any order). Subscription handlers run on one callback thread per client, in arrival
 * order, never on the network thread — a slow handler delays other handlers of this client, not its
 * network I/O.
 *
 * <p>Not yet: reconnecting after the connection drops (a dropped connection fails every pending
 * request with a retriable error and ends subscriptions; see {@link #isConnected()}), batching
 * publishes into one frame, and idempotent producer ids (issue #4).
 */
public final class SwitchboardClient implements AutoCloseable {
  private final ClientOptions options;
  private final EventLoopGroup group;
  private final ExecutorService callbacks;
  private final Channel channel;
  private final Map<Integer, CompletableFuture<Frame>> pending = new ConcurrentHashMap<>();
  private final Map<Integer, Consumer<Frame>> subscriptions = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();
  private final CompletableFuture<Welcome> welcome = new CompletableFuture<>();
  private volatile String closeReason;

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
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeoutMs())
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new NativeFrameDecoder(Role.CLIENT, ProtocolLimits.DEFAULTS))
                        .addLast(NativeFrameEncoder.INSTANCE)
                        .addLast(new Handler());
                  }
                });
    Channel ch;
    try {
      ch = b.connect(options.host(), options.port()).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      shutdown();
      throw new SwitchboardClientException(
          ErrorCode.BROKER_CLOSED.number(),
          "cannot connect to " + options.host() + ":" + options.port() + ": " + e.getMessage());
    }
    this.channel = ch;
  }

  /**
   * Connects and completes the handshake.
   *
   * @throws SwitchboardClientException when the server cannot be reached or refuses the handshake
   */
  public static SwitchboardClient connect(ClientOptions options) {
    SwitchboardClient c = new SwitchboardClient(options);
    c.channel.writeAndFlush(
        new Hello(
            FrameDescriptor.MIN_VERSION,
            FrameDescriptor.MAX_VERSION,
            FrameDescriptor.FEATURES_V1,
            options.clientName(),
            null));
    try {
      c.welcome.get(options.connectTimeoutMs(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      c.close();
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      if (cause instanceof SwitchboardClientException sce) {
        throw sce;
      }
      throw new SwitchboardClientException(
          ErrorCode.HANDSHAKE_TIMEOUT.number(), "handshake with the server failed: " + cause);
    }
    return c;
  }

  /** Connects to {@code HOST:PORT}. */
  public static SwitchboardClient connect(String address) {
    return connect(ClientOptions.parse(address));
  }

  /** The server's handshake answer: version, features, limits. */
  public Welcome welcome() {
    return welcome.join();
  }

  public boolean isConnected() {
    return channel.isActive();
  }

  // ------------------------------------------------------------------ publish

  /** Publishes; the future completes with where it was stored, or fails with the server's code. */
  public CompletableFuture<PubAck> publishAsync(String subject, byte[] payload) {
    return publishAsync(PublishBuilder.to(subject, payload));
  }

  /** Publishes what {@code p} describes. */
  public CompletableFuture<PubAck> publishAsync(PublishBuilder p) {
    int id = nextId();
    return send(id, p.build(id)).thenApply(PubAck.class::cast);
  }

  /** Publishes and waits for the acknowledgement. */
  public PubAck publish(String subject, byte[] payload) {
    return await(publishAsync(subject, payload));
  }

  /** Publishes what {@code p} describes and waits for the acknowledgement. */
  public PubAck publish(PublishBuilder p) {
    return await(publishAsync(p));
  }

  // ------------------------------------------------------------------ live

  /** A live subscription; {@link #close()} unsubscribes. */
  public final class Subscription implements AutoCloseable {
    private final int sid;

    private Subscription(int sid) {
      this.sid = sid;
    }

    public int sid() {
      return sid;
    }

    @Override
    public void close() {
      if (subscriptions.remove(sid) != null && channel.isActive()) {
        channel.writeAndFlush(new Unsubscribe(sid, 0));
      }
    }
  }

  /**
   * Subscribes to {@code pattern} (in {@code queueGroup} when not null); {@code handler} gets each
   * message on the callback thread. {@code onDropped}, when not null, hears how many messages the
   * server dropped because this subscription fell behind.
   */
  public Subscription subscribe(
      String pattern, String queueGroup, Consumer<LiveMessage> handler, Consumer<Long> onDropped) {
    int sid = nextId();
    int id = nextId();
    subscriptions.put(
        sid,
        f -> {
          if (f instanceof LiveMessage m) {
            handler.accept(m);
          } else if (f instanceof Dropped d && onDropped != null) {
            onDropped.accept(d.totalDropped());
          }
        });
    try {
      await(send(id, new Subscribe(id, sid, pattern, queueGroup)));
    } catch (RuntimeException e) {
      subscriptions.remove(sid);
      throw e;
    }
    return new Subscription(sid);
  }

  /** Subscribes with no queue group and no drop notices. */
  public Subscription subscribe(String pattern, Consumer<LiveMessage> handler) {
    return subscribe(pattern, null, handler, null);
  }

  /**
   * Sends a request and waits up to {@code timeout} for the first reply; fails with {@code
   * NO_RESPONDERS} at once when nobody subscribes to the subject, {@code REQUEST_TIMEOUT} after the
   * timeout.
   */
  public CompletableFuture<Reply> request(String subject, byte[] payload, Duration timeout) {
    int id = nextId();
    return send(
            id,
            new Request(
                id,
                (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()),
                subject,
                List.of(),
                payload))
        .thenApply(Reply.class::cast);
  }

  /** Answers a request received by a subscription: publishes to its reply subject. */
  public CompletableFuture<PubAck> reply(LiveMessage request, byte[] payload) {
    if (request.replyTo() == null) {
      throw new IllegalArgumentException(
          "message on " + request.subject() + " has no reply subject");
    }
    PublishBuilder p = PublishBuilder.to(request.replyTo(), payload);
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
    return acks(stream, consumer, AckEntry.ack(d.partition(), d.offset(), d.deliveryCount()));
  }

  /** Gives a delivery back for redelivery after {@code delayMs} (negative: the back-off). */
  public boolean nack(String stream, String consumer, DeliveryEntry d, long delayMs, String error) {
    return acks(
        stream,
        consumer,
        AckEntry.nack(d.partition(), d.offset(), d.deliveryCount(), Math.max(-1, delayMs), error));
  }

  /** Restarts a delivery's ack deadline. */
  public boolean inProgress(String stream, String consumer, DeliveryEntry d) {
    return acks(
        stream, consumer, AckEntry.inProgress(d.partition(), d.offset(), d.deliveryCount()));
  }

  private boolean acks(String stream, String consumer, AckEntry entry) {
    int id = nextId();
    Acked acked = (Acked) await(send(id, new Acks(id, true, stream, consumer, List.of(entry))));
    return acked.applied().get(0);
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

  private CompletableFuture<Frame> send(int id, Frame f) {
    CompletableFuture<Frame> answer = new CompletableFuture<>();
    if (!channel.isActive()) {
      answer.completeExceptionally(disconnected());
      return answer;
    }
    pending.put(id, answer);
    channel
        .writeAndFlush(f)
        .addListener(
            w -> {
              if (!w.isSuccess()) {
                pending.remove(id);
                answer.completeExceptionally(disconnected());
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
    return new SwitchboardClientException(
        ErrorCode.BROKER_CLOSED.number(),
        "not connected" + (closeReason == null ? "" : ": " + closeReason));
  }

  private final class Handler extends SimpleChannelInboundHandler<Object> {
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
        dispatch(m.sid(), m);
      } else if (f instanceof DeliveryPush d) {
        dispatch(d.sid(), d);
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
        dispatch(d.sid(), d);
      } else if (f instanceof Welcome w) {
        welcome.complete(w);
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
        CompletableFuture<Frame> p = pending.remove(e.requestId());
        if (p != null) {
          p.completeExceptionally(ex);
        }
        return;
      }
      closeReason = ex.getMessage();
      welcome.completeExceptionally(ex);
      if (e.fatal()) {
        ctx.close();
      }
    }

    private void complete(int requestId, Frame f) {
      CompletableFuture<Frame> p = pending.remove(requestId);
      if (p != null) {
        p.complete(f);
      }
    }

    private void dispatch(int sid, Frame f) {
      Consumer<Frame> handler = subscriptions.get(sid);
      if (handler != null) {
        callbacks.execute(() -> handler.accept(f));
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      SwitchboardClientException ex = disconnected();
      welcome.completeExceptionally(ex);
      pending.values().forEach(p -> p.completeExceptionally(ex));
      pending.clear();
      subscriptions.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      closeReason = String.valueOf(cause.getMessage());
      ctx.close();
    }
  }

  /** Says goodbye and closes the connection and its threads. */
  @Override
  public void close() {
    if (channel != null && channel.isActive()) {
      channel
          .writeAndFlush(new Goodbye(0, "client closed"))
          .awaitUninterruptibly(1, TimeUnit.SECONDS);
      channel.close().awaitUninterruptibly();
    }
    shutdown();
  }

  private void shutdown() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    callbacks.shutdown();
  }
}

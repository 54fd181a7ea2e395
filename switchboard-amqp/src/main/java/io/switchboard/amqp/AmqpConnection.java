package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import io.switchboard.core.Message;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.Security;
import io.switchboard.spi.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One AMQP connection: the connection state machine (protocol header, start/start-ok, tune/tune-ok,
 * open, close), its channels, and every method, on the connection's event loop. Frames are handled
 * strictly in order: a method that waits on the broker (a declare, a bind, a get) holds the ones
 * after it, which queue here (bounded: past {@value #MAX_QUEUED} the connection is not read).
 */
final class AmqpConnection extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(AmqpConnection.class);
  private static final AtomicLong IDS = new AtomicLong();
  static final int MAX_QUEUED = 1000;

  /** Protocol header and each handshake method: what the connection waits for next. */
  private enum State {
    HEADER,
    START_OK,
    AUTHENTICATING,
    TUNE_OK,
    OPEN,
    RUNNING,
    CLOSING
  }

  private final AmqpModel model;
  private final Broker broker;
  private final AmqpSettings settings;
  private final AmqpFrameDecoder decoder;
  private final long id = IDS.incrementAndGet();
  private final Map<Integer, Chan> channels = new HashMap<>();
  private final ArrayDeque<AmqpFrame> queued = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private State state = State.HEADER;
  private boolean busy;
  private int channelMax;
  private int frameMax;
  private String user;
  private boolean blockedCapability;
  private boolean blocked;

  /** Reading is paused for the principal's publish quota. */
  private boolean quotaPaused;

  /**
   * A read's frames are being handled (from the first channelRead to channelReadComplete): single
   * acks and publish quota charges wait for its end, so a read of many frames costs the broker one
   * settle and the quota one charge, not one per frame. Loop only.
   */
  private boolean reading;

  /** Publishes of the current read not yet charged to the principal's quota. Loop only. */
  private int unchargedMessages;

  private long unchargedBytes;

  private int unconfirmed;

  /** Bytes of content announced by headers and not yet complete, over all channels. */
  private long pendingContent;

  /** The most content a connection may have partly received at once (all its channels). */
  static final long MAX_PENDING_CONTENT = 64L << 20;

  private long lastRead = System.nanoTime();
  private long lastWrite = System.nanoTime();
  private ScheduledFuture<?> heartbeats;
  private ScheduledFuture<?> closeTimer;

  private final Security security;

  /** Who this connection is, once start-ok was checked; decides every declare, publish, consume. */
  private Access access;

  /**
   * The server's spans ({@link Tracing#OFF}: none): publish, and deliver of what reaches clients.
   */
  private final Tracing tracing;

  /** The {@code switchboard.protocol} attribute of this front end's spans. */
  static final String PROTOCOL = "amqp";

  AmqpConnection(
      AmqpModel model,
      AmqpSettings settings,
      AmqpFrameDecoder decoder,
      Security security,
      Tracing tracing) {
    this.tracing = tracing;
    this.model = model;
    this.broker = model.broker();
    this.settings = settings;
    this.decoder = decoder;
    this.security = security;
  }

  /** A refusal of the rules: 403 ACCESS_REFUSED on the channel, as RabbitMQ's. */
  private void check(Permission permission, String target, String what) {
    if (!access.allows(permission, target)) {
      throw AmqpException.channel(
          AmqpException.ACCESS_REFUSED,
          "access to "
              + what
              + " refused for user '"
              + user
              + "' ("
              + permission.wireName()
              + " on "
              + target
              + ")");
    }
  }

  /** One consumer of a channel. */
  private static final class Consumer {
    final String tag;
    final AmqpModel.Queue queue;
    final boolean noAck;
    final boolean exclusive;
    final String member;
    PushSubscription subscription;
    boolean cancelled;
    Runnable onQueueDeleted;

    /** Counted against the principal's consumer quota until cancelled. */
    boolean counted;

    Consumer(String tag, AmqpModel.Queue queue, boolean noAck, boolean exclusive, String member) {
      this.tag = tag;
      this.queue = queue;
      this.noAck = noAck;
      this.exclusive = exclusive;
      this.member = member;
    }
  }

  /**
   * A publish of a transaction: the message to store (null: routed nowhere) and the basic.return to
   * send at commit (null: none).
   */
  private record TxPublish(Message message, Runnable returned, int bytes) {}

  /** A connection's transactions hold at most this many messages and bytes, together. */
  static final int MAX_TX_MESSAGES = 10_000;

  static final long MAX_TX_BYTES = 64L << 20;

  private int txMessages;
  private long txBytes;

  /** The pseudo-queue of direct reply-to, and the subjects its replies travel on. */
  static final String DIRECT_REPLY = "amq.rabbitmq.reply-to";

  static final String REPLY_SUBJECT_PREFIX = "$AMQP.reply.";

  /** A delivery the client has not acknowledged; {@code consumer} null for basic.get. */
  private record Unacked(
      Delivery delivery, Consumer consumer, String stream, AmqpModel.Queue queue) {}

  /** One channel's state. */
  private final class Chan {
    final int number;
    boolean closing;
    AmqpMethod publish;
    ContentHeader header;
    ByteBuf body;
    boolean confirm;
    long publishSeq;

    /** tx.select was given: publishes and settlements wait for tx.commit. */
    boolean tx;

    final List<TxPublish> txPublishes = new ArrayList<>();
    final List<Runnable> txSettles = new ArrayList<>();

    /** The direct reply-to consumer (amq.rabbitmq.reply-to) of this channel, or null. */
    String replyTag;

    String replyToken;
    io.switchboard.broker.live.LiveSubscription replySubscription;

    /** Confirms are sent in publish order: results that came early wait here for those before. */
    final NavigableMap<Long, Boolean> confirmResults = new TreeMap<>();

    long confirmedUpTo;
    long deliveryTag;
    int prefetch;
    String lastQueue = "";
    final Map<String, Consumer> consumers = new LinkedHashMap<>();
    final NavigableMap<Long, Unacked> unacked = new TreeMap<>();

    /** Members this channel took messages as, with their streams: given back when it closes. */
    final Map<String, String[]> members = new HashMap<>();

    void member(String stream, String member) {
      members.putIfAbsent(stream + "/" + member, new String[] {stream, member});
    }

    Chan(int number) {
      this.number = number;
    }

    String getMember() {
      String m = "amqp-" + id + "-" + number + "-get";
      return m;
    }
  }

  // ------------------------------------------------------------------ Netty

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    lastRead = System.nanoTime();
    reading = true;
    switch (msg) {
      case ProtocolHeader h -> onHeader(h);
      case AmqpException e -> fail(e, 0, null);
      case AmqpFrame f -> {
        if (state == State.HEADER) {
          f.release();
          return;
        }
        queued.add(f);
        if (queued.size() > MAX_QUEUED) {
          ctx.channel().config().setAutoRead(false);
        }
        drain();
      }
      default -> throw new IllegalStateException("unexpected " + msg);
    }
  }

  /**
   * The end of a read (Netty's batch of up to 16 socket reads, every frame decoded from them): the
   * acks and quota charges it gathered go out now, one settle per queue and one charge.
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    reading = false;
    chargeQuota();
    flushAcks();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cleanup();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("amqp connection {}: {}", id, cause.toString());
    ctx.close();
  }

  private void cleanup() {
    if (access != null) {
      access.closeConnection();
    }
    if (heartbeats != null) {
      heartbeats.cancel(false);
    }
    if (closeTimer != null) {
      closeTimer.cancel(false);
    }
    for (AmqpFrame f : queued) {
      f.release();
    }
    queued.clear();
    for (Chan c : new ArrayList<>(channels.values())) {
      releaseChannel(c);
    }
    channels.clear();
    for (AmqpModel.Queue q : model.exclusiveQueues(this)) {
      model
          .deleteQueue(q.name(), false, false, ctx.executor())
          .exceptionally(
              e -> {
                LOG.warn("amqp: exclusive queue {} not deleted: {}", q.name(), e.toString());
                return 0L;
              });
    }
  }

  private void drain() {
    while (!busy && !queued.isEmpty()) {
      AmqpFrame f = queued.poll();
      try {
        frame(f);
      } catch (AmqpException e) {
        fail(e, 0, null);
      } catch (RuntimeException e) {
        LOG.warn("amqp connection {}: internal error", id, e);
        fail(AmqpException.connection(AmqpException.INTERNAL_ERROR, e.toString()), 0, null);
      } finally {
        f.release();
      }
    }
    if (!reading) {
      chargeQuota();
      flushAcks(); // (in a read: at its end, see channelReadComplete)
    }
    if (queued.size() < MAX_QUEUED / 2 && !blocked && !quotaPaused && ctx.channel().isActive()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** Holds later frames until {@code step} completes; its failure closes the channel. */
  private void await(CompletableFuture<?> step, Chan chan, AmqpMethod m, Runnable then) {
    if (step.isDone() && !step.isCompletedExceptionally()) {
      then.run();
      return;
    }
    busy = true;
    step.whenComplete(
        (ok, error) ->
            ctx.executor()
                .execute(
                    () -> {
                      busy = false;
                      try {
                        boolean open = !chan.closing && channels.get(chan.number) == chan;
                        if (open && error != null) {
                          fail(AmqpModel.translate(error), chan.number, m);
                        } else if (open) {
                          then.run();
                        }
                      } catch (AmqpException e) {
                        fail(e, chan.number, m);
                      }
                      drain();
                    }));
  }

  // ------------------------------------------------------------------ writing

  private void send(int channel, AmqpMethod m) {
    ByteBuf payload = ctx.alloc().buffer();
    AmqpMethods.write(m, payload);
    write(new AmqpFrame(AmqpFrame.METHOD, channel, payload));
  }

  private io.netty.channel.ChannelFuture write(AmqpFrame f) {
    lastWrite = System.nanoTime();
    return ctx.writeAndFlush(f);
  }

  /**
   * A method with content: method frame, header frame, body frames of at most frame-max - 8, all
   * encoded into one buffer and written once (one allocation, one trip down the pipeline, one
   * promise per delivery rather than three of each).
   */
  private io.netty.channel.ChannelFuture sendContent(
      int channel, AmqpMethod m, ContentHeader h, byte[] body) {
    int max = frameMax - AmqpFrame.OVERHEAD;
    int bodyFrames = body.length == 0 ? 0 : (body.length + max - 1) / max;
    ByteBuf out = ctx.alloc().ioBuffer(256 + body.length + AmqpFrame.OVERHEAD * (2 + bodyFrames));
    try {
      int at = startFrame(out, AmqpFrame.METHOD, channel);
      AmqpMethods.write(m, out);
      endFrame(out, at);
      at = startFrame(out, AmqpFrame.HEADER, channel);
      h.write(out);
      endFrame(out, at);
      for (int off = 0; off < body.length; off += max) {
        int n = Math.min(max, body.length - off);
        out.writeByte(AmqpFrame.BODY);
        out.writeShort(channel);
        out.writeInt(n);
        out.writeBytes(body, off, n);
        out.writeByte(AmqpFrame.FRAME_END);
      }
    } catch (RuntimeException e) {
      out.release();
      throw e;
    }
    io.netty.channel.ChannelFuture written = ctx.write(out);
    ctx.flush();
    lastWrite = System.nanoTime();
    return written;
  }

  /** Writes a frame's type, channel and a size to fill in; returns where the size goes. */
  private static int startFrame(ByteBuf out, int type, int channel) {
    out.writeByte(type);
    out.writeShort(channel);
    int sizeAt = out.writerIndex();
    out.writeInt(0);
    return sizeAt;
  }

  /** Fills in the size of the frame started at {@code sizeAt} and writes its end octet. */
  private static void endFrame(ByteBuf out, int sizeAt) {
    out.setInt(sizeAt, out.writerIndex() - sizeAt - 4);
    out.writeByte(AmqpFrame.FRAME_END);
  }

  // ------------------------------------------------------------------ errors

  private void fail(AmqpException e, int channel, AmqpMethod m) {
    fail(e, channel, m == null ? 0 : m.classId(), m == null ? 0 : m.methodId());
  }

  /** A soft error closes the channel, a hard one the connection (with connection.close). */
  private void fail(AmqpException e, int channel, int classId, int methodId) {
    if (state == State.CLOSING) {
      return;
    }
    Chan chan = channels.get(channel);
    if (!e.hard() && channel != 0 && chan != null) {
      LOG.debug("amqp connection {} channel {}: {}", id, channel, e.replyText());
      send(channel, AmqpMethod.of("channel.close", e.code(), e.replyText(), classId, methodId));
      releaseChannel(chan);
      chan.closing = true;
      return;
    }
    LOG.debug("amqp connection {}: closing, {}", id, e.replyText());
    int code = e.hard() ? e.code() : AmqpException.INTERNAL_ERROR;
    if (state == State.START_OK && code == AmqpException.ACCESS_REFUSED) {
      // A refused login: connection.close before tune, as RabbitMQ's authentication_failure_close.
      send(0, AmqpMethod.of("connection.close", code, e.replyText(), classId, methodId));
      state = State.CLOSING;
      closeTimer = ctx.executor().schedule(() -> ctx.close(), 5, TimeUnit.SECONDS);
      return;
    }
    if (state.ordinal() < State.TUNE_OK.ordinal()) {
      // Before tune, the spec allows closing the socket straight away; RabbitMQ does so too.
      ctx.close();
      state = State.CLOSING;
      return;
    }
    send(0, AmqpMethod.of("connection.close", code, e.replyText(), classId, methodId));
    state = State.CLOSING;
    for (Chan c : new ArrayList<>(channels.values())) {
      releaseChannel(c);
    }
    closeTimer = ctx.executor().schedule(() -> ctx.close(), 5, TimeUnit.SECONDS);
  }

  /** Stops a channel's consumers and gives back what it held. */
  private void releaseChannel(Chan c) {
    flushAcks();
    if (c.header != null) {
      pendingContent -= c.header.bodySize();
    }
    if (c.body != null) {
      c.body.release();
      c.body = null;
    }
    c.publish = null;
    c.header = null;
    for (Consumer k : c.consumers.values()) {
      cancelConsumer(k);
    }
    c.consumers.clear();
    for (String[] m : c.members.values()) {
      broker.leave(m[0], AmqpModel.CONSUMER, m[1]);
    }
    c.members.clear();
    c.unacked.clear();
    dropTransaction(c);
    if (c.replySubscription != null) {
      c.replySubscription.close();
      c.replySubscription = null;
    }
  }

  private void dropTransaction(Chan c) {
    for (TxPublish p : c.txPublishes) {
      txMessages--;
      txBytes -= p.bytes();
    }
    c.txPublishes.clear();
    c.txSettles.clear();
  }

  private void cancelConsumer(Consumer k) {
    if (k.cancelled) {
      return;
    }
    flushAcks();
    k.cancelled = true;
    releaseConsumer(k);
    if (k.subscription != null) {
      k.subscription.close();
    }
    model.offDelete(k.queue.name(), k.onQueueDeleted);
    if (model.removeConsumer(k.queue.name(), k.exclusive)) {
      model.deleteQueue(k.queue.name(), false, false, ctx.executor()).exceptionally(e -> 0L);
    }
  }

  /** Gives a cancelled consumer's place back to the principal's consumer quota. */
  private void releaseConsumer(Consumer k) {
    if (k.counted) {
      k.counted = false;
      access.closeConsumer();
    }
  }

  // ------------------------------------------------------------------ handshake

  private void onHeader(ProtocolHeader h) {
    if (!h.supported()) {
      ctx.writeAndFlush(Unpooled.wrappedBuffer(ProtocolHeader.AMQP_0_9_1))
          .addListener(ChannelFutureListener.CLOSE);
      state = State.CLOSING;
      return;
    }
    Map<String, Object> capabilities = new LinkedHashMap<>();
    for (String c :
        List.of(
            "publisher_confirms",
            "exchange_exchange_bindings",
            "basic.nack",
            "consumer_cancel_notify",
            "connection.blocked",
            "authentication_failure_close",
            "per_consumer_qos")) {
      capabilities.put(c, c.equals("exchange_exchange_bindings") ? Boolean.FALSE : Boolean.TRUE);
    }
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("capabilities", capabilities);
    props.put("product", "Switchboard");
    props.put("version", "0.1.0");
    props.put("platform", "Java");
    props.put("information", "docs/amqp.md");
    send(0, AmqpMethod.of("connection.start", 0, 9, props, "PLAIN AMQPLAIN", "en_US"));
    state = State.START_OK;
  }

  private void frame(AmqpFrame f) {
    if (state == State.CLOSING) {
      if (f.type() == AmqpFrame.METHOD && f.channel() == 0) {
        AmqpMethod m = AmqpMethods.read(f.payload());
        if (m.is("connection.close-ok")) {
          ctx.close();
        } else if (m.is("connection.close")) {
          send(0, AmqpMethod.of("connection.close-ok"));
          ctx.close();
        }
      }
      return;
    }
    if (f.type() == AmqpFrame.HEARTBEAT) {
      if (f.channel() != 0) {
        throw AmqpException.connection(
            AmqpException.FRAME_ERROR, "heartbeat frame on channel " + f.channel());
      }
      return;
    }
    if (state != State.RUNNING) {
      handshake(f);
      return;
    }
    if (f.channel() == 0) {
      if (f.type() != AmqpFrame.METHOD) {
        throw AmqpException.connection(
            AmqpException.UNEXPECTED_FRAME, "content frame on channel 0");
      }
      AmqpMethod m = AmqpMethods.read(f.payload());
      connectionMethod(m);
      return;
    }
    if (f.channel() > channelMax) {
      throw AmqpException.connection(
          AmqpException.NOT_ALLOWED, "channel " + f.channel() + " above channel-max " + channelMax);
    }
    Chan chan = channels.get(f.channel());
    if (chan != null && chan.closing) {
      if (f.type() == AmqpFrame.METHOD) {
        AmqpMethod m = AmqpMethods.read(f.payload());
        if (m.is("channel.close-ok")) {
          channels.remove(f.channel());
        } else if (m.is("channel.close")) {
          send(f.channel(), AmqpMethod.of("channel.close-ok"));
          channels.remove(f.channel());
        }
      }
      return;
    }
    switch (f.type()) {
      case AmqpFrame.METHOD -> {
        AmqpMethod m = AmqpMethods.read(f.payload());
        if (chan == null) {
          if (!m.is("channel.open")) {
            throw AmqpException.connection(
                AmqpException.CHANNEL_ERROR, "expected 'channel.open' on channel " + f.channel());
          }
          channels.put(f.channel(), new Chan(f.channel()));
          send(f.channel(), AmqpMethod.of("channel.open-ok", new byte[0]));
          return;
        }
        if (chan.publish != null) {
          throw AmqpException.connection(
              AmqpException.UNEXPECTED_FRAME,
              "expected content header for class 60, got " + m.name());
        }
        try {
          channelMethod(chan, m);
        } catch (AmqpException e) {
          fail(e, chan.number, m);
        }
      }
      case AmqpFrame.HEADER -> {
        if (chan == null || chan.publish == null || chan.header != null) {
          throw AmqpException.connection(
              AmqpException.UNEXPECTED_FRAME,
              "unexpected content header frame on channel " + f.channel());
        }
        ContentHeader h = ContentHeader.read(f.payload());
        if (h.bodySize() > io.switchboard.broker.stream.StreamConfig.MAX_MESSAGE_BYTES) {
          AmqpMethod m = chan.publish;
          chan.publish = null;
          fail(
              AmqpException.channel(
                  AmqpException.PRECONDITION_FAILED,
                  "message size "
                      + h.bodySize()
                      + " is larger than the maximum "
                      + io.switchboard.broker.stream.StreamConfig.MAX_MESSAGE_BYTES),
              chan.number,
              m);
          return;
        }
        if (pendingContent + h.bodySize() > MAX_PENDING_CONTENT) {
          throw AmqpException.connection(
              AmqpException.RESOURCE_ERROR,
              "content of "
                  + (pendingContent + h.bodySize())
                  + " bytes in progress on this connection's channels, more than "
                  + MAX_PENDING_CONTENT);
        }
        pendingContent += h.bodySize();
        chan.header = h;
        chan.body = ctx.alloc().buffer((int) Math.min(h.bodySize(), 65536));
        if (h.bodySize() == 0) {
          published(chan);
        }
      }
      case AmqpFrame.BODY -> {
        if (chan == null || chan.header == null) {
          throw AmqpException.connection(
              AmqpException.UNEXPECTED_FRAME,
              "unexpected content body frame on channel " + f.channel());
        }
        if (chan.body.readableBytes() + f.payload().readableBytes() > chan.header.bodySize()) {
          throw AmqpException.connection(
              AmqpException.FRAME_ERROR,
              "content body larger than the header's body size " + chan.header.bodySize());
        }
        chan.body.writeBytes(f.payload());
        if (chan.body.readableBytes() == chan.header.bodySize()) {
          published(chan);
        }
      }
      default ->
          throw AmqpException.connection(AmqpException.FRAME_ERROR, "frame type " + f.type());
    }
  }

  private void handshake(AmqpFrame f) {
    if (f.type() != AmqpFrame.METHOD || f.channel() != 0) {
      throw AmqpException.connection(
          AmqpException.UNEXPECTED_FRAME,
          "frame of type " + f.type() + " on channel " + f.channel() + " during the handshake");
    }
    AmqpMethod m = AmqpMethods.read(f.payload());
    switch (state) {
      case START_OK -> {
        expect(m, "connection.start-ok");
        Map<String, Object> client = m.table(0);
        if (client.get("capabilities") instanceof Map<?, ?> caps) {
          blockedCapability = Boolean.TRUE.equals(caps.get("connection.blocked"));
        }
        String mechanism = m.str(1);
        byte[] response = m.bytes(2);
        String[] credentials = credentials(mechanism, response);
        // The one place AMQP authenticates: PLAIN or AMQPLAIN checked by the security service.
        // Without auth.required, RabbitMQ's default guest login is anonymous; other credentials
        // are checked all the same, so a configured user gets its own rights.
        String login = credentials[0];
        java.net.InetAddress source =
            ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
                ? a.getAddress()
                : null;
        CompletableFuture<Principal> who =
            !security.authRequired() && (login.isEmpty() || login.equals("guest"))
                ? CompletableFuture.completedFuture(Principal.ANONYMOUS)
                : security.authenticator().password(login, credentials[1], source);
        state = State.AUTHENTICATING;
        ctx.channel().config().setAutoRead(false);
        who.whenComplete(
            (principal, e) ->
                ctx.executor()
                    .execute(
                        () -> {
                          ctx.channel().config().setAutoRead(true);
                          if (state != State.AUTHENTICATING) {
                            return; // closed meanwhile
                          }
                          state = State.START_OK;
                          if (e != null) {
                            LOG.info("amqp connection {}: login of {} refused", id, login);
                            fail(
                                AmqpException.connection(
                                    AmqpException.ACCESS_REFUSED,
                                    "Login was refused using authentication mechanism "
                                        + mechanism
                                        + ". For details see the broker logfile."),
                                0,
                                m);
                            return;
                          }
                          Access a = security.access(principal);
                          try {
                            a.openConnection(); // the principal's connection quota
                          } catch (io.switchboard.core.SwitchboardException over) {
                            // As RabbitMQ's per-user connection limit: 530 NOT_ALLOWED.
                            fail(
                                AmqpException.connection(
                                    AmqpException.NOT_ALLOWED, over.getMessage()),
                                0,
                                m);
                            return;
                          }
                          access = a;
                          user = login;
                          send(
                              0,
                              AmqpMethod.of(
                                  "connection.tune",
                                  settings.channelMax(),
                                  (long) settings.frameMax(),
                                  settings.heartbeatSeconds()));
                          state = State.TUNE_OK;
                          ctx.flush();
                        }));
        return;
      }
      case AUTHENTICATING ->
          throw AmqpException.connection(
              AmqpException.UNEXPECTED_FRAME, "a frame while the login is being checked");
      case TUNE_OK -> {
        expect(m, "connection.tune-ok");
        int ch = m.intArg(0);
        long fm = m.longArg(1);
        int hb = m.intArg(2);
        channelMax = ch == 0 ? settings.channelMax() : Math.min(ch, settings.channelMax());
        if (fm != 0 && fm < 4096 || fm > settings.frameMax()) {
          throw AmqpException.connection(
              AmqpException.NOT_ALLOWED,
              "frame-max " + fm + " outside 4096.." + settings.frameMax());
        }
        frameMax = fm == 0 ? settings.frameMax() : (int) fm;
        decoder.frameMax(frameMax);
        if (hb > 0) {
          startHeartbeats(hb);
        }
        state = State.OPEN;
      }
      case OPEN -> {
        expect(m, "connection.open");
        String vhost = m.str(0);
        if (!vhost.equals("/")) {
          throw AmqpException.connection(
              AmqpException.NOT_ALLOWED, "vhost '" + vhost + "' not found");
        }
        send(0, AmqpMethod.of("connection.open-ok", ""));
        state = State.RUNNING;
      }
      default -> throw new IllegalStateException(state.name());
    }
  }

  private static void expect(AmqpMethod m, String name) {
    if (!m.is(name)) {
      throw AmqpException.connection(
          AmqpException.COMMAND_INVALID, "expected '" + name + "', got '" + m.name() + "'");
    }
  }

  /**
   * User name and password of a PLAIN ("\0user\0password") or AMQPLAIN (LOGIN, PASSWORD) response.
   */
  static String[] credentials(String mechanism, byte[] response) {
    switch (mechanism) {
      case "PLAIN" -> {
        String s = new String(response, StandardCharsets.UTF_8);
        String[] parts = s.split("\0", -1);
        if (parts.length != 3) {
          throw AmqpException.connection(AmqpException.ACCESS_REFUSED, "malformed PLAIN response");
        }
        return new String[] {parts[1], parts[2]};
      }
      case "AMQPLAIN" -> {
        // A field table without its length prefix.
        ByteBuf buf = Unpooled.buffer(response.length + 4);
        buf.writeInt(response.length).writeBytes(response);
        Map<String, Object> t = AmqpTypes.readTable(buf);
        Object login = t.get("LOGIN");
        Object password = t.get("PASSWORD");
        if (login == null || password == null) {
          throw AmqpException.connection(
              AmqpException.ACCESS_REFUSED, "AMQPLAIN response without LOGIN and PASSWORD");
        }
        return new String[] {str(login), str(password)};
      }
      default ->
          throw AmqpException.connection(
              AmqpException.ACCESS_REFUSED,
              "unsupported authentication mechanism '" + mechanism + "'; use PLAIN or AMQPLAIN");
    }
  }

  private static String str(Object o) {
    return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
  }

  private void startHeartbeats(int seconds) {
    long periodMs = Math.max(500, seconds * 1000L / 2);
    long timeoutNanos = TimeUnit.SECONDS.toNanos(seconds) * 2;
    heartbeats =
        ctx.executor()
            .scheduleAtFixedRate(
                () -> {
                  long now = System.nanoTime();
                  if (now - lastRead > timeoutNanos) {
                    LOG.info(
                        "amqp connection {}: missed heartbeats from client, timeout {} s",
                        id,
                        seconds);
                    ctx.close();
                    return;
                  }
                  if (now - lastWrite >= TimeUnit.MILLISECONDS.toNanos(periodMs)) {
                    write(new AmqpFrame(AmqpFrame.HEARTBEAT, 0, Unpooled.EMPTY_BUFFER));
                  }
                },
                periodMs,
                periodMs,
                TimeUnit.MILLISECONDS);
  }

  String user() {
    return user;
  }

  // ------------------------------------------------------------------ connection methods

  private void connectionMethod(AmqpMethod m) {
    switch (m.name()) {
      case "connection.close" -> {
        send(0, AmqpMethod.of("connection.close-ok"));
        state = State.CLOSING;
        for (Chan c : new ArrayList<>(channels.values())) {
          releaseChannel(c);
        }
        ctx.close();
      }
      case "connection.close-ok" -> ctx.close();
      case "connection.blocked", "connection.unblocked", "connection.update-secret" -> {
        if (m.is("connection.update-secret")) {
          send(0, AmqpMethod.of("connection.update-secret-ok"));
        }
      }
      default ->
          throw AmqpException.connection(AmqpException.COMMAND_INVALID, m.name() + " on channel 0");
    }
  }

  // ------------------------------------------------------------------ channel methods

  private void channelMethod(Chan c, AmqpMethod m) {
    int n = c.number;
    switch (m.name()) {
      case "channel.open" ->
          throw AmqpException.connection(
              AmqpException.CHANNEL_ERROR, "channel " + n + " is already open");
      case "channel.close" -> {
        releaseChannel(c);
        channels.remove(n);
        send(n, AmqpMethod.of("channel.close-ok"));
      }
      case "channel.close-ok" -> channels.remove(n);
      case "channel.flow" -> send(n, AmqpMethod.of("channel.flow-ok", m.bit(0)));
      case "channel.flow-ok" -> {}
      case "access.request" -> send(n, AmqpMethod.of("access.request-ok", 1));
      case "exchange.declare" -> {
        String name = m.str(1);
        boolean noWait = m.bit(7);
        if (!m.bit(3)) {
          check(Permission.ADMIN, AmqpSubjects.escape(name), "exchange '" + name + "'");
        }
        CompletableFuture<Void> done =
            model.declareExchange(
                name, m.str(2), m.bit(3), m.bit(4), m.bit(5), m.bit(6), ctx.executor());
        await(done, c, m, () -> reply(c, noWait, AmqpMethod.of("exchange.declare-ok")));
      }
      case "exchange.delete" -> {
        boolean noWait = m.bit(3);
        check(Permission.ADMIN, AmqpSubjects.escape(m.str(1)), "exchange '" + m.str(1) + "'");
        await(
            model.deleteExchange(m.str(1), m.bit(2), ctx.executor()),
            c,
            m,
            () -> reply(c, noWait, AmqpMethod.of("exchange.delete-ok")));
      }
      case "exchange.bind", "exchange.unbind" -> {
        boolean bind = m.is("exchange.bind");
        String destination = m.str(1);
        AmqpModel.Exchange source = exchange(m.str(2));
        check(Permission.ADMIN, AmqpSubjects.escape(destination), "exchange '" + destination + "'");
        if (bind
            && access.decide(Permission.SUBSCRIBE, AmqpSubjects.escape(source.name()) + ".>")
                == io.switchboard.spi.security.Decision.DENY) {
          check(
              Permission.SUBSCRIBE,
              AmqpSubjects.escape(source.name()) + ".>",
              "exchange '" + source.name() + "'");
        }
        boolean noWait = m.bit(4);
        if (bind) {
          await(
              model.bindExchange(
                  exchange(destination), source, m.str(3), m.table(5), ctx.executor()),
              c,
              m,
              () -> reply(c, noWait, AmqpMethod.of("exchange.bind-ok")));
        } else {
          await(
              model.unbindExchange(destination, source, m.str(3), m.table(5), ctx.executor()),
              c,
              m,
              () -> reply(c, noWait, AmqpMethod.of("exchange.unbind-ok")));
        }
      }
      case "queue.declare" -> queueDeclare(c, m);
      case "queue.bind", "queue.unbind" -> {
        boolean bind = m.is("queue.bind");
        AmqpModel.Queue q = queue(c, m.str(1));
        AmqpModel.Exchange x = exchange(m.str(2));
        check(Permission.ADMIN, AmqpSubjects.queueSubject(q.name()), "queue '" + q.name() + "'");
        if (bind
            && access.decide(Permission.SUBSCRIBE, AmqpSubjects.escape(x.name()) + ".>")
                == io.switchboard.spi.security.Decision.DENY) {
          check(
              Permission.SUBSCRIBE,
              AmqpSubjects.escape(x.name()) + ".>",
              "exchange '" + x.name() + "'");
        }
        String key = m.str(3);
        boolean noWait = bind && m.bit(4);
        if (bind) {
          await(
              model.bind(q, x, key, m.table(5), ctx.executor()),
              c,
              m,
              () -> reply(c, noWait, AmqpMethod.of("queue.bind-ok")));
        } else {
          await(
              model.unbind(q, x, key, m.table(4), ctx.executor()),
              c,
              m,
              () -> send(n, AmqpMethod.of("queue.unbind-ok")));
        }
      }
      case "queue.purge" -> {
        AmqpModel.Queue q = queue(c, m.str(1));
        check(Permission.ADMIN, AmqpSubjects.queueSubject(q.name()), "queue '" + q.name() + "'");
        boolean noWait = m.bit(2);
        CompletableFuture<Long> done = model.purge(q, ctx.executor());
        await(done, c, m, () -> reply(c, noWait, AmqpMethod.of("queue.purge-ok", done.join())));
      }
      case "queue.delete" -> {
        String name = m.str(1).isEmpty() ? c.lastQueue : m.str(1);
        boolean noWait = m.bit(4);
        AmqpModel.Queue q = model.queue(name);
        if (q != null) {
          check(Permission.ADMIN, AmqpSubjects.queueSubject(name), "queue '" + name + "'");
        }
        if (q != null && q.owner() != null && q.owner() != this) {
          throw AmqpException.channel(
              AmqpException.RESOURCE_LOCKED,
              "cannot obtain exclusive access to locked queue '" + name + "' in vhost '/'");
        }
        CompletableFuture<Long> done = model.deleteQueue(name, m.bit(2), m.bit(3), ctx.executor());
        await(done, c, m, () -> reply(c, noWait, AmqpMethod.of("queue.delete-ok", done.join())));
      }
      case "basic.qos" -> {
        int count = m.intArg(1);
        c.prefetch = count;
        send(n, AmqpMethod.of("basic.qos-ok"));
      }
      case "basic.consume" -> consume(c, m);
      case "basic.cancel" -> {
        String tag = m.str(0);
        if (tag.equals(c.replyTag)) {
          c.replySubscription.close();
          c.replySubscription = null;
          c.replyTag = null;
          c.replyToken = null;
        }
        Consumer k = c.consumers.remove(tag);
        if (k != null) {
          cancelConsumer(k);
          if (k.queue.args().singleActiveConsumer()
              && c.unacked.values().stream().noneMatch(u -> u.consumer() == k)) {
            // The next consumer becomes active now, not when this channel closes.
            c.members.remove(k.queue.stream() + "/" + k.member);
            broker.leave(k.queue.stream(), AmqpModel.CONSUMER, k.member);
          }
        }
        reply(c, m.bit(1), AmqpMethod.of("basic.cancel-ok", tag));
      }
      case "basic.publish" -> {
        String exchange = m.str(1);
        if (m.bit(4)) {
          throw AmqpException.connection(AmqpException.NOT_IMPLEMENTED, "immediate=true");
        }
        AmqpModel.Exchange x = exchange(exchange);
        if (x.internal()) {
          throw AmqpException.channel(
              AmqpException.ACCESS_REFUSED,
              "cannot publish to internal exchange '" + exchange + "' in vhost '/'");
        }
        c.publish = m;
      }
      case "basic.get" -> get(c, m);
      case "basic.ack" -> {
        long tag = m.longArg(0);
        boolean multiple = m.bit(1);
        if (c.tx) {
          knownTag(c, tag, multiple);
          c.txSettles.add(() -> ack(c, tag, multiple));
        } else {
          ack(c, tag, multiple);
        }
      }
      case "basic.reject", "basic.nack" -> {
        long tag = m.longArg(0);
        boolean reject = m.is("basic.reject");
        boolean multiple = !reject && m.bit(1);
        boolean requeue = reject ? m.bit(1) : m.bit(2);
        if (c.tx) {
          knownTag(c, tag, multiple);
          c.txSettles.add(() -> nack(c, tag, multiple, requeue));
        } else {
          nack(c, tag, multiple, requeue);
        }
      }
      case "basic.recover", "basic.recover-async" -> {
        nack(c, 0, true, true);
        if (m.is("basic.recover")) {
          send(n, AmqpMethod.of("basic.recover-ok"));
        }
      }
      case "confirm.select" -> {
        if (c.tx) {
          throw AmqpException.channel(
              AmqpException.PRECONDITION_FAILED, "cannot switch from tx to confirm mode");
        }
        c.confirm = true;
        reply(c, m.bit(0), AmqpMethod.of("confirm.select-ok"));
      }
      case "tx.select" -> {
        if (c.confirm) {
          throw AmqpException.channel(
              AmqpException.PRECONDITION_FAILED, "cannot switch from confirm to tx mode");
        }
        c.tx = true;
        send(n, AmqpMethod.of("tx.select-ok"));
      }
      case "tx.commit" -> {
        if (!c.tx) {
          throw AmqpException.channel(
              AmqpException.PRECONDITION_FAILED, "channel is not transactional");
        }
        List<TxPublish> publishes = new ArrayList<>(c.txPublishes);
        List<Runnable> settles = new ArrayList<>(c.txSettles);
        dropTransaction(c);
        List<CompletableFuture<?>> stored = new ArrayList<>();
        for (TxPublish p : publishes) {
          if (p.returned() != null) {
            p.returned().run();
          }
          if (p.message() != null) {
            stored.add(publishToBroker(p.message()));
          }
        }
        await(
            CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new)),
            c,
            m,
            () -> {
              settles.forEach(Runnable::run);
              send(n, AmqpMethod.of("tx.commit-ok"));
            });
      }
      case "tx.rollback" -> {
        if (!c.tx) {
          throw AmqpException.channel(
              AmqpException.PRECONDITION_FAILED, "channel is not transactional");
        }
        dropTransaction(c);
        send(n, AmqpMethod.of("tx.rollback-ok"));
      }
      default ->
          throw AmqpException.connection(
              AmqpException.COMMAND_INVALID, m.name() + " is not a client method");
    }
  }

  private void reply(Chan c, boolean noWait, AmqpMethod m) {
    if (!noWait) {
      send(c.number, m);
    }
  }

  private AmqpModel.Exchange exchange(String name) {
    AmqpModel.Exchange x = model.exchange(name);
    if (x == null) {
      throw AmqpException.channel(
          AmqpException.NOT_FOUND, "no exchange '" + name + "' in vhost '/'");
    }
    return x;
  }

  private AmqpModel.Queue queue(Chan c, String name) {
    String n = name.isEmpty() ? c.lastQueue : name;
    AmqpModel.Queue q = model.queue(n);
    if (q == null) {
      throw AmqpException.channel(AmqpException.NOT_FOUND, "no queue '" + n + "' in vhost '/'");
    }
    if (q.owner() != null && q.owner() != this) {
      throw AmqpException.channel(
          AmqpException.RESOURCE_LOCKED,
          "cannot obtain exclusive access to locked queue '" + n + "' in vhost '/'");
    }
    return q;
  }

  private void queueDeclare(Chan c, AmqpMethod m) {
    String requested = m.str(1);
    String name =
        requested.isEmpty()
            ? "amq.gen-" + UUID.randomUUID().toString().replace("-", "").substring(0, 22)
            : requested;
    boolean passive = m.bit(2);
    boolean noWait = m.bit(6);
    // A passive declare only looks: consuming the queue is enough for it.
    String target = AmqpSubjects.queueSubject(name);
    if (!access.allows(Permission.ADMIN, target)
        && !(passive && access.allows(Permission.CONSUME, target))) {
      check(Permission.ADMIN, target, "queue '" + name + "'");
    }
    CompletableFuture<AmqpModel.Counts> done =
        model.declareQueue(
            name, passive, m.bit(3), m.bit(4), m.bit(5), m.table(7), this, ctx.executor());
    await(
        done,
        c,
        m,
        () -> {
          c.lastQueue = name;
          AmqpModel.Counts counts = done.join();
          reply(
              c,
              noWait,
              AmqpMethod.of(
                  "queue.declare-ok", name, counts.messages(), (long) counts.consumers()));
        });
  }

  /** The consumer's queue was deleted: basic.cancel to the client (consumer_cancel_notify). */
  private void queueDeleted(Chan c, Consumer k) {
    if (k.cancelled || c.consumers.get(k.tag) != k) {
      return;
    }
    c.consumers.remove(k.tag);
    k.cancelled = true;
    releaseConsumer(k);
    if (k.subscription != null) {
      k.subscription.close();
    }
    if (!c.closing && channels.get(c.number) == c && state != State.CLOSING) {
      send(c.number, AmqpMethod.of("basic.cancel", k.tag, true));
    }
  }

  // ------------------------------------------------------------------ consuming

  private void consume(Chan c, AmqpMethod m) {
    if (m.str(1).equals(DIRECT_REPLY)) {
      consumeReplies(c, m);
      return;
    }
    AmqpModel.Queue q = queue(c, m.str(1));
    check(Permission.CONSUME, AmqpSubjects.queueSubject(q.name()), "queue '" + q.name() + "'");
    String tag = m.str(2).isEmpty() ? "amq.ctag-" + UUID.randomUUID() : m.str(2);
    if (c.consumers.containsKey(tag)) {
      throw AmqpException.connection(
          AmqpException.NOT_ALLOWED, "attempt to reuse consumer tag '" + tag + "'");
    }
    boolean noAck = m.bit(4);
    boolean exclusive = m.bit(5);
    boolean noWait = m.bit(6);
    try {
      access.openConsumer(); // the principal's consumer quota; given back when cancelled
    } catch (io.switchboard.core.SwitchboardException over) {
      // RabbitMQ's code for a consumer limit (consumer_max_per_channel), on this channel only.
      throw AmqpException.channel(
          AmqpException.NOT_ALLOWED,
          "reached maximum ("
              + access.quota().limits().consumers()
              + ") of consumers for "
              + access.principal().id());
    }
    try {
      model.addConsumer(q.name(), exclusive);
    } catch (RuntimeException e) {
      access.closeConsumer();
      throw e;
    }
    String member =
        "amqp-"
            + id
            + "-"
            + c.number
            + "-"
            + tag.hashCode()
            + "-"
            + c.consumers.size()
            + "-"
            + System.nanoTime();
    Consumer k = new Consumer(tag, q, noAck, exclusive, member);
    k.counted = true;
    c.consumers.put(tag, k);
    c.member(q.stream(), member);
    k.onQueueDeleted = () -> ctx.executor().execute(() -> queueDeleted(c, k));
    model.onDelete(q.name(), k.onQueueDeleted);
    reply(c, noWait, AmqpMethod.of("basic.consume-ok", tag));
    int credits =
        c.prefetch <= 0 ? settings.maxPrefetch() : Math.min(c.prefetch, settings.maxPrefetch());
    try {
      k.subscription =
          broker.pushBatches(
              q.stream(),
              AmqpModel.CONSUMER,
              member,
              credits,
              batch -> ctx.executor().execute(() -> deliver(c, k, batch)));
    } catch (RuntimeException e) {
      c.consumers.remove(tag);
      cancelConsumer(k);
      throw AmqpModel.translate(e);
    }
  }

  private void deliver(Chan c, Consumer k, List<Delivery> batch) {
    if (k.cancelled || c.closing || channels.get(c.number) != c || state == State.CLOSING) {
      for (Delivery d : batch) {
        k.subscription.nack(d, 0, "consumer gone");
      }
      return;
    }
    long now = System.currentTimeMillis();
    for (Delivery d : batch) {
      if (expired(k.queue, d, now)) {
        Unacked u = new Unacked(d, k, k.queue.stream(), k.queue);
        deadLetter(u, "expired", () -> k.subscription.nack(d, 0, "dead-letter failed"));
        continue;
      }
      long tag = ++c.deliveryTag;
      String[] route = route(d);
      io.netty.channel.ChannelFuture written =
          sendContent(
              c.number,
              AmqpMethod.of("basic.deliver", k.tag, tag, d.deliveryCount() > 1, route[0], route[1]),
              AmqpMessages.toHeader(delivered(d.message(), AmqpModel.CONSUMER)),
              d.message().payload());
      if (k.noAck) {
        // Acknowledged once written: the credit bounds what waits in the socket's buffer.
        written.addListener(
            f -> {
              if (f.isSuccess()) {
                k.subscription.ack(d);
              } else {
                k.subscription.nack(d, 0, "not written: " + f.cause());
              }
            });
      } else {
        c.unacked.put(tag, new Unacked(d, k, k.queue.stream(), k.queue));
      }
    }
  }

  /** Exchange and routing key a delivery was published with. */
  private static String[] route(Delivery d) {
    return AmqpSubjects.route(d.message());
  }

  private void get(Chan c, AmqpMethod m) {
    AmqpModel.Queue q = queue(c, m.str(1));
    check(Permission.CONSUME, AmqpSubjects.queueSubject(q.name()), "queue '" + q.name() + "'");
    boolean noAck = m.bit(2);
    model.touch(q);
    String member = c.getMember();
    c.member(q.stream(), member);
    CompletableFuture<List<Delivery>> fetched = new CompletableFuture<>();
    broker
        .fetch(q.stream(), AmqpModel.CONSUMER, member, 1, 0)
        .whenComplete(
            (list, error) -> {
              if (error != null) {
                fetched.completeExceptionally(error);
              } else {
                fetched.complete(list);
              }
            });
    CompletableFuture<AmqpModel.Counts> counts =
        fetched.thenCompose(list -> model.counts(q, ctx.executor()));
    await(
        counts,
        c,
        m,
        () -> {
          List<Delivery> list = fetched.join();
          if (list.isEmpty()) {
            send(c.number, AmqpMethod.of("basic.get-empty", ""));
            return;
          }
          Delivery d = list.get(0);
          if (expired(q, d, System.currentTimeMillis())) {
            deadLetter(
                new Unacked(d, null, q.stream(), q),
                "expired",
                () ->
                    broker.nack(
                        q.stream(),
                        AmqpModel.CONSUMER,
                        d.partition(),
                        d.offset(),
                        d.deliveryCount(),
                        0,
                        "dead-letter failed"));
            // The next one, as RabbitMQ drops expired messages at the head: from a fresh stack
            // (many expired messages must not nest calls), later frames held until it is done.
            await(CompletableFuture.runAsync(() -> {}, ctx.executor()), c, m, () -> get(c, m));
            return;
          }
          long tag = ++c.deliveryTag;
          String[] route = route(d);
          sendContent(
              c.number,
              AmqpMethod.of(
                  "basic.get-ok",
                  tag,
                  d.deliveryCount() > 1,
                  route[0],
                  route[1],
                  counts.join().messages()),
              AmqpMessages.toHeader(delivered(d.message(), AmqpModel.CONSUMER)),
              d.message().payload());
          if (noAck) {
            broker.ack(q.stream(), AmqpModel.CONSUMER, d.partition(), d.offset());
          } else {
            c.unacked.put(tag, new Unacked(d, null, q.stream(), q));
          }
        });
  }

  private void ack(Chan c, long tag, boolean multiple) {
    if (!multiple) {
      Unacked u = c.unacked.remove(tag);
      if (u == null) {
        throw AmqpException.channel(
            AmqpException.PRECONDITION_FAILED, "unknown delivery tag " + tag);
      }
      settle(u);
      return;
    }
    flushAcks(); // a cumulative ack counts (and returns credits for) what it finds unacked
    NavigableMap<Long, Unacked> head = tag == 0 ? c.unacked : c.unacked.headMap(tag, true);
    if (tag != 0 && !c.unacked.containsKey(tag) && head.isEmpty()) {
      throw AmqpException.channel(AmqpException.PRECONDITION_FAILED, "unknown delivery tag " + tag);
    }
    // One cumulative ack per consumer (its last delivery up to the tag); gets one by one.
    Map<Consumer, Delivery> last = new LinkedHashMap<>();
    for (Unacked u : head.values()) {
      if (u.consumer() == null) {
        settle(u);
      } else {
        last.put(u.consumer(), u.delivery());
      }
    }
    head.clear();
    for (Map.Entry<Consumer, Delivery> e : last.entrySet()) {
      e.getKey().subscription.ackUpTo(e.getValue());
    }
  }

  /**
   * Consumers' deliveries acknowledged one by one and not yet handed to the broker: sent as one
   * settle per queue when the frames read so far are handled ({@link #flushAcks}), rather than a
   * command and a wake-up of the consumer's agent per basic.ack. Bounded: flushed at {@link
   * #MAX_PENDING_ACKS}.
   */
  private final List<Unacked> pendingAcks = new ArrayList<>();

  static final int MAX_PENDING_ACKS = 1024;

  private void settle(Unacked u) {
    Delivery d = u.delivery();
    if (u.consumer() != null) {
      pendingAcks.add(u);
      if (pendingAcks.size() >= MAX_PENDING_ACKS) {
        flushAcks();
      }
    } else {
      broker.ack(u.stream(), AmqpModel.CONSUMER, d.partition(), d.offset());
    }
  }

  /**
   * Hands the pending acks to the broker: one settle per queue, then the consumers' credits back
   * (the credits after the acks, so the agent sees the acks before it pushes more). Called when the
   * frames read so far are handled and before anything that gives deliveries back (a channel or
   * consumer closing), so an acknowledged delivery is never redelivered for want of its ack.
   */
  private void flushAcks() {
    if (pendingAcks.isEmpty()) {
      return;
    }
    Map<String, List<io.switchboard.broker.consumer.Settlement>> byStream = new LinkedHashMap<>();
    Map<Consumer, Integer> credits = new LinkedHashMap<>();
    for (Unacked u : pendingAcks) {
      Delivery d = u.delivery();
      byStream
          .computeIfAbsent(u.stream(), k -> new ArrayList<>())
          .add(io.switchboard.broker.consumer.Settlement.ack(d.partition(), d.offset()));
      credits.merge(u.consumer(), 1, Integer::sum);
    }
    pendingAcks.clear();
    for (Map.Entry<String, List<io.switchboard.broker.consumer.Settlement>> e :
        byStream.entrySet()) {
      String stream = e.getKey();
      broker
          .settle(stream, AmqpModel.CONSUMER, e.getValue())
          .whenComplete(
              (ok, error) -> {
                if (error != null) {
                  LOG.debug(
                      "amqp connection {}: acks on {} not settled: {}",
                      id,
                      stream,
                      error.toString());
                }
              });
    }
    for (Map.Entry<Consumer, Integer> e : credits.entrySet()) {
      e.getKey().subscription.returnCredits(e.getValue());
    }
  }

  private void nack(Chan c, long tag, boolean multiple, boolean requeue) {
    flushAcks();
    List<Unacked> settled = new ArrayList<>();
    if (multiple) {
      NavigableMap<Long, Unacked> head = tag == 0 ? c.unacked : c.unacked.headMap(tag, true);
      if (tag != 0 && head.isEmpty()) {
        throw AmqpException.channel(
            AmqpException.PRECONDITION_FAILED, "unknown delivery tag " + tag);
      }
      settled.addAll(head.values());
      head.clear();
    } else {
      Unacked u = c.unacked.remove(tag);
      if (u == null) {
        throw AmqpException.channel(
            AmqpException.PRECONDITION_FAILED, "unknown delivery tag " + tag);
      }
      settled.add(u);
    }
    for (Unacked u : settled) {
      Delivery d = u.delivery();
      if (!requeue) {
        deadLetter(u, "rejected", () -> requeue(u));
      } else if (u.consumer() != null) {
        u.consumer().subscription.nack(d, 0, "requeued by the client");
      } else {
        broker.nack(
            u.stream(),
            AmqpModel.CONSUMER,
            d.partition(),
            d.offset(),
            d.deliveryCount(),
            0,
            "requeued by the client");
      }
    }
  }

  /** A settlement in a transaction names a delivery tag this channel holds (406 otherwise). */
  private static void knownTag(Chan c, long tag, boolean multiple) {
    boolean known =
        multiple
            ? tag == 0 || c.unacked.containsKey(tag) || !c.unacked.headMap(tag, true).isEmpty()
            : c.unacked.containsKey(tag);
    if (!known) {
      throw AmqpException.channel(AmqpException.PRECONDITION_FAILED, "unknown delivery tag " + tag);
    }
  }

  /**
   * basic.consume of {@value #DIRECT_REPLY}: a live subscription to a subject of this channel's own
   * ({@value #REPLY_SUBJECT_PREFIX} and a token), which a publish of this channel with that
   * reply-to names as its reply subject; replies come as basic.deliver, without acknowledgement.
   */
  private void consumeReplies(Chan c, AmqpMethod m) {
    if (!m.bit(4)) {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED, "reply consumer cannot acknowledge");
    }
    if (c.replyTag != null) {
      throw AmqpException.channel(AmqpException.PRECONDITION_FAILED, "reply consumer already set");
    }
    String tag = m.str(2).isEmpty() ? "amq.ctag-" + UUID.randomUUID() : m.str(2);
    if (c.consumers.containsKey(tag)) {
      throw AmqpException.connection(
          AmqpException.NOT_ALLOWED, "attempt to reuse consumer tag '" + tag + "'");
    }
    String token = "c" + id + "n" + c.number + "r" + UUID.randomUUID().toString().replace("-", "");
    try {
      c.replySubscription =
          broker
              .live()
              .subscribe(
                  REPLY_SUBJECT_PREFIX + token,
                  null,
                  reply -> {
                    if (c.closing || channels.get(c.number) != c || state == State.CLOSING) {
                      return;
                    }
                    sendContent(
                        c.number,
                        AmqpMethod.of(
                            "basic.deliver",
                            tag,
                            ++c.deliveryTag,
                            false,
                            "",
                            DIRECT_REPLY + "." + token),
                        AmqpMessages.toHeader(delivered(reply, null)),
                        reply.payload());
                  },
                  ctx.executor());
    } catch (RuntimeException e) {
      throw AmqpModel.translate(e);
    }
    c.replyTag = tag;
    c.replyToken = token;
    reply(c, m.bit(6), AmqpMethod.of("basic.consume-ok", tag));
  }

  /** Whether a direct reply-to token is one this server could have made (no subject syntax). */
  private static boolean replyToken(String token) {
    return !token.isEmpty()
        && token.length() <= 100
        && token.chars().allMatch(ch -> ch < 128 && Character.isLetterOrDigit(ch));
  }

  /** Whether a delivery outlived its queue's x-message-ttl (checked as it reaches a consumer). */
  private static boolean expired(AmqpModel.Queue q, Delivery d, long now) {
    long ttl = q.args().messageTtlMs();
    return ttl >= 0 && now - d.message().timestampMs() >= ttl;
  }

  /**
   * Dead-letters a delivery ({@code reason}: rejected, expired) to its queue's dead-letter exchange
   * and then acknowledges it; without one it is acknowledged (dropped). If the dead letter cannot
   * be stored, {@code otherwise} runs instead (the message is given back): nothing acknowledged is
   * lost.
   */
  private void deadLetter(Unacked u, String reason, Runnable otherwise) {
    String[] route = route(u.delivery());
    CompletableFuture<Void> stored;
    try {
      stored = model.deadLetter(u.queue(), u.delivery().message(), reason, route[0], route[1]);
    } catch (RuntimeException e) {
      stored = CompletableFuture.failedFuture(e);
    }
    stored.whenComplete(
        (ok, error) ->
            ctx.executor()
                .execute(
                    () -> {
                      try {
                        if (error == null) {
                          settle(u);
                          flushAcks(); // not in a read: nothing else would send it (or credit)
                        } else {
                          LOG.debug("amqp connection {}: dead-lettering failed: {}", id, error);
                          otherwise.run();
                        }
                      } catch (RuntimeException e) {
                        // The consumer is gone: the delivery comes back on its own (ack timeout).
                        LOG.debug(
                            "amqp connection {}: settling a dead letter: {}", id, e.toString());
                      }
                    }));
  }

  private void requeue(Unacked u) {
    Delivery d = u.delivery();
    if (u.consumer() != null) {
      u.consumer().subscription.nack(d, 0, "dead-letter failed");
    } else {
      broker.nack(
          u.stream(),
          AmqpModel.CONSUMER,
          d.partition(),
          d.offset(),
          d.deliveryCount(),
          0,
          "dead-letter failed");
    }
  }

  // ------------------------------------------------------------------ publishing

  /** Charges the publishes not yet charged to the principal's quota, pausing reads past it. */
  private void chargeQuota() {
    if (unchargedMessages == 0) {
      return;
    }
    int messages = unchargedMessages;
    long bytes = unchargedBytes;
    unchargedMessages = 0;
    unchargedBytes = 0;
    quotaPause(access.quota().publish(messages, bytes));
  }

  /**
   * Past the principal's publish quota the publishes are taken and reading pauses for {@code ms}
   * (issue 18): TCP back-pressure, as RabbitMQ's flow control does.
   */
  private void quotaPause(long ms) {
    if (ms <= 0 || quotaPaused) {
      return;
    }
    quotaPaused = true;
    ctx.channel().config().setAutoRead(false);
    ctx.executor()
        .schedule(
            () -> {
              quotaPaused = false;
              drain();
            },
            ms,
            java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void published(Chan c) {
    AmqpMethod m = c.publish;
    ContentHeader h = c.header;
    pendingContent -= h.bodySize();
    byte[] body = new byte[c.body.readableBytes()];
    c.body.readBytes(body);
    c.body.release();
    c.body = null;
    c.publish = null;
    c.header = null;
    String exchange = m.str(1);
    String key = m.str(2);
    boolean mandatory = m.bit(3);
    long seq = c.confirm ? ++c.publishSeq : 0;
    AmqpModel.Exchange x = model.exchange(exchange);
    if (x == null) {
      fail(
          AmqpException.channel(
              AmqpException.NOT_FOUND, "no exchange '" + exchange + "' in vhost '/'"),
          c.number,
          m);
      return;
    }
    Map<String, Object> headers = h.headers();
    String replyToken =
        exchange.isEmpty() && key.startsWith(DIRECT_REPLY + ".")
            ? key.substring(DIRECT_REPLY.length() + 1)
            : null;
    if (replyToken != null && !replyToken(replyToken)) {
      replyToken = null; // not one of ours: an ordinary queue name
    }
    // A reply goes to its requester's subject whether or not it still listens, as RabbitMQ's.
    boolean routable =
        replyToken != null || model.routable(x, key, headers == null ? Map.of() : headers);
    Runnable returned = null;
    if (mandatory && !routable) {
      returned =
          () ->
              sendContent(
                  c.number,
                  AmqpMethod.of("basic.return", AmqpException.NO_ROUTE, "NO_ROUTE", exchange, key),
                  h,
                  body);
      if (!c.tx) {
        returned.run();
      }
    }
    String subject =
        replyToken != null
            ? REPLY_SUBJECT_PREFIX + replyToken
            : exchange.isEmpty()
                ? AmqpSubjects.queueSubject(key)
                : AmqpSubjects.subject(exchange, key);
    if (!access.allows(Permission.PUBLISH, subject)) {
      fail(
          AmqpException.channel(
              AmqpException.ACCESS_REFUSED,
              "access to exchange '"
                  + exchange
                  + "' refused for user '"
                  + user
                  + "' (publish on "
                  + subject
                  + ")"),
          c.number,
          m);
      return;
    }
    unchargedMessages++; // charged at the end of the read (chargeQuota), one lock for them all
    unchargedBytes += body.length;
    if (!reading) {
      chargeQuota();
    }
    Message message;
    try {
      message = AmqpMessages.toMessage(subject, h, body, System.currentTimeMillis());
    } catch (AmqpException e) {
      fail(e, c.number, m);
      return;
    }
    if (DIRECT_REPLY.equals(h.properties()[ContentHeader.REPLY_TO])) {
      if (c.replyToken == null) {
        fail(
            AmqpException.channel(
                AmqpException.PRECONDITION_FAILED, "fast reply consumer does not exist"),
            c.number,
            m);
        return;
      }
      message = message.withReplyTo(REPLY_SUBJECT_PREFIX + c.replyToken);
    }
    if (c.tx) {
      if (txMessages >= MAX_TX_MESSAGES || txBytes + body.length > MAX_TX_BYTES) {
        fail(
            AmqpException.channel(
                AmqpException.PRECONDITION_FAILED,
                "transactions of this connection hold "
                    + txMessages
                    + " messages, "
                    + txBytes
                    + " bytes: at most "
                    + MAX_TX_MESSAGES
                    + " and "
                    + MAX_TX_BYTES
                    + " (commit sooner)"),
            c.number,
            m);
        return;
      }
      txMessages++;
      txBytes += body.length;
      c.txPublishes.add(
          new TxPublish(exchange.isEmpty() && !routable ? null : message, returned, body.length));
      return;
    }
    if (exchange.isEmpty() && !routable) {
      confirm(c, seq, true); // nowhere to go, as RabbitMQ: confirmed
      return;
    }
    unconfirmed++;
    if (unconfirmed >= settings.maxUnconfirmed() && !blocked) {
      blocked = true;
      ctx.channel().config().setAutoRead(false);
      if (blockedCapability) {
        send(0, AmqpMethod.of("connection.blocked", "publishes waiting for storage"));
      }
    }
    Message published = message;
    publishToBroker(message)
        .whenComplete(
            (ack, error) -> {
              CompletableFuture<Void> dead =
                  model.deadLetterRefused(published, exchange, key, error);
              if (dead == null) {
                publishDone(c, seq, subject, error);
              } else {
                dead.whenComplete((ok, e) -> publishDone(c, seq, subject, error));
              }
            });
  }

  /** basic.publish to the broker, with its {@code publish} span (none when tracing is off). */
  private CompletableFuture<?> publishToBroker(Message message) {
    Tracing.Op span = tracing.publish(PROTOCOL, message);
    return span == null
        ? broker.publish(message, PublishOptions.NONE)
        : span.stored(broker.publish(span.message(), PublishOptions.NONE));
  }

  /** A delivery's message as the client gets it: with its {@code deliver} span's context. */
  private Message delivered(Message message, String consumer) {
    return tracing.deliver(PROTOCOL, message, consumer); // OFF: message itself
  }

  /** A publish's outcome, on whichever thread stored it: handed to the loop with the others. */
  private record PublishDone(Chan chan, long seq, String subject, Throwable error) {}

  /**
   * Outcomes of publishes not yet handled on the loop. Bounded by the publishes in flight ({@code
   * unconfirmed}, at most {@link AmqpSettings#maxUnconfirmed()} before reading stops).
   */
  private final java.util.concurrent.ConcurrentLinkedQueue<PublishDone> publishesDone =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private final java.util.concurrent.atomic.AtomicBoolean publishesDoneScheduled =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Any thread: queues a publish's outcome and hops to the loop once for all that arrive meanwhile
   * — a group commit completes its publishes one after the other on the storage's thread, and one
   * task per publish (each a wake-up of the loop and a confirm frame of its own) cost more than the
   * publish itself on a busy machine.
   */
  private void publishDone(Chan c, long seq, String subject, Throwable error) {
    publishesDone.add(new PublishDone(c, seq, subject, error));
    if (publishesDoneScheduled.compareAndSet(false, true)) {
      ctx.executor().execute(this::handlePublishesDone);
    }
  }

  /** Loop: every publish outcome queued so far, then one confirm per channel (multiple=true). */
  private void handlePublishesDone() {
    publishesDoneScheduled.set(false);
    Set<Chan> touched = new java.util.LinkedHashSet<>();
    PublishDone d;
    while ((d = publishesDone.poll()) != null) {
      unconfirmed--;
      if (d.error() != null) {
        LOG.debug(
            "amqp connection {}: publish to {} failed: {}", id, d.subject(), d.error().toString());
      }
      if (record(d.chan(), d.seq(), d.error() == null)) {
        touched.add(d.chan());
      }
    }
    for (Chan c : touched) {
      sendConfirms(c);
    }
    if (blocked && unconfirmed < settings.maxUnconfirmed() / 2) {
      blocked = false;
      if (blockedCapability && state != State.CLOSING) {
        send(0, AmqpMethod.of("connection.unblocked"));
      }
      drain();
    }
  }

  /**
   * Records a publish's outcome and sends the confirms now due, in publish order: a run of
   * successes as one basic.ack with multiple=true, a failure as basic.nack.
   */
  private void confirm(Chan c, long seq, boolean ok) {
    if (record(c, seq, ok)) {
      sendConfirms(c);
    }
  }

  /** Records a publish's outcome; false when no confirm is due for it (none asked, or closed). */
  private boolean record(Chan c, long seq, boolean ok) {
    if (seq == 0 || c.closing || channels.get(c.number) != c || state == State.CLOSING) {
      return false;
    }
    c.confirmResults.put(seq, ok);
    return true;
  }

  /** Sends the confirms due on {@code c}, in publish order (see {@link #confirm}). */
  private void sendConfirms(Chan c) {
    if (c.closing || channels.get(c.number) != c || state == State.CLOSING) {
      return;
    }
    long first = 0;
    long acked = 0;
    Boolean next;
    while ((next = c.confirmResults.remove(c.confirmedUpTo + 1)) != null) {
      c.confirmedUpTo++;
      if (next) {
        first = first == 0 ? c.confirmedUpTo : first;
        acked = c.confirmedUpTo;
      } else {
        if (acked != 0) {
          send(c.number, AmqpMethod.of("basic.ack", acked, acked > first));
          first = acked = 0;
        }
        send(c.number, AmqpMethod.of("basic.nack", c.confirmedUpTo, false, false));
      }
    }
    if (acked != 0) {
      send(c.number, AmqpMethod.of("basic.ack", acked, acked > first));
    }
  }
}

package io.switchboard.spi.session;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Futures;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.Outbound;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The per-connection plumbing every front end needs, written once (issue 13, REVIEW §6.2): a
 * protocol composes one per connection (native, WebSocket JSON, MQTT; an AMQP channel, a gRPC
 * stream) and plugs in only its frames ({@link SessionFraming}).
 *
 * <ul>
 *   <li><b>Subscriptions by id</b> with a limit: {@link #admit}, {@link #add}, {@link #remove};
 *       each is a {@link Feed} the session closes when the connection ends.
 *   <li><b>Push consumers with credits</b> and a close that never blocks: {@link #push}.
 *   <li><b>In-flight accounting</b> with auto-read back-pressure: {@link #track} (or {@link
 *       #started}/{@link #finished}); reading stops at the high water mark and resumes below the
 *       low one. {@link #holdReading} stops it for a protocol's own reasons (a credential being
 *       checked, a session step).
 *   <li><b>The slow-reader policy</b>, measured through Netty's public writability API ({@code
 *       isWritable}, {@code bytesBeforeUnwritable}; never {@code Channel.unsafe()}): past {@link
 *       SessionLimits#dropLiveAboveBytes} a live message is dropped ({@link #offerLive}), counted,
 *       and a notice is sent once the queue drains; past {@link SessionLimits#cutOffAboveBytes} the
 *       channel turns unwritable and the connection is cut off with {@code SLOW_CONSUMER}.
 *   <li><b>The hop to the loop</b>: {@link #onLoop(Runnable)}, {@link #onLoop(CompletableFuture)}.
 *   <li><b>The fatal close</b>: {@link #fatal}, {@link #closeWith}: the last frame, then a close
 *       (or a half-close) within {@link SessionLimits#lingerMs}.
 * </ul>
 *
 * <p>Thread safety: confined to the connection's event loop, like the handler that owns it; the
 * only entries from other threads are the hops ({@link #onLoop}) and the push hand-over, which post
 * onto the loop. The owning handler forwards {@code channelWritabilityChanged} to {@link
 * #writabilityChanged} and {@code channelInactive} to {@link #closed}.
 *
 * @param <K> the protocol's subscription id
 */
public final class ConnectionSession<K> {
  /** What a subscription of the connection is, to the session: something to close. */
  @FunctionalInterface
  public interface Feed {
    /** Stops it. Called on the loop; must not block. */
    void close();
  }

  /** Milliseconds between checks whether a slow reader's queue drained enough to tell it. */
  public static final long DROP_NOTICE_CHECK_MS = 50;

  private final ChannelHandlerContext ctx;
  private final SessionLimits limits;
  private final SessionFraming<K> framing;

  /** Subscriptions by id, in the order made, with their drop counts. */
  private final Map<K, Entry> subscriptions = new LinkedHashMap<>();

  /** Push feeds by stream and consumer (the last made), for acks that name the consumer. */
  private final Map<String, SessionPush> pushByConsumer = new HashMap<>();

  private int inFlight;
  private int readHolds;

  /** The connection's access, once it authenticated: subscriptions count against its quota. */
  private io.switchboard.spi.security.Access access;

  /** Whether reading is stopped for a quota's pause. */
  private boolean quotaPaused;

  private boolean pausedForInFlight;
  private boolean closing;
  private long droppedTotal;

  /**
   * A session for the connection of {@code ctx}; call on its event loop. When the limits cut slow
   * readers off, the channel's water marks are set to {@link SessionLimits#waterMarks()}.
   */
  public ConnectionSession(
      ChannelHandlerContext ctx, SessionLimits limits, SessionFraming<K> framing) {
    this.ctx = ctx;
    this.limits = limits;
    this.framing = framing;
    WriteBufferWaterMark marks = limits.waterMarks();
    if (marks != null) {
      ctx.channel().config().setWriteBufferWaterMark(marks);
    }
  }

  public SessionLimits limits() {
    return limits;
  }

  /** The connection's event loop: the executor every future a front end gets completes on. */
  public EventExecutor loop() {
    return ctx.executor();
  }

  /** Whether the connection is ending (fatal close, or closed): nothing more is written. */
  public boolean closing() {
    return closing || !ctx.channel().isActive();
  }

  // ------------------------------------------------------------------ the hop to the loop

  /**
   * Runs {@code task} on the loop: now when called there, else posted. A loop that refuses (it is
   * shutting down, and the connection with it) drops the task.
   */
  public void onLoop(Runnable task) {
    EventExecutor loop = ctx.executor();
    if (loop.inEventLoop()) {
      task.run();
      return;
    }
    try {
      loop.execute(task);
    } catch (RejectedExecutionException stopping) {
      // the loop and its connections are gone; nobody is left to answer
    }
  }

  /**
   * A future completing as {@code f} does, on the loop, its failure unwrapped ({@link
   * Futures#completeOn}). For a future completing elsewhere (a live request, a credential check); a
   * broker call that takes the loop as its executor needs no second hop.
   */
  public <T> CompletableFuture<T> onLoop(CompletableFuture<T> f) {
    return Futures.completeOn(f, ctx.executor());
  }

  // ------------------------------------------------------------------ in flight and auto-read

  /** One more operation in progress; at the high water mark the connection stops reading. */
  public void started() {
    if (++inFlight >= limits.inFlightHighWater() && !pausedForInFlight) {
      pausedForInFlight = true;
      updateAutoRead();
    }
  }

  /** An operation answered; below the low water mark the connection reads again. */
  public void finished() {
    inFlight = Math.max(0, inFlight - 1);
    if (pausedForInFlight && inFlight < limits.inFlightLowWater()) {
      pausedForInFlight = false;
      updateAutoRead();
    }
  }

  /** Operations in progress. */
  public int inFlight() {
    return inFlight;
  }

  /**
   * Counts {@code work} in progress until it completes, and hands its outcome over on the loop (the
   * count already taken back, the failure unwrapped). Call on the loop. A broker call given the
   * loop as its executor already completes there: count it with {@link #started}/{@link #finished}
   * around it instead, which saves a hop.
   */
  public <T> CompletableFuture<T> track(CompletableFuture<T> work) {
    started();
    CompletableFuture<T> out = new CompletableFuture<>();
    onLoop(work)
        .whenComplete(
            (r, e) -> {
              finished();
              if (e != null) {
                out.completeExceptionally(e);
              } else {
                out.complete(r);
              }
            });
    return out;
  }

  /**
   * Stops reading for the protocol's own reason until a matching {@link #resumeReading} (holds
   * nest): a credential being checked, a session step whose packets must wait.
   */
  public void holdReading() {
    readHolds++;
    updateAutoRead();
  }

  /** Ends one {@link #holdReading}. */
  public void resumeReading() {
    if (readHolds > 0) {
      readHolds--;
    }
    updateAutoRead();
  }

  /**
   * A quota asked this connection to wait: stops reading for {@code pauseMs} milliseconds (a pause
   * already running is not extended; the next charge after it asks again). 0 does nothing.
   */
  public void pauseReadingFor(long pauseMs) {
    if (pauseMs <= 0 || quotaPaused || closing()) {
      return;
    }
    quotaPaused = true;
    holdReading();
    ctx.executor()
        .schedule(
            () -> {
              quotaPaused = false;
              resumeReading();
            },
            pauseMs,
            TimeUnit.MILLISECONDS);
  }

  /** Whether reading is paused for a quota now. */
  public boolean pausedForQuota() {
    return quotaPaused;
  }

  /**
   * Counts this connection's subscriptions (live and push) against {@code access}'s quota of
   * subscriptions and consumers from now on: {@link #admit} refuses past it ({@code
   * QUOTA_CONSUMERS}), and each one removed or closed gives its place back.
   */
  public void meterSubscriptions(io.switchboard.spi.security.Access access) {
    this.access = access;
  }

  private void updateAutoRead() {
    boolean read = readHolds == 0 && !pausedForInFlight;
    if (ctx.channel().config().isAutoRead() != read) {
      ctx.channel().config().setAutoRead(read);
    }
  }

  // ------------------------------------------------------------------ subscriptions

  /**
   * Checks that a new subscription may take {@code id}: unused, and within the limit. Codes:
   * SUBSCRIPTION_EXISTS, TOO_MANY_SUBSCRIPTIONS.
   */
  public void admit(K id) {
    if (subscriptions.containsKey(id)) {
      throw SwitchboardException.of(ErrorCode.SUBSCRIPTION_EXISTS, id);
    }
    if (subscriptions.size() >= limits.maxSubscriptions()) {
      throw SwitchboardException.of(ErrorCode.TOO_MANY_SUBSCRIPTIONS, limits.maxSubscriptions());
    }
    if (access != null) {
      long max = access.quota().limits().consumers();
      if (max > 0 && access.quota().consumers() >= max) {
        access.openConsumer(); // throws QUOTA_CONSUMERS, and counts the refusal
      }
    }
  }

  /**
   * Holds {@code feed} under {@code id} ({@link #admit}ted first); it is closed when removed or
   * when the connection ends. A connection already ending closes it at once. Codes: those of {@link
   * #admit}.
   */
  public void add(K id, Feed feed) {
    admit(id);
    if (closing) {
      feed.close();
      return;
    }
    Entry entry = new Entry(id, feed);
    subscriptions.put(id, entry);
    entry.counted = opened();
  }

  /** The subscription under {@code id}, or null. */
  public Feed get(K id) {
    Entry e = subscriptions.get(id);
    return e == null ? null : e.feed;
  }

  public boolean contains(K id) {
    return subscriptions.containsKey(id);
  }

  /** How many subscriptions the connection holds. */
  public int subscriptions() {
    return subscriptions.size();
  }

  /** Removes and closes the subscription under {@code id}; null when there was none. */
  public Feed remove(K id) {
    Entry e = subscriptions.remove(id);
    if (e == null) {
      return null;
    }
    if (e.feed instanceof SessionPush push) {
      pushByConsumer.remove(push.key(), push);
    }
    closedOne(e);
    e.feed.close();
    return e.feed;
  }

  private boolean opened() {
    if (access == null) {
      return false;
    }
    try {
      access.openConsumer();
      return true;
    } catch (SwitchboardException overBy) {
      // Admitted while under the quota, but another connection of the principal took the last
      // place meanwhile: this one is kept uncounted (refusing after the broker accepted it would
      // leak it).
      return false;
    }
  }

  private void closedOne(Entry e) {
    if (e.counted) {
      e.counted = false;
      access.closeConsumer();
    }
  }

  /** Closes every subscription (the connection ends). */
  public void closeAll() {
    List<Entry> all = new ArrayList<>(subscriptions.values());
    subscriptions.clear();
    pushByConsumer.clear();
    for (Entry e : all) {
      closedOne(e);
      e.feed.close();
    }
  }

  // ------------------------------------------------------------------ push consumers

  /**
   * Starts push delivery of a durable consumer under subscription {@code id}: the consumer's agent
   * hands this member at most {@code credits} unsettled messages at once, each duty cycle's batch
   * hops to the loop as one task, and {@code sink} gets it there (write the deliveries, flush
   * once). A batch that reaches the loop after the feed closed, or while the connection ends, is
   * given back at once (a nack without delay) rather than left to its ack timeout. Closing never
   * blocks. Codes: those of {@link #admit}, and of {@link Broker#pushBatches} (CONSUMER_NOT_FOUND,
   * STREAM_NOT_FOUND, INVALID_ARGUMENT, BROKER_CLOSED).
   */
  public SessionPush push(
      K id,
      Broker broker,
      String stream,
      String consumer,
      String member,
      int credits,
      Consumer<List<Delivery>> sink) {
    admit(id);
    SessionPush feed = new SessionPush(this, stream, consumer, sink);
    // The agent's thread only posts: the sink runs on the loop, after this method has returned.
    feed.open(
        broker.pushBatches(stream, consumer, member, credits, batch -> handOver(feed, batch)));
    add(id, feed);
    if (!closing) { // an ending connection's add closed it at once
      pushByConsumer.put(feed.key(), feed);
    }
    return feed;
  }

  /** The agent's thread: posts the batch to the loop (a refusing loop throws: the agent nacks). */
  private void handOver(SessionPush feed, List<Delivery> batch) {
    ctx.executor().execute(() -> feed.arrived(batch));
  }

  /**
   * The push feed of this connection on {@code stream}/{@code consumer} (the last made), or null.
   */
  public SessionPush pushFor(String stream, String consumer) {
    return pushByConsumer.get(SessionPush.key(stream, consumer));
  }

  // ------------------------------------------------------------------ live messages

  /**
   * A live sink for subscription {@code id} (call the broker's subscribe with the loop as its
   * executor, then {@link #add} the subscription under {@code id}): each message {@code wants}
   * accepts passes the slow-reader policy ({@link #offerLive}) and goes to {@code write}, which
   * writes it without flushing ({@link #write(Object, boolean)}); each drained batch is flushed
   * once; drops of the live bus's mailbox count as the connection's own.
   */
  public LiveSink liveSink(K id, Predicate<Message> wants, Consumer<Message> write) {
    return new LiveSink() {
      @Override
      public void onMessage(Message message) {
        if (closing || !subscriptions.containsKey(id) || !wants.test(message)) {
          return;
        }
        if (offerLive(id)) {
          write.accept(message);
        }
      }

      @Override
      public void onBatchEnd() {
        if (!closing) {
          ctx.flush();
        }
      }

      @Override
      public void onDropped(long totalDropped) {
        busDropped(id, totalDropped);
      }
    };
  }

  /**
   * Whether a live (at-most-once) message for {@code id} may be written now. Past {@link
   * SessionLimits#dropLiveAboveBytes} it may not: it counts as dropped and a notice is owed, sent
   * once the queue is back under the line. Before a message that may go, an owed notice goes first.
   */
  public boolean offerLive(K id) {
    if (limits.dropsLive() && pendingBytes() > limits.dropLiveAboveBytes()) {
      dropped(id, 1);
      return false;
    }
    Entry e = subscriptions.get(id);
    if (e != null) {
      e.tellIfDue();
    }
    return true;
  }

  /** The live bus dropped for subscription {@code id} before the message reached us: a total. */
  public void busDropped(K id, long totalDropped) {
    Entry e = subscriptions.get(id);
    if (e != null && totalDropped > e.busDropped) {
      long n = totalDropped - e.busDropped;
      e.busDropped = totalDropped;
      dropped(id, n);
    }
  }

  /**
   * Counts {@code n} messages dropped for subscription {@code id} (null: for the connection as a
   * whole, no notice) and schedules the notice.
   */
  public void dropped(K id, long n) {
    droppedTotal += n;
    Entry e = id == null ? null : subscriptions.get(id);
    if (e != null) {
      e.dropped += n;
      e.scheduleCheck();
    }
  }

  /** Messages dropped for this connection so far, every subscription together. */
  public long dropped() {
    return droppedTotal;
  }

  // ------------------------------------------------------------------ writing and slow readers

  /** Bytes queued for writing and not yet written ({@link Outbound#pendingBytes}). */
  public long pendingBytes() {
    return Outbound.pendingBytes(ctx.channel());
  }

  /**
   * Writes {@code msg} (ownership passes; flushed when {@code flush}): false, and {@code msg}
   * released, when the connection is ending or the reader has fallen past the cut-off, which this
   * write then ends with {@code SLOW_CONSUMER}.
   */
  public boolean write(Object msg, boolean flush) {
    if (closing || cutOffIfSlow()) {
      ReferenceCountUtil.release(msg);
      return false;
    }
    if (flush) {
      ctx.writeAndFlush(msg, ctx.voidPromise());
    } else {
      ctx.write(msg, ctx.voidPromise());
    }
    return true;
  }

  /** Writes and flushes {@code msg}: {@link #write(Object, boolean)}. */
  public boolean write(Object msg) {
    return write(msg, true);
  }

  /** Flushes what was written. */
  public void flush() {
    if (!closing) {
      ctx.flush();
    }
  }

  /** The owning handler's {@code channelWritabilityChanged}: an unwritable channel is cut off. */
  public void writabilityChanged() {
    cutOffIfSlow();
  }

  /**
   * Past the cut-off (the channel's high water mark: {@code isWritable()} false) the reader is too
   * slow: the connection ends with {@code SLOW_CONSUMER} rather than grow the server's memory.
   */
  private boolean cutOffIfSlow() {
    Channel ch = ctx.channel();
    if (!limits.cutsOff() || ch.isWritable() || !ch.isActive()) {
      return false;
    }
    fatal(
        ErrorCode.SLOW_CONSUMER,
        ErrorCode.SLOW_CONSUMER.format(pendingBytes(), limits.cutOffAboveBytes()));
    return true;
  }

  // ------------------------------------------------------------------ the end

  /** Ends the connection for {@code code}: the protocol's fatal frame, then a close. */
  public void fatal(ErrorCode code, String message) {
    if (closing) {
      return;
    }
    closeWith(framing.fatalFrame(code, message));
  }

  /**
   * Ends the connection: every subscription stops, {@code lastFrame} (null: none; ownership passes)
   * is written and the connection closed behind it (or half-closed, as the framing says); either
   * way it is closed within {@link SessionLimits#lingerMs}, so a peer that never reads cannot hold
   * it open. Later calls do nothing.
   */
  public void closeWith(Object lastFrame) {
    if (closing) {
      ReferenceCountUtil.release(lastFrame);
      return;
    }
    closing = true;
    closeAll();
    if (lastFrame == null || !ctx.channel().isActive()) {
      ReferenceCountUtil.release(lastFrame);
      ctx.close();
      return;
    }
    boolean halfClose = framing.halfCloseOnFatal();
    ctx.writeAndFlush(lastFrame)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (f.isSuccess() && halfClose && f.channel() instanceof DuplexChannel duplex) {
                    duplex.shutdownOutput(); // the peer reads the frame, then the end of stream
                  } else {
                    ctx.close();
                  }
                });
    ctx.executor().schedule(() -> ctx.close(), limits.lingerMs(), TimeUnit.MILLISECONDS);
  }

  /** The owning handler's {@code channelInactive}: every subscription stops. */
  public void closed() {
    closing = true;
    closeAll();
  }

  /** One subscription and the drops told of so far. */
  private final class Entry {
    final K id;
    final Feed feed;
    long dropped;
    long told;
    long busDropped;
    boolean checkScheduled;
    boolean counted;

    Entry(K id, Feed feed) {
      this.id = id;
      this.feed = feed;
    }

    void scheduleCheck() {
      if (!checkScheduled && dropped > told) {
        checkScheduled = true;
        ctx.executor().schedule(this::check, DROP_NOTICE_CHECK_MS, TimeUnit.MILLISECONDS);
      }
    }

    private void check() {
      checkScheduled = false;
      if (closing() || subscriptions.get(id) != this) {
        return;
      }
      if (limits.dropsLive() && pendingBytes() > limits.dropLiveAboveBytes()) {
        scheduleCheck(); // still behind: look again later
        return;
      }
      tellIfDue();
    }

    void tellIfDue() {
      if (dropped > told) {
        told = dropped;
        Object notice = framing.dropNotice(id, dropped);
        if (notice != null && !closing) {
          ctx.writeAndFlush(notice, ctx.voidPromise());
        }
      }
    }
  }
}

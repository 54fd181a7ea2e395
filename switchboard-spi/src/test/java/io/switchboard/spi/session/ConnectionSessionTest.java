package io.switchboard.spi.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.ThreadingMode;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.broker.live.LiveSink;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every duty of {@link ConnectionSession} on an {@link EmbeddedChannel}: the channel's loop is the
 * test thread, so a hop to the loop is a queued task that only {@code runPendingTasks} runs, and
 * time moves only when the test says. Push consumers run on a broker in {@link
 * ThreadingMode#INVOKER} mode, whose agents move only on {@code doWork()}.
 */
class ConnectionSessionTest {
  @TempDir Path dir;

  /** Frames of the test protocol: strings, so the outbound side reads plainly. */
  static final class TestFraming implements SessionFraming<Integer> {
    @Override
    public Object dropNotice(Integer id, long totalDropped) {
      return "dropped " + id + " " + totalDropped;
    }

    @Override
    public Object fatalFrame(ErrorCode code, String message) {
      return "fatal " + code.name();
    }
  }

  /** The protocol's handler: owns the session and forwards the two events it must hear. */
  static final class Owner extends ChannelDuplexHandler {
    final SessionLimits limits;
    ConnectionSession<Integer> session;

    Owner(SessionLimits limits) {
      this.limits = limits;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      session = new ConnectionSession<>(ctx, limits, new TestFraming());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      session.writabilityChanged();
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      session.closed();
      ctx.fireChannelInactive();
    }
  }

  EmbeddedChannel ch;
  Broker broker;

  ConnectionSession<Integer> open(SessionLimits limits) {
    Owner owner = new Owner(limits);
    ch = new EmbeddedChannel(owner);
    return owner.session;
  }

  ConnectionSession<Integer> session() {
    return ch.pipeline().get(Owner.class).session;
  }

  static SessionLimits limits() {
    // 2 subscriptions; reading stops at 4 in flight, resumes below 2; live drops past 1,000
    // bytes, cut off past 4,000.
    return new SessionLimits(2, 4, 2, 1_000, 4_000, 5_000);
  }

  @AfterEach
  void release() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
    if (broker != null) {
      broker.close();
    }
  }

  List<Object> outbound() {
    List<Object> out = new ArrayList<>();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      out.add(o instanceof ByteBuf b ? "bytes " + b.readableBytes() : o);
      ReferenceCountUtil.release(o);
    }
    return out;
  }

  // ------------------------------------------------------------------ subscriptions

  @Test
  void subscriptionIdsAreUniqueAndLimitedAndClosedWithTheConnection() {
    ConnectionSession<Integer> s = open(limits());
    AtomicInteger closed = new AtomicInteger();
    s.add(1, closed::incrementAndGet);
    assertThatThrownBy(() -> s.add(1, closed::incrementAndGet))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.SUBSCRIPTION_EXISTS));
    s.add(2, closed::incrementAndGet);
    assertThatThrownBy(() -> s.admit(3))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.TOO_MANY_SUBSCRIPTIONS));

    assertThat(s.remove(1)).isNotNull();
    assertThat(closed).hasValue(1);
    assertThat(s.remove(1)).as("already gone").isNull();
    s.add(3, closed::incrementAndGet); // the freed place is taken
    assertThat(s.subscriptions()).isEqualTo(2);

    ch.close();
    assertThat(closed).as("every subscription closed with the connection").hasValue(3);
    assertThat(s.subscriptions()).isZero();
  }

  // ------------------------------------------------------------------ in flight, the hop

  @Test
  void readingStopsAtTheHighWaterMarkAndResumesBelowTheLowOne() {
    ConnectionSession<Integer> s = open(limits());
    List<CompletableFuture<String>> work = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      assertThat(ch.config().isAutoRead()).as("reading before operation %d", i).isTrue();
      work.add(new CompletableFuture<>());
      s.track(work.get(i));
    }
    assertThat(s.inFlight()).isEqualTo(4);
    assertThat(ch.config().isAutoRead()).as("4 in flight: the high water mark").isFalse();

    work.get(0).complete("a");
    ch.runPendingTasks();
    work.get(1).complete("b");
    ch.runPendingTasks();
    assertThat(s.inFlight()).isEqualTo(2);
    assertThat(ch.config().isAutoRead()).as("2 in flight is not below the low mark").isFalse();

    work.get(2).complete("c");
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).as("1 in flight: below the low mark").isTrue();
  }

  @Test
  void aHoldForTheProtocolsOwnReasonOutlastsTheInFlightBound() {
    ConnectionSession<Integer> s = open(limits());
    s.holdReading();
    assertThat(ch.config().isAutoRead()).isFalse();
    CompletableFuture<String> w = new CompletableFuture<>();
    s.track(w);
    w.complete("x");
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).as("still held").isFalse();
    s.resumeReading();
    assertThat(ch.config().isAutoRead()).isTrue();
  }

  @Test
  void aQuotaPauseStopsReadingForItsTimeIsNotExtendedAndKeepsAProtocolsHold() {
    ConnectionSession<Integer> s = open(limits());
    s.pauseReadingFor(0);
    assertThat(ch.config().isAutoRead()).isTrue();
    s.pauseReadingFor(100);
    assertThat(ch.config().isAutoRead()).isFalse();
    assertThat(s.pausedForQuota()).isTrue();
    s.pauseReadingFor(5_000); // a pause running is not extended
    ch.advanceTimeBy(100, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.config().isAutoRead()).isTrue();
    assertThat(s.pausedForQuota()).isFalse();
    s.holdReading();
    s.pauseReadingFor(50);
    ch.advanceTimeBy(50, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.config().isAutoRead()).as("the protocol's hold outlasts the pause").isFalse();
    s.resumeReading();
    assertThat(ch.config().isAutoRead()).isTrue();
  }

  @Test
  void completionsFromOtherThreadsAreHandedOverOnTheLoop() throws Exception {
    ConnectionSession<Integer> s = open(limits());
    Thread loop = Thread.currentThread(); // an EmbeddedChannel's loop is its caller
    CompletableFuture<String> work = new CompletableFuture<>();
    AtomicReference<Thread> ranOn = new AtomicReference<>();
    CompletableFuture<String> answer = s.track(work);
    answer.whenComplete((r, e) -> ranOn.set(Thread.currentThread()));

    Thread runner = Thread.ofPlatform().start(() -> work.complete("done"));
    runner.join();
    assertThat(answer).as("not before the loop runs it").isNotDone();
    assertThat(s.inFlight()).isEqualTo(1);

    ch.runPendingTasks();
    assertThat(answer).isCompletedWithValue("done");
    assertThat(ranOn.get()).isSameAs(loop);
    assertThat(s.inFlight()).isZero();

    CompletableFuture<String> failing = new CompletableFuture<>();
    CompletableFuture<String> failed = s.track(failing);
    Thread.ofPlatform()
        .start(
            () ->
                failing.completeExceptionally(
                    SwitchboardException.of(ErrorCode.PUBLISH_BACKPRESSURE, "S", 0)))
        .join();
    ch.runPendingTasks();
    assertThat(failed)
        .failsWithin(0, TimeUnit.SECONDS)
        .withThrowableThat()
        .havingRootCause()
        .isInstanceOf(SwitchboardException.class);

    AtomicReference<Thread> task = new AtomicReference<>();
    s.onLoop(() -> task.set(Thread.currentThread()));
    assertThat(task.get()).as("on the loop already: run at once").isSameAs(loop);
  }

  // ------------------------------------------------------------------ slow readers

  @Test
  void pastTheDropLineLiveMessagesAreDroppedCountedAndToldOnceTheQueueDrains() {
    ConnectionSession<Integer> s = open(limits());
    List<String> written = new ArrayList<>();
    LiveSink sink =
        s.liveSink(
            7,
            m -> !m.subject().equals("hidden"),
            m -> {
              written.add(m.subject());
              s.write(m.subject(), false);
            });
    s.add(7, () -> {});

    sink.onMessage(Message.of("a", new byte[0], 0));
    sink.onBatchEnd();
    assertThat(written).containsExactly("a");
    assertThat(outbound()).containsExactly("a");

    s.write(Unpooled.wrappedBuffer(new byte[1_500]), false); // a reader that fell behind
    sink.onMessage(Message.of("b", new byte[0], 0));
    sink.onMessage(Message.of("c", new byte[0], 0));
    sink.onMessage(Message.of("hidden", new byte[0], 0)); // filtered: not a drop
    assertThat(written).containsExactly("a");
    assertThat(s.dropped()).isEqualTo(2);

    ch.advanceTimeBy(ConnectionSession.DROP_NOTICE_CHECK_MS, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(outbound()).as("still behind: no notice yet").isEmpty();

    ch.flush(); // the reader caught up
    assertThat(outbound()).containsExactly("bytes 1500");
    ch.advanceTimeBy(ConnectionSession.DROP_NOTICE_CHECK_MS, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(outbound()).containsExactly("dropped 7 2");

    sink.onDropped(5); // the live bus's mailbox dropped 5 before they reached the connection
    sink.onMessage(Message.of("d", new byte[0], 0));
    sink.onBatchEnd();
    assertThat(outbound())
        .as("the notice goes before the next message")
        .containsExactly("dropped 7 7", "d");
    assertThat(s.dropped()).isEqualTo(7);
  }

  @Test
  void pastTheCutOffTheSlowReaderIsClosedWithItsFatalFrame() {
    ConnectionSession<Integer> s = open(limits());
    AtomicInteger closed = new AtomicInteger();
    s.add(1, closed::incrementAndGet);
    assertThat(ch.config().getWriteBufferWaterMark().high()).isEqualTo(4_000);
    assertThat(s.write(Unpooled.wrappedBuffer(new byte[3_000]), false)).isTrue();
    assertThat(ch.isActive()).isTrue();
    assertThat(s.write(Unpooled.wrappedBuffer(new byte[2_000]), false))
        .as("accepted, and it turns the channel unwritable")
        .isTrue();

    assertThat(ch.isActive()).as("cut off as writability turned").isFalse();
    assertThat(closed).as("its subscriptions stopped").hasValue(1);
    assertThat(outbound()).containsExactly("bytes 3000", "bytes 2000", "fatal SLOW_CONSUMER");
    assertThat(s.write(Unpooled.wrappedBuffer(new byte[1]))).as("nothing after").isFalse();
  }

  @Test
  void withoutACutOffTheChannelsWaterMarksAreLeftAlone() {
    EmbeddedChannel plain = new EmbeddedChannel();
    int high = plain.config().getWriteBufferWaterMark().high();
    plain.finishAndReleaseAll();
    ConnectionSession<Integer> s = open(new SessionLimits(1, 4, 2, 1_000, Long.MAX_VALUE, 5_000));
    assertThat(ch.config().getWriteBufferWaterMark().high()).isEqualTo(high);
    for (int i = 0; i < 40; i++) {
      s.write(Unpooled.wrappedBuffer(new byte[4_096]), false);
    }
    assertThat(ch.isWritable()).isFalse();
    s.writabilityChanged();
    assertThat(ch.isActive()).as("never cut off").isTrue();
    ch.flush(); // what a reader then takes
  }

  // ------------------------------------------------------------------ fatal close

  @Test
  void aFatalErrorWritesItsFrameClosesOnceAndStopsEverything() {
    ConnectionSession<Integer> s = open(limits());
    AtomicInteger closed = new AtomicInteger();
    s.add(1, closed::incrementAndGet);
    s.fatal(ErrorCode.HANDSHAKE_TIMEOUT, "too slow");
    s.fatal(ErrorCode.INTERNAL, "again");
    assertThat(outbound()).containsExactly("fatal HANDSHAKE_TIMEOUT");
    assertThat(ch.isActive()).isFalse();
    assertThat(closed).hasValue(1);
    assertThat(s.closing()).isTrue();
  }

  @Test
  void aPeerThatNeverTakesTheFatalFrameIsClosedAfterTheLinger() {
    Owner owner = new Owner(limits());
    // A write that never completes: the peer does not read.
    ChannelDuplexHandler stuck =
        new ChannelDuplexHandler() {
          @Override
          public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ReferenceCountUtil.release(msg);
          }
        };
    ch = new EmbeddedChannel(stuck, owner);
    owner.session.fatal(ErrorCode.SLOW_CONSUMER, "x");
    assertThat(ch.isActive()).as("waiting for the frame").isTrue();
    ch.advanceTimeBy(5_000, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isActive()).as("closed when the linger passed").isFalse();
  }

  // ------------------------------------------------------------------ push consumers

  Broker broker() {
    broker =
        Broker.open(
            new BrokerConfig(dir, LiveBusConfig.DEFAULTS, 1, 4096, 60_000)
                .withThreading(ThreadingMode.INVOKER),
            new ManualClock());
    broker.createStream(StreamConfig.builder("S", "s.>").build());
    broker.createConsumer("S", ConsumerConfig.builder("c").build());
    for (int i = 0; i < 5; i++) {
      complete(
          broker.publish(
              Message.of("s." + i, ("m" + i).getBytes(StandardCharsets.UTF_8), 0),
              PublishOptions.NONE));
    }
    return broker;
  }

  <T> T complete(CompletableFuture<T> f) {
    for (int i = 0; i < 1_000 && !f.isDone(); i++) {
      broker.doWork();
    }
    assertThat(f).isDone();
    return f.join();
  }

  /** A few agent cycles: what the agent hands over is queued on the loop, not run yet. */
  void agentCycles() {
    for (int i = 0; i < 3; i++) {
      broker.doWork();
    }
  }

  /** Agent cycles, then the loop's tasks: what the agent handed over arrives. */
  void cycle() {
    agentCycles();
    ch.runPendingTasks();
  }

  /**
   * A session with a push consumer under sid 1 of {@code credits}, its deliveries into {@code got}.
   */
  SessionPush pushing(int credits, List<Delivery> got) {
    ConnectionSession<Integer> s = open(limits());
    return s.push(1, broker(), "S", "c", "m", credits, got::addAll);
  }

  @Test
  void aPushConsumerGetsNoMoreThanItsCreditsAndMoreAsTheyReturn() {
    List<Delivery> got = new ArrayList<>();
    SessionPush push = pushing(2, got);
    Broker b = broker;
    assertThat(session().pushFor("S", "c")).isSameAs(push);
    assertThat(got).as("nothing before the loop runs").isEmpty();

    cycle();
    assertThat(got).hasSize(2);
    assertThat(push.availableCredits()).isZero();
    cycle();
    assertThat(got).as("no credit, no delivery").hasSize(2);

    complete(b.ack("S", "c", got.get(0).partition(), got.get(0).offset()));
    push.settled(1);
    cycle();
    assertThat(got).hasSize(3);

    push.grant(2);
    cycle();
    assertThat(got).hasSize(5);
    assertThat(got).extracting(d -> d.message().subject()).doesNotHaveDuplicates();
  }

  @Test
  void closingAPushWhileABatchIsOnItsWayToTheLoopNeitherBlocksNorLosesIt() {
    List<Delivery> got = new ArrayList<>();
    SessionPush push = pushing(3, got);
    ConnectionSession<Integer> s = session();
    Broker b = broker;
    agentCycles(); // the agent hands a batch over: a task queued on the loop, not run yet
    // In invoker mode nothing but this thread runs the agent: a close that waited for it would
    // never return.
    assertThat(s.remove(1)).isSameAs(push);
    assertThat(push.isClosed()).isTrue();
    assertThat(s.pushFor("S", "c")).isNull();

    ch.runPendingTasks();
    assertThat(got).as("a closed feed writes nothing").isEmpty();

    // Given back at once, not at the ack timeout: another member gets them now.
    List<Delivery> other = complete(b.fetch("S", "c", "other", 10, 0));
    assertThat(other).hasSize(5);
    assertThat(other.stream().filter(d -> d.deliveryCount() == 2)).hasSize(3);
  }

  @Test
  void aBatchReachingAConnectionThatEndedIsGivenBack() {
    List<Delivery> got = new ArrayList<>();
    pushing(5, got);
    Broker b = broker;
    agentCycles();
    ConnectionSession<Integer> s = session();
    s.fatal(ErrorCode.SLOW_CONSUMER, "gone");
    ch.runPendingTasks();
    assertThat(got).isEmpty();
    assertThat(complete(b.fetch("S", "c", "other", 10, 0))).hasSize(5);

    // A push started on an ending connection is closed at once and never found by its consumer.
    SessionPush late = s.push(2, b, "S", "c", "late", 5, got::addAll);
    assertThat(late.isClosed()).isTrue();
    assertThat(s.pushFor("S", "c")).isNull();
  }
}

package io.switchboard.broker.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LiveBusTest {
  final LiveBus bus = new LiveBus(LiveBusConfig.DEFAULTS, Clock.SYSTEM);
  final ExecutorService pool = Executors.newFixedThreadPool(4);

  @AfterEach
  void close() {
    bus.close();
    pool.shutdownNow();
  }

  static Message msg(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  static String body(Message m) {
    return new String(m.payload(), StandardCharsets.UTF_8);
  }

  /** Collects what a subscription receives. */
  static final class Collector implements LiveSink {
    final List<Message> got = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong droppedSeen = new AtomicLong();

    @Override
    public void onMessage(Message message) {
      got.add(message);
    }

    @Override
    public void onDropped(long totalDropped) {
      droppedSeen.set(totalDropped);
    }
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  @Test
  void deliversToExactAndWildcardSubscribersInOrder() {
    Collector exact = new Collector();
    Collector star = new Collector();
    Collector rest = new Collector();
    Collector other = new Collector();
    bus.subscribe("orders.eu.created", null, exact, pool);
    bus.subscribe("orders.*.created", null, star, pool);
    bus.subscribe("orders.>", null, rest, pool);
    bus.subscribe("payments.>", null, other, pool);
    for (int i = 0; i < 100; i++) {
      assertThat(bus.publish(msg("orders.eu.created", "m" + i))).isEqualTo(3);
    }
    assertThat(bus.publish(msg("orders.us.shipped", "x"))).isEqualTo(1);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> exact.got.size() == 100 && rest.got.size() == 101);
    assertThat(star.got).hasSize(100);
    assertThat(other.got).isEmpty();
    for (int i = 0; i < 100; i++) {
      assertThat(body(exact.got.get(i))).isEqualTo("m" + i);
    }
  }

  @Test
  void closingASubscriptionStopsDelivery() {
    Collector c = new Collector();
    LiveSubscription s = bus.subscribe("a.b", null, c, Runnable::run);
    bus.publish(msg("a.b", "1"));
    s.close();
    assertThat(bus.publish(msg("a.b", "2"))).isZero();
    assertThat(c.got).extracting(LiveBusTest::body).containsExactly("1");
    assertThat(bus.subscriptionCount()).isZero();
  }

  @Test
  void aSlowSubscriberDropsItsOwnMessagesAndIsToldWithoutSlowingOthers() throws Exception {
    LiveBus small = new LiveBus(LiveBusConfig.DEFAULTS.withBufferMessages(16), Clock.SYSTEM);
    try {
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch stuck = new CountDownLatch(1);
      Collector slowSeen = new Collector();
      LiveSink slow =
          new LiveSink() {
            @Override
            public void onMessage(Message message) {
              stuck.countDown();
              try {
                release.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              slowSeen.onMessage(message);
            }

            @Override
            public void onDropped(long totalDropped) {
              slowSeen.onDropped(totalDropped);
            }
          };
      Collector fast = new Collector();
      LiveSubscription slowSub = small.subscribe("t", null, slow, pool);
      small.subscribe("t", null, fast, pool);
      small.publish(msg("t", "first"));
      assertThat(stuck.await(10, TimeUnit.SECONDS)).isTrue();
      // Paced to the healthy reader (its buffer is as small): it keeps up and loses nothing while
      // the stalled one is stuck on its first message.
      for (int i = 0; i < 1000; i++) {
        small.publish(msg("t", "m" + i));
        if (i % 8 == 7) {
          int expected = i + 2;
          await()
              .pollDelay(Duration.ZERO)
              .pollInterval(Duration.ofMillis(1))
              .atMost(Duration.ofSeconds(10))
              .until(() -> fast.got.size() == expected);
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> fast.got.size() == 1001);
      assertThat(fast.droppedSeen.get()).isZero();
      // The slow one holds at most its buffer; the rest was dropped and counted.
      assertThat(slowSub.buffered()).isLessThanOrEqualTo(16);
      assertThat(slowSub.dropped()).isGreaterThanOrEqualTo(1000 - 16);
      release.countDown();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> slowSeen.droppedSeen.get() == slowSub.dropped());
      await().atMost(Duration.ofSeconds(10)).until(() -> slowSub.buffered() == 0);
      assertThat(slowSeen.got.size() + slowSub.dropped()).isEqualTo(1001);
    } finally {
      small.close();
    }
  }

  @Test
  void aQueueGroupDeliversEachMessageToExactlyOneMember() {
    List<Collector> members = List.of(new Collector(), new Collector(), new Collector());
    for (Collector c : members) {
      bus.subscribe("jobs.>", "workers", c, pool);
    }
    Collector watcher = new Collector();
    bus.subscribe("jobs.>", null, watcher, pool);
    for (int i = 0; i < 300; i++) {
      assertThat(bus.publish(msg("jobs.resize", "j" + i))).isEqualTo(2);
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> members.stream().mapToInt(c -> c.got.size()).sum() == 300);
    List<String> all = new ArrayList<>();
    for (Collector c : members) {
      assertThat(c.got).isNotEmpty();
      c.got.forEach(m -> all.add(body(m)));
    }
    assertThat(all).doesNotHaveDuplicates().hasSize(300);
    await().atMost(Duration.ofSeconds(10)).until(() -> watcher.got.size() == 300);
  }

  @Test
  void requestsGetTheirReplyFromAQueueGroupOfResponders() {
    for (int r = 0; r < 3; r++) {
      int id = r;
      bus.subscribe(
          "math.double",
          "responders",
          m ->
              bus.reply(
                  m, (Integer.parseInt(body(m)) * 2 + "@" + id).getBytes(StandardCharsets.UTF_8)),
          pool);
    }
    List<CompletableFuture<Message>> replies = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      replies.add(bus.request(msg("math.double", Integer.toString(i)), Duration.ofSeconds(10)));
    }
    for (int i = 0; i < 500; i++) {
      Message reply = replies.get(i).join();
      assertThat(body(reply)).startsWith((i * 2) + "@");
      assertThat(reply.header(Message.CORRELATION_ID)).isNotNull();
    }
    assertThat(bus.pendingRequests()).isZero();
  }

  @Test
  void aRequestNobodyListensToFailsAtOnceWithNoResponders() {
    CompletableFuture<Message> f = bus.request(msg("nobody.home", "?"), Duration.ofMinutes(5));
    assertThat(f).isCompletedExceptionally();
    assertThatThrownBy(f::join)
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.NO_RESPONDERS));
    assertThat(bus.pendingRequests()).isZero();
  }

  @Test
  void aRequestWithoutReplyTimesOut() {
    ConcurrentLinkedQueue<Message> ignored = new ConcurrentLinkedQueue<>();
    bus.subscribe("slow.service", null, ignored::add, pool);
    CompletableFuture<Message> f = bus.request(msg("slow.service", "?"), Duration.ofMillis(200));
    await().atMost(Duration.ofSeconds(10)).until(f::isDone);
    assertThatThrownBy(f::join)
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.REQUEST_TIMEOUT));
    assertThat(ignored).hasSize(1);
    assertThat(bus.pendingRequests()).isZero();
  }

  @Test
  void pendingRequestsAreBounded() {
    LiveBus tight = new LiveBus(LiveBusConfig.DEFAULTS.withMaxPendingRequests(2), Clock.SYSTEM);
    try {
      tight.subscribe("svc", null, m -> {}, pool);
      tight.request(msg("svc", "1"), Duration.ofMinutes(1));
      tight.request(msg("svc", "2"), Duration.ofMinutes(1));
      CompletableFuture<Message> third = tight.request(msg("svc", "3"), Duration.ofMinutes(1));
      assertThatThrownBy(third::join)
          .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.TOO_MANY_PENDING_REQUESTS));
    } finally {
      tight.close();
    }
  }

  @Test
  void badInputGetsCodedErrors() {
    assertThatThrownBy(() -> bus.publish(msg("a.*", "x")))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_SUBJECT));
    assertThatThrownBy(() -> bus.subscribe("a.>.b", null, m -> {}, pool))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_PATTERN));
    assertThatThrownBy(() -> bus.subscribe("a", "", m -> {}, pool))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    LiveBus one = new LiveBus(LiveBusConfig.DEFAULTS.withMaxSubscriptions(1), Clock.SYSTEM);
    try {
      one.subscribe("a", null, m -> {}, pool);
      assertThatThrownBy(() -> one.subscribe("b", null, m -> {}, pool))
          .hasMessageContaining("limit");
    } finally {
      one.close();
    }
    assertThat(codeOf(catchFailure(() -> bus.reply(msg("x", "no reply subject"), new byte[0]))))
        .isEqualTo(ErrorCode.INVALID_ARGUMENT);
  }

  @Test
  void closingFailsWaitingRequests() {
    bus.subscribe("svc", null, m -> {}, pool);
    CompletableFuture<Message> f = bus.request(msg("svc", "?"), Duration.ofMinutes(1));
    bus.close();
    assertThatThrownBy(f::join)
        .satisfies(t -> assertThat(codeOf(t)).isEqualTo(ErrorCode.LIVE_BUS_CLOSED));
    assertThatThrownBy(() -> bus.publish(msg("svc", "x")))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.LIVE_BUS_CLOSED));
  }

  private static Throwable catchFailure(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      return e;
    }
    throw new AssertionError("no failure");
  }
}

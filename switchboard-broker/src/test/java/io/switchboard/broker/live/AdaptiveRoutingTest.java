package io.switchboard.broker.live;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Queue-group routing of requests, deterministically: a seeded random, a manual clock, and sinks
 * that run on the publishing thread (so a reply happens inside the publish).
 */
class AdaptiveRoutingTest {
  static final Executor SAME_THREAD = Runnable::run;

  final ManualClock clock = new ManualClock();
  LiveBus bus;

  LiveBus open(QueueRouting routing, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    bus =
        new LiveBus(
            LiveBusConfig.DEFAULTS.withQueueRouting(routing), clock, n -> random.nextInt(n));
    return bus;
  }

  @AfterEach
  void close() {
    bus.close();
  }

  /** A responder that answers at once, or never when {@code stalled}; counts what it got. */
  static class Responder implements LiveSink {
    final LiveBus bus;
    final boolean stalled;
    final List<Message> got = new ArrayList<>();

    Responder(LiveBus bus, boolean stalled) {
      this.bus = bus;
      this.stalled = stalled;
    }

    @Override
    public void onMessage(Message m) {
      got.add(m);
      if (!stalled) {
        bus.reply(m, new byte[] {1});
      }
    }
  }

  static Message request(int i) {
    return new Message(
        "svc.quote",
        null,
        List.of(new Header(Message.CORRELATION_ID, ("c" + i).getBytes(StandardCharsets.UTF_8))),
        new byte[0],
        0,
        "client.inbox");
  }

  List<Responder> fourMembersOneStalled() {
    List<Responder> rs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Responder r = new Responder(bus, i == 0);
      rs.add(r);
      bus.subscribe("svc.quote", "workers", r, SAME_THREAD);
    }
    return rs;
  }

  @Test
  void shouldSendAlmostNothingToAMemberThatDoesNotAnswer() {
    open(QueueRouting.ADAPTIVE, 42);
    List<Responder> rs = fourMembersOneStalled();
    for (int i = 0; i < 400; i++) {
      bus.publish(request(i));
    }
    // Once the stalled member holds one unanswered request, any pair it is in picks the other.
    assertThat(rs.get(0).got).hasSizeLessThanOrEqualTo(1);
    assertThat(rs.stream().mapToInt(r -> r.got.size()).sum()).isEqualTo(400);
    for (int i = 1; i < 4; i++) {
      assertThat(rs.get(i).got).hasSizeGreaterThan(100);
    }
    assertThat(bus.trackedRequests()).isEqualTo(rs.get(0).got.size());
  }

  @Test
  void shouldRoundRobinWhenConfiguredSo() {
    open(QueueRouting.ROUND_ROBIN, 42);
    List<Responder> rs = fourMembersOneStalled();
    for (int i = 0; i < 400; i++) {
      bus.publish(request(i));
    }
    assertThat(rs).allSatisfy(r -> assertThat(r.got).hasSize(100));
    assertThat(bus.trackedRequests()).isZero();
  }

  @Test
  void shouldForgetAnUnansweredRequestAtItsExpiryAndTryTheMemberAgain() {
    open(QueueRouting.ADAPTIVE, 7);
    List<Responder> rs = fourMembersOneStalled();
    for (int i = 0; i < 100; i++) {
      bus.publish(request(i));
    }
    int before = rs.get(0).got.size();
    assertThat(before).isEqualTo(1);
    bus.expireTracked();
    assertThat(bus.trackedRequests()).isEqualTo(1); // not yet expired
    clock.ms.addAndGet(LiveBus.TRACK_MS);
    bus.expireTracked();
    assertThat(bus.trackedRequests()).isZero();
    for (int i = 100; i < 200; i++) {
      bus.publish(request(i));
    }
    // No longer loaded, but its one request took 30 s: against idle members that answer at once
    // it loses every tie.
    assertThat(rs.get(0).got).hasSize(1);
    assertThat(rs.stream().mapToInt(r -> r.got.size()).sum()).isEqualTo(200);
  }

  @Test
  void shouldBreakTiesTowardTheMemberThatAnswersSooner() {
    open(QueueRouting.ADAPTIVE, 3);
    List<Responder> rs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      long serviceMs = i == 0 ? 10 : 1;
      Responder r =
          new Responder(bus, false) {
            @Override
            public void onMessage(Message m) {
              clock.ms.addAndGet(serviceMs); // the time this member takes, on the bus's clock
              super.onMessage(m);
            }
          };
      rs.add(r);
      bus.subscribe("svc.quote", "workers", r, SAME_THREAD);
    }
    for (int i = 0; i < 20; i++) {
      bus.publish(request(i));
    }
    // Until every member has answered once, one that has not counts as fast as the other.
    int early = rs.get(0).got.size();
    assertThat(early).isBetween(1, 4);
    for (int i = 20; i < 400; i++) {
      bus.publish(request(i));
    }
    // Every member answers before the next request, so each holds nothing in flight: the expected
    // wait is its time to reply, 10 ms against 1 ms, and the slow one is never picked again.
    assertThat(rs.get(0).got).hasSize(early);
    assertThat(rs.stream().mapToInt(r -> r.got.size()).sum()).isEqualTo(400);
  }

  @Test
  void shouldTryASlowMemberAgainOnceItsLatencyHasFaded() {
    open(QueueRouting.ADAPTIVE, 3);
    long[] serviceMs = {10, 1, 1, 1};
    List<Responder> rs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      int index = i;
      Responder r =
          new Responder(bus, false) {
            @Override
            public void onMessage(Message m) {
              clock.ms.addAndGet(serviceMs[index]);
              super.onMessage(m);
            }
          };
      rs.add(r);
      bus.subscribe("svc.quote", "workers", r, SAME_THREAD);
    }
    for (int i = 0; i < 100; i++) {
      bus.publish(request(i));
    }
    int before = rs.get(0).got.size();
    serviceMs[0] = 1; // it recovered; nobody knows yet
    // A minute of traffic, one request every 200 ms: the others keep answering in 1 ms while the
    // slow member's 10 ms fades, until it is tried again and shows it is fast now.
    for (int i = 100; i < 400; i++) {
      clock.ms.addAndGet(200);
      bus.publish(request(i));
    }
    int tried = rs.get(0).got.size() - before;
    assertThat(tried).isGreaterThan(30); // about a quarter of the last requests once recovered
  }

  @Test
  void shouldRouteByCountsAloneWhenLeastInFlight() {
    open(QueueRouting.LEAST_IN_FLIGHT, 42);
    List<Responder> rs = fourMembersOneStalled();
    for (int i = 0; i < 400; i++) {
      bus.publish(request(i));
    }
    assertThat(rs.get(0).got).hasSizeLessThanOrEqualTo(1);
  }

  @Test
  void shouldPreferTheLessLoadedOfTwoAndSpreadEvenlyWhenAllAnswer() {
    open(QueueRouting.ADAPTIVE, 1);
    List<Responder> rs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Responder r = new Responder(bus, false);
      rs.add(r);
      bus.subscribe("svc.quote", "workers", r, SAME_THREAD);
    }
    for (int i = 0; i < 4000; i++) {
      bus.publish(request(i));
    }
    // All idle: ties broken by the first pick, a uniform random: each gets about a quarter.
    assertThat(rs).allSatisfy(r -> assertThat(r.got.size()).isBetween(850, 1150));
    assertThat(bus.trackedRequests()).isZero();
  }

  @Test
  void shouldRouteMessagesWithoutAReplySubjectRoundRobin() {
    open(QueueRouting.ADAPTIVE, 42);
    List<Responder> rs = fourMembersOneStalled();
    for (int i = 0; i < 40; i++) {
      bus.publish(Message.of("svc.quote", new byte[0], 0));
    }
    assertThat(rs).allSatisfy(r -> assertThat(r.got).hasSize(10));
  }
}

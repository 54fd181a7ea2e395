package io.switchboard.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Authorizer;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.QuotaLimits;
import io.switchboard.spi.security.QuotaMeter;
import io.switchboard.spi.security.QuotaMeter.Rate;
import io.switchboard.testkit.ManualClock;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuotaEngineTest {
  @TempDir Path data;

  final ManualClock clock = new ManualClock();

  static QuotaLimits limits(
      long pubBytes, long pubMsgs, long consume, long req, long conn, long cons) {
    return new QuotaLimits(pubBytes, pubMsgs, consume, req, conn, cons);
  }

  @Test
  void aRateQuotaPassesOneSecondsWorthThenAsksForThePauseThatRepaysTheDebt() {
    QuotaEngine e = new QuotaEngine(clock, limits(1000, 0, 0, 0, 0, 0));
    QuotaMeter m = e.meter(Principal.user("alice"));
    assertThat(m.publish(1, 600)).isZero();
    assertThat(m.publish(1, 400)).isZero();
    // 500 bytes of debt at 1,000 bytes/s: half a second
    assertThat(m.publish(1, 500)).isEqualTo(500);
    assertThat(m.wait(Rate.PUBLISH_BYTES)).isEqualTo(500);
    clock.ms.addAndGet(250);
    assertThat(m.wait(Rate.PUBLISH_BYTES)).isEqualTo(250);
    clock.ms.addAndGet(250);
    assertThat(m.wait(Rate.PUBLISH_BYTES)).isZero();
    // a huge charge asks for the longest pause, never more
    assertThat(m.publish(1, 1_000_000_000L)).isEqualTo(QuotaMeter.MAX_PAUSE_MS);
    assertThat(e.throttled(Rate.PUBLISH_BYTES)).isEqualTo(2);
    assertThat(e.refused(Rate.PUBLISH_BYTES)).isEqualTo(2); // the two waits that said "not yet"
  }

  @Test
  void messagesBytesConsumeAndRequestsAreSeparateBucketsSharedByEveryConnectionOfAPrincipal() {
    QuotaEngine e = new QuotaEngine(clock, limits(0, 10, 100, 2, 0, 0));
    QuotaMeter a = e.meter(Principal.user("alice"));
    QuotaMeter a2 = e.meter(Principal.user("alice"));
    QuotaMeter b = e.meter(Principal.user("bob"));
    assertThat(a2).isSameAs(a);
    assertThat(a.publish(10, 1_000_000)).isZero(); // bytes unlimited
    assertThat(a2.publish(1, 1)).isEqualTo(100); // one message over at 10/s
    assertThat(b.publish(10, 1)).isZero(); // bob has his own
    assertThat(a.consume(100)).isZero();
    assertThat(a.consume(50)).isEqualTo(500);
    assertThat(a.request()).isZero();
    assertThat(a.request()).isZero();
    assertThat(a.request()).isEqualTo(500);
  }

  @Test
  void connectionsAndConsumersAreCountedPerPrincipalAndGivenBackWhenAConnectionEnds() {
    QuotaEngine e = new QuotaEngine(clock, limits(0, 0, 0, 0, 2, 3));
    Principal alice = Principal.user("alice");
    Access c1 = new Access(Authorizer.ALLOW_ALL, alice, e.meter(alice));
    Access c2 = new Access(Authorizer.ALLOW_ALL, alice, e.meter(alice));
    Access c3 = new Access(Authorizer.ALLOW_ALL, alice, e.meter(alice));
    c1.openConnection();
    c2.openConnection();
    assertThatThrownBy(c3::openConnection)
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            x -> assertThat(x.code()).isEqualTo(ErrorCode.QUOTA_CONNECTIONS));
    c1.openConsumer();
    c1.openConsumer();
    c2.openConsumer();
    assertThatThrownBy(c2::openConsumer)
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            x -> assertThat(x.code()).isEqualTo(ErrorCode.QUOTA_CONSUMERS));
    c1.closeConnection(); // gives back its connection and its two consumers
    c1.closeConnection(); // idempotent
    assertThat(e.meter(alice).connections()).isEqualTo(1);
    assertThat(e.meter(alice).consumers()).isEqualTo(1);
    c3.openConnection();
    c2.openConsumer();
    assertThat(e.refusedConnections()).isEqualTo(1);
    assertThat(e.refusedConsumers()).isEqualTo(1);
  }

  @Test
  void aStoredQuotaOverridesTheDefaultFieldByFieldAndAppliesToOpenMetersAtOnce() {
    QuotaEngine e = new QuotaEngine(clock, limits(0, 0, 0, 0, 5, 0));
    QuotaMeter alice = e.meter(Principal.user("alice"));
    QuotaMeter bob = e.meter(Principal.user("bob"));
    e.update(
        Map.of(
            "default",
            QuotaLimits.fromMap(Map.of("requests", 1L)),
            "user:alice",
            QuotaLimits.fromMap(Map.of("connections", 1L, "requests", 0L))));
    assertThat(alice.limits()).isEqualTo(limits(0, 0, 0, 0, 1, 0));
    assertThat(bob.limits()).isEqualTo(limits(0, 0, 0, 1, 5, 0));
    assertThat(bob.request()).isZero();
    assertThat(bob.request()).isEqualTo(1000);
    assertThat(alice.request()).isZero();
    assertThat(alice.request()).isZero();
  }

  @Test
  void stateIsBoundedIdleMetersExpireAndMetersInUseStay() {
    QuotaEngine e = new QuotaEngine(clock, limits(0, 0, 0, 0, 0, 0));
    QuotaMeter held = e.meter(Principal.user("held"));
    held.openConnection();
    for (int i = 0; i < QuotaEngine.MAX_PRINCIPALS + 50; i++) {
      e.meter(Principal.token("t" + i));
    }
    assertThat(e.size()).isEqualTo(QuotaEngine.MAX_PRINCIPALS);
    clock.ms.addAndGet(QuotaEngine.IDLE_EXPIRY_MS + 1);
    e.sweep();
    assertThat(e.size()).isEqualTo(1);
    assertThat(e.meter(Principal.user("held"))).isSameAs(held);
  }

  @Test
  void refusalsAndThrottlesAreCountedInMetrics() {
    QuotaEngine e = new QuotaEngine(clock, limits(0, 1, 0, 0, 1, 0));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    e.bindMeters(registry);
    QuotaMeter m = e.meter(Principal.ANONYMOUS);
    m.publish(3, 0);
    m.openConnection();
    m.openConnection();
    assertThat(
            registry
                .get("switchboard.quota.throttled")
                .tag("quota", "publish-messages")
                .functionCounter()
                .count())
        .isEqualTo(1);
    assertThat(
            registry
                .get("switchboard.quota.refused")
                .tag("quota", "connections")
                .functionCounter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void quotasAreStoredInTheDataDirectoryAndReadBackByTheCommandLinesStore() throws Exception {
    try (SecurityService s =
        SecurityService.open(
            data,
            SecurityServiceTest.config(Map.of("quota.publish-messages", "50")),
            io.switchboard.core.Clock.SYSTEM)) {
      s.setQuota("user:alice", QuotaLimits.fromMap(Map.of("connections", 2L)), "test");
      assertThat(s.quotas().meter(Principal.user("alice")).limits())
          .isEqualTo(limits(0, 50, 0, 0, 2, 0));
      assertThatThrownBy(() -> s.setQuota("alice", QuotaLimits.INHERIT_ALL, "test"))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              x -> assertThat(x.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> s.removeQuota("user:bob", "test"))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              x -> assertThat(x.code()).isEqualTo(ErrorCode.QUOTA_NOT_FOUND));
    }
    var admin = SecurityService.openAdmin(data);
    assertThat(admin.storedQuotas())
        .containsEntry("user:alice", QuotaLimits.fromMap(Map.of("connections", 2L)));
    admin.removeQuota("user:alice", "test");
    assertThat(SecurityService.openAdmin(data).storedQuotas()).isEmpty();
  }
}

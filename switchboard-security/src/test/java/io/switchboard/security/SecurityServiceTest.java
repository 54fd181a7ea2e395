package io.switchboard.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecurityServiceTest {
  @TempDir Path data;

  static ServerConfig config(Map<String, String> flags) {
    return ServerConfig.resolve(SecurityKeys.ALL, Map.of(), Map.of(), flags);
  }

  static AclRule rule(AclRule.Effect e, String who, Permission p, String resource) {
    return new AclRule("", e, who, EnumSet.of(p), resource);
  }

  /**
   * Random rule changes and user removals, with one long-lived {@link Access} per principal (as a
   * connection keeps): every answer through the cache equals the model's answer at that moment.
   */
  @Test
  void cachedDecisionsFollowEveryChange() throws Exception {
    try (SecurityService s =
        SecurityService.open(data, config(Map.of("acl.default", "deny")), Clock.SYSTEM)) {
      s.addUser("alice", "pw-alice", "test");
      s.addUser("bob", "pw-bob", "test");
      List<Principal> principals =
          List.of(Principal.user("alice"), Principal.user("bob"), Principal.token("svc"));
      List<Access> connections = principals.stream().map(s::access).toList();
      List<String> subjects = RuleModel.subjects(3);
      Random random = new Random(42);
      String[] resources = {"a", "a.>", "*.b", "a.*.c", ">", "b.b", "c.>"};
      String[] who = {"*", "user:*", "user:alice", "user:bob", "token:svc"};
      Set<String> users = new java.util.HashSet<>(Set.of("alice", "bob"));
      for (int op = 0; op < 150; op++) {
        int kind = random.nextInt(10);
        if (kind < 5 || s.rules().isEmpty()) {
          s.addRule(
              rule(
                  random.nextInt(3) == 0 ? AclRule.Effect.DENY : AclRule.Effect.ALLOW,
                  who[random.nextInt(who.length)],
                  Permission.values()[random.nextInt(Permission.values().length)],
                  resources[random.nextInt(resources.length)]),
              "test");
        } else if (kind < 8) {
          List<AclRule> rules = s.rules();
          s.removeRule(rules.get(random.nextInt(rules.size())).id(), "test");
        } else {
          String u = random.nextBoolean() ? "alice" : "bob";
          if (users.remove(u)) {
            s.removeUser(u, "test");
          } else {
            s.addUser(u, "pw", "test");
            users.add(u);
          }
        }
        List<AclRule> rules = s.rules();
        for (int c = 0; c < principals.size(); c++) {
          Principal p = principals.get(c);
          for (int k = 0; k < 20; k++) {
            String subject = subjects.get(random.nextInt(subjects.size()));
            Permission perm = Permission.values()[random.nextInt(Permission.values().length)];
            boolean exists = p.kind() != Principal.Kind.USER || users.contains(p.name());
            boolean model = exists && RuleModel.allowed(rules, false, p, perm, subject);
            assertThat(connections.get(c).allows(perm, subject))
                .as("op %d: %s %s %s", op, p, perm, subject)
                .isEqualTo(model);
          }
        }
      }
    }
  }

  @Test
  void usersAndRulesSurviveAReopenAndNeverHoldThePassword() throws Exception {
    AclRule stored;
    try (SecurityService s = SecurityService.open(data, config(Map.of()), Clock.SYSTEM)) {
      s.addUser("alice", "correct horse", "test");
      stored = s.addRule(rule(AclRule.Effect.DENY, "user:alice", Permission.PUBLISH, "x.>"), "t");
      assertThatThrownBy(() -> s.addUser("alice", "again", "test"))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.USER_EXISTS));
      assertThatThrownBy(() -> s.removeRule("999", "test"))
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.ACL_RULE_NOT_FOUND));
    }
    String file = Files.readString(data.resolve("security/users.json"));
    assertThat(file).contains("storedKey", "serverKey", "scram-sha-512").doesNotContain("horse");
    // a write that crashed before its rename leaves a .tmp: ignored and removed on open
    Files.writeString(data.resolve("security/acl.json.tmp"), "{garbage");
    try (SecurityService s = SecurityService.open(data, config(Map.of()), Clock.SYSTEM)) {
      assertThat(s.users()).containsExactly("alice");
      assertThat(s.rules()).containsExactly(stored);
      assertThat(s.decide(Principal.user("alice"), Permission.PUBLISH, "x.y"))
          .isEqualTo(Decision.DENY);
      assertThat(s.decide(Principal.user("alice"), Permission.PUBLISH, "y"))
          .isEqualTo(Decision.ALLOW);
      AclRule next = s.addRule(rule(AclRule.Effect.ALLOW, "*", Permission.ADMIN, ">"), "t");
      assertThat(Long.parseLong(next.id())).isGreaterThan(Long.parseLong(stored.id()));
    }
    assertThat(data.resolve("security/acl.json.tmp")).doesNotExist();
  }

  @Test
  void aDamagedStoreStopsTheStartRatherThanDroppingUsers() throws Exception {
    Files.createDirectories(data.resolve("security"));
    Files.writeString(data.resolve("security/users.json"), "{\"format\": 1, \"users\": ");
    assertThatThrownBy(() -> SecurityService.open(data, config(Map.of()), Clock.SYSTEM))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_CONFIG);
              assertThat(e.getMessage()).contains("users.json");
            });
  }

  @Test
  void changesWrittenByAnotherProcessAreReadWithinTheCheckPeriod() throws Exception {
    try (SecurityService s =
        SecurityService.open(
            data, config(Map.of("security.reload-check-ms", "100")), Clock.SYSTEM)) {
      long before = s.version();
      var admin = SecurityService.openAdmin(data);
      admin.addUser("carol", "pw", "cli");
      admin.addRule(rule(AclRule.Effect.DENY, "user:carol", Permission.SUBSCRIBE, ">"), "cli");
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(10))
          .until(() -> s.users().contains("carol") && s.rules().size() == 1);
      assertThat(s.version()).isGreaterThan(before);
      assertThat(s.decide(Principal.user("carol"), Permission.SUBSCRIBE, "a.*"))
          .isEqualTo(Decision.DENY);
    }
  }

  @Test
  void patternSubscriptionsAreFilteredWhereADenyOverlaps() throws Exception {
    try (SecurityService s = SecurityService.open(data, config(Map.of()), Clock.SYSTEM)) {
      s.addRule(rule(AclRule.Effect.DENY, "*", Permission.SUBSCRIBE, "secret.>"), "t");
      Principal anyone = Principal.ANONYMOUS;
      assertThat(s.decide(anyone, Permission.SUBSCRIBE, ">")).isEqualTo(Decision.FILTER);
      assertThat(s.decide(anyone, Permission.SUBSCRIBE, "secret.*")).isEqualTo(Decision.DENY);
      assertThat(s.decide(anyone, Permission.SUBSCRIBE, "public.>")).isEqualTo(Decision.ALLOW);
      Access access = s.access(anyone);
      List<String> delivered = new ArrayList<>();
      for (String subject : List.of("public.a", "secret.a", "secret.a.b", "other")) {
        if (access.allows(Permission.SUBSCRIBE, subject)) {
          delivered.add(subject);
        }
      }
      assertThat(delivered).containsExactly("public.a", "other");
    }
  }

  @Test
  void anonymousIsRefusedEverythingWhenAuthenticationIsRequired() throws Exception {
    try (SecurityService s =
        SecurityService.open(data, config(Map.of("auth.required", "true")), Clock.SYSTEM)) {
      assertThat(s.decide(Principal.ANONYMOUS, Permission.PUBLISH, "a")).isEqualTo(Decision.DENY);
      assertThat(s.decide(Principal.token("svc"), Permission.PUBLISH, "a"))
          .isEqualTo(Decision.ALLOW);
    }
  }
}

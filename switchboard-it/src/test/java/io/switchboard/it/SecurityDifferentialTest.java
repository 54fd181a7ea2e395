package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.subject.Subjects;
import io.switchboard.protocol.frame.Admin;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cross-protocol differential test of issue 18: a reference model of the rules (deny wins, then
 * allow, then the default, over concrete subjects), and 100,000 random operations — publishes,
 * subscriptions with wildcards and queue groups, consumes, requests and admin calls — by several
 * principals over the native protocol, HTTP and MQTT, with the rules replaced every round while the
 * connections stay open. Every answer is compared with the model: zero deliveries the model
 * forbids, zero refusals it allows (and every delivery it allows arrives).
 *
 * <p>Where a protocol cannot say no (an MQTT 3.1.1 publish is acknowledged and dropped), the
 * deliveries say it. A subscription pattern is compared over the model's finite subject universe:
 * refused only if no subject of the universe under it is allowed, accepted if one is (a pattern
 * whose allowed subjects all lie outside the universe may go either way).
 *
 * <p>About a minute and a quarter on a quiet machine (each operation is a network round trip);
 * {@code -Dsecurity.differential.ops=N} runs fewer or more, {@code -Dsecurity.differential.seed=S}
 * another sequence. Messages the test did not publish (the server's own retained ones) are not
 * compared.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class SecurityDifferentialTest {
  static final String SECRET = "a-differential-secret-of-32-bytes-or-more";
  static final List<String> TOKENS = List.of("a", "b", "c");
  static final List<String> PRINCIPALS = List.of("u1", "u2", "u3");
  static final Permission[] PERMISSIONS = {
    Permission.PUBLISH,
    Permission.SUBSCRIBE,
    Permission.REQUEST,
    Permission.CONSUME,
    Permission.ADMIN
  };

  @TempDir Path dir;
  SwitchboardServer server;
  HttpClient http = HttpClient.newHttpClient();
  final Random random = new Random(Long.getLong("security.differential.seed", 18L));
  final List<AclRule> rules = new ArrayList<>();
  final List<String> universe = subjects(3);
  final java.util.concurrent.ExecutorService pool =
      java.util.concurrent.Executors.newFixedThreadPool(PRINCIPALS.size());
  long ops;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.jwt.secret",
                SECRET));
  }

  @AfterEach
  void stop() {
    pool.shutdownNow();
    http.close();
    server.close();
  }

  // ------------------------------------------------------------------ the model

  boolean allowed(String principal, Permission perm, String target) {
    String id = "token:" + principal;
    boolean allow = false;
    for (AclRule r : rules) {
      boolean who =
          r.principal().equals("*") || r.principal().equals(id) || r.principal().equals("token:*");
      if (!who || !r.permissions().contains(perm) || !Subjects.matches(r.resource(), target)) {
        continue;
      }
      if (r.effect() == AclRule.Effect.DENY) {
        return false;
      }
      allow = true;
    }
    return allow; // acl.default=deny
  }

  boolean anyAllowedUnder(String principal, String pattern, boolean mqtt) {
    return universe.stream()
        .anyMatch(s -> under(pattern, mqtt, s) && allowed(principal, Permission.SUBSCRIBE, s));
  }

  /**
   * Whether {@code subject} falls under {@code pattern}; as an MQTT filter a trailing {@code #}
   * also matches its parent level ({@code a/#} matches {@code a}, MQTT 5 §4.7.1.2).
   */
  static boolean under(String pattern, boolean mqtt, String subject) {
    if (Subjects.matches(pattern, subject)) {
      return true;
    }
    return mqtt
        && pattern.endsWith(".>")
        && Subjects.matches(pattern.substring(0, pattern.length() - 2), subject);
  }

  static List<String> subjects(int depth) {
    List<String> out = new ArrayList<>();
    List<String> level = new ArrayList<>(TOKENS);
    for (int d = 1; d <= depth; d++) {
      out.addAll(level);
      List<String> next = new ArrayList<>();
      for (String s : level) {
        for (String t : TOKENS) {
          next.add(s + "." + t);
        }
      }
      level = next;
    }
    return out;
  }

  String subject(Random r) {
    return universe.get(r.nextInt(universe.size()));
  }

  String pattern() {
    int depth = 1 + random.nextInt(3);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      if (i > 0) {
        b.append('.');
      }
      int r = random.nextInt(10);
      if (i == depth - 1 && r == 0) {
        b.append('>');
      } else if (r < 3) {
        b.append('*');
      } else {
        b.append(TOKENS.get(random.nextInt(TOKENS.size())));
      }
    }
    return b.toString();
  }

  void newRules() {
    for (AclRule r : server.security().rules()) {
      server.security().removeRule(r.id(), "differential");
      ops++;
    }
    rules.clear();
    int n = 4 + random.nextInt(8);
    String[] who = {"*", "token:*", "token:u1", "token:u2", "token:u3"};
    for (int i = 0; i < n; i++) {
      EnumSet<Permission> perms = EnumSet.noneOf(Permission.class);
      perms.add(PERMISSIONS[random.nextInt(PERMISSIONS.length)]);
      if (random.nextInt(3) == 0) {
        perms.add(PERMISSIONS[random.nextInt(PERMISSIONS.length)]);
      }
      AclRule r =
          new AclRule(
              "",
              random.nextInt(4) == 0 ? AclRule.Effect.DENY : AclRule.Effect.ALLOW,
              who[random.nextInt(who.length)],
              perms,
              random.nextInt(8) == 0 ? ">" : pattern());
      rules.add(server.security().addRule(r, "differential"));
      ops++;
    }
  }

  // ------------------------------------------------------------------ the protocols

  static String token(String principal) throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder()
                .subject(principal)
                .expirationTime(new Date(System.currentTimeMillis() + 3_600_000))
                .build());
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  int port(String frontEnd) {
    return server.addresses().get(frontEnd).getPort();
  }

  /** One principal's connections: native and MQTT, and its HTTP bearer token. */
  final class Party {
    final String name;
    final String bearer;
    final SwitchboardClient nat;
    final MqttClient mqtt;

    Party(String name) throws Exception {
      this.name = name;
      this.bearer = token(name);
      this.nat =
          SwitchboardClient.connect(
              ClientOptions.of("127.0.0.1", port("native")).withReconnect(false).withToken(bearer));
      this.mqtt =
          new MqttClient(
              "tcp://127.0.0.1:" + port("mqtt"), "diff-" + name, new MemoryPersistence());
      MqttConnectOptions o = new MqttConnectOptions();
      o.setCleanSession(true);
      o.setUserName(name);
      o.setPassword(bearer.toCharArray()); // a JWT as the password is a bearer token
      o.setMaxInflight(1000);
      mqtt.connect(o);
    }

    void close() throws Exception {
      nat.close();
      mqtt.disconnect();
      mqtt.close();
    }
  }

  /** A subscription the test made and what it received (payload ids). */
  record Sub(
      Party party,
      String pattern,
      boolean mqtt,
      boolean group,
      Set<String> got,
      AutoCloseable handle) {}

  static ErrorCode code(Throwable t) {
    Throwable c = t;
    while (c instanceof CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c instanceof SwitchboardClientException e ? e.errorCode() : null;
  }

  int httpStatus(Party p, String method, String path, byte[] body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port("http") + path))
            .header("Authorization", "Bearer " + p.bearer)
            .header("Content-Type", "application/octet-stream")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** What one party does in a phase, with its own random source. */
  interface Work {
    void run(Party p, Random r) throws Exception;
  }

  /**
   * Runs {@code work} for every party at once (each on its own connections), then counts the
   * operations; the first failure is rethrown.
   */
  void inParallel(List<Party> parties, Work work) throws Exception {
    List<java.util.concurrent.Future<?>> running = new ArrayList<>();
    for (Party p : parties) {
      Random r = new Random(random.nextLong());
      running.add(
          pool.submit(
              () -> {
                work.run(p, r);
                return null;
              }));
    }
    for (java.util.concurrent.Future<?> f : running) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof Error err) {
          throw err;
        }
        throw (Exception) e.getCause();
      }
    }
  }

  // ------------------------------------------------------------------ the test

  @Test
  void everyProtocolAgreesWithTheModelOverRandomOperations() throws Exception {
    long target = Long.getLong("security.differential.ops", 100_000L);
    List<Party> parties = new ArrayList<>();
    newRules(); // the first rules; the connections outlive every later change
    for (String name : PRINCIPALS) {
      parties.add(new Party(name));
    }
    long published = 0;
    long delivered = 0;
    int round = 0;
    try {
      while (ops < target) {
        if (round++ > 0) {
          newRules();
        }
        List<Sub> subs = new ArrayList<>();
        // subscriptions: native (some in a queue group) and MQTT
        for (Party p : parties) {
          for (int i = 0; i < 2; i++) {
            String pattern = pattern();
            Set<String> got = ConcurrentHashMap.newKeySet();
            boolean mqtt = random.nextBoolean();
            boolean group = !mqtt && random.nextInt(4) == 0;
            boolean accepted;
            AutoCloseable handle = null;
            if (mqtt) {
              String filter = pattern.replace('.', '/').replace('*', '+').replace('>', '#');
              int granted =
                  p.mqtt.subscribeWithResponse(
                          new String[] {filter},
                          new int[] {1},
                          new org.eclipse.paho.client.mqttv3.IMqttMessageListener[] {
                            (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8))
                          })
                      .getGrantedQos()[0];
              accepted = granted != 0x80;
              if (accepted) {
                handle = () -> p.mqtt.unsubscribe(filter);
              }
            } else {
              try {
                handle =
                    p.nat.subscribe(
                        pattern,
                        group ? "g" : null,
                        m -> got.add(new String(m.payload(), StandardCharsets.UTF_8)),
                        n -> {});
                accepted = true;
              } catch (SwitchboardClientException e) {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED);
                accepted = false;
              }
            }
            ops++;
            boolean any = anyAllowedUnder(p.name, pattern, mqtt);
            if (!accepted) {
              assertThat(any)
                  .as("%s refused to subscribe to %s, which the model allows", p.name, pattern)
                  .isFalse();
            } else if (any || handle != null) {
              subs.add(new Sub(p, pattern, mqtt, group, got, handle));
            }
            if (any) {
              assertThat(accepted)
                  .as("%s was refused %s (mqtt %s), which the model allows", p.name, pattern, mqtt)
                  .isTrue();
            }
          }
        }
        // publishes over every protocol; the refusals the protocol can tell are compared
        Set<String> sent = ConcurrentHashMap.newKeySet(); // ids of publishes the model allows
        Map<String, String> subjectOf = new ConcurrentHashMap<>();
        int thisRound = round;
        inParallel(
            parties,
            (p, r) -> {
              for (int i = 0; i < 50; i++) {
                String subject = subject(r);
                String id = thisRound + "-" + p.name + "-" + i;
                byte[] payload = id.getBytes(StandardCharsets.UTF_8);
                boolean allow = allowed(p.name, Permission.PUBLISH, subject);
                switch (r.nextInt(3)) {
                  case 0 -> {
                    boolean ok;
                    try {
                      p.nat.publish(subject, payload);
                      ok = true;
                    } catch (SwitchboardClientException e) {
                      assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED);
                      ok = false;
                    }
                    assertThat(ok)
                        .as("native publish by %s to %s", p.name, subject)
                        .isEqualTo(allow);
                  }
                  case 1 -> {
                    int status = httpStatus(p, "POST", "/v1/subjects/" + subject, payload);
                    assertThat(status == 403)
                        .as("HTTP publish by %s to %s: %s", p.name, subject, status)
                        .isEqualTo(!allow);
                    assertThat(status).isIn(200, 403);
                  }
                  default -> // 3.1.1 cannot refuse: acknowledged, and dropped when forbidden
                      p.mqtt.publish(subject.replace('.', '/'), payload, 1, false);
                }
                if (allow) {
                  sent.add(id);
                }
                subjectOf.put(id, subject);
              }
            });
        published += 50 * parties.size();
        ops += 50 * parties.size();
        // deliveries: exactly what the model allows, over every subscription
        for (Sub s : subs) {
          Set<String> expected = new HashSet<>();
          for (String id : sent) {
            String subject = subjectOf.get(id);
            if (under(s.pattern(), s.mqtt(), subject)
                && allowed(s.party().name, Permission.SUBSCRIBE, subject)) {
              expected.add(id);
            }
          }
          if (!s.group()) {
            await()
                .atMost(Duration.ofSeconds(20))
                .untilAsserted(
                    () ->
                        assertThat(s.got())
                            .as("%s on %s got what the model allows", s.party().name, s.pattern())
                            .containsAll(expected));
          }
          for (String id : s.got()) {
            if (!subjectOf.containsKey(id)) {
              continue; // not the test's (the server's own retained messages, e.g. its version)
            }
            assertThat(expected)
                .as(
                    "%s on %s received %s (%s), which the model forbids",
                    s.party().name, s.pattern(), id, subjectOf.get(id))
                .contains(id);
          }
          delivered += s.got().size();
        }
        for (Sub s : subs) {
          if (s.handle() != null) {
            s.handle().close();
          }
        }
        // requests, consumes and admin calls over native and HTTP
        inParallel(
            parties,
            (p, r) -> {
              for (int i = 0; i < 200; i++) {
                boolean overHttp = r.nextInt(3) == 0;
                switch (r.nextInt(3)) {
                  case 0 -> {
                    String subject = subject(r);
                    boolean allow = allowed(p.name, Permission.REQUEST, subject);
                    if (overHttp) {
                      int status =
                          httpStatus(
                              p, "POST", "/v1/requests/" + subject + "?timeoutMs=300", new byte[0]);
                      assertThat(status == 403)
                          .as("HTTP request by %s to %s: %s", p.name, subject, status)
                          .isEqualTo(!allow);
                      assertThat(status).isIn(403, 503, 504);
                    } else {
                      ErrorCode c =
                          code(
                              org.assertj.core.api.Assertions.catchThrowable(
                                  () ->
                                      p.nat
                                          .request(subject, new byte[0], Duration.ofMillis(300))
                                          .join()));
                      // a subscriber of this round still draining its unsubscribe may take the
                      // request
                      // and not answer: a timeout is an allowed request too
                      assertThat(c)
                          .as("native request by %s to %s", p.name, subject)
                          .isIn(
                              allow
                                  ? new ErrorCode[] {
                                    ErrorCode.NO_RESPONDERS, ErrorCode.REQUEST_TIMEOUT
                                  }
                                  : new ErrorCode[] {ErrorCode.PERMISSION_DENIED});
                    }
                  }
                  case 1 -> {
                    String stream = TOKENS.get(r.nextInt(3));
                    String consumer = TOKENS.get(r.nextInt(3));
                    boolean allow =
                        allowed(
                            p.name,
                            Permission.CONSUME,
                            Permission.consumerTarget(stream, consumer));
                    if (overHttp) {
                      int status =
                          httpStatus(
                              p,
                              "POST",
                              "/v1/streams/" + stream + "/consumers/" + consumer + "/fetch",
                              new byte[0]);
                      assertThat(status == 403)
                          .as("HTTP fetch by %s of %s.%s: %s", p.name, stream, consumer, status)
                          .isEqualTo(!allow);
                      assertThat(status).isIn(400, 403, 404, 415);
                    } else {
                      ErrorCode c =
                          code(
                              org.assertj.core.api.Assertions.catchThrowable(
                                  () -> p.nat.fetch(stream, consumer, null, 1, 0)));
                      assertThat(c == ErrorCode.PERMISSION_DENIED)
                          .as("native fetch by %s of %s.%s: %s", p.name, stream, consumer, c)
                          .isEqualTo(!allow);
                    }
                  }
                  default -> {
                    String stream = TOKENS.get(r.nextInt(3));
                    boolean allow = allowed(p.name, Permission.ADMIN, stream);
                    if (overHttp) {
                      int status = httpStatus(p, "GET", "/v1/streams/" + stream, null);
                      assertThat(status)
                          .as("HTTP stream info by %s of %s", p.name, stream)
                          .isEqualTo(allow ? 404 : 403);
                    } else {
                      ErrorCode c =
                          code(
                              org.assertj.core.api.Assertions.catchThrowable(
                                  () ->
                                      p.nat.admin(
                                          Admin.Op.STREAM_INFO, "{\"name\":\"" + stream + "\"}")));
                      assertThat(c)
                          .as("native stream info by %s of %s", p.name, stream)
                          .isEqualTo(
                              allow ? ErrorCode.STREAM_NOT_FOUND : ErrorCode.PERMISSION_DENIED);
                    }
                  }
                }
              }
            });
        ops += 200 * parties.size();
      }
    } finally {
      for (Party p : parties) {
        p.close();
      }
    }
    assertThat(ops).isGreaterThanOrEqualTo(target);
    assertThat(published).isPositive();
    assertThat(delivered).as("some deliveries were compared").isPositive();
  }
}

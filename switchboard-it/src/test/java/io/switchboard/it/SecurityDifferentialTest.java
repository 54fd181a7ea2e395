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
 * principals over the native protocol, HTTP and MQTT, and gRPC (publish, subscribe, consume), AMQP
 * 0-9-1 (publish, consume) and Kafka (produce, fetch), with the rules replaced every round while
 * the connections stay open. Native, HTTP, MQTT and gRPC act as each principal's bearer token
 * ({@code token:u1}), AMQP and Kafka as the user of the same name ({@code user:u1}); the rules name
 * both kinds. Every answer is compared with the model: zero deliveries the model forbids, zero
 * refusals it allows (and every delivery it allows arrives).
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
    return allowedAs("token:" + principal, perm, target);
  }

  /** Whether a rule names the principal {@code id}: {@code *}, {@code KIND:*} or the id itself. */
  static boolean appliesTo(AclRule r, String id) {
    String kind = id.substring(0, id.indexOf(':') + 1);
    return r.principal().equals("*")
        || r.principal().equals(id)
        || r.principal().equals(kind + "*");
  }

  /** The model's answer for the principal {@code id} ({@code token:u1}, {@code user:u1}). */
  boolean allowedAs(String id, Permission perm, String target) {
    boolean allow = false;
    for (AclRule r : rules) {
      if (!appliesTo(r, id)
          || !r.permissions().contains(perm)
          || !Subjects.matches(r.resource(), target)) {
        continue;
      }
      if (r.effect() == AclRule.Effect.DENY) {
        return false;
      }
      allow = true;
    }
    return allow; // acl.default=deny
  }

  /**
   * Whether all of {@code pattern} is allowed at once, as a read that cannot skip a subject needs
   * (a Kafka fetch, docs/security.md "Whole-stream reads"): a single allow rule covers it and no
   * deny rule could match any subject under it.
   */
  boolean wholeAllowedAs(String id, Permission perm, String pattern) {
    boolean covered = false;
    for (AclRule r : rules) {
      if (!appliesTo(r, id) || !r.permissions().contains(perm)) {
        continue;
      }
      if (r.effect() == AclRule.Effect.DENY) {
        if (overlaps(r.resource(), pattern)) {
          return false;
        }
      } else {
        covered |= covers(r.resource(), pattern);
      }
    }
    return covered;
  }

  /** Whether every subject {@code inner} matches is matched by {@code outer}. */
  static boolean covers(String outer, String inner) {
    String[] o = outer.split("\\.");
    String[] i = inner.split("\\.");
    for (int k = 0; k < o.length; k++) {
      if (o[k].equals(">")) {
        return k < i.length;
      }
      if (k >= i.length || i[k].equals(">")) {
        return false;
      }
      if (!o[k].equals("*") && (i[k].equals("*") || !o[k].equals(i[k]))) {
        return false;
      }
    }
    return o.length == i.length;
  }

  /** Whether some subject is matched by both patterns. */
  static boolean overlaps(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int k = 0; k < x.length && k < y.length; k++) {
      if (x[k].equals(">") || y[k].equals(">")) {
        return true;
      }
      if (!x[k].equals("*") && !y[k].equals("*") && !x[k].equals(y[k])) {
        return false;
      }
    }
    return x.length == y.length;
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
    String[] who = {
      "*", "token:*", "token:u1", "token:u2", "token:u3", "user:*", "user:u1", "user:u2", "user:u3"
    };
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

  /**
   * One principal's connections: native, MQTT and gRPC with its bearer token (principal {@code
   * token:NAME}), its HTTP bearer token, and AMQP and Kafka (SASL PLAIN) as the user of the same
   * name (principal {@code user:NAME}).
   */
  final class Party {
    final String name;
    final String bearer;
    final SwitchboardClient nat;
    final MqttClient mqtt;
    final io.grpc.ManagedChannel grpc;
    final com.rabbitmq.client.Connection amqp;
    com.rabbitmq.client.Channel amqpPublisher;
    final org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> kafkaProducer;
    final org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> kafkaConsumer;

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
      io.grpc.Metadata auth = new io.grpc.Metadata();
      auth.put(
          io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + bearer);
      this.grpc =
          io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", port("grpc"))
              .usePlaintext()
              .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(auth))
              .build();
      com.rabbitmq.client.ConnectionFactory f = new com.rabbitmq.client.ConnectionFactory();
      f.setHost("127.0.0.1");
      f.setPort(port("amqp"));
      f.setAutomaticRecoveryEnabled(false);
      f.setUsername(name);
      f.setPassword(password(name));
      this.amqp = f.newConnection();
      Map<String, Object> k = new java.util.HashMap<>(kafka(name));
      k.put("key.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class);
      k.put("value.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class);
      k.put("linger.ms", 0);
      k.put("max.block.ms", 20_000);
      k.put("delivery.timeout.ms", 20_000);
      k.put("request.timeout.ms", 10_000);
      // a refused topic's metadata is asked again at once, not after the default back-off
      k.put("retry.backoff.ms", 5);
      k.put("retry.backoff.max.ms", 20);
      this.kafkaProducer = new org.apache.kafka.clients.producer.KafkaProducer<>(k);
      Map<String, Object> c = new java.util.HashMap<>(kafka(name));
      c.put("key.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
      c.put(
          "value.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
      c.put("enable.auto.commit", false);
      this.kafkaConsumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(c);
    }

    /** The AMQP channel publishes go through, with confirms; a refusal closes it, so a new one. */
    com.rabbitmq.client.Channel amqpPublisher() throws Exception {
      if (amqpPublisher == null || !amqpPublisher.isOpen()) {
        amqpPublisher = amqp.createChannel();
        amqpPublisher.confirmSelect();
      }
      return amqpPublisher;
    }

    void close() throws Exception {
      nat.close();
      mqtt.disconnect();
      mqtt.close();
      grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      amqp.close();
      kafkaProducer.close(Duration.ofSeconds(5));
      kafkaConsumer.close(
          org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
    }
  }

  static String password(String user) {
    return "pw-" + user;
  }

  Map<String, Object> kafka(String user) {
    return Map.of(
        "bootstrap.servers",
        "127.0.0.1:" + port("kafka"),
        "security.protocol",
        "SASL_PLAINTEXT",
        "sasl.mechanism",
        "PLAIN",
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + user
            + "\" password=\""
            + password(user)
            + "\";",
        "default.api.timeout.ms",
        20_000);
  }

  /** Kafka topics and AMQP queues the operations name (made before the first rules). */
  static final List<String> TOPICS = List.of("k1", "k2");

  static final List<String> QUEUES = List.of("q1", "q2");

  /**
   * What the Kafka and AMQP operations need, made by an administrator while one rule lets it:
   * topics (streams capturing {@code k1} and {@code k1.>}), AMQP queues, and a topic exchange per
   * first token of the subject universe (an AMQP publish to exchange {@code a}, key {@code b.c} is
   * on subject {@code a.b.c}); and the users of the AMQP and Kafka connections.
   */
  void prepare() throws Exception {
    for (String u : PRINCIPALS) {
      server.security().addUser(u, password(u), "differential");
    }
    server.security().addUser("root", password("root"), "differential");
    server
        .security()
        .addRule(
            new AclRule(
                "", AclRule.Effect.ALLOW, "user:root", EnumSet.allOf(Permission.class), ">"),
            "differential");
    for (String t : TOPICS) {
      server
          .broker()
          .createStream(io.switchboard.broker.stream.StreamConfig.builder(t, t, t + ".>").build());
      server
          .broker()
          .publish(
              io.switchboard.core.Message.of(t, new byte[] {0}, System.currentTimeMillis()),
              io.switchboard.broker.PublishOptions.NONE)
          .get(10, TimeUnit.SECONDS);
    }
    com.rabbitmq.client.ConnectionFactory f = new com.rabbitmq.client.ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(port("amqp"));
    f.setAutomaticRecoveryEnabled(false);
    f.setUsername("root");
    f.setPassword(password("root"));
    try (com.rabbitmq.client.Connection c = f.newConnection()) {
      com.rabbitmq.client.Channel ch = c.createChannel();
      for (String t : TOKENS) {
        ch.exchangeDeclare(t, "topic", true);
      }
      for (String q : QUEUES) {
        ch.queueDeclare(q, true, false, false, null);
      }
    }
  }

  /** The code a gRPC call ends with: OK when it has sent a first message or completed. */
  static <T> io.grpc.Status.Code grpcOutcome(
      java.util.function.Consumer<io.grpc.stub.StreamObserver<T>> call) throws Exception {
    java.util.concurrent.CompletableFuture<io.grpc.Status.Code> done =
        new java.util.concurrent.CompletableFuture<>();
    call.accept(
        new io.grpc.stub.StreamObserver<>() {
          @Override
          public void onNext(T value) {
            done.complete(io.grpc.Status.Code.OK);
          }

          @Override
          public void onError(Throwable t) {
            done.complete(io.grpc.Status.fromThrowable(t).getCode());
          }

          @Override
          public void onCompleted() {
            done.complete(io.grpc.Status.Code.OK);
          }
        });
    return done.get(20, TimeUnit.SECONDS);
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

  /**
   * A consume over gRPC or AMQP, or a Kafka produce or fetch: the refusals the model predicts and
   * no others. A Kafka fetch serves whole batches, so it needs CONSUME on {@code TOPIC.$read} and
   * every subject of the topic's stream (docs/security.md "Whole-stream reads").
   */
  void otherProtocols(Party p, Random r, int op) throws Exception {
    long t0 = System.nanoTime();
    String kind =
        op % 10 < 4
            ? "grpc-consume"
            : op % 10 < 7 ? "amqp-consume" : op % 10 == 7 ? "kafka-produce" : "kafka-fetch";
    otherProtocol(p, r, op);
    tally.computeIfAbsent(
        kind,
        k ->
            new java.util.concurrent.atomic.LongAdder[] {
              new java.util.concurrent.atomic.LongAdder(),
              new java.util.concurrent.atomic.LongAdder()
            });
    tally.get(kind)[0].increment();
    tally.get(kind)[1].add(System.nanoTime() - t0);
  }

  /** Operations per kind over the other protocols, and the nanoseconds they took. */
  final Map<String, java.util.concurrent.atomic.LongAdder[]> tally = new ConcurrentHashMap<>();

  void otherProtocol(Party p, Random r, int op) throws Exception {
    String user = "user:" + p.name;
    switch (op % 10) {
      case 0, 1, 2, 3 -> {
        String stream = TOKENS.get(r.nextInt(3));
        String consumer = TOKENS.get(r.nextInt(3));
        boolean allow =
            allowed(p.name, Permission.CONSUME, Permission.consumerTarget(stream, consumer));
        io.grpc.Status.Code code =
            SecurityDifferentialTest.<io.switchboard.grpc.v1.ConsumeResponse>grpcOutcome(
                o ->
                    io.switchboard.grpc.v1.SubscriberGrpc.newStub(p.grpc)
                        .consume(o)
                        .onNext(
                            io.switchboard.grpc.v1.ConsumeRequest.newBuilder()
                                .setOpen(
                                    io.switchboard.grpc.v1.ConsumeRequest.Open.newBuilder()
                                        .setStream(stream)
                                        .setConsumer(consumer)
                                        .setCredit(1))
                                .build()));
        assertThat(code)
            .as("gRPC consume by %s of %s.%s", p.name, stream, consumer)
            .isEqualTo(
                allow ? io.grpc.Status.Code.NOT_FOUND : io.grpc.Status.Code.PERMISSION_DENIED);
      }
      case 4, 5, 6 -> {
        String queue = QUEUES.get(r.nextInt(QUEUES.size()));
        boolean allow = allowedAs(user, Permission.CONSUME, "$AMQP.queue." + queue);
        com.rabbitmq.client.Channel ch = p.amqp.createChannel();
        boolean ok;
        try {
          String tag = ch.basicConsume(queue, true, new com.rabbitmq.client.DefaultConsumer(ch));
          ch.basicCancel(tag);
          ok = true;
        } catch (java.io.IOException e) {
          assertThat(String.valueOf(e.getCause())).contains("ACCESS_REFUSED");
          ok = false;
        } finally {
          if (ch.isOpen()) {
            ch.close();
          }
        }
        assertThat(ok).as("AMQP consume by %s of %s", user, queue).isEqualTo(allow);
      }
      case 7 -> {
        String topic = TOPICS.get(r.nextInt(TOPICS.size()));
        boolean allow = allowedAs(user, Permission.PUBLISH, topic);
        Throwable t =
            org.assertj.core.api.Assertions.catchThrowable(
                () ->
                    p.kafkaProducer
                        .send(
                            new org.apache.kafka.clients.producer.ProducerRecord<>(
                                topic, new byte[] {1}))
                        .get(30, TimeUnit.SECONDS));
        if (t instanceof java.util.concurrent.ExecutionException) {
          t = t.getCause();
        }
        if (allow) {
          assertThat(t).as("Kafka produce by %s to %s", user, topic).isNull();
        } else {
          assertThat(t)
              .as("Kafka produce by %s to %s", user, topic)
              .isInstanceOf(org.apache.kafka.common.errors.TopicAuthorizationException.class);
        }
      }
      default -> {
        String topic = TOPICS.get(r.nextInt(TOPICS.size()));
        boolean allow =
            allowedAs(user, Permission.CONSUME, Permission.consumerTarget(topic, "$read"))
                && wholeAllowedAs(user, Permission.SUBSCRIBE, topic)
                && wholeAllowedAs(user, Permission.SUBSCRIBE, topic + ".>");
        org.apache.kafka.common.TopicPartition tp =
            new org.apache.kafka.common.TopicPartition(topic, 0);
        p.kafkaConsumer.assign(List.of(tp));
        p.kafkaConsumer.seek(tp, 0);
        // the topic holds a record (prepare): an allowed fetch returns it, a refused one throws
        boolean refused = false;
        boolean read = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!refused && !read && System.nanoTime() < deadline) {
          try {
            read = !p.kafkaConsumer.poll(Duration.ofMillis(100)).isEmpty();
          } catch (org.apache.kafka.common.errors.TopicAuthorizationException e) {
            refused = true;
          }
        }
        assertThat(refused || read).as("Kafka fetch by %s of %s answered", user, topic).isTrue();
        assertThat(read).as("Kafka fetch by %s of %s", user, topic).isEqualTo(allow);
        p.kafkaConsumer.unsubscribe();
      }
    }
  }

  // ------------------------------------------------------------------ the test

  @Test
  void everyProtocolAgreesWithTheModelOverRandomOperations() throws Exception {
    long target = Long.getLong("security.differential.ops", 100_000L);
    List<Party> parties = new ArrayList<>();
    prepare();
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
            boolean grpc = !mqtt && random.nextInt(3) == 0;
            boolean group = !mqtt && !grpc && random.nextInt(4) == 0;
            boolean accepted;
            AutoCloseable handle = null;
            if (grpc) {
              int before = server.broker().live().subscriptionCount();
              java.util.concurrent.CompletableFuture<io.grpc.Status.Code> failed =
                  new java.util.concurrent.CompletableFuture<>();
              List<io.grpc.stub.ClientCallStreamObserver<?>> call = new ArrayList<>();
              io.switchboard.grpc.v1.SubscriberGrpc.newStub(p.grpc)
                  .subscribe(
                      io.switchboard.grpc.v1.SubscribeRequest.newBuilder()
                          .setPattern(pattern)
                          .build(),
                      new io.grpc.stub.ClientResponseObserver<
                          io.switchboard.grpc.v1.SubscribeRequest,
                          io.switchboard.grpc.v1.SubscribeResponse>() {
                        @Override
                        public void beforeStart(
                            io.grpc.stub.ClientCallStreamObserver<
                                    io.switchboard.grpc.v1.SubscribeRequest>
                                r) {
                          call.add(r);
                        }

                        @Override
                        public void onNext(io.switchboard.grpc.v1.SubscribeResponse m) {
                          if (m.hasMessage()) {
                            got.add(m.getMessage().getPayload().toStringUtf8());
                          }
                        }

                        @Override
                        public void onError(Throwable t) {
                          failed.complete(io.grpc.Status.fromThrowable(t).getCode());
                        }

                        @Override
                        public void onCompleted() {}
                      });
              // accepted once the server holds the subscription; refused with an error
              await()
                  .atMost(Duration.ofSeconds(20))
                  .pollDelay(Duration.ZERO)
                  .pollInterval(Duration.ofMillis(2))
                  .until(
                      () -> failed.isDone() || server.broker().live().subscriptionCount() > before);
              accepted = !failed.isDone();
              if (accepted) {
                handle = () -> call.get(0).cancel("round over", null);
              } else {
                assertThat(failed.join())
                    .as("gRPC subscribe by %s to %s", p.name, pattern)
                    .isEqualTo(io.grpc.Status.Code.PERMISSION_DENIED);
              }
            } else if (mqtt) {
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
                  .as(
                      "%s was refused %s (mqtt %s, gRPC %s), which the model allows",
                      p.name, pattern, mqtt, grpc)
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
                // gRPC and AMQP publishes are one confirmed round trip each: fewer of them
                int kind = r.nextInt(8); // native, HTTP, MQTT two in eight; gRPC, AMQP one
                switch (kind < 6 ? kind / 2 : kind - 3) {
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
                  case 2 -> // 3.1.1 cannot refuse: acknowledged, and dropped when forbidden
                      p.mqtt.publish(subject.replace('.', '/'), payload, 1, false);
                  case 3 -> {
                    io.grpc.Status.Code code =
                        SecurityDifferentialTest.<io.switchboard.grpc.v1.PublishAck>grpcOutcome(
                            o ->
                                io.switchboard.grpc.v1.PublisherGrpc.newStub(p.grpc)
                                    .publish(
                                        io.switchboard.grpc.v1.PublishRequest.newBuilder()
                                            .setMessage(
                                                io.switchboard.grpc.v1.Message.newBuilder()
                                                    .setSubject(subject)
                                                    .setPayload(
                                                        com.google.protobuf.ByteString.copyFrom(
                                                            payload)))
                                            .build(),
                                        o));
                    assertThat(code)
                        .as("gRPC publish by %s to %s", p.name, subject)
                        .isEqualTo(
                            allow ? io.grpc.Status.Code.OK : io.grpc.Status.Code.PERMISSION_DENIED);
                  }
                  default -> {
                    // AMQP, as the user: exchange a, key b.c is subject a.b.c
                    allow = allowedAs("user:" + p.name, Permission.PUBLISH, subject);
                    int dot = subject.indexOf('.');
                    boolean ok;
                    try {
                      com.rabbitmq.client.Channel ch = p.amqpPublisher();
                      ch.basicPublish(
                          dot < 0 ? subject : subject.substring(0, dot),
                          dot < 0 ? "" : subject.substring(dot + 1),
                          null,
                          payload);
                      ok = ch.waitForConfirms(20_000);
                    } catch (java.io.IOException | com.rabbitmq.client.ShutdownSignalException e) {
                      assertThat(String.valueOf(e.getMessage()) + e.getCause())
                          .contains("ACCESS_REFUSED");
                      ok = false;
                    }
                    assertThat(ok)
                        .as("AMQP publish by user %s to %s", p.name, subject)
                        .isEqualTo(allow);
                  }
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
                int op = r.nextInt(100);
                if (op >= 90) { // one in ten: gRPC, AMQP and Kafka (slower round trips)
                  otherProtocols(p, r, op);
                  continue;
                }
                switch (op % 3) {
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
    tally.forEach(
        (k, v) ->
            System.out.printf(
                "differential: %s %d operations, %d ms%n", k, v[0].sum(), v[1].sum() / 1_000_000));
    assertThat(tally.keySet())
        .as("gRPC, AMQP and Kafka operations were compared")
        .contains("grpc-consume", "amqp-consume", "kafka-produce", "kafka-fetch");
    assertThat(ops).isGreaterThanOrEqualTo(target);
    assertThat(published).isPositive();
    assertThat(delivered).as("some deliveries were compared").isPositive();
  }
}

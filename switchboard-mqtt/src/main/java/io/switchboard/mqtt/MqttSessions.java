package io.switchboard.mqtt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netty.util.concurrent.EventExecutor;
import io.switchboard.broker.BindingSpec;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persistent MQTT sessions, kept in broker streams, consumers and bindings (docs/mqtt.md), never in
 * storage of the front end's own. Thread-safe. The steps that touch the broker's disk or monitors —
 * {@link #connect}, {@link #disconnected}, {@link #subscribe}, {@link #unsubscribe} and expiry —
 * run on the broker's executor ({@link Broker#offload}), one at a time per client id and in the
 * order they were asked for, and complete on the caller's event loop; nothing here blocks a loop.
 * The rest (hand-overs, registrations, wills) is memory only and answers at once.
 *
 * <p>Each QoS 1/2 subscription of a session is a durable binding of the broker (owner {@value
 * #OWNER}, one per subject pattern of its filter, {@link Broker#bindDurable}), which the broker
 * stores and restores itself: every matching message is copied into the stream {@code MQTT_INBOX}
 * under {@code $MQTT.inbox.<id>} as part of the publish, so a QoS 1/2 message acknowledged to its
 * publisher is already in every inbox it matched, even if the broker is killed the next instant.
 * The subscription's MQTT options travel in the binding's arguments. What is not a binding — the
 * session's expiry interval, the QoS 2 packet ids it must release, and its QoS 0 (live only)
 * subscriptions — is a JSON record in the compacted stream {@code MQTT_SESSIONS} under {@code
 * $MQTT.session.<id>}. A durable consumer per session delivers the inbox to the client in order,
 * acknowledged by its PUBACKs: what arrives while the client is away, or is unacknowledged when it
 * drops, is delivered when it comes back.
 *
 * <p>What a copy becomes on delivery (its QoS, its subscription identifiers) is decided by the
 * connection from the session's subscriptions when it sends it, by the same rules as a live
 * delivery ({@link MqttConnection}); a copy made for a shared subscription says which in {@link
 * #SHARE_HEADER}.
 */
final class MqttSessions {
  private static final Logger LOG = LoggerFactory.getLogger(MqttSessions.class);
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .build();

  static final String SESSIONS_STREAM = "MQTT_SESSIONS";
  static final String SESSION_PREFIX = "$MQTT.session.";
  static final String INBOX_STREAM = "MQTT_INBOX";
  static final String INBOX_PREFIX = "$MQTT.inbox.";

  /** The owner of the front end's bindings. */
  static final String OWNER = "mqtt";

  /**
   * Header naming the shared subscription ({@code $share/<group>/<filter>}) a copy was made for.
   */
  static final String SHARE_HEADER = "sb-mqtt-share";

  /**
   * 5 s: a message a client leaves unacknowledged this long — typically because its connection
   * dropped — is delivered again (flagged DUP), so a reconnecting client gets it promptly.
   */
  static final long SESSION_ACK_TIMEOUT_MS = 5_000;

  /** 7 days: the inbox keeps a message at most this long for a client that never returns. */
  static final long INBOX_MAX_AGE_MS = 7L * 24 * 3600 * 1000;

  /** Where a message of a session's inbox is stored. */
  record InboxPosition(int partition, long offset) {
    static InboxPosition of(io.switchboard.broker.consumer.Delivery d) {
      return new InboxPosition(d.partition(), d.offset());
    }
  }

  /** One subscription of a session. */
  record Sub(String filter, int qos, String group, boolean noLocal, int subscriptionId) {
    /** The filter as the client wrote it ({@code $share/<group>/<filter>} for a shared one). */
    String key() {
      return group == null ? filter : "$share/" + group + "/" + filter;
    }
  }

  /**
   * A session as the connections see it.
   *
   * @param subscriptions every subscription, QoS 0 and QoS 1/2
   * @param releasing packet ids of QoS 2 deliveries the client had received (PUBREC) and not
   *     completed (PUBCOMP) when it left: the next connection sends PUBREL for them
   */
  record Definition(
      String clientId, List<Sub> subscriptions, long expiryMs, List<Integer> releasing) {
    Definition {
      releasing = releasing == null ? List.of() : List.copyOf(releasing);
      subscriptions = subscriptions == null ? List.of() : List.copyOf(subscriptions);
    }

    Definition(String clientId, List<Sub> subscriptions, long expiryMs) {
      this(clientId, subscriptions, expiryMs, List.of());
    }

    Definition withSubscriptions(List<Sub> subs) {
      return new Definition(clientId, subs, expiryMs, releasing);
    }
  }

  /**
   * What {@code MQTT_SESSIONS} holds per session: all but its QoS 1/2 subscriptions, which are
   * bindings. (Records of the earlier format, which listed every subscription under {@code
   * subscriptions}, are read without them.)
   */
  record Stored(
      String clientId, List<Sub> liveSubscriptions, long expiryMs, List<Integer> releasing) {}

  /** A session in memory: its definition and expiry timer. */
  static final class Session {
    volatile Definition definition;
    ScheduledFuture<?> expiry;

    /** The connection that has the session now, or null while the client is away. */
    Object owner;

    /**
     * Inbox messages the last connection had sent and not had acknowledged (bounded by its
     * in-flight window); null when not known — a session reloaded after a restart.
     */
    java.util.Set<InboxPosition> sentBefore = new java.util.HashSet<>();

    /** QoS 2 packet ids awaiting PUBCOMP, for the next connection to send PUBREL for. */
    final List<Integer> releasing = new ArrayList<>();

    Session(Definition d) {
      this.definition = d;
    }
  }

  private final Broker broker;
  private final EventExecutor timer;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final boolean available;

  MqttSessions(Broker broker, EventExecutor timer) {
    this.broker = broker;
    this.timer = timer;
    this.available = ensureStreams();
    if (available) {
      load();
    }
  }

  /** Reloads the sessions: records from their stream, QoS 1/2 subscriptions from the bindings. */
  private void load() {
    for (StoredMessage m : broker.lastMessages(SESSIONS_STREAM, SESSION_PREFIX + ">", 1_000_000)) {
      if (m.message().payload().length == 0) {
        continue; // deleted
      }
      try {
        Stored d = JSON.readValue(m.message().payload(), Stored.class);
        Session s =
            new Session(
                new Definition(
                    d.clientId(),
                    d.liveSubscriptions() == null ? List.of() : d.liveSubscriptions(),
                    d.expiryMs(),
                    d.releasing()));
        s.sentBefore = null; // not known across a restart
        s.releasing.addAll(s.definition.releasing());
        sessions.put(d.clientId(), s);
      } catch (IOException | RuntimeException e) {
        LOG.warn("SB-MQTT-6002 skipping an unreadable session record: {}", e.toString());
      }
    }
    Map<String, Map<String, Sub>> bound = new LinkedHashMap<>();
    for (BindingSpec b : broker.bindings(OWNER)) {
      Sub sub = subOf(b);
      String clientId = b.arguments().get(ARG_CLIENT);
      if (sub == null || clientId == null || !sessions.containsKey(clientId)) {
        // Left by a session discarded mid-way (or unreadable): nobody will take it up again.
        broker.unbind(OWNER, b.name(), Runnable::run).join();
        continue;
      }
      bound.computeIfAbsent(clientId, k -> new LinkedHashMap<>()).put(sub.key(), sub);
    }
    for (Session s : List.copyOf(sessions.values())) {
      Map<String, Sub> subs = new LinkedHashMap<>();
      for (Sub live : s.definition.subscriptions()) {
        subs.put(live.key(), live);
      }
      // A binding outranks a QoS 0 record of the same filter: a change between the two was cut.
      subs.putAll(bound.getOrDefault(s.definition.clientId(), Map.of()));
      s.definition = s.definition.withSubscriptions(List.copyOf(subs.values()));
      if (s.definition.expiryMs() == 0) {
        // A session resumed with interval 0 ends with its connection, which the restart ended.
        discard(s);
        continue;
      }
      scheduleExpiry(s);
    }
  }

  private boolean ensureStreams() {
    try {
      ensure(
          StreamConfig.builder(SESSIONS_STREAM, SESSION_PREFIX + ">")
              .retention(Retention.COMPACTED)
              .build());
      ensure(
          StreamConfig.builder(INBOX_STREAM, INBOX_PREFIX + ">")
              .maxAgeMs(INBOX_MAX_AGE_MS)
              .build());
      return true;
    } catch (SwitchboardException e) {
      LOG.warn("SB-MQTT-6003 persistent sessions are off: {}", e.getMessage());
      return false;
    }
  }

  private void ensure(StreamConfig config) {
    // The server's own: refused to the admin calls of every front end (a deleted sessions stream
    // lost every persistent session at the next restart); made again here when missing.
    broker.ownStream(config.name(), "MQTT persistent sessions");
    try {
      broker.streamInfo(config.name());
    } catch (SwitchboardException e) {
      if (e.code() != ErrorCode.STREAM_NOT_FOUND) {
        throw e;
      }
      broker.createStream(config);
    }
  }

  boolean available() {
    return available;
  }

  /** Per client id, the end of its queue of session steps (only while one is queued or running). */
  private final Map<String, CompletableFuture<Void>> steps = new java.util.HashMap<>();

  /**
   * Runs {@code step} on the broker's executor after every step asked for before it for the same
   * client id, and completes on {@code completeOn} with its result. A connection asks for at most
   * one step at a time (it waits for the answer before reading on), so the queue per client id is
   * short: its connection's, a leaving connection's end, an expiry.
   */
  private <T> CompletableFuture<T> serially(
      String clientId, java.util.function.Supplier<T> step, Executor completeOn) {
    CompletableFuture<T> run;
    CompletableFuture<Void> end;
    synchronized (steps) {
      CompletableFuture<Void> before =
          steps.getOrDefault(clientId, CompletableFuture.completedFuture(null));
      run = before.thenCompose(ignored -> broker.offload(step, Runnable::run));
      end = run.handle((r, e) -> null);
      steps.put(clientId, end);
    }
    end.thenRun(
        () -> {
          synchronized (steps) {
            steps.remove(clientId, end);
          }
        });
    return io.switchboard.core.Futures.completeOn(run, completeOn);
  }

  /** A single subject token for a client id (hex of its UTF-8 bytes). */
  static String token(String clientId) {
    return HexFormat.of().formatHex(clientId.getBytes(StandardCharsets.UTF_8));
  }

  /** The durable consumer's name for a client id (names are short: a digest). */
  static String consumerName(String clientId) {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256").digest(clientId.getBytes(StandardCharsets.UTF_8));
      return "mqtt-" + HexFormat.of().formatHex(d, 0, 24);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A client connects. With {@code cleanStart} any old session is discarded first; without it, a
   * stored session is resumed whatever {@code expiryMs} is — the new interval applies from now on,
   * so with 0 it ends when this connection does [MQTT-3.1.2-23]. Otherwise a session is created
   * when {@code expiryMs} is above 0.
   *
   * @param expiryMs the CONNECT's session expiry interval ({@link Long#MAX_VALUE}: never)
   * @param loop where the future completes: the connection's event loop
   * @return the resumed session's definition, or null when none was resumed; once the session's
   *     consumer and record are stored
   */
  CompletableFuture<Definition> connect(
      String clientId, boolean cleanStart, long expiryMs, Object owner, Executor loop) {
    return serially(clientId, () -> connectNow(clientId, cleanStart, expiryMs, owner), loop);
  }

  private Definition connectNow(String clientId, boolean cleanStart, long expiryMs, Object owner) {
    Session old = sessions.get(clientId);
    if (old != null && cleanStart) {
      discard(old);
      old = null;
    }
    if (old == null && expiryMs == 0) {
      return null;
    }
    if (old == null) {
      Session s = new Session(new Definition(clientId, List.of(), expiryMs));
      s.owner = owner;
      sessions.put(clientId, s);
      ensureConsumer(clientId);
      store(s);
      return null;
    }
    old.owner = owner;
    cancelExpiry(old);
    Definition resumed = old.definition;
    if (resumed.expiryMs() != expiryMs || !resumed.releasing().isEmpty()) {
      // The releasing ids are in memory (Session.releasing) for the connection to take.
      old.definition = new Definition(clientId, resumed.subscriptions(), expiryMs);
      store(old);
    }
    return resumed;
  }

  /**
   * {@code owner}'s connection ended with session expiry interval {@code expiryMs} (the CONNECT's,
   * or the one its DISCONNECT gave): 0 ends the session now, otherwise it ends that long after,
   * keeping the packet ids of QoS 2 deliveries still {@code releasing}. Ignored when another
   * connection has taken the session over meanwhile. Runs after every step asked for before it; a
   * failure is logged (the connection is gone: nobody to tell).
   */
  void disconnected(String clientId, long expiryMs, Object owner, List<Integer> releasing) {
    serially(
            clientId,
            () -> {
              disconnectedNow(clientId, expiryMs, owner, List.copyOf(releasing));
              return null;
            },
            Runnable::run)
        .whenComplete(
            (ignored, e) -> {
              if (e != null) {
                LOG.warn(
                    "SB-MQTT-6005 ending the connection of session {} failed: {}",
                    token(clientId),
                    e.toString());
              }
            });
  }

  private void disconnectedNow(
      String clientId, long expiryMs, Object owner, List<Integer> releasing) {
    Session s = sessions.get(clientId);
    if (s == null || s.owner != owner) {
      return;
    }
    s.owner = null;
    if (expiryMs == 0) {
      discard(s);
      return;
    }
    if (s.definition.expiryMs() != expiryMs || !releasing.isEmpty()) {
      s.definition = new Definition(clientId, s.definition.subscriptions(), expiryMs, releasing);
      store(s);
    }
    scheduleExpiry(s);
  }

  /**
   * Adds or replaces a subscription of a persistent session: a QoS 1/2 one is stored as bindings
   * (acknowledged once stored), a QoS 0 one in the session's record. Either way, what it replaces
   * goes after the new one is in place, so a crash between the two leaves one of them, and a
   * binding outranks a record on reload. Completes on {@code loop} once stored.
   */
  CompletableFuture<Void> subscribe(String clientId, Sub sub, Executor loop) {
    return serially(
        clientId,
        () -> {
          subscribeNow(clientId, sub);
          return null;
        },
        loop);
  }

  private void subscribeNow(String clientId, Sub sub) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return;
    }
    Sub old = null;
    List<Sub> subs = new ArrayList<>();
    for (Sub o : s.definition.subscriptions()) {
      if (o.key().equals(sub.key())) {
        old = o;
      } else {
        subs.add(o);
      }
    }
    subs.add(sub);
    s.definition = s.definition.withSubscriptions(subs);
    if (sub.qos() > 0) {
      bind(s, sub);
      if (old != null && old.qos() == 0) {
        store(s);
      }
    } else {
      store(s);
      if (old != null && old.qos() > 0) {
        unbind(s, old);
      }
    }
  }

  /**
   * Removes a subscription ({@link Sub#key()}) of a persistent session; completes on {@code loop}
   * once stored.
   */
  CompletableFuture<Void> unsubscribe(String clientId, String key, Executor loop) {
    return serially(
        clientId,
        () -> {
          unsubscribeNow(clientId, key);
          return null;
        },
        loop);
  }

  private void unsubscribeNow(String clientId, String key) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return;
    }
    Sub old = null;
    List<Sub> subs = new ArrayList<>();
    for (Sub o : s.definition.subscriptions()) {
      if (o.key().equals(key)) {
        old = o;
      } else {
        subs.add(o);
      }
    }
    if (old == null) {
      return;
    }
    s.definition = s.definition.withSubscriptions(subs);
    if (old.qos() > 0) {
      unbind(s, old);
    } else {
      store(s);
    }
  }

  /**
   * What one connection of a session leaves the next: the inbox messages it had sent and not had
   * acknowledged (null: not known, after a restart), and the packet ids of QoS 2 deliveries the
   * client had received (PUBREC) and not completed (PUBCOMP).
   */
  record HandOver(java.util.Set<InboxPosition> sentBefore, List<Integer> releasing) {}

  /**
   * The connection letting go of {@code clientId}'s inbox leaves {@code sent} and {@code releasing}
   * to the next one, which takes them only after it let go ({@link #claimInbox}) — whichever order
   * the two connections' ends and starts ran in. Added to what is there (a connection that never
   * started pushing took nothing). Ignored when the session is gone.
   */
  void handOver(String clientId, java.util.Set<InboxPosition> sent, List<Integer> releasing) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return;
    }
    synchronized (s) {
      if (s.sentBefore != null) {
        s.sentBefore.addAll(sent);
      }
      for (int id : releasing) {
        if (!s.releasing.contains(id)) {
          s.releasing.add(id);
        }
      }
    }
  }

  /** What the previous connection left, for the connection now starting to push the inbox. */
  HandOver takeHandOver(String clientId) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return new HandOver(new java.util.HashSet<>(), List.of());
    }
    synchronized (s) {
      var out = new HandOver(s.sentBefore, List.copyOf(s.releasing));
      s.sentBefore = new java.util.HashSet<>();
      s.releasing.clear();
      return out;
    }
  }

  /** Per client id, the future the inbox's current holder completes when it lets go. */
  private final Map<String, CompletableFuture<Void>> inboxHolders = new ConcurrentHashMap<>();

  /**
   * A connection of {@code clientId}'s session is to push its inbox, and will complete {@code
   * released} when it lets go. Returns when it may start: once the previous holder has let go, so
   * two connections of one session never fetch from its consumer at once (that would hand new
   * messages to the leaving one, to come back later, out of order and flagged as duplicates).
   */
  CompletableFuture<Void> claimInbox(String clientId, CompletableFuture<Void> released) {
    CompletableFuture<Void> previous = inboxHolders.put(clientId, released);
    released.whenComplete((ignored, e) -> inboxHolders.remove(clientId, released));
    return previous == null ? CompletableFuture.completedFuture(null) : previous;
  }

  /** Connections by client id (every connected client, persistent session or not). */
  private final Map<String, MqttConnection> active = new ConcurrentHashMap<>();

  /** Wills waiting for their delay interval, by client id. */
  private final Map<String, ScheduledFuture<?>> pendingWills = new ConcurrentHashMap<>();

  /**
   * Registers {@code connection} as {@code clientId}'s; returns the connection it takes over from
   * [MQTT-3.1.4-2], if any, which the caller disconnects. A will waiting for its delay is
   * cancelled: the client is back.
   */
  MqttConnection register(String clientId, MqttConnection connection) {
    ScheduledFuture<?> will = pendingWills.remove(clientId);
    if (will != null) {
      will.cancel(false);
    }
    return active.put(clientId, connection);
  }

  void unregister(String clientId, MqttConnection connection) {
    active.remove(clientId, connection);
  }

  /** Publishes a will after {@code delayMs} unless the client reconnects first (v5 will delay). */
  void delayWill(String clientId, long delayMs, Runnable publish) {
    pendingWills.put(
        clientId,
        timer.schedule(
            () -> {
              if (pendingWills.remove(clientId) != null) {
                publish.run();
              }
            },
            delayMs,
            TimeUnit.MILLISECONDS));
  }

  private void ensureConsumer(String clientId) {
    try {
      broker.createOwnedConsumer(
          INBOX_STREAM,
          ConsumerConfig.builder(consumerName(clientId))
              .filter(INBOX_PREFIX + token(clientId))
              .mode(DeliveryMode.EXCLUSIVE)
              .ackPolicy(AckPolicy.EACH)
              .ackTimeoutMs(SESSION_ACK_TIMEOUT_MS)
              .build());
    } catch (SwitchboardException e) {
      if (e.code() != ErrorCode.CONSUMER_EXISTS) {
        throw e;
      }
    }
  }

  // Binding arguments: the subscription's MQTT options, read back on start.
  private static final String ARG_CLIENT = "client";
  private static final String ARG_FILTER = "filter";
  private static final String ARG_GROUP = "group";
  private static final String ARG_QOS = "qos";
  private static final String ARG_NO_LOCAL = "noLocal";
  private static final String ARG_SUBSCRIPTION_ID = "subscriptionId";

  /**
   * The bindings of one QoS 1/2 subscription, one per subject pattern of its filter. The copy rules
   * are MQTT's ({@link MqttTopics#matches}): a filter starting with a wildcard does not see {@code
   * $} topics, the front end's own {@code $MQTT.} subjects are never copied, a message published at
   * QoS 0 is live only, and no-local skips the client's own messages. A message matching several of
   * the session's subscriptions is copied once (the broker makes one copy per inbox for bindings
   * outside a group); a shared subscription's copy is its own, marked {@link #SHARE_HEADER}.
   */
  static List<BindingSpec> bindingsOf(String clientId, Sub sub) {
    List<BindingSpec> out = new ArrayList<>();
    List<String> patterns = MqttTopics.toPatterns(sub.filter());
    for (int i = 0; i < patterns.size(); i++) {
      BindingSpec.Builder b =
          BindingSpec.builder(OWNER, bindingName(clientId, sub, i), patterns.get(i), INBOX_STREAM)
              .fixedSubject(INBOX_PREFIX + token(clientId))
              .skipSubjectPrefix("$MQTT.")
              .skipHeader(MqttConnection.QOS_HEADER, new byte[] {0})
              .argument(ARG_CLIENT, clientId)
              .argument(ARG_FILTER, sub.filter())
              .argument(ARG_QOS, Integer.toString(sub.qos()))
              .argument(ARG_NO_LOCAL, Boolean.toString(sub.noLocal()))
              .argument(ARG_SUBSCRIPTION_ID, Integer.toString(sub.subscriptionId()));
      if (sub.filter().startsWith("#") || sub.filter().startsWith("+")) {
        b.skipSubjectPrefix("$"); // [MQTT-4.7.2-1]
      }
      if (sub.noLocal()) {
        b.skipHeader(MqttConnection.ORIGIN_HEADER, clientId.getBytes(StandardCharsets.UTF_8));
      }
      if (sub.group() != null) {
        b.group("mqtt-share-" + sub.group())
            .argument(ARG_GROUP, sub.group())
            .header(SHARE_HEADER, sub.key().getBytes(StandardCharsets.UTF_8));
      }
      out.add(b.build());
    }
    return out;
  }

  /** The subscription a binding stands for; null if its arguments are not ours. */
  private static Sub subOf(BindingSpec b) {
    Map<String, String> a = b.arguments();
    try {
      return new Sub(
          a.get(ARG_FILTER),
          Integer.parseInt(a.get(ARG_QOS)),
          a.get(ARG_GROUP),
          Boolean.parseBoolean(a.get(ARG_NO_LOCAL)),
          Integer.parseInt(a.get(ARG_SUBSCRIPTION_ID)));
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** Names are short and fixed in length, whatever the client id and filter: digests. */
  private static String bindingName(String clientId, Sub sub, int pattern) {
    return consumerName(clientId) + "/" + digest(sub.key()) + "/" + pattern;
  }

  private static String digest(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void bind(Session s, Sub sub) {
    for (BindingSpec b : bindingsOf(s.definition.clientId(), sub)) {
      broker.bindDurable(b, Runnable::run).join();
    }
  }

  private void unbind(Session s, Sub sub) {
    for (BindingSpec b : bindingsOf(s.definition.clientId(), sub)) {
      broker.unbind(OWNER, b.name(), Runnable::run).join();
    }
  }

  /** Writes the session's record and waits for it (the broker's executor). */
  private void store(Session s) {
    try {
      broker
          .publish(
              Message.of(
                  SESSION_PREFIX + token(s.definition.clientId()),
                  JSON.writeValueAsBytes(
                      new Stored(
                          s.definition.clientId(),
                          s.definition.subscriptions().stream().filter(x -> x.qos() == 0).toList(),
                          s.definition.expiryMs(),
                          s.definition.releasing())),
                  0),
              PublishOptions.NONE)
          .join();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private void discard(Session s) {
    sessions.remove(s.definition.clientId());
    cancelExpiry(s);
    for (Sub sub : s.definition.subscriptions()) {
      if (sub.qos() > 0) {
        unbind(s, sub);
      }
    }
    broker
        .publish(
            Message.of(SESSION_PREFIX + token(s.definition.clientId()), new byte[0], 0),
            PublishOptions.NONE)
        .join();
    try {
      broker.deleteOwnedConsumer(INBOX_STREAM, consumerName(s.definition.clientId()));
    } catch (SwitchboardException e) {
      if (e.code() != ErrorCode.CONSUMER_NOT_FOUND) {
        LOG.warn("SB-MQTT-6004 could not delete the consumer of a session: {}", e.getMessage());
      }
    }
  }

  private void scheduleExpiry(Session s) {
    cancelExpiry(s);
    long ms = s.definition.expiryMs();
    if (ms <= 0 || ms == Long.MAX_VALUE || s.owner != null) {
      return;
    }
    String id = s.definition.clientId();
    s.expiry =
        timer.schedule(
            () ->
                serially(
                        id,
                        () -> {
                          if (sessions.get(id) == s && s.owner == null) {
                            discard(s);
                          }
                          return null;
                        },
                        Runnable::run)
                    .whenComplete(
                        (ignored, e) -> {
                          if (e != null) {
                            LOG.warn(
                                "SB-MQTT-6006 expiring session {} failed: {}",
                                token(id),
                                e.toString());
                          }
                        }),
            ms,
            TimeUnit.MILLISECONDS);
  }

  private void cancelExpiry(Session s) {
    if (s.expiry != null) {
      s.expiry.cancel(false);
      s.expiry = null;
    }
  }

  void close() {
    for (Session s : sessions.values()) {
      cancelExpiry(s);
    }
  }
}

package io.switchboard.mqtt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netty.util.concurrent.EventExecutor;
import io.switchboard.broker.Binding;
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
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persistent MQTT sessions, kept in broker streams and consumers (docs/mqtt.md), never in storage
 * of the front end's own. Thread-safe: methods are synchronized; they are called on connection
 * event loops and the expiry timer, and never block on I/O beyond a stream append.
 *
 * <p>A session's definition (its QoS 1/2 subscriptions and expiry) is a JSON record in the
 * compacted stream {@code MQTT_SESSIONS} under {@code $MQTT.session.<id>}. While the session exists
 * — connected or not — a forwarder (a durable binding per filter, {@link Broker#bind}) copies every
 * matching message into the stream {@code MQTT_INBOX} under {@code $MQTT.inbox.<id>} as part of the
 * publish, so a QoS 1/2 message acknowledged to its publisher is already in every inbox it matched,
 * even if the broker is killed the next instant. A durable consumer per session delivers that inbox
 * to the client in order, acknowledged by its PUBACKs: what arrives while the client is away, or is
 * unacknowledged when it drops, is delivered when it comes back. On start the sessions are reloaded
 * and their forwarders restarted.
 */
final class MqttSessions {
  private static final Logger LOG = LoggerFactory.getLogger(MqttSessions.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();

  static final String SESSIONS_STREAM = "MQTT_SESSIONS";
  static final String SESSION_PREFIX = "$MQTT.session.";
  static final String INBOX_STREAM = "MQTT_INBOX";
  static final String INBOX_PREFIX = "$MQTT.inbox.";

  /** Header carrying the original subject of a message copied into a session's inbox. */
  static final String SUBJECT_HEADER = "sb-mqtt-subject";

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

  /** One QoS 1/2 subscription of a session. */
  record Sub(String filter, int qos, String group, boolean noLocal, int subscriptionId) {}

  /**
   * What is stored per session.
   *
   * @param releasing packet ids of QoS 2 deliveries the client had received (PUBREC) and not
   *     completed (PUBCOMP) when it left: the next connection sends PUBREL for them
   */
  record Definition(
      String clientId, List<Sub> subscriptions, long expiryMs, List<Integer> releasing) {
    Definition {
      releasing = releasing == null ? List.of() : List.copyOf(releasing); // older records: none
    }

    Definition(String clientId, List<Sub> subscriptions, long expiryMs) {
      this(clientId, subscriptions, expiryMs, List.of());
    }
  }

  /** A session in memory: its definition, forwarders and expiry timer. */
  static final class Session {
    volatile Definition definition;
    final Map<String, List<Binding>> forwarders = new LinkedHashMap<>();
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
      for (StoredMessage m :
          broker.lastMessages(SESSIONS_STREAM, SESSION_PREFIX + ">", 1_000_000)) {
        if (m.message().payload().length == 0) {
          continue; // deleted
        }
        try {
          Definition d = JSON.readValue(m.message().payload(), Definition.class);
          Session s = new Session(d);
          s.sentBefore = null; // not known across a restart
          s.releasing.addAll(d.releasing());
          sessions.put(d.clientId(), s);
          if (d.expiryMs() == 0) {
            // A session resumed with interval 0 ends with its connection, which the restart ended.
            discard(s);
            continue;
          }
          startForwarders(s);
          scheduleExpiry(s);
        } catch (IOException | RuntimeException e) {
          LOG.warn("SB-MQTT-6002 skipping an unreadable session record: {}", e.toString());
        }
      }
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
   * @return the resumed session's definition, or null when none was resumed
   */
  synchronized Definition connect(
      String clientId, boolean cleanStart, long expiryMs, Object owner) {
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
   * connection has taken the session over meanwhile.
   */
  synchronized void disconnected(
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

  /** Adds or replaces a QoS 1/2 subscription of a persistent session. */
  synchronized void subscribe(String clientId, Sub sub) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return;
    }
    List<Sub> subs = new ArrayList<>();
    for (Sub old : s.definition.subscriptions()) {
      if (!old.filter().equals(sub.filter())) {
        subs.add(old);
      }
    }
    subs.add(sub);
    s.definition = new Definition(clientId, List.copyOf(subs), s.definition.expiryMs());
    stopForwarder(s, sub.filter());
    startForwarder(s, sub);
    store(s);
  }

  synchronized void unsubscribe(String clientId, String filter) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return;
    }
    List<Sub> subs =
        s.definition.subscriptions().stream().filter(x -> !x.filter().equals(filter)).toList();
    s.definition = new Definition(clientId, subs, s.definition.expiryMs());
    stopForwarder(s, filter);
    store(s);
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
  synchronized void handOver(
      String clientId, java.util.Set<InboxPosition> sent, List<Integer> releasing) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return;
    }
    if (s.sentBefore != null) {
      s.sentBefore.addAll(sent);
    }
    for (int id : releasing) {
      if (!s.releasing.contains(id)) {
        s.releasing.add(id);
      }
    }
  }

  /** What the previous connection left, for the connection now starting to push the inbox. */
  synchronized HandOver takeHandOver(String clientId) {
    Session s = sessions.get(clientId);
    if (s == null) {
      return new HandOver(new java.util.HashSet<>(), List.of());
    }
    var out = new HandOver(s.sentBefore, List.copyOf(s.releasing));
    s.sentBefore = new java.util.HashSet<>();
    s.releasing.clear();
    return out;
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

  private void startForwarders(Session s) {
    for (Sub sub : s.definition.subscriptions()) {
      startForwarder(s, sub);
    }
  }

  private void startForwarder(Session s, Sub sub) {
    String inbox = INBOX_PREFIX + token(s.definition.clientId());
    String filter = sub.filter();
    List<Binding> bound = new ArrayList<>();
    for (String pattern : MqttTopics.toPatterns(filter)) {
      UnaryOperator<Message> copier =
          m -> {
            if (m.subject().startsWith("$MQTT.")) {
              return null; // the front end's own streams are not MQTT traffic
            }
            String topic;
            try {
              topic = MqttTopics.toTopic(m.subject());
            } catch (IllegalArgumentException e) {
              return null;
            }
            if (!MqttTopics.wildcardMaySee(filter, topic)) {
              return null;
            }
            byte[] origin = m.header(MqttConnection.ORIGIN_HEADER);
            boolean fromSelf =
                origin != null
                    && s.definition.clientId().equals(new String(origin, StandardCharsets.UTF_8));
            byte[] q = m.header(MqttConnection.QOS_HEADER);
            int published = q == null ? 1 : q[0];
            int qos;
            String ids;
            if (sub.group() != null) {
              if (sub.noLocal() && fromSelf) {
                return null;
              }
              qos = Math.min(published, sub.qos());
              ids = sub.subscriptionId() > 0 ? Integer.toString(sub.subscriptionId()) : null;
            } else {
              // One copy for all of the session's matching subscriptions, at the highest QoS,
              // with every identifier: made by the first of them (MqttConnection.Deliverer).
              Sub carrier = null;
              qos = 0;
              StringBuilder all = null;
              for (Sub other : s.definition.subscriptions()) {
                if (other.group() != null
                    || !MqttTopics.matches(other.filter(), topic)
                    || (other.noLocal() && fromSelf)) {
                  continue;
                }
                carrier = carrier == null ? other : carrier;
                qos = Math.max(qos, Math.min(published, other.qos()));
                if (other.subscriptionId() > 0) {
                  all = all == null ? new StringBuilder() : all.append(',');
                  all.append(other.subscriptionId());
                }
              }
              if (carrier == null || !carrier.filter().equals(filter)) {
                return null;
              }
              ids = all == null ? null : all.toString();
            }
            if (qos == 0) {
              return null; // a QoS 0 delivery is live only
            }
            Message copy =
                m.withSubject(inbox)
                    .withHeader(SUBJECT_HEADER, m.subject().getBytes(StandardCharsets.UTF_8))
                    .withHeader(MqttConnection.DELIVERY_QOS_HEADER, new byte[] {(byte) qos});
            if (ids != null) {
              copy =
                  copy.withHeader(
                      MqttConnection.SUBSCRIPTION_ID_HEADER,
                      ids.getBytes(StandardCharsets.US_ASCII));
            }
            return copy;
          };
      String group = sub.group() == null ? null : "mqtt-share-" + sub.group();
      bound.add(broker.bind(pattern, group, copier));
    }
    s.forwarders.put(filter, bound);
  }

  private void stopForwarder(Session s, String filter) {
    List<Binding> live = s.forwarders.remove(filter);
    if (live != null) {
      live.forEach(Binding::close);
    }
  }

  private void store(Session s) {
    try {
      broker.publish(
          Message.of(
              SESSION_PREFIX + token(s.definition.clientId()),
              JSON.writeValueAsBytes(s.definition),
              0),
          PublishOptions.NONE);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private void discard(Session s) {
    sessions.remove(s.definition.clientId());
    cancelExpiry(s);
    for (String filter : List.copyOf(s.forwarders.keySet())) {
      stopForwarder(s, filter);
    }
    broker.publish(
        Message.of(SESSION_PREFIX + token(s.definition.clientId()), new byte[0], 0),
        PublishOptions.NONE);
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
            () -> {
              synchronized (this) {
                Session now = sessions.get(id);
                if (now == s && s.owner == null) {
                  discard(s);
                }
              }
            },
            ms,
            TimeUnit.MILLISECONDS);
  }

  private void cancelExpiry(Session s) {
    if (s.expiry != null) {
      s.expiry.cancel(false);
      s.expiry = null;
    }
  }

  synchronized void close() {
    for (Session s : sessions.values()) {
      cancelExpiry(s);
      for (String filter : List.copyOf(s.forwarders.keySet())) {
        stopForwarder(s, filter);
      }
    }
  }
}

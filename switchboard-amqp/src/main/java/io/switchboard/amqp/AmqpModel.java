package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.switchboard.broker.BindingSpec;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.broker.StoredMessage;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerInfo;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.consumer.DropHook;
import io.switchboard.broker.consumer.Settlement;
import io.switchboard.broker.stream.Discard;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The AMQP model every connection shares: exchanges, queues and their bindings (docs/amqp.md).
 * Exchanges and queues are described in a compacted stream of the server's ({@value #META_STREAM},
 * one record per name, the last one wins); a queue is a work-queue stream ({@link #streamName})
 * with one shared consumer ({@value #CONSUMER}); a queue binding is a durable binding of the
 * broker's, owner {@value #OWNER}, whose arguments name exchange, queue and key. Durable ones
 * survive a restart; transient queues are deleted when the server starts.
 *
 * <p>Thread safety: in-memory checks are synchronized on this object; anything that may block
 * (stream and consumer creation, deletion, counts) runs on the broker's executor ({@link
 * Broker#offload}) and completes on the caller's executor.
 */
final class AmqpModel {
  static final String OWNER = "amqp";
  static final String CONSUMER = "amqp";
  static final String META_STREAM = "amqp-meta";
  static final String META_PREFIX = "$AMQP.meta.";
  static final String STREAM_PREFIX = "amqpq-";

  /** Exchanges and queues at most, each: every one costs memory and, for a queue, a stream. */
  static final int MAX_EXCHANGES = 10_000;

  static final int MAX_QUEUES = 10_000;

  record Exchange(
      String name, String type, boolean durable, boolean autoDelete, boolean internal) {}

  /** A queue; {@code owner} is the connection of an exclusive one, else null. */
  record Queue(
      String name,
      String stream,
      boolean durable,
      boolean exclusive,
      boolean autoDelete,
      Map<String, Object> arguments,
      Object owner,
      QueueArgs args) {}

  /**
   * An exchange-to-exchange binding: messages {@code source} routes with {@code key} (and {@code
   * args}, for a headers source) go on to {@code destination}'s bindings too.
   */
  record ExchangeBinding(
      String destination, String source, String key, Map<String, Object> args, String argsHex) {
    String id() {
      return sha(
          destination.length()
              + ":"
              + destination
              + "|"
              + source.length()
              + ":"
              + source
              + "|"
              + key.length()
              + ":"
              + key
              + "|"
              + argsHex);
    }
  }

  /** Exchange-to-exchange bindings at most (each may multiply the broker bindings derived). */
  static final int MAX_EXCHANGE_BINDINGS = 10_000;

  /** Exchanges a message may pass through on its way to a queue, at most (RabbitMQ: no limit). */
  static final int MAX_HOPS = 8;

  /** Broker bindings derived from exchange-to-exchange bindings, at most. */
  static final int MAX_DERIVED = 100_000;

  private final Broker broker;
  private final Map<String, ExchangeBinding> exchangeBindings = new ConcurrentHashMap<>();

  /** The derivation in progress: one at a time, in order. */
  private CompletableFuture<Void> deriving = CompletableFuture.completedFuture(null);

  private final Map<String, Exchange> exchanges = new ConcurrentHashMap<>();
  private final Map<String, Queue> queues = new ConcurrentHashMap<>();

  /** The queues by their stream's name, for the broker's drop hook. */
  private final Map<String, Queue> queuesByStream = new ConcurrentHashMap<>();

  /** Queues being created: later declarers wait for the first. */
  private final Map<String, CompletableFuture<Queue>> creating = new ConcurrentHashMap<>();

  /** Consumers per queue (for auto-delete, exclusive consumers and declare-ok's count). */
  private final Map<String, Integer> consumers = new ConcurrentHashMap<>();

  private final Set<String> exclusiveConsumers = ConcurrentHashMap.newKeySet();

  /** What to tell each consumer of a queue when the queue is deleted (consumer cancel notify). */
  private final Map<String, Set<Runnable>> onDelete = new ConcurrentHashMap<>();

  /** When each queue with {@code x-expires} was last used (declared, consumed, got from). */
  private final Map<String, Long> lastUsed = new ConcurrentHashMap<>();

  /** Deletes queues unused past their {@code x-expires}; started by {@link #load}. */
  private java.util.concurrent.ScheduledExecutorService expiry;

  static final long EXPIRY_CHECK_MS = 100;

  /** The fsync policy of new queues' streams (amqp.queue-fsync). */
  private final String queueFsync;

  AmqpModel(Broker broker, String queueFsync) {
    this.broker = broker;
    this.queueFsync = queueFsync;
  }

  /** Stops the expiry timer. */
  void close() {
    if (expiry != null) {
      expiry.shutdownNow();
    }
  }

  /** Notes a use of a queue: its {@code x-expires} counts from now. */
  void touch(Queue q) {
    if (q.args().expiresMs() > 0) {
      lastUsed.put(q.name(), System.currentTimeMillis());
    }
  }

  /** Deletes the queues unused (no consumers, no get, no declare) for their {@code x-expires}. */
  private void expireQueues() {
    long now = System.currentTimeMillis();
    for (Queue q : queues.values()) {
      long expires = q.args().expiresMs();
      if (expires <= 0 || consumers.getOrDefault(q.name(), 0) > 0) {
        continue;
      }
      long last = lastUsed.computeIfAbsent(q.name(), n -> now);
      if (now - last >= expires) {
        lastUsed.remove(q.name());
        try {
          deleteQueue(q.name(), false, false, Runnable::run)
              .exceptionally(
                  e -> {
                    org.slf4j.LoggerFactory.getLogger(AmqpModel.class)
                        .warn("amqp: expiring queue {} failed: {}", q.name(), e.toString());
                    return 0L;
                  });
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(AmqpModel.class)
              .warn("amqp: expiring queue {} failed: {}", q.name(), e.toString());
        }
      }
    }
  }

  Broker broker() {
    return broker;
  }

  /**
   * Creates the description stream if missing and reads it back; deletes queue streams of transient
   * queues left by the previous run. Runs on the server's thread at start.
   */
  void load() {
    for (String name : List.of("", "amq.direct", "amq.fanout", "amq.topic", "amq.headers")) {
      String type = name.isEmpty() ? "direct" : name.substring(4);
      exchanges.put(name, new Exchange(name, type, true, false, false));
    }
    exchanges.put("amq.match", new Exchange("amq.match", "headers", true, false, false));
    broker.bindingFilter(OWNER, this::accepts);
    broker.dropHook(new Drops());
    boolean exists =
        broker.listStreams().stream().anyMatch(s -> s.config().name().equals(META_STREAM));
    if (!exists) {
      broker.createStream(
          StreamConfig.builder(META_STREAM, META_PREFIX + ">")
              .retention(Retention.COMPACTED)
              .fsyncPolicy("always")
              .build());
    }
    broker.ownStream(META_STREAM, "AMQP exchanges and queues");
    Set<String> described = new HashSet<>();
    for (StoredMessage sm : broker.lastMessages(META_STREAM, META_PREFIX + ">", 1_000_000)) {
      Message m = sm.message();
      if ("true".equals(text(m, "deleted"))) {
        continue;
      }
      String subject = m.subject().substring(META_PREFIX.length());
      if (subject.startsWith("exchange.")) {
        String name = AmqpSubjects.unescape(subject.substring("exchange.".length()));
        exchanges.put(
            name,
            new Exchange(
                name,
                text(m, "type"),
                true,
                "true".equals(text(m, "auto-delete")),
                "true".equals(text(m, "internal"))));
      } else if (subject.startsWith("e2e.")) {
        Map<String, Object> args =
            m.payload().length == 0
                ? Map.of()
                : AmqpTypes.readTable(Unpooled.wrappedBuffer(m.payload()));
        ExchangeBinding b =
            new ExchangeBinding(
                text(m, "destination"),
                text(m, "source"),
                text(m, "key"),
                args,
                java.util.HexFormat.of().formatHex(m.payload()));
        exchangeBindings.put(b.id(), b);
      } else if (subject.startsWith("queue.")) {
        String name = AmqpSubjects.unescape(subject.substring("queue.".length()));
        String stream = text(m, "stream");
        Queue q =
            new Queue(
                name,
                stream,
                true,
                false,
                "true".equals(text(m, "auto-delete")),
                AmqpTypes.readTable(Unpooled.wrappedBuffer(m.payload())),
                null,
                QueueArgs.lenient(name, AmqpTypes.readTable(Unpooled.wrappedBuffer(m.payload()))));
        queues.put(name, q);
        queuesByStream.put(stream, q);
        described.add(stream);
      }
    }
    for (StreamInfo s : broker.listStreams()) {
      String name = s.config().name();
      if (name.startsWith(STREAM_PREFIX) && !described.contains(name)) {
        broker.deleteStream(name); // a transient queue of the previous run
      }
    }
    exchangeBindings
        .values()
        .removeIf(
            b -> !exchanges.containsKey(b.source()) || !exchanges.containsKey(b.destination()));
    derive().join(); // the start may block: nothing is served yet
    expiry =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "amqp-queue-expiry");
              t.setDaemon(true);
              return t;
            });
    expiry.scheduleWithFixedDelay(
        this::expireQueues,
        EXPIRY_CHECK_MS,
        EXPIRY_CHECK_MS,
        java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private static String text(Message m, String header) {
    byte[] v = m.header(header);
    return v == null ? null : new String(v, StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ exchanges

  Exchange exchange(String name) {
    return exchanges.get(name);
  }

  /** Declares an exchange; completes once a durable one is stored. */
  CompletableFuture<Void> declareExchange(
      String name,
      String type,
      boolean passive,
      boolean durable,
      boolean autoDelete,
      boolean internal,
      Executor loop) {
    Exchange exchange;
    synchronized (this) {
      Exchange existing = exchanges.get(name);
      if (passive) {
        if (existing == null) {
          throw AmqpException.channel(
              AmqpException.NOT_FOUND, "no exchange '" + name + "' in vhost '/'");
        }
        return CompletableFuture.completedFuture(null);
      }
      if (name.isEmpty()) {
        throw AmqpException.channel(
            AmqpException.ACCESS_REFUSED, "operation not permitted on the default exchange");
      }
      if (!type.equals("direct")
          && !type.equals("fanout")
          && !type.equals("topic")
          && !type.equals("headers")) {
        throw AmqpException.connection(
            AmqpException.COMMAND_INVALID, "invalid exchange type '" + type + "'");
      }
      exchange = new Exchange(name, type, durable, autoDelete, internal);
      if (existing != null) {
        if (!existing.equals(exchange)) {
          throw AmqpException.channel(
              AmqpException.PRECONDITION_FAILED,
              "inequivalent arg for exchange '"
                  + name
                  + "' in vhost '/': declared "
                  + describe(existing));
        }
        return CompletableFuture.completedFuture(null);
      }
      if (name.startsWith("amq.")) {
        throw AmqpException.channel(
            AmqpException.ACCESS_REFUSED,
            "exchange name '" + name + "' contains reserved prefix 'amq.*'");
      }
      if (exchanges.size() >= MAX_EXCHANGES) {
        throw AmqpException.channel(
            AmqpException.RESOURCE_ERROR, MAX_EXCHANGES + " exchanges exist (the limit)");
      }
      exchanges.put(name, exchange);
    }
    if (!durable) {
      return CompletableFuture.completedFuture(null);
    }
    Message m =
        meta("exchange." + AmqpSubjects.escape(name), new byte[0])
            .withHeader("type", bytes(type))
            .withHeader("auto-delete", bytes(Boolean.toString(autoDelete)))
            .withHeader("internal", bytes(Boolean.toString(internal)));
    return store(m, loop);
  }

  private static String describe(Exchange e) {
    return "type="
        + e.type()
        + " durable="
        + e.durable()
        + " auto_delete="
        + e.autoDelete()
        + " internal="
        + e.internal();
  }

  /** Deletes an exchange and its bindings; idempotent as RabbitMQ's. */
  CompletableFuture<Void> deleteExchange(String name, boolean ifUnused, Executor loop) {
    if (name.isEmpty() || name.startsWith("amq.")) {
      throw AmqpException.channel(
          AmqpException.ACCESS_REFUSED, "operation not permitted on exchange '" + name + "'");
    }
    List<BindingSpec> bound = bindingsOf(name, null);
    if (ifUnused && !bound.isEmpty()) {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED, "exchange '" + name + "' in vhost '/' in use");
    }
    List<ExchangeBinding> e2e =
        exchangeBindings.values().stream()
            .filter(b -> b.destination().equals(name) || b.source().equals(name))
            .toList();
    if (ifUnused && e2e.stream().anyMatch(b -> b.source().equals(name))) {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED, "exchange '" + name + "' in vhost '/' in use");
    }
    Exchange removed = exchanges.remove(name);
    List<CompletableFuture<Void>> unbound = new ArrayList<>();
    for (ExchangeBinding b : e2e) {
      unbound.add(removeExchangeBinding(b, loop));
    }
    CompletableFuture<?>[] all = new CompletableFuture<?>[bound.size() + 2];
    all[bound.size() + 1] =
        CompletableFuture.allOf(unbound.toArray(CompletableFuture[]::new))
            .thenCompose(ignored -> derive());
    for (int i = 0; i < bound.size(); i++) {
      all[i] = broker.unbind(OWNER, bound.get(i).name(), loop);
    }
    all[bound.size()] =
        removed != null && removed.durable()
            ? store(
                meta("exchange." + AmqpSubjects.escape(name), new byte[0])
                    .withHeader("deleted", bytes("true")),
                loop)
            : CompletableFuture.completedFuture(null);
    return CompletableFuture.allOf(all);
  }

  // ------------------------------------------------------------------ queues

  Queue queue(String name) {
    return queues.get(name);
  }

  /** Counts for declare-ok: messages ready, consumers. */
  record Counts(long messages, int consumers) {}

  /**
   * Declares a queue (see {@link #queue}); completes with its counts.
   *
   * @param owner the declaring connection
   */
  CompletableFuture<Counts> declareQueue(
      String name,
      boolean passive,
      boolean durable,
      boolean exclusive,
      boolean autoDelete,
      Map<String, Object> arguments,
      Object owner,
      Executor loop) {
    CompletableFuture<Queue> pending = creating.get(name);
    if (pending != null) {
      return pending.thenCompose(
          q -> declareQueue(name, passive, durable, exclusive, autoDelete, arguments, owner, loop));
    }
    Queue q;
    CompletableFuture<Queue> mine;
    synchronized (this) {
      Queue existing = queues.get(name);
      if (existing != null) {
        if (existing.owner() != null && existing.owner() != owner) {
          throw AmqpException.channel(
              AmqpException.RESOURCE_LOCKED,
              "cannot obtain exclusive access to locked queue '" + name + "' in vhost '/'");
        }
        if (!passive) {
          if (existing.durable() != durable
              || existing.autoDelete() != autoDelete
              || existing.exclusive() != exclusive
              || !sameArguments(existing.arguments(), arguments)) {
            throw AmqpException.channel(
                AmqpException.PRECONDITION_FAILED,
                "inequivalent arg for queue '"
                    + name
                    + "' in vhost '/': declared durable="
                    + existing.durable()
                    + " exclusive="
                    + existing.exclusive()
                    + " auto_delete="
                    + existing.autoDelete()
                    + " arguments="
                    + existing.arguments());
          }
        }
        if (!passive) {
          touch(existing); // a redeclare renews the lease; a passive one only looks
        }
        return counts(existing, loop);
      }
      if (passive) {
        throw AmqpException.channel(
            AmqpException.NOT_FOUND, "no queue '" + name + "' in vhost '/'");
      }
      if (name.startsWith("amq.") && !name.startsWith("amq.gen-")) {
        throw AmqpException.channel(
            AmqpException.ACCESS_REFUSED,
            "queue name '" + name + "' contains reserved prefix 'amq.*'");
      }
      if (queues.size() + creating.size() >= MAX_QUEUES) {
        throw AmqpException.channel(
            AmqpException.RESOURCE_ERROR, MAX_QUEUES + " queues exist (the limit)");
      }
      QueueArgs parsed = QueueArgs.of(name, arguments);
      q =
          new Queue(
              name,
              streamName(name),
              durable,
              exclusive,
              autoDelete,
              Map.copyOf(arguments),
              exclusive ? owner : null,
              parsed);
      mine = new CompletableFuture<>();
      creating.put(name, mine);
    }
    Queue created = q;
    return broker
        .offload(
            () -> {
              queuesByStream.put(created.stream(), created); // before its consumer asks
              broker.createStream(
                  StreamConfig.builder(created.stream(), AmqpSubjects.queueSubject(name))
                      .retention(Retention.WORK_QUEUE)
                      .maxMessageBytes(StreamConfig.MAX_MESSAGE_BYTES)
                      .fsyncPolicy(queueFsync)
                      .maxMessages(created.args().streamMaxMessages())
                      .maxBytes(created.args().maxLengthBytes())
                      .discard(
                          created.args().rejectPublish() ? Discard.REJECT_NEW : Discard.DROP_OLDEST)
                      .build());
              broker.createConsumer(
                  created.stream(),
                  ConsumerConfig.builder(CONSUMER)
                      .mode(
                          created.args().singleActiveConsumer()
                              ? DeliveryMode.FAILOVER
                              : DeliveryMode.SHARED)
                      .ackPolicy(AckPolicy.EACH)
                      .ackTimeoutMs(30 * 60_000L) // RabbitMQ's consumer timeout
                      .maxAckPending(ConsumerConfig.MAX_ACK_PENDING)
                      .build());
              return null;
            },
            loop)
        .thenCompose(
            ignored ->
                durable && !exclusive
                    ? store(
                        meta("queue." + AmqpSubjects.escape(name), table(arguments))
                            .withHeader("stream", bytes(created.stream()))
                            .withHeader("auto-delete", bytes(Boolean.toString(autoDelete))),
                        loop)
                    : CompletableFuture.completedFuture(null))
        .handle(
            (ok, error) -> {
              creating.remove(name);
              if (error != null) {
                queuesByStream.remove(created.stream(), created);
                mine.completeExceptionally(error);
                throw new java.util.concurrent.CompletionException(error);
              }
              queues.put(name, created);
              touch(created);
              mine.complete(created);
              return new Counts(0, 0);
            });
  }

  private static boolean sameArguments(Map<String, Object> a, Map<String, Object> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (Map.Entry<String, Object> e : a.entrySet()) {
      Object o = b.get(e.getKey());
      Object v = e.getValue();
      if (v instanceof Number x && o instanceof Number y) {
        if (x.longValue() != y.longValue()) {
          return false;
        }
      } else if (v instanceof byte[] x && o instanceof byte[] y) {
        if (!java.util.Arrays.equals(x, y)) {
          return false;
        }
      } else if (!Objects.equals(v, o)) {
        return false;
      }
    }
    return true;
  }

  CompletableFuture<Counts> counts(Queue q, Executor loop) {
    int n = consumers.getOrDefault(q.name(), 0);
    return broker.offload(
        () -> {
          ConsumerInfo info = broker.consumerInfo(q.stream(), CONSUMER);
          return new Counts(info.pending(), n);
        },
        loop);
  }

  /**
   * Deletes a queue: its stream (which takes its bindings) and its description. Completes with the
   * messages it held. Idempotent: a missing queue deletes as empty.
   */
  CompletableFuture<Long> deleteQueue(
      String name, boolean ifUnused, boolean ifEmpty, Executor loop) {
    Queue q = queues.get(name);
    if (q == null) {
      return CompletableFuture.completedFuture(0L);
    }
    if (ifUnused && consumers.getOrDefault(name, 0) > 0) {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED, "queue '" + name + "' in vhost '/' in use");
    }
    return broker
        .offload(
            () -> {
              ConsumerInfo info = broker.consumerInfo(q.stream(), CONSUMER);
              long held = info.pending() + info.unacknowledged();
              if (ifEmpty && held > 0) {
                return -1L;
              }
              if (queues.remove(name, q)) {
                queuesByStream.remove(q.stream(), q);
                broker.deleteStream(q.stream());
              }
              return held;
            },
            loop)
        .thenCompose(
            held -> {
              if (held < 0) {
                throw AmqpException.channel(
                    AmqpException.PRECONDITION_FAILED,
                    "queue '" + name + "' in vhost '/' is not empty");
              }
              consumers.remove(name);
              lastUsed.remove(name);
              Set<Runnable> cancels = onDelete.remove(name);
              if (cancels != null) {
                cancels.forEach(Runnable::run);
              }
              if (!q.durable() || q.exclusive()) {
                return CompletableFuture.completedFuture(held);
              }
              return store(
                      meta("queue." + AmqpSubjects.escape(name), new byte[0])
                          .withHeader("deleted", bytes("true")),
                      loop)
                  .thenApply(ignored -> held);
            });
  }

  /** Removes the messages ready for delivery (not those delivered and unacknowledged). */
  CompletableFuture<Long> purge(Queue q, Executor loop) {
    return broker.offload(
        () -> {
          long purged = 0;
          String member = "purge-" + System.nanoTime();
          while (true) {
            List<Delivery> batch = broker.fetch(q.stream(), CONSUMER, member, 1000, 0).join();
            if (batch.isEmpty()) {
              break;
            }
            List<Settlement> acks = new ArrayList<>();
            for (Delivery d : batch) {
              acks.add(Settlement.ack(d.partition(), d.offset()));
            }
            broker.settle(q.stream(), CONSUMER, acks).join();
            purged += batch.size();
          }
          broker.leave(q.stream(), CONSUMER, member);
          return purged;
        },
        loop);
  }

  // ------------------------------------------------------------------ dead letters

  /**
   * The broker's drop hook: a queue with a dead-letter exchange has its consumer hand over what it
   * drops from the head (expired by {@code x-message-ttl} or the message's {@code expiration}, or
   * past {@code x-max-length} with drop-head), and each is dead-lettered here with reason {@code
   * expired} or {@code maxlen}; the consumer forgets it once the dead letter is stored.
   */
  private final class Drops implements DropHook {
    @Override
    public Limits limits(String stream, String consumer) {
      Queue q = CONSUMER.equals(consumer) ? queuesByStream.get(stream) : null;
      if (q == null || q.args().deadLetterExchange() == null) {
        return null;
      }
      return new Limits(
          q.args().deadLettersOverflow() ? q.args().maxLength() : -1, q.args().messageTtlMs());
    }

    @Override
    public CompletableFuture<?> dropped(
        String stream, String consumer, Message message, Reason reason) {
      Queue q = queuesByStream.get(stream);
      if (q == null) {
        return CompletableFuture.completedFuture(null); // deleted meanwhile: gone with it
      }
      String[] route = AmqpSubjects.route(message);
      return deadLetter(
          q, message, reason == Reason.EXPIRED ? "expired" : "maxlen", route[0], route[1]);
    }
  }

  private static final java.util.regex.Pattern FULL_STREAM =
      java.util.regex.Pattern.compile("stream \"([^\"]+)\" partition");

  /**
   * A publish {@code error} from a full queue with {@code x-overflow=reject-publish-dlx}: the
   * refused message is dead-lettered (reason {@code maxlen}) as RabbitMQ does, and the returned
   * future completes once it is stored (or failed); null when {@code error} is not that (nothing to
   * do). The publisher is nacked all the same.
   */
  CompletableFuture<Void> deadLetterRefused(
      Message message, String exchange, String routingKey, Throwable error) {
    Throwable e =
        error instanceof java.util.concurrent.CompletionException ce ? ce.getCause() : error;
    if (!(e instanceof SwitchboardException se) || se.code() != ErrorCode.STREAM_FULL) {
      return null;
    }
    java.util.regex.Matcher m = FULL_STREAM.matcher(String.valueOf(se.getMessage()));
    Queue q = m.find() ? queuesByStream.get(m.group(1)) : null;
    if (q == null || !q.args().rejectPublishDlx()) {
      return null;
    }
    try {
      return deadLetter(q, message, "maxlen", exchange, routingKey)
          .exceptionally(
              failed -> {
                org.slf4j.LoggerFactory.getLogger(AmqpModel.class)
                    .debug("amqp: dead-lettering a refused publish failed: {}", failed.toString());
                return null;
              });
    } catch (RuntimeException failed) {
      return CompletableFuture.completedFuture(null);
    }
  }

  /** Headers a dead letter does not keep: its binding's, and its expiry (RabbitMQ drops it). */
  private static final Set<String> NOT_DEAD_LETTERED =
      Set.of(
          BindingSpec.ORIGINAL_SUBJECT_HEADER,
          Message.TTL_HEADER,
          "amqp-expiration",
          AmqpMessages.HEADERS_TABLE,
          "x-first-death-reason",
          "x-first-death-queue",
          "x-first-death-exchange");

  /**
   * Publishes {@code m}, which left queue {@code q} for {@code reason} (rejected, expired), to the
   * queue's dead-letter exchange with the queue's dead-letter routing key (or its own), with
   * RabbitMQ's {@code x-death} header: a list of tables (count, reason, queue, time, exchange,
   * routing-keys, and original-expiration when it had one), one per queue and reason, the latest
   * first; and {@code x-first-death-reason/queue/exchange}. Completes once stored; at once when the
   * queue has no dead-letter exchange, or it does not exist (dropped, as RabbitMQ).
   */
  CompletableFuture<Void> deadLetter(
      Queue q, Message m, String reason, String exchange, String routingKey) {
    String dlx = q.args().deadLetterExchange();
    if (dlx == null || (!dlx.isEmpty() && !exchanges.containsKey(dlx))) {
      return CompletableFuture.completedFuture(null);
    }
    String key =
        q.args().deadLetterRoutingKey() != null ? q.args().deadLetterRoutingKey() : routingKey;
    Map<String, Object> headers = new java.util.LinkedHashMap<>(HeadersMatch.headersOf(m));
    List<Object> deaths = new ArrayList<>();
    if (headers.get("x-death") instanceof List<?> old) {
      deaths.addAll(old);
    }
    long count = 1;
    for (java.util.Iterator<Object> it = deaths.iterator(); it.hasNext(); ) {
      if (it.next() instanceof Map<?, ?> d
          && q.name().equals(d.get("queue"))
          && reason.equals(d.get("reason"))) {
        count += d.get("count") instanceof Number n ? n.longValue() : 0;
        it.remove();
      }
    }
    Map<String, Object> death = new java.util.LinkedHashMap<>();
    death.put("count", count);
    death.put("reason", reason);
    death.put("queue", q.name());
    death.put("time", new java.util.Date(System.currentTimeMillis() / 1000 * 1000));
    death.put("exchange", exchange);
    death.put("routing-keys", List.of(routingKey));
    byte[] expiration = m.header("amqp-expiration");
    if (expiration != null) {
      death.put("original-expiration", new String(expiration, StandardCharsets.UTF_8));
    }
    deaths.add(0, death);
    headers.put("x-death", deaths);
    headers.putIfAbsent("x-first-death-reason", reason);
    headers.putIfAbsent("x-first-death-queue", q.name());
    headers.putIfAbsent("x-first-death-exchange", exchange);
    List<Header> kept = new ArrayList<>();
    for (Header h : m.headers()) {
      if (!NOT_DEAD_LETTERED.contains(h.key())) {
        kept.add(h);
      }
    }
    kept.add(new Header(AmqpMessages.HEADERS_TABLE, table(headers)));
    for (String first :
        List.of("x-first-death-reason", "x-first-death-queue", "x-first-death-exchange")) {
      kept.add(new Header(first, bytes(String.valueOf(headers.get(first)))));
    }
    String subject =
        dlx.isEmpty() ? AmqpSubjects.queueSubject(key) : AmqpSubjects.subject(dlx, key);
    Message dead =
        new Message(subject, m.key(), kept, m.payload(), System.currentTimeMillis(), m.replyTo());
    return broker.publish(dead, PublishOptions.NONE).thenApply(ack -> null);
  }

  // ------------------------------------------------------------------ consumers of queues

  /** Counts a new consumer; an exclusive one needs the queue to itself. */
  synchronized void addConsumer(String queue, boolean exclusive) {
    int n = consumers.getOrDefault(queue, 0);
    if (exclusiveConsumers.contains(queue) || (exclusive && n > 0)) {
      throw AmqpException.channel(
          AmqpException.ACCESS_REFUSED, "queue '" + queue + "' in vhost '/' in exclusive use");
    }
    consumers.put(queue, n + 1);
    if (exclusive) {
      exclusiveConsumers.add(queue);
    }
  }

  /** Counts a consumer gone; true when it was an auto-delete queue's last. */
  synchronized boolean removeConsumer(String queue, boolean exclusive) {
    int n = consumers.getOrDefault(queue, 0) - 1;
    Queue used = queues.get(queue);
    if (used != null) {
      touch(used);
    }
    if (exclusive) {
      exclusiveConsumers.remove(queue);
    }
    if (n <= 0) {
      consumers.remove(queue);
      Queue q = queues.get(queue);
      return q != null && q.autoDelete();
    }
    consumers.put(queue, n);
    return false;
  }

  /** Runs {@code cancel} (which must not block) when {@code queue} is deleted. */
  void onDelete(String queue, Runnable cancel) {
    onDelete.computeIfAbsent(queue, q -> ConcurrentHashMap.newKeySet()).add(cancel);
  }

  void offDelete(String queue, Runnable cancel) {
    onDelete.computeIfPresent(queue, (q, set) -> set.remove(cancel) && set.isEmpty() ? null : set);
  }

  /** The exclusive queues of a connection (deleted when it closes). */
  List<Queue> exclusiveQueues(Object owner) {
    return queues.values().stream().filter(q -> q.owner() == owner).toList();
  }

  // ------------------------------------------------------------------ bindings

  static String bindingName(String queue, String exchange, String key, int variant) {
    String name =
        queue.length()
            + ":"
            + queue
            + "|"
            + exchange.length()
            + ":"
            + exchange
            + "|"
            + key
            + "|"
            + variant;
    if (name.length() > 500) {
      name = "h:" + sha(name) + "|" + variant;
    }
    return name;
  }

  /**
   * The name of a headers binding: as RabbitMQ, a binding is told apart by its arguments too, so
   * the key carries their hash.
   */
  static String bindingName(
      Exchange x, String queue, String key, Map<String, Object> args, int variant) {
    if (!x.type().equals("headers") || args == null || args.isEmpty()) {
      return bindingName(queue, x.name(), key, variant);
    }
    return bindingName(queue, x.name(), key + "|args:" + sha(hex(table(args))), variant);
  }

  private static String hex(byte[] b) {
    return java.util.HexFormat.of().formatHex(b);
  }

  private static String sha(String s) {
    try {
      byte[] d =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(s.getBytes(StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(d);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Bindings of an exchange (and, when not null, to one queue). */
  List<BindingSpec> bindingsOf(String exchange, String queue) {
    List<BindingSpec> out = new ArrayList<>();
    for (BindingSpec b : broker.bindings(OWNER)) {
      if (exchange.equals(b.arguments().get("exchange"))
          && (queue == null || queue.equals(b.arguments().get("queue")))) {
        out.add(b);
      }
    }
    return out;
  }

  /** Binding arguments of a headers binding, stored in the binding (hex of the table) at most. */
  static final int MAX_BINDING_ARGS_BYTES = BindingSpec.MAX_ENTRY_LENGTH / 2;

  CompletableFuture<Void> bind(
      Queue q, Exchange x, String key, Map<String, Object> args, Executor loop) {
    if (x.name().isEmpty()) {
      throw AmqpException.channel(
          AmqpException.ACCESS_REFUSED, "operation not permitted on the default exchange");
    }
    List<String> patterns = AmqpSubjects.patterns(x.type(), x.name(), key);
    String match = null;
    String argsHex = null;
    if (x.type().equals("headers")) {
      HeadersMatch.of(args == null ? Map.of() : args); // refuses a bad x-match
      byte[] t = table(args == null ? Map.of() : args);
      if (t.length > MAX_BINDING_ARGS_BYTES) {
        throw AmqpException.channel(
            AmqpException.PRECONDITION_FAILED,
            "headers binding arguments of "
                + t.length
                + " bytes; at most "
                + MAX_BINDING_ARGS_BYTES
                + " are served");
      }
      match = "headers";
      argsHex = hex(t);
    } else if (AmqpSubjects.needsFilter(x.type(), key)) {
      match = "topic";
    }
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (int i = 0; i < patterns.size(); i++) {
      BindingSpec.Builder spec =
          BindingSpec.builder(
                  OWNER, bindingName(x, q.name(), key, args, i), patterns.get(i), q.stream())
              .fixedSubject(AmqpSubjects.queueSubject(q.name()))
              .argument("exchange", x.name())
              .argument("queue", q.name())
              .argument("key", key);
      if (match != null) {
        spec.argument("match", match);
      }
      if (argsHex != null) {
        spec.argument("args", argsHex);
      }
      all.add(broker.bindDurable(spec.build(), loop));
    }
    return afterBindings(CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)));
  }

  /** A queue binding changed: the bindings derived through exchange bindings follow. */
  private CompletableFuture<Void> afterBindings(CompletableFuture<Void> changed) {
    return exchangeBindings.isEmpty() ? changed : changed.thenCompose(ignored -> derive());
  }

  CompletableFuture<Void> unbind(
      Queue q, Exchange x, String key, Map<String, Object> args, Executor loop) {
    List<CompletableFuture<Boolean>> all = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      all.add(broker.unbind(OWNER, bindingName(x, q.name(), key, args, i), loop));
    }
    return afterBindings(CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)));
  }

  // ------------------------------------------------------------------ exchange-to-exchange

  /** The hex of binding arguments as stored: a headers binding's, at most 512 bytes encoded. */
  private static String argsHex(Exchange source, Map<String, Object> args) {
    if (!source.type().equals("headers")) {
      return "";
    }
    Map<String, Object> a = args == null ? Map.of() : args;
    HeadersMatch.of(a); // refuses a bad x-match
    byte[] t = table(a);
    if (t.length > MAX_BINDING_ARGS_BYTES) {
      throw AmqpException.channel(
          AmqpException.PRECONDITION_FAILED,
          "headers binding arguments of "
              + t.length
              + " bytes; at most "
              + MAX_BINDING_ARGS_BYTES
              + " are served");
    }
    return hex(t);
  }

  /** exchange.bind: {@code source}'s messages matching {@code key} go on to {@code destination}. */
  CompletableFuture<Void> bindExchange(
      Exchange destination, Exchange source, String key, Map<String, Object> args, Executor loop) {
    if (destination.name().isEmpty() || source.name().isEmpty()) {
      throw AmqpException.channel(
          AmqpException.ACCESS_REFUSED, "operation not permitted on the default exchange");
    }
    ExchangeBinding b =
        new ExchangeBinding(
            destination.name(),
            source.name(),
            key,
            args == null ? Map.of() : Map.copyOf(args),
            argsHex(source, args));
    synchronized (this) {
      if (!exchangeBindings.containsKey(b.id())
          && exchangeBindings.size() >= MAX_EXCHANGE_BINDINGS) {
        throw AmqpException.channel(
            AmqpException.RESOURCE_ERROR,
            MAX_EXCHANGE_BINDINGS + " exchange-to-exchange bindings exist (the limit)");
      }
      exchangeBindings.put(b.id(), b);
    }
    CompletableFuture<Void> stored =
        destination.durable() && source.durable()
            ? store(
                meta("e2e." + b.id(), java.util.HexFormat.of().parseHex(b.argsHex()))
                    .withHeader("destination", bytes(b.destination()))
                    .withHeader("source", bytes(b.source()))
                    .withHeader("key", bytes(b.key())),
                loop)
            : CompletableFuture.completedFuture(null);
    return stored.thenCompose(ignored -> derive());
  }

  /** exchange.unbind; idempotent. */
  CompletableFuture<Void> unbindExchange(
      String destination, Exchange source, String key, Map<String, Object> args, Executor loop) {
    ExchangeBinding b =
        new ExchangeBinding(destination, source.name(), key, Map.of(), argsHex(source, args));
    ExchangeBinding had = exchangeBindings.get(b.id());
    if (had == null) {
      return CompletableFuture.completedFuture(null);
    }
    return removeExchangeBinding(had, loop).thenCompose(ignored -> derive());
  }

  private CompletableFuture<Void> removeExchangeBinding(ExchangeBinding b, Executor loop) {
    exchangeBindings.remove(b.id());
    return store(meta("e2e." + b.id(), new byte[0]).withHeader("deleted", bytes("true")), loop);
  }

  /** A queue binding as the derivation reads it. */
  private record QueueBinding(
      String queue, String stream, String exchange, String key, String hex) {}

  /** One exchange a message passes: the type of the exchange, the binding's key and arguments. */
  private record Hop(String type, String key, String hex) {}

  /**
   * Brings the broker bindings derived from exchange-to-exchange bindings in line with them: for
   * every queue binding to exchange X and every chain of exchange bindings Y1 → … → X (no exchange
   * twice, at most {@value #MAX_HOPS}), one broker binding (per subject pattern of Y1's first hop)
   * copies Y1's messages to the queue when each hop matches ({@link #accepts}). Runs one at a time;
   * what is already in force is left as it is.
   */
  CompletableFuture<Void> derive() {
    CompletableFuture<Void> next;
    synchronized (this) {
      next = deriving.handle((ok, e) -> null).thenCompose(ignored -> deriveNow());
      deriving = next;
    }
    return next;
  }

  private CompletableFuture<Void> deriveNow() {
    Map<String, BindingSpec> wanted = new java.util.LinkedHashMap<>();
    Map<String, BindingSpec> existing = new java.util.HashMap<>();
    Set<String> seen = new HashSet<>();
    List<QueueBinding> queueBindings = new ArrayList<>();
    for (BindingSpec b : broker.bindings(OWNER)) {
      Map<String, String> a = b.arguments();
      if ("chain".equals(a.get("match"))) {
        existing.put(b.name(), b);
      } else if (a.get("exchange") != null && a.get("queue") != null) {
        String hex = a.getOrDefault("args", "");
        if (seen.add(
            a.get("queue") + "\u0000" + a.get("exchange") + "\u0000" + a.get("key") + hex)) {
          queueBindings.add(
              new QueueBinding(a.get("queue"), b.stream(), a.get("exchange"), a.get("key"), hex));
        }
      }
    }
    if (!exchangeBindings.isEmpty()) {
      for (QueueBinding qb : queueBindings) {
        Exchange x = exchanges.get(qb.exchange());
        if (x == null) {
          continue;
        }
        List<Hop> tail = new ArrayList<>();
        tail.add(new Hop(x.type(), qb.key(), qb.hex()));
        Set<String> visited = new HashSet<>();
        visited.add(x.name());
        chains(qb, x.name(), tail, visited, wanted);
      }
    }
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (Map.Entry<String, BindingSpec> e : wanted.entrySet()) {
      if (!e.getValue().equals(existing.remove(e.getKey()))) {
        all.add(broker.bindDurable(e.getValue(), Runnable::run));
      }
    }
    for (String gone : existing.keySet()) {
      all.add(broker.unbind(OWNER, gone, Runnable::run));
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
  }

  /** Walks exchange bindings backwards from {@code to}, adding a derived binding per chain. */
  private void chains(
      QueueBinding qb,
      String to,
      List<Hop> tail,
      Set<String> visited,
      Map<String, BindingSpec> out) {
    if (tail.size() > MAX_HOPS || out.size() >= MAX_DERIVED) {
      org.slf4j.LoggerFactory.getLogger(AmqpModel.class)
          .warn(
              "amqp: exchange-to-exchange routing to queue {} cut: chains longer than {} exchanges"
                  + " or more than {} derived bindings are not followed",
              qb.queue(),
              MAX_HOPS,
              MAX_DERIVED);
      return;
    }
    for (ExchangeBinding eb : exchangeBindings.values()) {
      Exchange source = exchanges.get(eb.source());
      if (!eb.destination().equals(to) || source == null || !visited.add(source.name())) {
        continue;
      }
      List<Hop> hops = new ArrayList<>();
      hops.add(new Hop(source.type(), eb.key(), eb.argsHex()));
      hops.addAll(tail);
      StringBuilder id = new StringBuilder(qb.queue()).append('|').append(source.name());
      for (Hop h : hops) {
        id.append('|').append(h.type()).append(':').append(h.key()).append(':').append(h.hex());
      }
      String base = "via:" + sha(id.toString());
      List<String> patterns = AmqpSubjects.patterns(source.type(), source.name(), eb.key());
      for (int i = 0; i < patterns.size(); i++) {
        BindingSpec.Builder spec =
            BindingSpec.builder(OWNER, base + "|" + i, patterns.get(i), qb.stream())
                .fixedSubject(AmqpSubjects.queueSubject(qb.queue()))
                .argument("queue", qb.queue())
                .argument("source", source.name())
                .argument("match", "chain")
                .argument("hops", Integer.toString(hops.size()));
        for (int h = 0; h < hops.size(); h++) {
          spec.argument("t" + h, hops.get(h).type())
              .argument("k" + h, hops.get(h).key())
              .argument("a" + h, hops.get(h).hex());
        }
        out.put(base + "|" + i, spec.build());
      }
      chains(qb, source.name(), hops, visited, out);
      visited.remove(source.name());
    }
  }

  /**
   * Whether one hop (an exchange of {@code type}, a binding's key and arguments) routes a message.
   */
  private boolean hop(
      String type, String key, String hex, List<String> words, Map<String, Object> headers) {
    return switch (type) {
      case "fanout" -> true;
      case "topic" -> AmqpSubjects.matchWords(AmqpSubjects.words(key), words);
      case "headers" -> headersMatch(hex).matches(headers);
      default -> AmqpSubjects.words(key).equals(words);
    };
  }

  /** Parsed headers-binding arguments, by their hex (bounded: cleared when full). */
  private final Map<String, HeadersMatch> headersMatches = new ConcurrentHashMap<>();

  private static final int MAX_CACHED_MATCHES = 100_000;

  private HeadersMatch headersMatch(String argsHex) {
    HeadersMatch hm = headersMatches.get(argsHex);
    if (hm == null) {
      if (headersMatches.size() >= MAX_CACHED_MATCHES) {
        headersMatches.clear();
      }
      hm =
          HeadersMatch.of(
              AmqpTypes.readTable(
                  Unpooled.wrappedBuffer(java.util.HexFormat.of().parseHex(argsHex))));
      headersMatches.put(argsHex, hm);
    }
    return hm;
  }

  /**
   * The broker's filter of this front end's bindings ({@link Broker#bindingFilter}): a topic key
   * with '#' between words is matched word by word, a headers binding on the message's headers.
   * Runs in every publish its pattern matches; does not block.
   */
  boolean accepts(BindingSpec spec, Message m) {
    String match = spec.arguments().get("match");
    if (match == null) {
      return true;
    }
    try {
      return switch (match) {
        case "topic" ->
            AmqpSubjects.matchWords(
                AmqpSubjects.words(spec.arguments().get("key")),
                AmqpSubjects.keyWords(m.subject()));
        case "headers" -> headersMatch(spec.arguments().get("args")).matches(headersOf(m));
        case "chain" -> {
          Map<String, String> a = spec.arguments();
          List<String> words = AmqpSubjects.keyWords(m.subject());
          Map<String, Object> headers = null;
          int n = Integer.parseInt(a.get("hops"));
          boolean ok = true;
          for (int h = 0; h < n && ok; h++) {
            String type = a.get("t" + h);
            if (type.equals("headers") && headers == null) {
              headers = headersOf(m);
            }
            ok = hop(type, a.get("k" + h), a.get("a" + h), words, headers);
          }
          yield ok;
        }
        default -> false;
      };
    } catch (RuntimeException e) {
      return false; // a binding we cannot read copies nothing
    }
  }

  /**
   * The last message whose headers the filter read on this thread, and them: a publish that several
   * headers bindings match is read once (the broker asks for each binding in turn, on the
   * publisher's thread).
   */
  private static final ThreadLocal<Object[]> LAST_HEADERS =
      ThreadLocal.withInitial(() -> new Object[2]);

  private static Map<String, Object> headersOf(Message m) {
    Object[] last = LAST_HEADERS.get();
    // Weakly: a thread's last message (up to 16 MiB) is not kept alive by this.
    if (!(last[0] instanceof java.lang.ref.WeakReference<?> ref) || ref.get() != m) {
      last[1] = HeadersMatch.headersOf(m);
      last[0] = new java.lang.ref.WeakReference<>(m);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> headers = (Map<String, Object>) last[1];
    return headers;
  }

  /**
   * Whether a publish to {@code exchange} with {@code key} and {@code headers} reaches a queue
   * (mandatory).
   */
  boolean routable(Exchange x, String key, Map<String, Object> headers) {
    if (x.name().isEmpty()) {
      return queues.containsKey(key);
    }
    return routable(x, key, headers, new HashSet<>());
  }

  private boolean routable(
      Exchange x, String key, Map<String, Object> headers, Set<String> visited) {
    if (!visited.add(x.name()) || visited.size() > MAX_HOPS + 1) {
      return false;
    }
    if (routesToQueue(x, key, headers)) {
      return true;
    }
    List<String> words = AmqpSubjects.words(key);
    for (ExchangeBinding eb : exchangeBindings.values()) {
      Exchange dest = exchanges.get(eb.destination());
      if (eb.source().equals(x.name())
          && dest != null
          && hopSafely(x.type(), eb.key(), eb.argsHex(), words, headers)
          && routable(dest, key, headers, visited)) {
        return true;
      }
    }
    return false;
  }

  private boolean hopSafely(
      String type, String key, String hex, List<String> words, Map<String, Object> headers) {
    try {
      return hop(type, key, hex, words, headers);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private boolean routesToQueue(Exchange x, String key, Map<String, Object> headers) {
    for (BindingSpec b : bindingsOf(x.name(), null)) {
      String k = b.arguments().get("key");
      boolean hit =
          switch (x.type()) {
            case "fanout" -> true;
            case "topic" -> AmqpSubjects.topicMatches(k, key);
            case "headers" -> {
              try {
                yield headersMatch(b.arguments().get("args")).matches(headers);
              } catch (RuntimeException e) {
                yield false;
              }
            }
            default -> k.equals(key);
          };
      if (hit) {
        return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ helpers

  /**
   * The stream of queue {@code name}: {@link #STREAM_PREFIX}, the name's letters, digits, '-' and
   * '_' (others as '_', at most 40), '-', and 16 hex digits of its hash, so distinct names never
   * share a stream.
   */
  static String streamName(String name) {
    StringBuilder s = new StringBuilder(STREAM_PREFIX);
    for (int i = 0; i < name.length() && i < 40; i++) {
      char c = name.charAt(i);
      s.append(Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '_' ? c : '_');
    }
    return s.append('-').append(sha(name), 0, 16).toString();
  }

  private static Message meta(String subject, byte[] payload) {
    return new Message(
        META_PREFIX + subject, null, List.<Header>of(), payload, System.currentTimeMillis(), null);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] table(Map<String, Object> t) {
    ByteBuf buf = Unpooled.buffer();
    try {
      AmqpTypes.writeTable(buf, t);
      byte[] b = new byte[buf.readableBytes()];
      buf.readBytes(b);
      return b;
    } finally {
      buf.release();
    }
  }

  private CompletableFuture<Void> store(Message m, Executor loop) {
    CompletableFuture<Void> out = new CompletableFuture<>();
    broker
        .publish(m, PublishOptions.NONE)
        .whenComplete(
            (ack, error) ->
                loop.execute(
                    () -> {
                      if (error != null) {
                        out.completeExceptionally(error);
                      } else {
                        out.complete(null);
                      }
                    }));
    return out;
  }

  /** The broker's failure as an AMQP error. */
  static AmqpException translate(Throwable t) {
    while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof AmqpException a) {
      return a;
    }
    if (t instanceof SwitchboardException s) {
      ErrorCode c = s.code();
      int code =
          switch (c) {
            case STREAM_NOT_FOUND, CONSUMER_NOT_FOUND -> AmqpException.NOT_FOUND;
            case INVALID_SUBJECT, INVALID_PATTERN, INVALID_BINDING, MESSAGE_TOO_LARGE ->
                AmqpException.PRECONDITION_FAILED;
            case TOO_MANY_BINDINGS -> AmqpException.RESOURCE_ERROR;
            default -> AmqpException.INTERNAL_ERROR;
          };
      return AmqpException.channel(code, s.getMessage());
    }
    return AmqpException.channel(AmqpException.INTERNAL_ERROR, String.valueOf(t));
  }
}

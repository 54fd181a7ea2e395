package io.switchboard.broker.live;

import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectTrie;
import io.switchboard.core.subject.Subjects;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live publish/subscribe, queue groups and request/reply: at-most-once, from memory, on the same
 * subjects as streams. Thread-safe.
 *
 * <p>Publishing matches the subject in a {@link SubjectTrie} and offers the message to each
 * matching subscription's bounded buffer ({@link Mailbox}); a queue group receives it once, at the
 * next member with room. Nothing on the publish path blocks or takes a lock.
 *
 * <p>Request/reply: a request gets a unique inbox subject ({@code _INBOX.<bus>.<n>}) as its reply
 * subject and a correlation-id header; the first message published on that inbox completes it. A
 * request that matches no subscription fails at once with {@link ErrorCode#NO_RESPONDERS} rather
 * than waiting for its timeout.
 *
 * <p>Deadlines: a request (a message with a reply subject) whose {@value #DEADLINE_HEADER} header
 * (absolute epoch milliseconds, UTC) has passed is not delivered — neither when published nor when
 * its turn comes in a subscriber's buffer. It is counted ({@link #deadlineExpiredCount()}) and the
 * requester hears of it: a request made through {@link #request} fails with {@link
 * ErrorCode#DEADLINE_EXPIRED}; any other gets an error reply on its reply subject (empty payload,
 * headers {@value #ERROR_CODE_HEADER} and {@value #ERROR_HEADER}, its correlation id). A header
 * that is not a number is no deadline here; the responder's service layer refuses it.
 *
 * <p>Queue groups route by {@link LiveBusConfig#queueRouting()}. With {@link QueueRouting#ADAPTIVE}
 * a request goes to the less loaded of two random members ({@link #lessLoaded}): its requests in
 * flight plus this one, times its recent time to reply. A request is in flight at its member from
 * delivery to the first message on its reply subject with its correlation id; at most {@link
 * LiveBusConfig#maxPendingRequests()} are tracked, each forgotten at its deadline or after {@value
 * #TRACK_MS} ms. {@link QueueRouting#LEAST_IN_FLIGHT} compares the counts alone.
 */
public final class LiveBus implements AutoCloseable {
  /** Prefix of reply inboxes. */
  public static final String INBOX_PREFIX = "_INBOX.";

  /** A request's deadline: absolute epoch milliseconds (UTC), written by the caller. */
  public static final String DEADLINE_HEADER = "sb-deadline";

  /** An error reply's code number (decimal), as the service layer writes it. */
  public static final String ERROR_CODE_HEADER = "sb-error-code";

  /** An error reply's message. */
  public static final String ERROR_HEADER = "sb-error";

  /**
   * 30 s: how long a request without a deadline counts as in flight at its member when no reply
   * comes — longer than usual request timeouts, so a stalled member stays unattractive.
   */
  static final long TRACK_MS = 30_000;

  /**
   * 10 s: how fast a member's recent time to reply fades while it answers nothing (adaptive
   * routing), so that one slow spell does not keep a member out for good.
   */
  static final long LATENCY_FADE_MS = 10_000;

  /** 1 s between sweeps of tracked requests that got no reply. */
  static final long TRACK_SWEEP_MS = 1_000;

  private final LiveBusConfig config;
  private final SubjectTrie<Object> trie = new SubjectTrie<>();
  private final Map<String, QueueGroup> groups = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger subscriptions = new AtomicInteger();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong deadlineExpired = new AtomicLong();

  /** A request delivered to a queue group member, waiting for its reply (adaptive routing). */
  private record Tracked(Mailbox member, long expiresAtMs, long sentNanos) {}

  private final Map<String, Tracked> inFlight = new ConcurrentHashMap<>();
  private final java.util.function.IntUnaryOperator randomBelow;
  private final String inboxBase;
  private final ScheduledThreadPoolExecutor timer;
  private final ExecutorService defaultExecutor;
  private final Clock clock;
  private volatile boolean closed;

  /** A queue group: members share one pattern; each message goes to one of them. */
  private final class QueueGroup {
    volatile Mailbox[] members = new Mailbox[0];
    final AtomicInteger cursor = new AtomicInteger();

    boolean offer(Message m) {
      Mailbox[] ms = members;
      int n = ms.length;
      if (n == 0) {
        return false;
      }
      if (m.replyTo() != null && config.queueRouting() != QueueRouting.ROUND_ROBIN) {
        return offerAdaptive(ms, m);
      }
      int start = Math.floorMod(cursor.getAndIncrement(), n);
      for (int i = 0; i < n; i++) {
        Mailbox candidate = ms[(start + i) % n];
        if (candidate.hasRoom()) {
          return candidate.offer(m);
        }
      }
      return ms[start].offer(m); // every member is full: counted as a drop on the chosen one
    }

    /** Power of two choices: the less loaded of two members picked at random, with room. */
    private boolean offerAdaptive(Mailbox[] ms, Message m) {
      int n = ms.length;
      Mailbox pick;
      if (n == 1) {
        pick = ms[0];
      } else {
        int a = randomBelow.applyAsInt(n);
        int b = randomBelow.applyAsInt(n - 1);
        if (b >= a) {
          b++;
        }
        Mailbox x = ms[a];
        Mailbox y = ms[b];
        if (config.queueRouting() == QueueRouting.ADAPTIVE) {
          pick = lessLoaded(x, y, clock.nanoTime());
        } else {
          int lx = x.inFlight.get();
          int ly = y.inFlight.get();
          // Fewest in flight; on a tie, the one that has lately answered sooner.
          pick = lx < ly || (lx == ly && x.latencyEwmaNanos <= y.latencyEwmaNanos) ? x : y;
        }
        Mailbox other = pick == x ? y : x;
        if (!pick.hasRoom() && other.hasRoom()) {
          pick = other;
        }
      }
      String key = track(m, pick);
      boolean accepted = pick.offer(m);
      if (!accepted && key != null) {
        forget(key);
      }
      return accepted;
    }
  }

  public LiveBus(LiveBusConfig config, Clock clock) {
    this(config, clock, n -> ThreadLocalRandom.current().nextInt(n));
  }

  /**
   * @param randomBelow a random int in {@code [0, n)} for adaptive routing (tests pass a seeded
   *     one)
   */
  LiveBus(LiveBusConfig config, Clock clock, java.util.function.IntUnaryOperator randomBelow) {
    this.config = config;
    this.clock = clock;
    this.randomBelow = randomBelow;
    this.inboxBase =
        INBOX_PREFIX + Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36) + ".";
    this.timer =
        new ScheduledThreadPoolExecutor(
            1, r -> Thread.ofPlatform().daemon().name("sb-live-timer").unstarted(r));
    timer.setRemoveOnCancelPolicy(true);
    timer.scheduleWithFixedDelay(
        this::expireTracked, TRACK_SWEEP_MS, TRACK_SWEEP_MS, TimeUnit.MILLISECONDS);
    this.defaultExecutor = Executors.newVirtualThreadPerTaskExecutor();
  }

  /**
   * Subscribes to a valid pattern; messages go to {@code sink} on {@code executor} (a front end
   * passes its connection's event loop).
   *
   * @param queueGroup null, or a group name: each message goes to one member of the group
   * @throws SwitchboardException {@link ErrorCode#INVALID_PATTERN}, {@link
   *     ErrorCode#INVALID_ARGUMENT} past the subscription limit, {@link ErrorCode#LIVE_BUS_CLOSED}
   */
  public LiveSubscription subscribe(
      String pattern, String queueGroup, LiveSink sink, Executor executor) {
    ensureOpen();
    Subjects.validatePattern(pattern, config.subjects());
    if (queueGroup != null && (queueGroup.isEmpty() || queueGroup.length() > 256)) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "queue group name must have 1 to 256 characters");
    }
    if (subscriptions.incrementAndGet() > config.maxSubscriptions()) {
      subscriptions.decrementAndGet();
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT,
          "the bus already has " + config.maxSubscriptions() + " live subscriptions (the limit)");
    }
    long id = ids.incrementAndGet();
    Mailbox[] self = new Mailbox[1];
    self[0] =
        new Mailbox(
            id,
            pattern,
            queueGroup,
            config.bufferMessages(),
            config.drainBatch(),
            sink,
            executor == null ? defaultExecutor : executor,
            () -> unsubscribe(self[0]),
            this::dropIfExpired);
    synchronized (this) {
      if (queueGroup == null) {
        trie.add(pattern, self[0]);
      } else {
        QueueGroup g =
            groups.computeIfAbsent(
                groupKey(pattern, queueGroup),
                k -> {
                  QueueGroup created = new QueueGroup();
                  trie.add(pattern, created);
                  return created;
                });
        Mailbox[] ms = java.util.Arrays.copyOf(g.members, g.members.length + 1);
        ms[ms.length - 1] = self[0];
        g.members = ms;
      }
    }
    return self[0];
  }

  /** Subscribes with the bus's default executor (virtual threads). */
  public LiveSubscription subscribe(String pattern, String queueGroup, LiveSink sink) {
    return subscribe(pattern, queueGroup, sink, null);
  }

  private synchronized void unsubscribe(Mailbox m) {
    if (m.group == null) {
      if (trie.remove(m.pattern, m)) {
        subscriptions.decrementAndGet();
      }
      return;
    }
    String key = groupKey(m.pattern, m.group);
    QueueGroup g = groups.get(key);
    if (g == null) {
      return;
    }
    Mailbox[] ms = g.members;
    int at = -1;
    for (int i = 0; i < ms.length; i++) {
      if (ms[i] == m) {
        at = i;
      }
    }
    if (at < 0) {
      return;
    }
    Mailbox[] rest = new Mailbox[ms.length - 1];
    System.arraycopy(ms, 0, rest, 0, at);
    System.arraycopy(ms, at + 1, rest, at, ms.length - at - 1);
    g.members = rest;
    subscriptions.decrementAndGet();
    if (rest.length == 0) {
      groups.remove(key);
      trie.remove(m.pattern, g);
    }
  }

  private static String groupKey(String pattern, String group) {
    return pattern + '\u0000' + group;
  }

  /**
   * Publishes to live subscribers (and completes the request waiting on it, for a reply inbox).
   *
   * @return how many subscriptions (a queue group counts once) the subject matched
   * @throws SwitchboardException {@link ErrorCode#INVALID_SUBJECT}, {@link
   *     ErrorCode#LIVE_BUS_CLOSED}
   */
  public int publish(Message message) {
    ensureOpen();
    Subjects.validateSubject(message.subject(), config.subjects());
    return deliver(message);
  }

  private int deliver(Message message) {
    published.incrementAndGet();
    if (message.replyTo() != null && dropIfExpired(message)) {
      return 0;
    }
    int matched = 0;
    String subject = message.subject();
    if (!inFlight.isEmpty()) {
      answered(message);
    }
    if (subject.startsWith(inboxBase)) {
      CompletableFuture<Message> waiting = pending.remove(subject);
      if (waiting != null) {
        waiting.complete(message);
        matched++;
      }
    }
    if (subscriptions.get() == 0) {
      return matched; // nobody subscribes: no trie walk on a publish-only load
    }
    int[] count = {matched};
    trie.match(
        subject,
        entry -> {
          count[0]++;
          // A full mailbox refuses: live delivery is at most once, and the mailbox counts the drop
          // and tells its sink (LiveSink.onDropped), so the result needs nothing more here.
          if (entry instanceof Mailbox m) {
            m.offer(message);
          } else {
            ((QueueGroup) entry).offer(message);
          }
        });
    return count[0];
  }

  /**
   * Sends a request and completes with the first reply.
   *
   * <p>The returned future fails with {@link ErrorCode#NO_RESPONDERS} at once when nothing
   * subscribes to the subject, {@link ErrorCode#REQUEST_TIMEOUT} after {@code timeout}, {@link
   * ErrorCode#TOO_MANY_PENDING_REQUESTS} past the limit, {@link ErrorCode#INVALID_SUBJECT}, or
   * {@link ErrorCode#LIVE_BUS_CLOSED}.
   */
  public CompletableFuture<Message> request(Message request, Duration timeout) {
    try {
      ensureOpen();
      Subjects.validateSubject(request.subject(), config.subjects());
    } catch (SwitchboardException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (pending.size() >= config.maxPendingRequests()) {
      return CompletableFuture.failedFuture(
          SwitchboardException.of(
              ErrorCode.TOO_MANY_PENDING_REQUESTS, config.maxPendingRequests()));
    }
    String inbox = inboxBase + ids.incrementAndGet();
    CompletableFuture<Message> reply = new CompletableFuture<>();
    pending.put(inbox, reply);
    long timeoutMs = timeout.toMillis();
    ScheduledFuture<?> timeoutTask =
        timer.schedule(
            () -> {
              if (pending.remove(inbox, reply)) {
                reply.completeExceptionally(
                    SwitchboardException.of(
                        ErrorCode.REQUEST_TIMEOUT, request.subject(), timeoutMs));
              }
            },
            timeoutMs,
            TimeUnit.MILLISECONDS);
    reply.whenComplete((m, e) -> timeoutTask.cancel(false));
    Message sent =
        request
            .withReplyTo(inbox)
            .withHeader(Message.CORRELATION_ID, inbox.getBytes(StandardCharsets.UTF_8));
    if (deliver(sent) == 0 && pending.remove(inbox, reply)) {
      reply.completeExceptionally(
          SwitchboardException.of(ErrorCode.NO_RESPONDERS, request.subject()));
    }
    return reply;
  }

  /** Answers a request: publishes {@code reply} on the request's reply subject, if it has one. */
  public int reply(Message request, byte[] payload) {
    if (request.replyTo() == null) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "message on " + request.subject() + " has no reply subject");
    }
    Message answer = Message.of(request.replyTo(), payload, clock.nowMs());
    byte[] correlation = request.header(Message.CORRELATION_ID);
    if (correlation != null) {
      answer = answer.withHeader(Message.CORRELATION_ID, correlation);
    }
    return publish(answer);
  }

  // ------------------------------------------------------------------ deadlines

  /**
   * Whether {@code m} is a request whose deadline has passed; if so it is counted and answered
   * ({@link ErrorCode#DEADLINE_EXPIRED}: the waiting {@link #request} fails, or an error reply goes
   * to its reply subject), and the caller drops it. Any thread.
   */
  boolean dropIfExpired(Message m) {
    if (m.replyTo() == null) {
      return false;
    }
    byte[] header = m.header(DEADLINE_HEADER);
    if (header == null) {
      return false;
    }
    long deadlineMs = parseMs(header);
    long now = clock.nowMs();
    if (deadlineMs < 0 || now < deadlineMs) {
      return false;
    }
    deadlineExpired.incrementAndGet();
    String key = trackKey(m.replyTo(), m.header(Message.CORRELATION_ID));
    untrack(key);
    SwitchboardException error =
        SwitchboardException.of(ErrorCode.DEADLINE_EXPIRED, m.subject(), now - deadlineMs);
    CompletableFuture<Message> waiting = pending.remove(m.replyTo());
    if (waiting != null) {
      waiting.completeExceptionally(error);
      return true;
    }
    Message reply =
        new Message(
            m.replyTo(),
            null,
            errorHeaders(m.header(Message.CORRELATION_ID), error),
            new byte[0],
            now,
            null);
    try {
      deliver(reply);
    } catch (RuntimeException e) {
      // The requester is gone or its subject is invalid: dropping the request is all there is.
    }
    return true;
  }

  private static java.util.List<io.switchboard.core.Header> errorHeaders(
      byte[] correlation, SwitchboardException error) {
    java.util.List<io.switchboard.core.Header> h = new java.util.ArrayList<>(3);
    if (correlation != null) {
      h.add(new io.switchboard.core.Header(Message.CORRELATION_ID, correlation));
    }
    h.add(
        new io.switchboard.core.Header(
            ERROR_CODE_HEADER,
            Integer.toString(error.code().number()).getBytes(StandardCharsets.US_ASCII)));
    h.add(
        new io.switchboard.core.Header(
            ERROR_HEADER, String.valueOf(error.getMessage()).getBytes(StandardCharsets.UTF_8)));
    return h;
  }

  /** A decimal epoch-milliseconds header, or -1 when it is not one. */
  static long parseMs(byte[] header) {
    if (header.length == 0 || header.length > 19) {
      return -1;
    }
    long v = 0;
    for (byte b : header) {
      if (b < '0' || b > '9') {
        return -1;
      }
      v = v * 10 + (b - '0');
    }
    return v;
  }

  /** Requests dropped because their deadline had passed, since the bus started. */
  public long deadlineExpiredCount() {
    return deadlineExpired.get();
  }

  // ------------------------------------------------------------------ in-flight tracking

  /** The key a request is tracked under: its reply subject, and correlation id unless unique. */
  private String trackKey(String replyTo, byte[] correlation) {
    if (replyTo.startsWith(inboxBase) || correlation == null) {
      return replyTo;
    }
    return replyTo + '\u0000' + new String(correlation, StandardCharsets.UTF_8);
  }

  /** Counts {@code m} in flight at {@code member}; null when not tracked (the bound is reached). */
  private String track(Message m, Mailbox member) {
    if (inFlight.size() >= config.maxPendingRequests()) {
      return null;
    }
    long now = clock.nowMs();
    long expires = now + TRACK_MS;
    byte[] deadline = m.header(DEADLINE_HEADER);
    if (deadline != null) {
      long d = parseMs(deadline);
      if (d > now && d < expires) {
        expires = d;
      }
    }
    String key = trackKey(m.replyTo(), m.header(Message.CORRELATION_ID));
    Tracked previous = inFlight.put(key, new Tracked(member, expires, clock.nanoTime()));
    member.inFlight.incrementAndGet();
    if (previous != null) {
      previous.member().inFlight.decrementAndGet();
    }
    return key;
  }

  private void untrack(String key) {
    Tracked t = inFlight.remove(key);
    if (t != null) {
      t.member().inFlight.decrementAndGet();
      long now = clock.nanoTime();
      t.member().observeLatency(now - t.sentNanos(), now, LATENCY_FADE_MS * 1e6);
    }
  }

  /**
   * The member of two with the shorter expected wait for one more request: its requests in flight
   * plus this one, times its recent time to reply. That time fades with a {@value #LATENCY_FADE_MS}
   * ms time constant while the member answers nothing, so a member that was slow is tried again
   * later. A member that has not answered yet is taken to be as fast as the other (between two
   * such, the counts decide), so a new member is tried at once and a new member that stalls piles
   * up requests in flight and loses. Ties go to {@code x}.
   */
  static Mailbox lessLoaded(Mailbox x, Mailbox y, long nowNanos) {
    double lx = recentLatency(x, nowNanos);
    double ly = recentLatency(y, nowNanos);
    if (lx == 0) {
      lx = ly == 0 ? 1 : ly;
    }
    if (ly == 0) {
      ly = lx;
    }
    return (x.inFlight.get() + 1) * lx <= (y.inFlight.get() + 1) * ly ? x : y;
  }

  /** A member's faded recent time to reply, in nanoseconds; 0 before its first reply. */
  private static double recentLatency(Mailbox m, long nowNanos) {
    long ewma = m.latencyEwmaNanos;
    if (ewma == 0) {
      return 0;
    }
    long age = Math.max(0, nowNanos - m.latencyAtNanos);
    return Math.max(1.0, ewma * Math.exp(-age / (LATENCY_FADE_MS * 1e6)));
  }

  /** Stops tracking a request that never reached its member (a full buffer). */
  private void forget(String key) {
    Tracked t = inFlight.remove(key);
    if (t != null) {
      t.member().inFlight.decrementAndGet();
    }
  }

  /** A message on a reply subject ends its request's time in flight. */
  private void answered(Message m) {
    untrack(trackKey(m.subject(), m.header(Message.CORRELATION_ID)));
  }

  /** Forgets tracked requests past their expiry (the timer, each second; tests call it). */
  void expireTracked() {
    long now = clock.nowMs();
    for (Map.Entry<String, Tracked> e : inFlight.entrySet()) {
      Tracked t = e.getValue();
      if (t.expiresAtMs() <= now && inFlight.remove(e.getKey(), t)) {
        t.member().inFlight.decrementAndGet();
        long nowNanos = clock.nanoTime();
        // No reply: it was slow at least this long.
        t.member().observeLatency(nowNanos - t.sentNanos(), nowNanos, LATENCY_FADE_MS * 1e6);
      }
    }
  }

  /** Requests tracked as in flight at queue group members. */
  public int trackedRequests() {
    return inFlight.size();
  }

  public int subscriptionCount() {
    return subscriptions.get();
  }

  public int pendingRequests() {
    return pending.size();
  }

  public long publishedCount() {
    return published.get();
  }

  private void ensureOpen() {
    if (closed) {
      throw SwitchboardException.of(ErrorCode.LIVE_BUS_CLOSED);
    }
  }

  /** Fails waiting requests with {@link ErrorCode#LIVE_BUS_CLOSED} and stops the timer. */
  @Override
  public void close() {
    closed = true;
    for (String inbox : pending.keySet()) {
      CompletableFuture<Message> f = pending.remove(inbox);
      if (f != null) {
        f.completeExceptionally(SwitchboardException.of(ErrorCode.LIVE_BUS_CLOSED));
      }
    }
    timer.shutdownNow();
    defaultExecutor.shutdown();
  }
}

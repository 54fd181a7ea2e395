package io.switchboard.services;

import io.micrometer.core.instrument.Counter;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.services.ServiceDescriptor.MethodDescriptor;
import io.switchboard.services.codec.Codec;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one implementation of a service interface (or one event listener): subscribes to {@code
 * <prefix><service>.*}, decodes each request, calls the method and replies. Requests are handled on
 * the client's callback thread, one at a time, up to the method's returned future: a method that
 * has slow work to do returns a future and does the work elsewhere. Thread-safe.
 *
 * <p>Replies an error (headers {@code sb-error-code}, {@code sb-error}) with: {@code
 * UNKNOWN_SERVICE_METHOD}, {@code INVALID_DEADLINE}, {@code DEADLINE_EXCEEDED} (the deadline passed
 * before the call arrived: the method is not run), {@code UNKNOWN_CONTENT_TYPE}, {@code
 * CONTENT_TYPE_MISMATCH}, {@code DECODE_FAILED}, {@code ENCODE_FAILED}, {@code SERVICE_FAILED} (the
 * method threw or its future failed; a {@link SwitchboardClientException} it throws keeps its
 * code).
 */
final class Responder implements Registration {
  private static final Logger LOG = LoggerFactory.getLogger(Responder.class);

  /** Stream items published before waiting for their acknowledgements: bounds the outbox. */
  static final int STREAM_WINDOW = 256;

  private final Services services;
  private final ServiceDescriptor service;
  private final Object impl;
  private final Codec codec;
  private final String prefix;
  private final SwitchboardClient client;
  private final Clock clock;
  private final SwitchboardClient.Subscription subscription;

  Responder(
      Services services,
      ServiceDescriptor service,
      Object impl,
      Codec codec,
      String prefix,
      String queueGroup) {
    this.services = services;
    this.service = service;
    this.impl = impl;
    this.codec = codec;
    this.prefix = prefix + service.name() + ".";
    this.client = services.client();
    this.clock = services.clock();
    this.subscription = client.subscribe(this.prefix + "*", queueGroup, this::handle, null);
  }

  @Override
  public void close() {
    subscription.close();
  }

  private void handle(LiveMessage m) {
    String method = m.subject().substring(prefix.length());
    MethodDescriptor md = service.method(method);
    try {
      if (md == null) {
        throw Errors.of(ErrorCode.UNKNOWN_SERVICE_METHOD, service.name(), method);
      }
      Map<String, String> h = Wire.read(m.headers());
      long deadlineMs = Wire.deadlineOf(h);
      long nowMs = clock.nowMs();
      if (deadlineMs != CallContext.NO_DEADLINE && nowMs >= deadlineMs) {
        throw Errors.of(
            ErrorCode.DEADLINE_EXCEEDED,
            m.subject(),
            nowMs - deadlineMs,
            " when it reached the responder, which did not run it");
      }
      String contentType = h.get(ServiceHeaders.CONTENT_TYPE);
      if (contentType != null && services.codecs().get(contentType) == null) {
        throw Errors.of(
            ErrorCode.UNKNOWN_CONTENT_TYPE,
            contentType,
            m.subject(),
            services.codecs().contentTypes());
      }
      Object arg =
          md.argType() == null
              ? null
              : Coding.decode(
                  codec, "service " + service.name(), m.subject(), h, m.payload(), md.argType());
      Object result = invoke(md, arg, new CallContext(m.subject(), h, deadlineMs, clock));
      switch (md.kind()) {
        case ONE_WAY:
          count(md, null);
          break;
        case UNARY:
          if (result == null) {
            throw Errors.of(ErrorCode.SERVICE_FAILED, m.subject(), "the method returned null");
          }
          ((CompletableFuture<?>) result)
              .whenComplete(
                  (value, err) -> {
                    if (err != null) {
                      replyError(m, md, failure(m.subject(), err));
                    } else {
                      replyValue(m, md, value);
                    }
                  });
          break;
        case STREAM:
          stream(m, md, h, deadlineMs, (ReplyStream<?>) result);
          break;
        default:
          throw new IllegalStateException(md.kind().toString());
      }
    } catch (SwitchboardClientException e) {
      replyError(m, md, e);
    } catch (RuntimeException e) {
      replyError(m, md, failure(m.subject(), e));
    }
  }

  private Object invoke(MethodDescriptor md, Object arg, CallContext context) {
    CallContext previous = CallContext.swap(context);
    try {
      Object[] args = md.argType() == null ? null : new Object[] {arg};
      return md.method().invoke(impl, args);
    } catch (InvocationTargetException e) {
      throw failure(context.subject(), e.getCause());
    } catch (IllegalAccessException e) {
      throw Errors.of(ErrorCode.SERVICE_FAILED, context.subject(), Errors.describe(e));
    } finally {
      CallContext.swap(previous);
    }
  }

  /** An exception of the service, as the error the caller gets. */
  private static SwitchboardClientException failure(String subject, Throwable t) {
    Throwable cause = Errors.unwrap(t);
    if (cause instanceof SwitchboardClientException e) {
      return e;
    }
    return Errors.of(ErrorCode.SERVICE_FAILED, subject, Errors.describe(cause));
  }

  private void replyValue(LiveMessage m, MethodDescriptor md, Object value) {
    if (m.replyTo() == null) {
      count(md, null);
      return;
    }
    Map<String, String> h = new LinkedHashMap<>();
    h.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
    byte[] payload;
    try {
      payload = md.resultType() == Void.class ? new byte[0] : Coding.encode(codec, value, h);
    } catch (SwitchboardClientException e) {
      replyError(m, md, e);
      return;
    }
    count(md, null);
    send(client.reply(m, Wire.write(h), payload), m);
  }

  private void replyError(LiveMessage m, MethodDescriptor md, SwitchboardClientException e) {
    count(md, e);
    if (m.replyTo() == null) {
      LOG.warn("SB-SVC-0002 one-way {} failed: {}", m.subject(), e.getMessage());
      return;
    }
    LOG.debug("{} answered with an error: {}", m.subject(), e.getMessage());
    send(client.reply(m, Wire.error(e), new byte[0]), m);
  }

  private static void send(CompletableFuture<?> reply, LiveMessage m) {
    reply.whenComplete(
        (ack, err) -> {
          if (err != null) {
            LOG.warn("SB-SVC-0003 reply to {} not sent: {}", m.subject(), err.toString());
          }
        });
  }

  private void count(MethodDescriptor md, SwitchboardClientException e) {
    ErrorCode code = e == null ? null : e.errorCode();
    Counter.builder("switchboard.services.served")
        .description("calls served (or events handled), by outcome (ok or the error code)")
        .tag("service", service.name())
        .tag("method", md == null ? "?" : md.name())
        .tag("outcome", e == null ? "ok" : code != null ? code.name() : Integer.toString(e.code()))
        .register(services.meterRegistry())
        .increment();
  }

  // ------------------------------------------------------------------ streams

  private void stream(
      LiveMessage m,
      MethodDescriptor md,
      Map<String, String> headers,
      long deadlineMs,
      ReplyStream<?> result) {
    String to = headers.get(ServiceHeaders.STREAM_TO);
    if (to == null) {
      throw Errors.of(
          ErrorCode.INVALID_ARGUMENT,
          "a call of streaming method "
              + m.subject()
              + " needs header "
              + ServiceHeaders.STREAM_TO);
    }
    if (result == null || result.source() == null) {
      throw Errors.of(
          ErrorCode.SERVICE_FAILED, m.subject(), "the method returned no ReplyStream.of(...)");
    }
    Iterator<?> items = result.source();
    int window = windowOf(headers.get(ServiceHeaders.STREAM_WINDOW));
    try {
      services.workers().execute(() -> pump(m, md, to, deadlineMs, window, items));
    } catch (RejectedExecutionException e) {
      throw Errors.of(
          ErrorCode.SERVICE_FAILED,
          m.subject(),
          Services.MAX_QUEUED_STREAMS + " streams are waiting to be sent (the limit)");
    }
    // The first reply says "accepted"; the items follow on the caller's subject.
    Map<String, String> h = new LinkedHashMap<>();
    h.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
    send(client.reply(m, Wire.write(h), new byte[0]), m);
  }

  /** The caller's window: 0 (none, paced by acknowledgements only) or 1..MAX_STREAM_WINDOW. */
  private static int windowOf(String text) {
    if (text == null) {
      return 0;
    }
    try {
      int w = Integer.parseInt(text.trim());
      if (w >= 1) {
        return Math.min(w, MAX_STREAM_WINDOW);
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw Errors.of(
        ErrorCode.INVALID_ARGUMENT,
        "header " + ServiceHeaders.STREAM_WINDOW + " \"" + text + "\" is not a positive number");
  }

  /** Largest window a caller may ask for: items a stream keeps in flight at most. */
  static final int MAX_STREAM_WINDOW = 4_096;

  /**
   * How long a stream without a deadline waits for the caller to grant more items before it gives
   * up: a caller that went away must not hold a worker forever.
   */
  static final long NO_DEADLINE_CREDIT_WAIT_MS = 60_000;

  /**
   * Sends a stream's items, then its end marker; runs on a worker thread (waiting there for
   * acknowledgements and grants is what the worker is for). With a caller's window, at most that
   * many items are sent ahead of what the caller has taken: it grants more on the subject named by
   * the first item's {@code sb-stream-credit-to}.
   */
  private void pump(
      LiveMessage m,
      MethodDescriptor md,
      String to,
      long deadlineMs,
      int creditWindow,
      Iterator<?> items) {
    long seq = 0;
    List<CompletableFuture<?>> window = new ArrayList<>(STREAM_WINDOW);
    SwitchboardClientException failure = null;
    Semaphore credits = new Semaphore(creditWindow);
    String creditTo = null;
    SwitchboardClient.Subscription grants = null;
    try {
      if (creditWindow > 0) {
        creditTo = services.newInbox();
        grants =
            client.subscribe(
                creditTo, null, g -> credits.release(grantOf(Wire.read(g.headers()))), null);
      }
      while (items.hasNext()) {
        if (creditWindow > 0 && !awaitCredit(credits, deadlineMs)) {
          long nowMs = clock.nowMs();
          failure =
              deadlineMs != CallContext.NO_DEADLINE && nowMs >= deadlineMs
                  ? Errors.of(
                      ErrorCode.DEADLINE_EXCEEDED,
                      m.subject(),
                      nowMs - deadlineMs,
                      " after " + seq + " stream items; the responder stopped")
                  : Errors.of(
                      ErrorCode.REPLY_STREAM_BROKEN,
                      m.subject(),
                      "stopped: the caller granted no more items for "
                          + NO_DEADLINE_CREDIT_WAIT_MS
                          + " ms",
                      seq);
          break;
        }
        long nowMs = clock.nowMs();
        if (deadlineMs != CallContext.NO_DEADLINE && nowMs >= deadlineMs) {
          failure =
              Errors.of(
                  ErrorCode.DEADLINE_EXCEEDED,
                  m.subject(),
                  nowMs - deadlineMs,
                  " after " + seq + " stream items; the responder stopped");
          break;
        }
        Object item = items.next();
        Map<String, String> h = new LinkedHashMap<>();
        h.put(ServiceHeaders.CONTENT_TYPE, codec.contentType());
        h.put(ServiceHeaders.STREAM_SEQ, Long.toString(seq));
        if (seq == 0 && creditTo != null) {
          h.put(ServiceHeaders.STREAM_CREDIT_TO, creditTo);
        }
        byte[] payload = Coding.encode(codec, item, h);
        window.add(client.publishAsync(publish(to, h, payload)));
        seq++;
        if (window.size() == STREAM_WINDOW) {
          // Waiting on our own worker thread (never the network or callback thread) keeps at
          // most STREAM_WINDOW items in the client's outbox per stream.
          CompletableFuture.allOf(window.toArray(new CompletableFuture<?>[0])).join();
          window.clear();
        }
      }
    } catch (SwitchboardClientException e) {
      failure = e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = Errors.of(ErrorCode.SERVICE_FAILED, m.subject(), "the services layer closed");
    } catch (RuntimeException e) {
      failure = failure(m.subject(), e);
    } finally {
      if (grants != null) {
        grants.close();
      }
    }
    Map<String, String> h = new LinkedHashMap<>();
    List<Header> end;
    if (failure == null) {
      h.put(ServiceHeaders.STREAM_END, Long.toString(seq));
      end = Wire.write(h);
    } else {
      end = Wire.error(failure);
    }
    PublishBuilder p = PublishBuilder.to(to, new byte[0]);
    for (Header e : end) {
      p.header(e.key(), e.value());
    }
    count(md, failure);
    send(client.publishAsync(p), m);
  }

  /** Waits for one item's credit until the deadline (or the no-deadline limit). */
  private boolean awaitCredit(Semaphore credits, long deadlineMs) throws InterruptedException {
    long waitMs =
        deadlineMs == CallContext.NO_DEADLINE
            ? NO_DEADLINE_CREDIT_WAIT_MS
            : Math.max(0, deadlineMs - clock.nowMs());
    return credits.tryAcquire(waitMs, TimeUnit.MILLISECONDS);
  }

  /** The items a grant adds (0 for a malformed one, which is ignored: it cannot over-grant). */
  private static int grantOf(Map<String, String> headers) {
    try {
      int n = Integer.parseInt(headers.getOrDefault(ServiceHeaders.STREAM_CREDIT, "0").trim());
      return Math.max(0, Math.min(n, MAX_STREAM_WINDOW));
    } catch (NumberFormatException e) {
      LOG.debug("malformed stream grant ignored: {}", headers);
      return 0;
    }
  }

  private static PublishBuilder publish(String to, Map<String, String> headers, byte[] payload) {
    PublishBuilder p = PublishBuilder.to(to, payload);
    headers.forEach(p::header);
    return p;
  }
}

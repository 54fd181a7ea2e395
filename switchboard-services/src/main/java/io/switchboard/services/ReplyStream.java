package io.switchboard.services;

import io.switchboard.core.ErrorCode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The result of a streaming service method: many items, for results too large for one message.
 * Thread-safe; each stream can be consumed once.
 *
 * <p>A responder returns one built with {@link #of(Iterable)} or {@link #of(Stream)}; the caller's
 * proxy returns one that makes the call when it is consumed with {@link #forEach} or {@link
 * #toList}. On the wire each item is one message to the caller's private subject, numbered by
 * {@code sb-stream-seq}, and an empty message with {@code sb-stream-end: <count>} ends the stream
 * (docs/services.md). A lost item, an error of the responder mid-stream, or the deadline passing
 * fails the stream's future with a coded error; nothing is silently missing.
 */
public final class ReplyStream<R> {
  private final Iterator<? extends R> source;
  private final Function<Consumer<? super R>, CompletableFuture<Long>> call;
  private final int maxItems;
  private final AtomicBoolean consumed = new AtomicBoolean();

  private ReplyStream(
      Iterator<? extends R> source,
      Function<Consumer<? super R>, CompletableFuture<Long>> call,
      int maxItems) {
    this.source = source;
    this.call = call;
    this.maxItems = maxItems;
  }

  /** A responder's stream of {@code items}, sent in iteration order. */
  public static <R> ReplyStream<R> of(Iterable<? extends R> items) {
    return new ReplyStream<>(items.iterator(), null, Integer.MAX_VALUE);
  }

  /** A responder's stream of {@code items}, pulled one at a time as they are sent. */
  public static <R> ReplyStream<R> of(Stream<? extends R> items) {
    return new ReplyStream<>(items.iterator(), null, Integer.MAX_VALUE);
  }

  /** The caller's side: {@code call} makes the call, feeding items to its argument. */
  static <R> ReplyStream<R> remote(
      Function<Consumer<? super R>, CompletableFuture<Long>> call, int maxItems) {
    return new ReplyStream<>(null, call, maxItems);
  }

  /** The responder's items (null on the caller's side). */
  Iterator<? extends R> source() {
    return source;
  }

  /**
   * Consumes the stream: {@code action} gets each item in order (on the client's callback thread
   * for a remote stream, so it should be quick). The future completes with the number of items when
   * the stream ends, or fails with the stream's error.
   */
  public CompletableFuture<Long> forEach(Consumer<? super R> action) {
    Objects.requireNonNull(action, "action");
    if (!consumed.compareAndSet(false, true)) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("a ReplyStream can be consumed once"));
    }
    if (call != null) {
      return call.apply(action);
    }
    long n = 0;
    try {
      while (source.hasNext()) {
        action.accept(source.next());
        n++;
      }
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return CompletableFuture.completedFuture(n);
  }

  /**
   * Collects the whole stream; fails with {@code REPLY_STREAM_TOO_LONG} past the service's {@code
   * maxStreamItems} (use {@link #forEach} for streams without a bound).
   */
  public CompletableFuture<List<R>> toList() {
    List<R> items = new ArrayList<>();
    return forEach(
            item -> {
              if (items.size() >= maxItems) {
                throw Errors.of(ErrorCode.REPLY_STREAM_TOO_LONG, "the responder", maxItems);
              }
              items.add(item);
            })
        .thenApply(n -> items);
  }
}

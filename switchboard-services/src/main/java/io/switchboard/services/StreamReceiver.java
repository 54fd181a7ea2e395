package io.switchboard.services;

import io.switchboard.client.SwitchboardClient;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.services.codec.Codec;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The caller's end of one reply stream: checks each item's position, decodes it and hands it on;
 * completes at the end marker. {@link #onMessage} and {@link #onDropped} run on the client's
 * callback thread (one at a time); {@link #fail} and {@link #attach} may come from any thread.
 */
final class StreamReceiver {
  /**
   * Items the responder may send ahead of what this caller has handed on; it grants half a window
   * at a time. Small enough that the server never has to drop items for a slow caller (64 items of
   * up to the frame limit), large enough to keep a round trip's worth in flight.
   */
  static final int WINDOW = 64;

  private final SwitchboardClient client;

  /** Where to send grants (from the first item); callback thread only. */
  private String creditTo;

  /** Items handed on since the last grant; callback thread only. */
  private int sinceGrant;

  private final Codec codec;
  private final String subject;
  private final Type itemType;
  private final Consumer<Object> action;
  private final CompletableFuture<Long> done = new CompletableFuture<>();

  /** Items handed on so far; written by the callback thread only. */
  private volatile long received;

  private volatile SwitchboardClient.Subscription subscription;

  StreamReceiver(
      Codec codec,
      String subject,
      Type itemType,
      Consumer<Object> action,
      SwitchboardClient client) {
    this.client = client;
    this.codec = codec;
    this.subject = subject;
    this.itemType = itemType;
    this.action = action;
  }

  CompletableFuture<Long> done() {
    return done;
  }

  long received() {
    return received;
  }

  void attach(SwitchboardClient.Subscription s) {
    subscription = s;
    if (done.isDone()) {
      s.close();
    }
  }

  void closeSubscription() {
    SwitchboardClient.Subscription s = subscription;
    if (s != null) {
      s.close();
    }
  }

  void fail(Throwable t) {
    done.completeExceptionally(Errors.unwrap(t));
  }

  void onDropped(long totalDropped) {
    fail(
        Errors.of(
            ErrorCode.REPLY_STREAM_BROKEN,
            subject,
            "lost " + totalDropped + " items (this client fell behind and the server dropped them)",
            received));
  }

  void onMessage(LiveMessage m) {
    if (done.isDone()) {
      return;
    }
    try {
      Map<String, String> h = Wire.read(m.headers());
      RuntimeException remote = Wire.errorOf(h);
      if (remote != null) {
        fail(remote);
        return;
      }
      String end = h.get(ServiceHeaders.STREAM_END);
      if (end != null) {
        long sent = parse(end, ServiceHeaders.STREAM_END);
        if (sent != received) {
          fail(
              Errors.of(
                  ErrorCode.REPLY_STREAM_BROKEN,
                  subject,
                  "ended after " + sent + " items, " + (sent - received) + " of them lost",
                  received));
        } else {
          done.complete(sent);
        }
        return;
      }
      long seq = parse(h.get(ServiceHeaders.STREAM_SEQ), ServiceHeaders.STREAM_SEQ);
      if (seq != received) {
        fail(
            Errors.of(
                ErrorCode.REPLY_STREAM_BROKEN,
                subject,
                "skipped from item " + received + " to item " + seq,
                received));
        return;
      }
      Object item = Coding.decode(codec, "the caller", subject, h, m.payload(), itemType);
      if (seq == 0) {
        creditTo = h.get(ServiceHeaders.STREAM_CREDIT_TO);
      }
      received = seq + 1;
      action.accept(item);
      grant();
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  /** Grants half a window once half a window has been handed on (to a responder that asked). */
  private void grant() {
    if (creditTo == null || client == null || ++sinceGrant < WINDOW / 2) {
      return;
    }
    int n = sinceGrant;
    sinceGrant = 0;
    client
        .publishAsync(
            io.switchboard.client.PublishBuilder.to(creditTo, new byte[0])
                .header(ServiceHeaders.STREAM_CREDIT, Integer.toString(n)))
        .whenComplete(
            (ack, err) -> {
              if (err != null) {
                fail(err);
              }
            });
  }

  private long parse(String text, String header) {
    if (text != null) {
      try {
        return Long.parseLong(text.trim());
      } catch (NumberFormatException e) {
        // falls through to the error below
      }
    }
    throw Errors.of(
        ErrorCode.REPLY_STREAM_BROKEN,
        subject,
        "sent a message with " + header + " \"" + text + "\"",
        received);
  }
}

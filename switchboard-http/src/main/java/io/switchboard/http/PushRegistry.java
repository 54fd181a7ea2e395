package io.switchboard.http;

import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.PushSubscription;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Deliveries pushed over consumer event streams and not yet acked or nacked, so that an ack
 * arriving on another connection (the REST acks route) returns its credit to the stream that pushed
 * it. Bounded: a push subscription holds at most its credits unsettled, and a closing stream
 * removes its own. Thread-safe.
 */
final class PushRegistry {
  private final Map<String, PushSubscription> unsettled = new ConcurrentHashMap<>();

  private static String key(String stream, String consumer, int partition, long offset) {
    return stream + '\u0000' + consumer + '\u0000' + partition + '\u0000' + offset;
  }

  /** A delivery went out through {@code push}. */
  void pushed(String stream, String consumer, int partition, long offset, PushSubscription push) {
    unsettled.put(key(stream, consumer, partition, offset), push);
  }

  /** A delivery was acked or nacked: its stream, if one pushed it, gets the credit back. */
  void settled(String stream, String consumer, int partition, long offset) {
    PushSubscription push = unsettled.remove(key(stream, consumer, partition, offset));
    if (push != null) {
      push.returnCredit();
    }
  }

  /** Whether {@code d}, pushed through {@code push}, is still unsettled. */
  boolean holds(String stream, String consumer, Delivery d, PushSubscription push) {
    return unsettled.get(key(stream, consumer, d.partition(), d.offset())) == push;
  }

  /**
   * Forgets {@code d} if {@code push} still holds it unsettled (its stream is closing).
   *
   * @return whether it was unsettled, and so is the closing stream's to give back
   */
  boolean release(String stream, String consumer, Delivery d, PushSubscription push) {
    return unsettled.remove(key(stream, consumer, d.partition(), d.offset()), push);
  }

  int size() {
    return unsettled.size();
  }
}

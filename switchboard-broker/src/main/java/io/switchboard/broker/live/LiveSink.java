package io.switchboard.broker.live;

import io.switchboard.core.Message;

/**
 * Where a live subscription's messages go. Called on the subscription's executor, one call at a
 * time per subscription, never concurrently with itself.
 */
public interface LiveSink {

  /** One message, in publish order for any one publisher. */
  void onMessage(Message message);

  /**
   * The subscription's buffer was full and messages were dropped for it (at-most-once delivery).
   * Called after the drops, with the running total; a front end tells its client.
   */
  default void onDropped(long totalDropped) {}

  /**
   * The end of one turn of {@link #onMessage} calls (up to the drain batch): a network sink writes
   * each message and flushes here, once per batch rather than once per message.
   */
  default void onBatchEnd() {}
}

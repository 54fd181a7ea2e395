package io.switchboard.broker;

import java.util.List;

/**
 * What one {@link Broker#tail} read returns: the messages of one partition in offset order, and the
 * offset to read from next (past them, and past anything the read skipped). Immutable.
 */
public record TailRead(List<StoredMessage> messages, long nextOffset) {
  public TailRead {
    messages = List.copyOf(messages);
  }
}

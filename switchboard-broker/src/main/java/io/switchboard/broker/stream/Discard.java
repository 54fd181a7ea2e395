package io.switchboard.broker.stream;

/** What a full stream does with the next publish. */
public enum Discard {
  /** Refuse the publish with an error; nothing already stored is lost. */
  REJECT_NEW,
  /** Accept it and remove the oldest messages to make room. */
  DROP_OLDEST
}

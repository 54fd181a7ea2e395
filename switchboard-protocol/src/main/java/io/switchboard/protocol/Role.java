package io.switchboard.protocol;

/** The side of a connection a codec runs on. Immutable, thread-safe. */
public enum Role {
  /** Accepts connections: receives HELLO first, then client frames. */
  SERVER,
  /** Opens connections: receives WELCOME (or ERROR) first, then server frames. */
  CLIENT
}

package io.switchboard.protocol;

/**
 * Every frame type of the native protocol, with its wire code and the side that may send it.
 * Immutable, thread-safe. Codes are stable once released: never renumbered, never reused ({@code
 * docs/protocol.md} [P-3.1]).
 */
public enum FrameType {
  HELLO(0x01, Sender.CLIENT),
  WELCOME(0x02, Sender.SERVER),
  PING(0x03, Sender.EITHER),
  PONG(0x04, Sender.EITHER),
  GOODBYE(0x05, Sender.EITHER),
  ERROR(0x06, Sender.EITHER),
  OK(0x07, Sender.SERVER),
  AUTH_CHALLENGE(0x08, Sender.SERVER),
  AUTH_RESPONSE(0x09, Sender.CLIENT),

  PUBLISH(0x10, Sender.CLIENT),
  PUBLISH_BATCH(0x11, Sender.CLIENT),
  PUB_ACK(0x12, Sender.SERVER),
  PUB_ACK_BATCH(0x13, Sender.SERVER),

  SUBSCRIBE(0x20, Sender.CLIENT),
  UNSUBSCRIBE(0x21, Sender.CLIENT),
  MESSAGE(0x22, Sender.SERVER),
  DROPPED(0x23, Sender.SERVER),
  REQUEST(0x24, Sender.CLIENT),
  REPLY(0x25, Sender.SERVER),

  FETCH(0x30, Sender.CLIENT),
  DELIVERIES(0x31, Sender.SERVER),
  CONSUME(0x32, Sender.CLIENT),
  CREDIT(0x33, Sender.CLIENT),
  DELIVERY(0x34, Sender.SERVER),
  ACKS(0x35, Sender.CLIENT),
  ACKED(0x36, Sender.SERVER),

  READ(0x40, Sender.CLIENT),
  READ_SUBJECT(0x41, Sender.CLIENT),
  LAST(0x42, Sender.CLIENT),
  MESSAGES(0x43, Sender.SERVER),

  ADMIN(0x50, Sender.CLIENT),
  ADMIN_REPLY(0x51, Sender.SERVER);

  /** Which side of a connection may send a frame type. */
  public enum Sender {
    CLIENT,
    SERVER,
    EITHER
  }

  private static final FrameType[] BY_CODE = new FrameType[256];

  static {
    for (FrameType t : values()) {
      BY_CODE[t.code] = t;
    }
  }

  private final int code;
  private final Sender sender;

  FrameType(int code, Sender sender) {
    this.code = code;
    this.sender = sender;
  }

  /** The type byte on the wire. */
  public int code() {
    return code;
  }

  /** The side that may send this frame. */
  public Sender sender() {
    return sender;
  }

  /** Whether a peer in {@code role} may receive this frame ([P-3.2]). */
  public boolean receivableBy(Role role) {
    return sender == Sender.EITHER || (sender == Sender.CLIENT) == (role == Role.SERVER);
  }

  /** The frame type with wire code {@code code} (0–255), or {@code null} for an unknown code. */
  public static FrameType byCode(int code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
  }
}

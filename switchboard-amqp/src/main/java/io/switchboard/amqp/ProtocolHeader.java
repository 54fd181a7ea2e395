package io.switchboard.amqp;

/** The protocol header a client opens with, read before any frame. */
record ProtocolHeader(byte[] bytes) {
  /** {@code "AMQP" 0 0 9 1}: the only one served. */
  static final byte[] AMQP_0_9_1 = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

  boolean supported() {
    return java.util.Arrays.equals(bytes, AMQP_0_9_1);
  }
}

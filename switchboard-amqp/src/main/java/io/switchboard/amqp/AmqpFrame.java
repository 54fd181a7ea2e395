package io.switchboard.amqp;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * One AMQP frame: {@code type u8 | channel u16 | size u32 | payload | 0xCE}. The payload is a
 * retained slice the receiver releases.
 */
record AmqpFrame(int type, int channel, ByteBuf payload) implements ReferenceCounted {
  static final int METHOD = 1;
  static final int HEADER = 2;
  static final int BODY = 3;
  static final int HEARTBEAT = 8;
  static final int FRAME_END = 0xCE;

  /** Type, channel, size and the end octet. */
  static final int OVERHEAD = 8;

  @Override
  public int refCnt() {
    return payload.refCnt();
  }

  @Override
  public AmqpFrame retain() {
    payload.retain();
    return this;
  }

  @Override
  public AmqpFrame retain(int increment) {
    payload.retain(increment);
    return this;
  }

  @Override
  public AmqpFrame touch() {
    payload.touch();
    return this;
  }

  @Override
  public AmqpFrame touch(Object hint) {
    payload.touch(hint);
    return this;
  }

  @Override
  public boolean release() {
    return payload.release();
  }

  @Override
  public boolean release(int decrement) {
    return payload.release(decrement);
  }
}

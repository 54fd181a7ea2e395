package io.switchboard.log.format;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;

/** Zig-zag variable-length integers, as Kafka's record format uses them. Stateless. */
public final class Varint {
  private Varint() {}

  public static int sizeOfVarint(int value) {
    return sizeOfUnsigned((value << 1) ^ (value >> 31));
  }

  public static int sizeOfVarlong(long value) {
    long v = (value << 1) ^ (value >> 63);
    int bytes = 1;
    while ((v & 0xffffffffffffff80L) != 0L) {
      bytes++;
      v >>>= 7;
    }
    return bytes;
  }

  private static int sizeOfUnsigned(int value) {
    int bytes = 1;
    while ((value & 0xffffff80) != 0) {
      bytes++;
      value >>>= 7;
    }
    return bytes;
  }

  public static void writeVarint(int value, ByteBuffer out) {
    int v = (value << 1) ^ (value >> 31);
    while ((v & 0xffffff80) != 0) {
      out.put((byte) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  public static void writeVarlong(long value, ByteBuffer out) {
    long v = (value << 1) ^ (value >> 63);
    while ((v & 0xffffffffffffff80L) != 0L) {
      out.put((byte) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  /** Reads a varint; a truncated or over-long (more than 5 bytes) encoding is an invalid batch. */
  public static int readVarint(ByteBuffer in) {
    int raw = 0;
    int shift = 0;
    while (true) {
      if (!in.hasRemaining()) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "truncated varint");
      }
      byte b = in.get();
      raw |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
      shift += 7;
      if (shift > 28) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "varint longer than 5 bytes");
      }
    }
  }

  /** Reads a varlong; a truncated or over-long (more than 10 bytes) encoding is invalid. */
  public static long readVarlong(ByteBuffer in) {
    long raw = 0;
    int shift = 0;
    while (true) {
      if (!in.hasRemaining()) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "truncated varlong");
      }
      byte b = in.get();
      raw |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
      shift += 7;
      if (shift > 63) {
        throw SwitchboardException.of(ErrorCode.LOG_INVALID_BATCH, "varlong longer than 10 bytes");
      }
    }
  }
}

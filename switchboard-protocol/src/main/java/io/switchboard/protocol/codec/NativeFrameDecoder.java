package io.switchboard.protocol.codec;

import static io.switchboard.protocol.FrameDescriptor.FLAGS_OFFSET;
import static io.switchboard.protocol.FrameDescriptor.HEADER_BYTES;
import static io.switchboard.protocol.FrameDescriptor.LENGTH_OFFSET;
import static io.switchboard.protocol.FrameDescriptor.TYPE_OFFSET;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.protocol.FrameType;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.Role;
import io.switchboard.protocol.frame.AuthChallenge;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Hello;
import java.util.List;

/**
 * Splits a connection's bytes into {@link io.switchboard.protocol.frame.Frame}s. Confined to one
 * connection and never {@code @Sharable}: it holds the handshake state and the partial frame.
 *
 * <p>It emits a frame per complete frame received, or, at the first violation, one {@link
 * FrameDecodeFailure} carrying the exact protocol error code, after which it discards every byte
 * ([P-12.1]). The header is checked as soon as its 6 bytes are in, before the body is waited for,
 * so an oversized, unknown or out-of-order frame is refused without buffering it [P-2.5].
 *
 * <p>Handshake rules ([P-4.4]): on the {@link Role#SERVER} side the first frame must be HELLO
 * ({@code HANDSHAKE_REQUIRED} otherwise); on the {@link Role#CLIENT} side it must be WELCOME or
 * ERROR, possibly after AUTH_CHALLENGE frames. A HELLO whose credential starts a SCRAM exchange
 * ([P-4.5]) must be followed by exactly one AUTH_RESPONSE, held to the same pre-authentication size
 * limit. Afterwards HELLO, WELCOME, AUTH_CHALLENGE and AUTH_RESPONSE are {@code UNEXPECTED_FRAME},
 * as is any frame only the receiving side may send ([P-3.2]).
 *
 * <p>Buffers: the input is the cumulation {@link ByteToMessageDecoder} owns and releases; frames
 * copy what they keep, so they never hold a reference to it.
 */
public final class NativeFrameDecoder extends ByteToMessageDecoder {

  /**
   * Largest handshake frame (HELLO, WELCOME, AUTH_CHALLENGE, AUTH_RESPONSE) accepted, whatever the
   * frame limit: before a peer has authenticated it can make the server buffer no more than this
   * (issue 18).
   */
  public static final int MAX_HANDSHAKE_FRAME_BYTES = 64 * 1024;

  /** Where the decoder is in the connection's life. */
  public enum State {
    /**
     * No frame yet: only the handshake frame is accepted (on the client side also AUTH_CHALLENGE
     * frames before it).
     */
    AWAIT_HANDSHAKE,
    /**
     * Server side: the HELLO started a multi-step exchange (SCRAM, [P-4.5]): only AUTH_RESPONSE is
     * accepted, within the pre-authentication size limit.
     */
    AWAIT_AUTH_RESPONSE,
    /** The handshake frame was decoded: any frame the peer may send is accepted. */
    READY,
    /** A violation was reported; every further byte is discarded. */
    FAILED
  }

  private final Role role;
  private final ProtocolLimits limits;
  private final FrameReader reader;
  private State state = State.AWAIT_HANDSHAKE;

  /**
   * A decoder for one connection on the {@code role} side.
   *
   * @param role the side this decoder runs on (a server decodes client frames)
   * @param limits what it accepts
   */
  public NativeFrameDecoder(Role role, ProtocolLimits limits) {
    this.role = role;
    this.limits = limits;
    this.reader = new FrameReader(limits);
  }

  /** The decoder's state. */
  public State state() {
    return state;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (state == State.FAILED) {
      in.skipBytes(in.readableBytes()); // [P-12.1] nothing after a violation is read
      return;
    }
    while (in.readableBytes() >= HEADER_BYTES) {
      int at = in.readerIndex();
      long length = in.getUnsignedInt(at + LENGTH_OFFSET);
      try {
        FrameType type = checkOrder(in.getUnsignedByte(at + TYPE_OFFSET));
        FrameCodec.checkHeader(type, in.getUnsignedByte(at + FLAGS_OFFSET), length, limits);
        if (state != State.READY && length > MAX_HANDSHAKE_FRAME_BYTES) {
          throw SwitchboardException.of(
              ErrorCode.FRAME_TOO_LARGE, length + HEADER_BYTES, MAX_HANDSHAKE_FRAME_BYTES);
        }
        if (in.readableBytes() - HEADER_BYTES < length) {
          return; // wait for the body; its size is within the limit
        }
        in.skipBytes(HEADER_BYTES);
        Frame frame = reader.read(type, in, (int) length);
        out.add(frame);
        state = next(frame);
      } catch (SwitchboardException e) {
        state = State.FAILED;
        in.skipBytes(in.readableBytes());
        out.add(FrameDecodeFailure.of(e));
        return;
      }
    }
  }

  /** The state after {@code frame} ([P-4.4], [P-4.5]). */
  private State next(Frame frame) {
    if (state == State.READY) {
      return State.READY;
    }
    if (frame instanceof AuthChallenge) {
      return State.AWAIT_HANDSHAKE; // the client waits for more of the exchange, then WELCOME
    }
    if (frame instanceof Hello h && startsExchange(h.authToken())) {
      return State.AWAIT_AUTH_RESPONSE;
    }
    return State.READY;
  }

  /** Whether a HELLO credential starts a SCRAM exchange ({@code SCRAM-…} then a space). */
  public static boolean startsExchange(byte[] credential) {
    if (credential == null || credential.length < SCRAM_PREFIX.length) {
      return false;
    }
    for (int i = 0; i < SCRAM_PREFIX.length; i++) {
      if (credential[i] != SCRAM_PREFIX[i]) {
        return false;
      }
    }
    return true;
  }

  private static final byte[] SCRAM_PREFIX = {'S', 'C', 'R', 'A', 'M', '-'};

  /** [P-4.4] handshake first; [P-2.2] known type; [P-3.2] a frame this side may receive. */
  private FrameType checkOrder(int code) {
    FrameType type = FrameType.byCode(code);
    if (state == State.AWAIT_AUTH_RESPONSE) {
      if (type != FrameType.AUTH_RESPONSE) {
        throw SwitchboardException.of(
            ErrorCode.HANDSHAKE_REQUIRED,
            type == null ? "0x" + Integer.toHexString(code) : type,
            "AUTH_RESPONSE");
      }
      return type;
    }
    if (state == State.AWAIT_HANDSHAKE) {
      boolean ok =
          role == Role.SERVER
              ? type == FrameType.HELLO
              : type == FrameType.WELCOME
                  || type == FrameType.ERROR
                  || type == FrameType.AUTH_CHALLENGE;
      if (!ok) {
        throw SwitchboardException.of(
            ErrorCode.HANDSHAKE_REQUIRED,
            type == null ? "0x" + Integer.toHexString(code) : type,
            role == Role.SERVER ? "HELLO" : "WELCOME");
      }
      return type;
    }
    type = FrameCodec.checkType(code);
    if (!type.receivableBy(role)) {
      throw SwitchboardException.of(
          ErrorCode.UNEXPECTED_FRAME,
          type,
          role == Role.SERVER ? "from a client" : "from a server");
    }
    if (type == FrameType.HELLO
        || type == FrameType.WELCOME
        || type == FrameType.AUTH_CHALLENGE
        || type == FrameType.AUTH_RESPONSE) {
      throw SwitchboardException.of(ErrorCode.UNEXPECTED_FRAME, type, "after the handshake");
    }
    return type;
  }
}

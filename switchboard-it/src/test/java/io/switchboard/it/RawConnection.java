package io.switchboard.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.codec.FrameCodec;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.Welcome;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A blocking native-protocol connection for tests that must misbehave: send frames out of order,
 * stop reading, or send raw bytes. Confined to the test's thread.
 */
final class RawConnection implements AutoCloseable {
  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  RawConnection(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(30_000);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  /** Says HELLO and reads the WELCOME. */
  RawConnection handshake() throws IOException {
    return handshake(null);
  }

  /** Says HELLO with {@code credential} ([P-4.1], null for none) and reads the WELCOME. */
  RawConnection handshake(byte[] credential) throws IOException {
    send(
        new Hello(
            FrameDescriptor.MIN_VERSION,
            FrameDescriptor.MAX_VERSION,
            FrameDescriptor.FEATURES_V1,
            "raw-test",
            credential));
    Frame f = read();
    if (!(f instanceof Welcome)) {
      throw new IllegalStateException("expected WELCOME, got " + f);
    }
    return this;
  }

  void send(Frame f) throws IOException {
    ByteBuf buf = FrameCodec.encode(ByteBufAllocator.DEFAULT, f);
    try {
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      out.write(bytes);
      out.flush();
    } finally {
      buf.release();
    }
  }

  void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** The next frame; throws {@link EOFException} when the server closed the connection. */
  Frame read() throws IOException {
    byte[] header = new byte[FrameDescriptor.HEADER_BYTES];
    in.readFully(header);
    int length =
        ((header[0] & 0xFF) << 24)
            | ((header[1] & 0xFF) << 16)
            | ((header[2] & 0xFF) << 8)
            | (header[3] & 0xFF);
    byte[] frame = new byte[FrameDescriptor.HEADER_BYTES + length];
    System.arraycopy(header, 0, frame, 0, header.length);
    in.readFully(frame, header.length, length);
    ByteBuf buf = Unpooled.wrappedBuffer(frame);
    try {
      return FrameCodec.decode(buf, ProtocolLimits.DEFAULTS.withMaxFrameBytes(64 << 20));
    } finally {
      buf.release();
    }
  }

  /** Whether the server has closed the connection (reads to the end, up to the socket timeout). */
  boolean closedByServer() throws IOException {
    try {
      while (true) {
        read();
      }
    } catch (EOFException e) {
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

package io.switchboard.grpc;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A bare HTTP/2 client over a plain socket, for what a well-behaved client library never does:
 * pinging too often, opening more streams than the server allows. Writes frames by hand (headers as
 * HPACK literals without indexing) and reads them one at a time. Test thread only.
 */
final class RawH2 implements AutoCloseable {
  static final int DATA = 0x0;
  static final int HEADERS = 0x1;
  static final int RST_STREAM = 0x3;
  static final int SETTINGS = 0x4;
  static final int PING = 0x6;
  static final int GOAWAY = 0x7;
  static final int WINDOW_UPDATE = 0x8;
  static final int ACK = 0x1;
  static final int END_HEADERS = 0x4;
  static final int REFUSED_STREAM = 0x7;
  static final int ENHANCE_YOUR_CALM = 0xb;

  /** One frame as read. */
  record Frame(int type, int flags, int stream, byte[] payload) {
    int errorCode() {
      int at = type == GOAWAY ? 4 : 0; // GOAWAY: last stream id, then the code
      return ((payload[at] & 0xff) << 24)
          | ((payload[at + 1] & 0xff) << 16)
          | ((payload[at + 2] & 0xff) << 8)
          | (payload[at + 3] & 0xff);
    }

    String debugData() {
      return new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8);
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final int port;

  /** Connects, sends the preface and empty SETTINGS, and acknowledges the server's SETTINGS. */
  RawH2(int port, int readTimeoutMs) throws IOException {
    this.port = port;
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(readTimeoutMs);
    socket.setTcpNoDelay(true);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    write(SETTINGS, 0, 0, new byte[0]);
    Frame f;
    do {
      f = read();
    } while (f.type() != SETTINGS || (f.flags() & ACK) != 0);
    write(SETTINGS, ACK, 0, new byte[0]);
  }

  void write(int type, int flags, int stream, byte[] payload) throws IOException {
    byte[] head = {
      (byte) (payload.length >>> 16),
      (byte) (payload.length >>> 8),
      (byte) payload.length,
      (byte) type,
      (byte) flags,
      (byte) (stream >>> 24),
      (byte) (stream >>> 16),
      (byte) (stream >>> 8),
      (byte) stream
    };
    out.write(head);
    out.write(payload);
    out.flush();
  }

  Frame read() throws IOException {
    int length =
        (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
    int type = in.readUnsignedByte();
    int flags = in.readUnsignedByte();
    int stream = in.readInt() & 0x7fffffff;
    byte[] payload = new byte[length];
    in.readFully(payload);
    return new Frame(type, flags, stream, payload);
  }

  /** Reads frames until one of {@code type}; a server PING is answered on the way. */
  Frame readUntil(int type) throws IOException {
    while (true) {
      Frame f = read();
      if (f.type() == type) {
        return f;
      }
      if (f.type() == PING && (f.flags() & ACK) == 0) {
        write(PING, ACK, 0, f.payload());
      }
    }
  }

  void ping(long data) throws IOException {
    byte[] p = new byte[8];
    for (int i = 0; i < 8; i++) {
      p[i] = (byte) (data >>> (56 - 8 * i));
    }
    write(PING, 0, 0, p);
  }

  /** Opens stream {@code id} as a gRPC call of {@code path}, with no message yet. */
  void openCall(int id, String path) throws IOException {
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    literal(block, ":method", "POST");
    literal(block, ":scheme", "http");
    literal(block, ":path", path);
    literal(block, ":authority", "127.0.0.1:" + port);
    literal(block, "content-type", "application/grpc");
    literal(block, "te", "trailers");
    write(HEADERS, END_HEADERS, id, block.toByteArray());
  }

  /** An HPACK literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2). */
  private static void literal(ByteArrayOutputStream b, String name, String value) {
    b.write(0x00);
    string(b, name);
    string(b, value);
  }

  private static void string(ByteArrayOutputStream b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length >= 127) {
      throw new IllegalArgumentException("short strings only: " + s);
    }
    b.write(bytes.length);
    b.writeBytes(bytes);
  }

  boolean isClosedByServer() {
    try {
      return in.read() < 0;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

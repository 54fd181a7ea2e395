package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A raw MQTT connection over a socket, for the cases no client library can express (malformed
 * packets, out-of-range aliases). Confined to the test's thread.
 */
final class RawMqtt implements AutoCloseable {
  /** One packet as read off the wire: the first byte and the body after the remaining length. */
  record Packet(int header, byte[] body) {
    int type() {
      return header >> 4;
    }

    /** The reason code of a v5 DISCONNECT or CONNACK. */
    int reason() {
      return type() == 2 ? body[1] & 0xFF : body.length == 0 ? 0 : body[0] & 0xFF;
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final DataInputStream in;

  RawMqtt(int port, int readTimeoutMs) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(readTimeoutMs);
    out = socket.getOutputStream();
    in = new DataInputStream(socket.getInputStream());
  }

  /** A packet of {@code type} (the whole first byte) around {@code body}. */
  static byte[] packet(int type, byte[] body) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(type);
    int len = body.length;
    do {
      int digit = len & 0x7F;
      len >>>= 7;
      b.write(len > 0 ? digit | 0x80 : digit);
    } while (len > 0);
    b.writeBytes(body);
    return b.toByteArray();
  }

  /** Bytes from ints (each cast to a byte) and strings (as MQTT strings: length, UTF-8). */
  static byte[] bytes(Object... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Object p : parts) {
      if (p instanceof String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.write(u.length >> 8);
        b.write(u.length);
        b.writeBytes(u);
      } else if (p instanceof byte[] raw) {
        b.writeBytes(raw);
      } else {
        b.write((Integer) p);
      }
    }
    return b.toByteArray();
  }

  /** CONNECT v5, clean start, keep-alive 0, the given properties, client id {@code id}. */
  static byte[] connectV5(String id, byte... properties) {
    return packet(0x10, bytes("MQTT", 5, 0x02, 0, 0, properties.length, properties, id));
  }

  void send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  Packet read() throws IOException {
    int header = in.readUnsignedByte();
    int len = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in.readUnsignedByte();
      len |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
    }
    byte[] body = new byte[len];
    in.readFully(body);
    return new Packet(header, body);
  }

  /**
   * The value of a one-, two- or four-byte integer property {@code id} of a v5 CONNACK, or null.
   */
  static Integer property(Packet connack, int id) {
    byte[] b = connack.body();
    int at = 2;
    int len = 0;
    for (int shift = 0; ; shift += 7) {
      int v = b[at++] & 0xFF;
      len |= (v & 0x7F) << shift;
      if ((v & 0x80) == 0) {
        break;
      }
    }
    int end = at + len;
    while (at < end) {
      int pid = b[at++] & 0xFF;
      int size =
          switch (pid) {
            case 0x24, 0x25, 0x28, 0x29, 0x2A -> 1; // byte properties
            case 0x13, 0x21, 0x22 -> 2; // two-byte integers
            case 0x11, 0x27 -> 4; // four-byte integers
            default -> -1; // strings: two-byte length
          };
      if (size < 0) {
        int n = ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
        at += 2 + n;
        continue;
      }
      int value = 0;
      for (int i = 0; i < size; i++) {
        value = (value << 8) | (b[at++] & 0xFF);
      }
      if (pid == id) {
        return value;
      }
    }
    return null;
  }

  /** Connects as v5 client {@code id} and checks the CONNACK accepts. */
  RawMqtt connectedV5(String id) throws IOException {
    send(connectV5(id));
    Packet ack = read();
    assertThat(ack.type()).as("CONNACK").isEqualTo(2);
    assertThat(ack.reason()).as("CONNACK reason").isZero();
    return this;
  }

  /** Whether the server closed the connection (end of stream) before the read timeout. */
  boolean closed() throws IOException {
    try {
      while (true) {
        read();
      }
    } catch (EOFException e) {
      return true;
    } catch (java.net.SocketException e) {
      return true; // reset: closed as well
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

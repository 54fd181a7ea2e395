package io.switchboard.http.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;

/**
 * A plain socket to the HTTP port, for what a well-behaved client never sends: partial requests,
 * garbage, idle connections. Not thread-safe.
 */
public final class RawHttp implements AutoCloseable {
  public final Socket socket;

  public RawHttp(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(30_000);
  }

  public RawHttp send(String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    return this;
  }

  /** Everything the server sends until it closes the connection (a reset counts as the end). */
  public String readToEnd() throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        all.write(buf, 0, n);
      }
    } catch (SocketException e) {
      // reset after the response: what was read is the answer
    }
    return all.toString(StandardCharsets.UTF_8);
  }

  /** Reads until {@code marker} has been seen (one response's worth); returns what was read. */
  public String readUntil(String marker) throws IOException {
    StringBuilder got = new StringBuilder();
    InputStream in = socket.getInputStream();
    byte[] buf = new byte[8192];
    while (!got.toString().contains(marker)) {
      int n = in.read(buf);
      if (n < 0) {
        break;
      }
      got.append(new String(buf, 0, n, StandardCharsets.UTF_8));
    }
    return got.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

package io.switchboard.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The lines of an input stream, read on a daemon thread of their own into a bounded queue, so that
 * the command's thread can wait for the next line and still notice meanwhile that the connection is
 * gone (a read of standard input cannot be interrupted). Thread-safe: one reading thread, one
 * taking thread.
 */
final class LineFeed implements AutoCloseable {
  /** Marks the end of the input in the queue. */
  private static final Object END = new Object();

  /** How often a reader facing a full queue checks whether the feed was closed. */
  private static final long OFFER_RETRY_MS = 100;

  private final BlockingQueue<Object> queue;
  private final Thread reader;
  private volatile boolean closed;
  private boolean ended;

  private LineFeed(InputStream in, int capacity) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.reader =
        Thread.ofPlatform()
            .daemon()
            .name("switchboard-stdin")
            .unstarted(() -> read(new InputStreamReader(in, StandardCharsets.UTF_8)));
  }

  /** Starts reading {@code in} (UTF-8), holding at most {@code capacity} lines not yet taken. */
  static LineFeed start(InputStream in, int capacity) {
    LineFeed f = new LineFeed(in, capacity);
    f.reader.start();
    return f;
  }

  /** Reading thread: each line, then the end (or the failure) of the input. */
  private void read(InputStreamReader in) {
    Object last = END;
    try (BufferedReader lines = new BufferedReader(in)) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (!put(line)) {
          return;
        }
      }
    } catch (IOException e) {
      last = new UncheckedIOException(e);
    }
    put(last);
  }

  /** Queues {@code o}, waiting while the queue is full; false once the feed is closed. */
  private boolean put(Object o) {
    try {
      while (!closed) {
        if (queue.offer(o, OFFER_RETRY_MS, TimeUnit.MILLISECONDS)) {
          return true;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return false;
  }

  /**
   * The next line, or null when none came within {@code timeoutMs} or the input has ended ({@link
   * #ended()} tells which).
   *
   * @throws UncheckedIOException when reading the input failed
   */
  String next(long timeoutMs) throws InterruptedException {
    if (ended) {
      return null;
    }
    Object o = queue.poll(timeoutMs, TimeUnit.MILLISECONDS);
    if (o == END) {
      ended = true;
      return null;
    }
    if (o instanceof UncheckedIOException e) {
      ended = true;
      throw e;
    }
    return (String) o;
  }

  /** Whether the input has ended (every line was taken). */
  boolean ended() {
    return ended;
  }

  /**
   * Stops queueing. The reading thread ends at its next line, or with the process if the input
   * never sends one (it is a daemon).
   */
  @Override
  public void close() {
    closed = true;
  }
}

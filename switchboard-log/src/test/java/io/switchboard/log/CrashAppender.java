package io.switchboard.log;

import java.nio.file.Path;

/**
 * Child process of {@link ProcessCrashTest}: appends to a log with {@code fsync=always} forever and
 * prints {@code ACK <base> <last>} after each append is acknowledged. It never stops by itself; the
 * parent kills it with SIGKILL.
 */
public final class CrashAppender {
  private CrashAppender() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    int valueSize = Integer.parseInt(args[1]);
    LogConfig config =
        LogConfig.defaults(FsyncPolicy.ALWAYS)
            .withSegmentBytes(64 * 1024)
            .withIndexIntervalBytes(1024);
    PartitionLog log = PartitionLog.open(dir, config);
    System.out.println("READY " + log.logEndOffset());
    System.out.flush();
    int i = 0;
    while (true) {
      long next = log.logEndOffset();
      int count = 1 + (i++ % 4);
      AppendResult r = log.append(TestBatches.batch(next, count, valueSize, next)).join();
      if (r.baseOffset() != next) {
        System.out.println("ERROR expected " + next + " got " + r.baseOffset());
      }
      System.out.println("ACK " + r.baseOffset() + " " + r.lastOffset());
      System.out.flush();
    }
  }
}

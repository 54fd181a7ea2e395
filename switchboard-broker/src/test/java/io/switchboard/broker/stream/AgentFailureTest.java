package io.switchboard.broker.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerAgent;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.ConsumerState;
import io.switchboard.broker.consumer.Delivery;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.FsyncPolicy;
import io.switchboard.log.LogConfig;
import io.switchboard.log.PartitionLog;
import io.switchboard.log.io.NioStorageIO;
import io.switchboard.log.io.StorageFile;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fault planted inside an agent's duty cycle (a bug, not an I/O error the log reports) fails the
 * operations that cycle was handling at once, with {@code INTERNAL}, and the agent goes on serving
 * what comes next. Both agents run on a real {@link AgentRunner}, as in the server.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgentFailureTest {
  /** Far below the 30 s fetch wait and the client's request timeout: "at once". */
  private static final long PROMPTLY_MS = 5_000;

  @TempDir Path dir;

  /** The next write to a log segment throws an unchecked exception, as a bug would. */
  static final class PlantedWriteFault implements StorageIO {
    final AtomicBoolean armed = new AtomicBoolean();

    @Override
    public StorageFile open(Path path, boolean create) throws IOException {
      StorageFile file = NioStorageIO.INSTANCE.open(path, create);
      if (!path.getFileName().toString().endsWith(".log")) {
        return file;
      }
      return new StorageFile() {
        @Override
        public Path path() {
          return file.path();
        }

        @Override
        public void write(ByteBuffer src, long position) throws IOException {
          if (armed.compareAndSet(true, false)) {
            throw new IllegalStateException("planted fault");
          }
          file.write(src, position);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
          return file.read(dst, position);
        }

        @Override
        public long size() throws IOException {
          return file.size();
        }

        @Override
        public void truncate(long size) throws IOException {
          file.truncate(size);
        }

        @Override
        public void force() throws IOException {
          file.force();
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target)
            throws IOException {
          return file.transferTo(position, count, target);
        }

        @Override
        public void close() throws IOException {
          file.close();
        }
      };
    }

    @Override
    public boolean exists(Path path) {
      return NioStorageIO.INSTANCE.exists(path);
    }

    @Override
    public void createDirectories(Path d) throws IOException {
      NioStorageIO.INSTANCE.createDirectories(d);
    }

    @Override
    public List<Path> list(Path d) throws IOException {
      return NioStorageIO.INSTANCE.list(d);
    }

    @Override
    public List<Path> listDirectories(Path d) throws IOException {
      return NioStorageIO.INSTANCE.listDirectories(d);
    }

    @Override
    public void deleteTree(Path d) throws IOException {
      NioStorageIO.INSTANCE.deleteTree(d);
    }

    @Override
    public void delete(Path path) throws IOException {
      NioStorageIO.INSTANCE.delete(path);
    }

    @Override
    public void move(Path from, Path to) throws IOException {
      NioStorageIO.INSTANCE.move(from, to);
    }

    @Override
    public void forceDirectory(Path d) throws IOException {
      NioStorageIO.INSTANCE.forceDirectory(d);
    }
  }

  /** The system clock, except that once armed its next reading on the runner thread throws. */
  static final class PlantedClockFault implements Clock {
    final AtomicBoolean armed = new AtomicBoolean();
    final String runnerThread;

    PlantedClockFault(String runnerThread) {
      this.runnerThread = runnerThread;
    }

    @Override
    public long nowMs() {
      if (Thread.currentThread().getName().equals(runnerThread)
          && armed.compareAndSet(true, false)) {
        throw new IllegalStateException("planted fault");
      }
      return Clock.SYSTEM.nowMs();
    }

    @Override
    public long nanoTime() {
      return Clock.SYSTEM.nanoTime();
    }
  }

  static Message msg(String subject, String body) {
    return Message.of(subject, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  static SwitchboardException failure(CompletableFuture<?> f) throws Exception {
    try {
      f.get(PROMPTLY_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(SwitchboardException.class);
      return (SwitchboardException) e.getCause();
    }
    throw new AssertionError("expected a failure, got " + f.join());
  }

  @Test
  void aFaultWhileAppendingFailsThatBatchAtOnceAndUndoesItsProvisionalState() throws Exception {
    PlantedWriteFault io = new PlantedWriteFault();
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(io, Clock.SYSTEM, false));
    StreamConfig config = StreamConfig.builder("S", "s.>").duplicateWindowMs(60_000).build();
    try (PartitionAgent agent = new PartitionAgent("S", 0, log, config, Clock.SYSTEM, 1024);
        AgentRunner runner = new AgentRunner("sb-test-partition")) {
      runner.add(agent);
      assertThat(agent.publish(msg("s.before", "ok"), null).get(5, TimeUnit.SECONDS).offset())
          .isZero();

      io.armed.set(true);
      ProducerSequence seq0 = new ProducerSequence(7, (short) 0, 0);
      CompletableFuture<PublishAck> idempotent =
          agent.publish(msg("s.a", "x"), "id-1", PartitionAgent.NO_OFFSET, seq0);
      SwitchboardException e = failure(idempotent);
      assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
      assertThat(e.getMessage()).contains("planted fault");

      // The agent serves on; the failed publish left no trace: its message id, producer sequence
      // and subject expectation are all taken afresh by the retry.
      PublishAck retried =
          agent
              .publish(msg("s.a", "x"), "id-1", PartitionAgent.NO_OFFSET, seq0)
              .get(5, TimeUnit.SECONDS);
      assertThat(retried.duplicate()).isFalse();
      assertThat(retried.offset()).isEqualTo(1);
      assertThat(agent.lastOffset("s.a")).isEqualTo(1);
      assertThat(log.logEndOffset()).isEqualTo(2);
    }
  }

  @Test
  void aFaultInAConsumersDutyCycleFailsItsWaitingFetchAtOnceAndItServesOn() throws Exception {
    String thread = "sb-test-consumer";
    PlantedClockFault clock = new PlantedClockFault(thread);
    PartitionLog log =
        PartitionLog.open(
            dir,
            LogConfig.defaults(FsyncPolicy.NEVER),
            new PartitionLog.Options(NioStorageIO.INSTANCE, Clock.SYSTEM, false));
    ConsumerConfig config =
        ConsumerConfig.builder("C").mode(DeliveryMode.EXCLUSIVE).ackPolicy(AckPolicy.EACH).build();
    try (PartitionAgent writer =
            new PartitionAgent(
                "S", 0, log, StreamConfig.builder("S", "s.>").build(), Clock.SYSTEM, 1024);
        AgentRunner runner = new AgentRunner(thread)) {
      ConsumerAgent consumer =
          new ConsumerAgent(
              "S",
              config,
              List.of(log),
              new ConsumerState(List.of()),
              clock,
              m -> CompletableFuture.completedFuture(null),
              s -> {},
              0);
      runner.add(consumer);
      CompletableFuture<List<Delivery>> waiting = consumer.fetch("m1", 1, 30_000);
      clock.armed.set(true);
      long start = System.nanoTime();
      SwitchboardException e = failure(waiting);
      assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(PROMPTLY_MS);

      // The consumer serves on: the next fetch gets the next message.
      writer.publish(msg("s.a", "after"), null);
      writer.doWork();
      List<Delivery> got = consumer.fetch("m1", 1, 5_000).get(10, TimeUnit.SECONDS);
      assertThat(got).hasSize(1);
      assertThat(new String(got.get(0).message().payload(), StandardCharsets.UTF_8))
          .isEqualTo("after");
      assertThat(consumer.ack(0, got.get(0).offset()).get(5, TimeUnit.SECONDS)).isTrue();
      runner.remove(consumer);
      consumer.close();
      consumer.finish();
    }
  }

  @Test
  void aFetchWithoutAMemberIsRefusedAtOnce() {
    PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(FsyncPolicy.NEVER));
    try (PartitionAgent writer =
        new PartitionAgent(
            "S", 0, log, StreamConfig.builder("S", "s.>").build(), Clock.SYSTEM, 1024)) {
      ConsumerAgent consumer =
          new ConsumerAgent(
              "S",
              ConsumerConfig.builder("C").mode(DeliveryMode.EXCLUSIVE).build(),
              List.of(writer.log()),
              new ConsumerState(List.of()),
              Clock.SYSTEM,
              m -> CompletableFuture.completedFuture(null),
              s -> {},
              0);
      assertThatThrownBy(() -> consumer.fetch(null, 1, 30_000).getNow(null))
          .hasCauseInstanceOf(SwitchboardException.class)
          .hasMessageContaining("INVALID_ARGUMENT");
    }
  }
}

package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.ReferenceCountUtil;
import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.core.Clock;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.testkit.TempTrees;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer target on the Kafka request path: the frame decoder, kafka-clients' generated readers and
 * our handlers, on a real broker. The input is one request (header and body); it gets its size
 * prefix here. Under plain {@code mvn test} it replays the seed corpus in {@code
 * KafkaDecoderFuzzTestInputs/} (valid requests of the main APIs); with {@code JAZZER_FUZZ=1} it
 * fuzzes.
 *
 * <p>Whatever the bytes: no exception escapes the pipeline, the input is released, and the
 * connection is either answered or closed.
 */
class KafkaDecoderFuzzTest {
  static Path dir;
  static Broker broker;
  static ScheduledExecutorService coordinator;
  static KafkaApis apis;

  @BeforeAll
  static void openBroker() throws Exception {
    dir = TempTrees.create("kafka-fuzz");
    broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
    coordinator = Executors.newSingleThreadScheduledExecutor();
    KafkaSettings settings = new KafkaSettings(1 << 20, 10, 10, true, 1, "");
    apis =
        new KafkaApis(
            broker,
            settings,
            new KafkaGroups(
                coordinator, System::currentTimeMillis, KafkaApis.generationsOf(broker)),
            KafkaTransactions.open(
                broker,
                coordinator,
                System::currentTimeMillis,
                new KafkaTransactions.Limits(1 << 20, 1 << 22, 100, 60_000)));
  }

  @AfterAll
  static void closeBroker() throws Exception {
    coordinator.shutdownNow();
    broker.close();
    TempTrees.delete(dir);
  }

  @FuzzTest(maxDuration = "30s")
  void requestsNeverBreakTheConnection(byte[] data) {
    KafkaSettings settings = new KafkaSettings(1 << 20, 10, 10, true, 1, "");
    EmbeddedChannel ch =
        new EmbeddedChannel(
            new LengthFieldBasedFrameDecoder(settings.maxRequestBytes() + 4, 0, 4, 0, 4, true),
            new KafkaConnection(
                apis,
                settings,
                new ProtocolMeters(
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), "kafka"),
                new KafkaSession(io.switchboard.spi.security.Security.OPEN, false)));
    ByteBuf in = Unpooled.buffer(4 + data.length).writeInt(data.length).writeBytes(data);
    ch.writeInbound(in);
    ch.runPendingTasks();
    ch.checkException();
    for (Object out; (out = ch.readOutbound()) != null; ) {
      ByteBuf answer = (ByteBuf) out;
      // An answer is a whole frame: its size, then that many bytes.
      assertThat(answer.readableBytes()).isGreaterThanOrEqualTo(8);
      assertThat(answer.getInt(0)).isEqualTo(answer.readableBytes() - 4);
      ReferenceCountUtil.release(out);
    }
    ch.finishAndReleaseAll();
    assertThat(in.refCnt()).isZero();
  }
}

package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.util.ReferenceCountUtil;
import io.switchboard.broker.Broker;
import io.switchboard.broker.BrokerConfig;
import io.switchboard.core.Clock;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.testkit.TempTrees;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer target on the MQTT decoder path: Netty's decoder and our connection handler, after a valid
 * CONNECT (3.1.1 or 5.0, chosen by the first byte). Under plain {@code mvn test} it replays the
 * seed corpus in {@code MqttDecoderFuzzTestInputs/}; with {@code JAZZER_FUZZ=1} it fuzzes.
 *
 * <p>Whatever the bytes: no exception escapes the pipeline, the input is released, and the
 * connection is either open or closed — never half-handled.
 */
class MqttDecoderFuzzTest {
  static Path dir;
  static Broker broker;

  static final byte[] CONNECT_V311 = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 1, 'x'};

  /** CONNECT, MQTT 5, clean start, no properties, client id "x". */
  static final byte[] CONNECT_V5 = {
    0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, 0, 1, 'x'
  };

  @BeforeAll
  static void openBroker() throws Exception {
    dir = TempTrees.create("mqtt-fuzz");
    broker = Broker.open(BrokerConfig.defaults(dir), Clock.SYSTEM);
  }

  @AfterAll
  static void closeBroker() throws Exception {
    broker.close();
    TempTrees.delete(dir);
  }

  @FuzzTest(maxDuration = "30s")
  void packetsAfterConnectNeverBreakThePipeline(byte[] data) {
    boolean v5 = data.length > 0 && (data[0] & 1) == 1;
    MqttSettings settings = new MqttSettings(10, 4096, 8, 8, 1 << 20, 10_000, false, 0);
    EmbeddedChannel ch =
        new EmbeddedChannel(
            new MqttDecoder(4096, 64),
            MqttEncoder.INSTANCE,
            new MqttConnection(
                broker,
                settings,
                new ProtocolMeters(
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), "mqtt"),
                "tcp",
                null));
    ByteBuf connect = Unpooled.wrappedBuffer(v5 ? CONNECT_V5 : CONNECT_V311);
    ByteBuf in = Unpooled.wrappedBuffer(data);
    ch.writeInbound(connect);
    ch.writeInbound(in);
    ch.runPendingTasks();
    ch.checkException();
    for (Object out; (out = ch.readOutbound()) != null; ) {
      ReferenceCountUtil.release(out);
    }
    ch.finishAndReleaseAll();
    assertThat(connect.refCnt()).isZero();
    if (data.length > 0) {
      assertThat(in.refCnt()).isZero();
    }
  }
}

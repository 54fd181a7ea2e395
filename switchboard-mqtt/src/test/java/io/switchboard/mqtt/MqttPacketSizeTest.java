package io.switchboard.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The size worked out before sending is the size Netty's encoder writes, byte for byte. */
class MqttPacketSizeTest {
  /** The channel attribute Netty's codec keeps the negotiated version in. */
  static final AttributeKey<MqttVersion> VERSION = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

  static int encoded(
      MqttVersion version, String topic, MqttQoS qos, MqttProperties p, int payload) {
    EmbeddedChannel ch = new EmbeddedChannel(MqttEncoder.INSTANCE);
    ch.attr(VERSION).set(version);
    ch.writeOutbound(
        MqttMessageBuilders.publish()
            .topicName(topic)
            .qos(qos)
            .messageId(qos == MqttQoS.AT_MOST_ONCE ? 0 : 7)
            .properties(p)
            .payload(Unpooled.wrappedBuffer(new byte[payload]))
            .build());
    int n = 0;
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      n += b.readableBytes();
      b.release();
    }
    ch.finishAndReleaseAll();
    return n;
  }

  @Test
  void theWorkedOutSizeIsTheEncodedSize() {
    Message m =
        new Message(
            "a.b",
            null,
            List.of(
                new Header("tenant", "acmé".getBytes(StandardCharsets.UTF_8)),
                new Header("tenant", "two".getBytes(StandardCharsets.UTF_8)),
                new Header(MqttConnection.CONTENT_TYPE_HEADER, "text/plain".getBytes()),
                new Header(MqttConnection.PAYLOAD_FORMAT_HEADER, new byte[] {1}),
                new Header(MqttConnection.SUBSCRIPTION_ID_HEADER, "3,200000".getBytes()),
                new Header(Message.CORRELATION_ID, new byte[] {1, 2, 3}),
                new Header(Message.TTL_HEADER, "60000".getBytes()),
                new Header(MqttConnection.ORIGIN_HEADER, "left out".getBytes())),
            new byte[0],
            0,
            "reply.here");
    MqttProperties props = MqttReasons.outboundProperties(m, 0);
    for (int payload : new int[] {0, 100, 200, 20_000, 3_000_000}) {
      for (MqttQoS qos : new MqttQoS[] {MqttQoS.AT_MOST_ONCE, MqttQoS.EXACTLY_ONCE}) {
        assertThat(MqttPacketSize.publish(8, 0, qos != MqttQoS.AT_MOST_ONCE, props, payload))
            .as("v5, payload %d, %s", payload, qos)
            .isEqualTo(encoded(MqttVersion.MQTT_5, "tópic/x", qos, props, payload));
        assertThat(MqttPacketSize.publish(8, 0, qos != MqttQoS.AT_MOST_ONCE, null, payload))
            .as("3.1.1, payload %d, %s", payload, qos)
            .isEqualTo(
                encoded(
                    MqttVersion.MQTT_3_1_1, "tópic/x", qos, MqttProperties.NO_PROPERTIES, payload));
      }
    }
  }

  @Test
  void internalHeadersAreNoUserProperties() {
    Message m =
        new Message(
            "a",
            null,
            List.of(
                new Header(MqttConnection.QOS_HEADER, new byte[] {1}),
                new Header(MqttConnection.ORIGIN_HEADER, "c".getBytes()),
                new Header(
                    io.switchboard.broker.BindingSpec.ORIGINAL_SUBJECT_HEADER, "a".getBytes()),
                new Header(MqttSessions.SHARE_HEADER, "$share/g/a".getBytes()),
                new Header(MqttConnection.RETAIN_HEADER, new byte[] {1}),
                new Header("sb-msg-id", "x".getBytes()),
                new Header(Message.TTL_HEADER, "5000".getBytes())),
            new byte[0],
            0,
            null);
    MqttProperties props = MqttReasons.outboundProperties(m, 0);
    assertThat(props.getProperty(MqttProperties.USER_PROPERTY)).isNull();
    assertThat(props.getProperty(MqttProperties.PUBLICATION_EXPIRY_INTERVAL).value()).isEqualTo(5);
  }
}

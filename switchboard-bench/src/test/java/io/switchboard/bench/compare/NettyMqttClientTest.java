package io.switchboard.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The suite's lean MQTT client against a minimal broker on Netty's codec that acknowledges and
 * echoes: publishes from another thread go out in order, QoS 1 completes on the PUBACK, received
 * messages are acknowledged.
 */
class NettyMqttClientTest {
  EventLoopGroup serverGroup;
  EventLoopGroup clientGroup;
  Channel server;
  static final int N = 500;
  final ConcurrentLinkedQueue<Integer> pubAcksFromClient = new ConcurrentLinkedQueue<>();
  final CountDownLatch allAcked = new CountDownLatch(N);

  @BeforeEach
  void startEchoBroker() throws Exception {
    serverGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    clientGroup = NettyMqttClient.group();
    server =
        new ServerBootstrap()
            .group(serverGroup)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new MqttDecoder())
                        .addLast(MqttEncoder.INSTANCE)
                        .addLast(new EchoBroker());
                  }
                })
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
  }

  @AfterEach
  void stop() {
    server.close().syncUninterruptibly();
    serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** CONNACK, SUBACK, PUBACK for QoS 1, and every publish sent back at QoS 1 (packet id 7). */
  final class EchoBroker extends SimpleChannelInboundHandler<MqttMessage> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, MqttMessage m) {
      switch (m.fixedHeader().messageType()) {
        case CONNECT ->
            ctx.writeAndFlush(
                MqttMessageBuilders.connAck()
                    .returnCode(MqttConnectReturnCode.CONNECTION_ACCEPTED)
                    .build());
        case SUBSCRIBE ->
            ctx.writeAndFlush(
                MqttMessageBuilders.subAck()
                    .packetId(((MqttSubscribeMessage) m).variableHeader().messageId())
                    .addGrantedQos(MqttQoS.AT_LEAST_ONCE)
                    .build());
        case PUBLISH -> {
          MqttPublishMessage p = (MqttPublishMessage) m;
          if (p.fixedHeader().qosLevel() == MqttQoS.AT_LEAST_ONCE) {
            ctx.write(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
          }
          ctx.writeAndFlush(
              MqttMessageBuilders.publish()
                  .topicName(p.variableHeader().topicName())
                  .qos(MqttQoS.AT_LEAST_ONCE)
                  .messageId(7)
                  .payload(Unpooled.copiedBuffer(p.payload()))
                  .build());
        }
        case PUBACK -> {
          pubAcksFromClient.add(
              ((io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader) m.variableHeader())
                  .messageId());
          allAcked.countDown();
        }
        default -> {}
      }
    }
  }

  @Test
  void publishesInOrderCompletesOnPubAckAndAcknowledgesWhatItReceives() throws Exception {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    ConcurrentLinkedQueue<String> received = new ConcurrentLinkedQueue<>();
    CountDownLatch allReceived = new CountDownLatch(N);
    CountDownLatch done = new CountDownLatch(N);
    try (NettyMqttClient c =
        NettyMqttClient.connect(
            clientGroup,
            port,
            "t",
            b -> {
              received.add(new String(b, StandardCharsets.UTF_8));
              allReceived.countDown();
            })) {
      c.subscribe("t/#", 1);
      // Every other publish at QoS 1 (done on its PUBACK), the rest at QoS 0 (done when written).
      for (int i = 0; i < N; i++) {
        c.publish("t/x", ("m" + i).getBytes(StandardCharsets.UTF_8), i % 2, done::countDown);
      }
      assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
      assertThat(allReceived.await(20, TimeUnit.SECONDS)).isTrue();
      assertThat(allAcked.await(20, TimeUnit.SECONDS)).isTrue();
    }
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      expected.add("m" + i);
    }
    assertThat(received).containsExactlyElementsOf(expected);
    assertThat(pubAcksFromClient).hasSize(N).containsOnly(7);
  }
}

package io.switchboard.bench.compare;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A lean MQTT 3.1.1 load client on Netty's MQTT codec, for measuring a broker rather than a client
 * library: publishes queued from any thread are written in batches with one flush each (Paho writes
 * and flushes every message from its own thread), and received messages are handed on from the
 * event loop, with PUBACKs flushed once per read. Only what the suite needs: connect with a clean
 * session, subscribe, publish at QoS 0 or 1, receive. One instance per connection; thread-safe for
 * {@link #publish}.
 */
final class NettyMqttClient implements AutoCloseable {
  static final String NAME = "suite driver on Netty's MQTT codec 4.2";

  private final Channel channel;
  private final Queue<Pending> queue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();

  /** Acknowledgements awaited, by packet id (event loop only). */
  private final Runnable[] awaitingAck = new Runnable[65_536];

  private int nextPacketId = 1;
  private CompletableFuture<Void> subscribed;

  private record Pending(String topic, byte[] payload, int qos, Runnable done) {}

  private NettyMqttClient(Channel channel) {
    this.channel = channel;
  }

  /** Connects (clean session) and waits for the CONNACK. */
  static NettyMqttClient connect(
      EventLoopGroup group, int port, String clientId, Consumer<byte[]> onMessage)
      throws Exception {
    CompletableFuture<Void> connected = new CompletableFuture<>();
    NettyMqttClient[] self = new NettyMqttClient[1];
    SimpleChannelInboundHandler<MqttMessage> handler =
        new SimpleChannelInboundHandler<MqttMessage>() {
          @Override
          protected void channelRead0(ChannelHandlerContext ctx, MqttMessage m) {
            self[0].read(ctx, m, connected, onMessage);
          }

          @Override
          public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush(); // the PUBACKs of this read, in one write
          }

          @Override
          public void channelInactive(ChannelHandlerContext ctx) {
            connected.completeExceptionally(new IllegalStateException("connection closed"));
          }
        };
    Bootstrap b =
        LoopbackClients.bootstrap(
            group,
            ch ->
                ch.pipeline()
                    .addLast(new MqttDecoder(1 << 20))
                    .addLast(MqttEncoder.INSTANCE)
                    .addLast(handler));
    Channel ch = b.connect("127.0.0.1", port).sync().channel();
    self[0] = new NettyMqttClient(ch);
    ch.writeAndFlush(
        MqttMessageBuilders.connect()
            .clientId(clientId)
            .protocolVersion(MqttVersion.MQTT_3_1_1)
            .cleanSession(true)
            .keepAlive(60)
            .build());
    connected.get(10, TimeUnit.SECONDS);
    return self[0];
  }

  private void read(
      ChannelHandlerContext ctx,
      MqttMessage m,
      CompletableFuture<Void> connected,
      Consumer<byte[]> onMessage) {
    MqttMessageType type = m.fixedHeader().messageType();
    switch (type) {
      case CONNACK -> {
        MqttConnectReturnCode code = ((MqttConnAckMessage) m).variableHeader().connectReturnCode();
        if (code == MqttConnectReturnCode.CONNECTION_ACCEPTED) {
          connected.complete(null);
        } else {
          connected.completeExceptionally(new IllegalStateException("CONNACK " + code));
        }
      }
      case SUBACK -> subscribed.complete(null);
      case PUBACK -> {
        int id = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
        Runnable done = awaitingAck[id];
        awaitingAck[id] = null;
        if (done != null) {
          done.run();
        }
      }
      case PUBLISH -> {
        MqttPublishMessage p = (MqttPublishMessage) m;
        onMessage.accept(ByteBufUtil.getBytes(p.payload()));
        if (p.fixedHeader().qosLevel() == MqttQoS.AT_LEAST_ONCE) {
          ctx.write(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
        }
      }
      default -> {}
    }
  }

  /** Subscribes to one filter and waits for the SUBACK. */
  void subscribe(String filter, int qos) throws Exception {
    CompletableFuture<Void> f = new CompletableFuture<>();
    channel
        .eventLoop()
        .submit(
            () -> {
              subscribed = f;
              channel.writeAndFlush(
                  MqttMessageBuilders.subscribe()
                      .messageId(nextId())
                      .addSubscription(MqttQoS.valueOf(qos), filter)
                      .build());
            })
        .sync();
    f.get(10, TimeUnit.SECONDS);
  }

  /**
   * Queues a publish; it is written with whatever else is queued, one flush for the batch. {@code
   * done} runs on the event loop once it is acknowledged (QoS 1) or written (QoS 0).
   */
  void publish(String topic, byte[] payload, int qos, Runnable done) {
    queue.add(new Pending(topic, payload, qos, done));
    if (drainScheduled.compareAndSet(false, true)) {
      channel.eventLoop().execute(this::drain);
    }
  }

  private void drain() {
    drainScheduled.set(false);
    for (Pending p; (p = queue.poll()) != null; ) {
      int id = 0;
      if (p.qos > 0) {
        id = nextId();
        awaitingAck[id] = p.done;
      }
      MqttPublishMessage m =
          MqttMessageBuilders.publish()
              .topicName(p.topic)
              .qos(MqttQoS.valueOf(p.qos))
              .messageId(id)
              .payload(Unpooled.wrappedBuffer(p.payload))
              .build();
      if (p.qos == 0) {
        Runnable done = p.done;
        channel.write(m).addListener(f -> done.run()); // written to the socket, as Paho counts
      } else {
        channel.write(m, channel.voidPromise());
      }
    }
    channel.flush();
  }

  private int nextId() {
    int id = nextPacketId;
    nextPacketId = nextPacketId == 65_535 ? 1 : nextPacketId + 1;
    return id;
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** An event-loop group for the suite's clients: one thread, as the brokers get the rest. */
  static EventLoopGroup group() {
    return new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  }
}

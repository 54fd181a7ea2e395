package io.switchboard.bench.compare;

import java.util.ArrayList;
import java.util.List;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * MQTT workloads with Eclipse Paho (3.1.1), the same client for Mosquitto and Switchboard's MQTT
 * front end: QoS 0 fan-out and QoS 1 publishing.
 */
final class MqttDriver {
  static final String CLIENT = "suite driver on Paho 1.2.5";

  private MqttDriver() {}

  static MqttAsyncClient connect(int port, String id) throws Exception {
    MqttAsyncClient c =
        new MqttAsyncClient(
            "tcp://127.0.0.1:" + port, id + "-" + System.nanoTime(), new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(true);
    o.setMaxInflight(Settings.WINDOW);
    o.setKeepAliveInterval(60);
    c.connect(o).waitForCompletion(10_000);
    return c;
  }

  static Load.Sender sender(MqttAsyncClient pub, String topic, int qos) {
    return (payload, done, failed) ->
        pub.publish(
            topic,
            payload,
            qos,
            false,
            null,
            new IMqttActionListener() {
              @Override
              public void onSuccess(IMqttToken t) {
                done.run();
              }

              @Override
              public void onFailure(IMqttToken t, Throwable e) {
                failed.accept(e);
              }
            });
  }

  /** One publisher at QoS 0, {@code w.subscribers()} subscribers at QoS 0. */
  static Result fanOut(String broker, int port, Workload w, Durability d, Settings s)
      throws Exception {
    if (s.mqttClient().equals("netty")) {
      return nettyFanOut(broker, port, w, d, s);
    }
    Load load = s.load(w);
    String topic = "bench/fanout/" + System.nanoTime();
    List<MqttAsyncClient> subs = new ArrayList<>();
    try {
      for (int i = 0; i < w.subscribers(); i++) {
        MqttAsyncClient c = connect(port, "sub" + i);
        c.setCallback(receiver(load));
        c.subscribe(topic, 0).waitForCompletion(10_000);
        subs.add(c);
      }
      MqttAsyncClient pub = connect(port, "pub");
      subs.add(pub);
      load.publish(sender(pub, topic, 0));
      load.drain(w.subscribers());
      return load.result(broker, CLIENT + ", QoS 0", d, w.subscribers(), "");
    } finally {
      close(subs);
    }
  }

  /** One client publishing at QoS 1 as fast as its window of unacknowledged publishes allows. */
  static Result qos1(String broker, int port, Workload w, Durability d, Settings s)
      throws Exception {
    if (s.mqttClient().equals("netty")) {
      return nettyQos1(broker, port, w, d, s);
    }
    Load load = s.load(w);
    MqttAsyncClient pub = connect(port, "pub");
    try {
      load.publish(sender(pub, "bench/qos1/" + System.nanoTime(), 1));
      return load.result(broker, CLIENT, d, 0, "");
    } finally {
      close(List.of(pub));
    }
  }

  /** {@link #fanOut} with {@link NettyMqttClient}: subscribers and publisher on one loop. */
  static Result nettyFanOut(String broker, int port, Workload w, Durability d, Settings s)
      throws Exception {
    Load load = s.load(w);
    String topic = "bench/fanout/" + System.nanoTime();
    var group = NettyMqttClient.group();
    List<NettyMqttClient> clients = new ArrayList<>();
    try {
      for (int i = 0; i < w.subscribers(); i++) {
        NettyMqttClient c =
            NettyMqttClient.connect(
                group, port, "sub" + i + "-" + System.nanoTime(), load::received);
        c.subscribe(topic, 0);
        clients.add(c);
      }
      NettyMqttClient pub =
          NettyMqttClient.connect(group, port, "pub-" + System.nanoTime(), b -> {});
      clients.add(pub);
      load.publish((payload, done, failed) -> pub.publish(topic, payload, 0, done));
      load.drain(w.subscribers());
      return load.result(broker, NettyMqttClient.NAME + ", QoS 0", d, w.subscribers(), "");
    } finally {
      clients.forEach(NettyMqttClient::close);
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** {@link #qos1} with {@link NettyMqttClient}. */
  static Result nettyQos1(String broker, int port, Workload w, Durability d, Settings s)
      throws Exception {
    Load load = s.load(w);
    var group = NettyMqttClient.group();
    String topic = "bench/qos1/" + System.nanoTime();
    try (NettyMqttClient pub =
        NettyMqttClient.connect(group, port, "pub-" + System.nanoTime(), b -> {})) {
      load.publish((payload, done, failed) -> pub.publish(topic, payload, 1, done));
      return load.result(broker, NettyMqttClient.NAME, d, 0, "");
    } finally {
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static MqttCallback receiver(Load load) {
    return new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {}

      @Override
      public void messageArrived(String topic, MqttMessage m) {
        load.received(m.getPayload());
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {}
    };
  }

  private static void close(List<MqttAsyncClient> clients) {
    for (MqttAsyncClient c : clients) {
      try {
        c.disconnectForcibly(1_000, 1_000);
        c.close(true);
      } catch (Exception e) {
        // already gone
      }
    }
  }
}

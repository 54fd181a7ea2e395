package io.switchboard.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * MQTT throughput and latency with a real client library (Eclipse Paho 3.1.1): one publisher, one
 * subscriber, each its own connection. Works against any MQTT broker, so the same numbers can be
 * taken from Mosquitto side by side (issue #7).
 *
 * <pre>
 * java -cp switchboard-bench.jar io.switchboard.bench.MqttBench HOST PORT QOS SIZE RATE SECONDS
 * </pre>
 *
 * RATE 0 publishes as fast as the window of {@value #WINDOW} unacknowledged publishes allows.
 * Latency is end to end: the send time is in the payload, measured when the subscriber gets it;
 * with a rate, from the scheduled send time (no coordinated omission). Prints one result line.
 */
public final class MqttBench {
  /** Publishes in flight at once (Paho's max-inflight); QoS 0 counts until written. */
  static final int WINDOW = 1000;

  private MqttBench() {}

  public static void main(String[] args) throws Exception {
    String uri = "tcp://" + args[0] + ":" + args[1];
    int qos = Integer.parseInt(args[2]);
    int size = Math.max(8, Integer.parseInt(args[3]));
    int rate = Integer.parseInt(args[4]);
    long seconds = Long.parseLong(args[5]);
    String topic = "bench/mqtt/" + System.nanoTime();

    Recorder latency = new Recorder(3);
    AtomicLong received = new AtomicLong();
    MqttAsyncClient sub = client(uri, "bench-sub-" + System.nanoTime());
    sub.setCallback(
        new MqttCallback() {
          @Override
          public void connectionLost(Throwable cause) {}

          @Override
          public void messageArrived(String t, MqttMessage m) {
            long sentNs = ByteBuffer.wrap(m.getPayload()).getLong();
            latency.recordValue(Math.max(0, (System.nanoTime() - sentNs) / 1000));
            received.incrementAndGet();
          }

          @Override
          public void deliveryComplete(IMqttDeliveryToken token) {}
        });
    sub.subscribe(topic, qos).waitForCompletion(10_000);

    MqttAsyncClient pub = client(uri, "bench-pub-" + System.nanoTime());
    Semaphore window = new Semaphore(WINDOW);
    IMqttActionListener release =
        new IMqttActionListener() {
          @Override
          public void onSuccess(IMqttToken t) {
            window.release();
          }

          @Override
          public void onFailure(IMqttToken t, Throwable e) {
            window.release();
          }
        };
    byte[] payload = new byte[size];
    long startNs = System.nanoTime();
    long endNs = startNs + TimeUnit.SECONDS.toNanos(seconds);
    long intervalNs = rate > 0 ? 1_000_000_000L / rate : 0;
    long sent = 0;
    while (true) {
      long scheduledNs = rate > 0 ? startNs + sent * intervalNs : System.nanoTime();
      if (scheduledNs >= endNs) {
        break;
      }
      while (rate > 0 && System.nanoTime() < scheduledNs) {
        Thread.onSpinWait();
      }
      window.acquire();
      ByteBuffer.wrap(payload).putLong(scheduledNs);
      MqttMessage m = new MqttMessage(payload.clone());
      m.setQos(qos);
      pub.publish(topic, m, null, release);
      sent++;
    }
    double publishSeconds = (System.nanoTime() - startNs) / 1e9;
    window.acquire(WINDOW); // every publish answered (QoS 1) or written (QoS 0)
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long expected = sent;
    while (received.get() < expected && System.nanoTime() < deadline) {
      Thread.sleep(10); // a benchmark's drain poll: QoS 0 may lose some, so not forever
    }
    double totalSeconds = (System.nanoTime() - startNs) / 1e9;
    var h = latency.getIntervalHistogram();
    System.out.printf(
        "qos=%d size=%d rate=%d sent=%d received=%d publish_msg_s=%.0f delivered_msg_s=%.0f"
            + " p50_us=%d p99_us=%d p999_us=%d max_us=%d%n",
        qos,
        size,
        rate,
        sent,
        received.get(),
        sent / publishSeconds,
        received.get() / totalSeconds,
        h.getValueAtPercentile(50),
        h.getValueAtPercentile(99),
        h.getValueAtPercentile(99.9),
        h.getMaxValue());
    pub.disconnect().waitForCompletion(10_000);
    sub.disconnect().waitForCompletion(10_000);
    pub.close();
    sub.close();
  }

  private static MqttAsyncClient client(String uri, String id) throws Exception {
    MqttAsyncClient c = new MqttAsyncClient(uri, id, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(true);
    o.setMaxInflight(WINDOW);
    c.connect(o).waitForCompletion(10_000);
    return c;
  }
}

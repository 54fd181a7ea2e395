package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.grpc.v1.Message;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gRPC {@code Subscribe} receives what MQTT (Paho), HTTP ({@code POST /v1/subjects/…}) and native
 * (the Java client) publishers send, and what gRPC publishes reaches MQTT and native subscribers:
 * one whole server, every front end on the class path, each on a loopback port.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class CrossProtocolGrpcTest {
  @TempDir Path dir;
  SwitchboardServer server;
  ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.addresses().get("grpc").getPort())
            .usePlaintext()
            .build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  @Test
  void grpcSubscribeReceivesMqttHttpAndNativePublishes() throws Exception {
    List<String> got = new CopyOnWriteArrayList<>();
    SubscriberGrpc.newStub(channel)
        .subscribe(
            SubscribeRequest.newBuilder().setPattern("sensors.>").build(),
            new StreamObserver<SubscribeResponse>() {
              @Override
              public void onNext(SubscribeResponse r) {
                got.add(
                    r.getMessage().getSubject() + "=" + r.getMessage().getPayload().toStringUtf8());
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    await().until(() -> server.broker().live().subscriptionCount() == 1);

    MqttClient mqtt =
        new MqttClient(
            "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort(),
            "grpc-cross",
            new MemoryPersistence());
    mqtt.connect();
    mqtt.publish("sensors/mqtt/temp", "21.5".getBytes(StandardCharsets.UTF_8), 1, false);
    mqtt.disconnect();

    HttpResponse<String> http =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + server.addresses().get("http").getPort()
                                + "/v1/subjects/sensors.http.temp"))
                    .POST(HttpRequest.BodyPublishers.ofString("22.0"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(http.statusCode()).isBetween(200, 299);

    try (SwitchboardClient nat =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
      nat.publish("sensors.native.temp", "23.1".getBytes(StandardCharsets.UTF_8));
    }

    await()
        .untilAsserted(
            () ->
                assertThat(got)
                    .containsExactlyInAnyOrder(
                        "sensors.mqtt.temp=21.5",
                        "sensors.http.temp=22.0",
                        "sensors.native.temp=23.1"));
  }

  @Test
  void grpcPublishReachesMqttAndNativeSubscribers() throws Exception {
    List<String> overMqtt = new CopyOnWriteArrayList<>();
    List<String> overNative = new CopyOnWriteArrayList<>();
    MqttClient mqtt =
        new MqttClient(
            "tcp://127.0.0.1:" + server.addresses().get("mqtt").getPort(),
            "grpc-cross-sub",
            new MemoryPersistence());
    mqtt.connect();
    mqtt.subscribe(
        "alerts/#",
        1,
        (t, m) -> overMqtt.add(t + "=" + new String(m.getPayload(), StandardCharsets.UTF_8)));
    try (SwitchboardClient nat =
        SwitchboardClient.connect("127.0.0.1:" + server.addresses().get("native").getPort())) {
      nat.subscribe(
          "alerts.>",
          m -> overNative.add(m.subject() + "=" + new String(m.payload(), StandardCharsets.UTF_8)));
      await().until(() -> server.broker().live().subscriptionCount() >= 2);
      PublisherGrpc.newBlockingStub(channel)
          .publish(
              PublishRequest.newBuilder()
                  .setMessage(
                      Message.newBuilder()
                          .setSubject("alerts.fire")
                          .setPayload(com.google.protobuf.ByteString.copyFromUtf8("now")))
                  .build());
      await().until(() -> overMqtt.size() == 1 && overNative.size() == 1);
      assertThat(overMqtt).containsExactly("alerts/fire=now");
      assertThat(overNative).containsExactly("alerts.fire=now");
    } finally {
      mqtt.disconnect();
    }
  }
}

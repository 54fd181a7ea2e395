package io.switchboard.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.consumer.AckPolicy;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.consumer.DeliveryMode;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.grpc.v1.ConsumeRequest;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.grpc.v1.Delivery;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Consume stream across a broker restart: the client acknowledges part of the work, the server
 * goes away (the stream ends), the client reopens on the restarted server and gets everything it
 * had not acknowledged; nothing acknowledged or published is lost.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcConsumeRestartTest {
  @TempDir Path dir;

  SwitchboardServer start() throws Exception {
    return SwitchboardServer.startOnFreePorts(
        Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
  }

  static ConsumeRequest open(int credit) {
    return ConsumeRequest.newBuilder()
        .setOpen(
            ConsumeRequest.Open.newBuilder()
                .setStream("work")
                .setConsumer("crew")
                .setCredit(credit))
        .build();
  }

  static ConsumeRequest ack(String id) {
    return ConsumeRequest.newBuilder()
        .setAck(ConsumeRequest.Settle.newBuilder().addDeliveryIds(id))
        .build();
  }

  @Test
  void clientReopensAfterARestartAndNothingIsLost() throws Exception {
    SwitchboardServer server = start();
    server.broker().createStream(StreamConfig.builder("work", "work.>").build());
    server
        .broker()
        .createConsumer(
            "work",
            ConsumerConfig.builder("crew")
                .mode(DeliveryMode.SHARED)
                .ackPolicy(AckPolicy.EACH)
                .ackTimeoutMs(60_000)
                .build());
    ManagedChannel ch = GrpcApiTest.connect(server);
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(ch);
    for (int i = 0; i < 20; i++) {
      pub.publish(
          PublishRequest.newBuilder().setMessage(GrpcApiTest.msg("work.item", "w" + i)).build());
    }
    Set<String> acked = new HashSet<>();
    GrpcApiTest.Collector<ConsumeResponse> in = new GrpcApiTest.Collector<>();
    StreamObserver<ConsumeRequest> out = SubscriberGrpc.newStub(ch).consume(in);
    out.onNext(open(4));
    assertThat(in.next().hasOpened()).isTrue();
    while (acked.size() < 8) {
      Delivery d = in.next().getDelivery();
      out.onNext(ack(d.getDeliveryId()));
      acked.add(d.getMessage().getMessage().getPayload().toStringUtf8());
    }
    // The acks reached the consumer (4 more are in flight, unacknowledged).
    await()
        .until(
            () ->
                server.broker().consumerInfo("work", "crew").unacknowledged() <= 4
                    && server.broker().consumerInfo("work", "crew").pending() <= 12);
    server.close();
    assertThat(in.failure()).isNotNull(); // the stream ended with the server
    ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    SwitchboardServer again = start();
    try {
      ManagedChannel ch2 = GrpcApiTest.connect(again);
      GrpcApiTest.Collector<ConsumeResponse> in2 = new GrpcApiTest.Collector<>();
      StreamObserver<ConsumeRequest> out2 = SubscriberGrpc.newStub(ch2).consume(in2);
      out2.onNext(open(4));
      assertThat(in2.next().hasOpened()).isTrue();
      Set<String> all = new HashSet<>(acked);
      while (all.size() < 20) {
        Delivery d = in2.next().getDelivery();
        out2.onNext(ack(d.getDeliveryId()));
        all.add(d.getMessage().getMessage().getPayload().toStringUtf8());
      }
      assertThat(all).hasSize(20);
      await().until(() -> again.broker().consumerInfo("work", "crew").unacknowledged() == 0);
      out2.onCompleted();
      ch2.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } finally {
      again.close();
    }
  }
}

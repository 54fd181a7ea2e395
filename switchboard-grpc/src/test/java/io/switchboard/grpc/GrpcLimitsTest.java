package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.SubscribeRequest;
import io.switchboard.grpc.v1.SubscribeResponse;
import io.switchboard.grpc.v1.SubscriberGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slow streaming reader is bounded: a {@code Subscribe} client that stops reading fills its
 * HTTP/2 window, then at most {@code grpc.max-pending-messages} wait on the server, the rest are
 * dropped and the client is told how many when it reads again.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcLimitsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "grpc.max-pending-messages",
                "20"));
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.addresses().get("grpc").getPort())
            .usePlaintext()
            .flowControlWindow(64 * 1024)
            .build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  @Test
  void aSubscriberThatDoesNotReadIsBoundedAndToldWhatWasDropped() throws Exception {
    AtomicReference<ClientCallStreamObserver<SubscribeRequest>> call = new AtomicReference<>();
    AtomicLong messages = new AtomicLong();
    AtomicLong dropped = new AtomicLong();
    SubscriberGrpc.newStub(channel)
        .subscribe(
            SubscribeRequest.newBuilder().setPattern("firehose.>").build(),
            new ClientResponseObserver<SubscribeRequest, SubscribeResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<SubscribeRequest> r) {
                call.set(r);
                r.disableAutoRequestWithInitial(1); // reads one message, then stops reading
              }

              @Override
              public void onNext(SubscribeResponse r) {
                if (r.hasMessage()) {
                  messages.incrementAndGet();
                } else {
                  dropped.set(r.getDropped());
                }
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    await().until(() -> server.broker().live().subscriptionCount() == 1);
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    ByteString tenKiB = ByteString.copyFrom(new byte[10 * 1024]);
    int published = 300;
    for (int i = 0; i < published; i++) {
      pub.publish(
          PublishRequest.newBuilder()
              .setMessage(msg("firehose.x", "").toBuilder().setPayload(tenKiB))
              .build());
    }
    // 3 MB published against a 64 KiB window and 20 pending: most were dropped, none queued
    // without bound. Reading again gets what waited, then the count of what did not.
    call.get().request(Integer.MAX_VALUE);
    await().until(() -> dropped.get() > 0 && messages.get() + dropped.get() == published);
    assertThat(messages.get()).isLessThan(published / 2);
    assertThat(dropped.get()).isGreaterThan(published / 2);
  }
}

package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.grpc.v1.AdminGrpc;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublishStreamAck;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.StreamName;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code PublishStream} is pipelined: many publishes are stored before the client reads a single
 * ack, and the in-flight bound ({@code grpc.max-in-flight}) is given back in batches as answers go
 * out (as many as were answered), so a stream far longer than the bound is answered in full, each
 * sequence once.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcPublishPipelineTest {
  @TempDir Path dir;
  SwitchboardServer server;
  ManagedChannel channel;

  void start(int maxInFlight) throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "grpc.max-in-flight",
                String.valueOf(maxInFlight)));
    server.broker().createStream(StreamConfig.builder("P", "p.>").build());
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.addresses().get("grpc").getPort())
            .usePlaintext()
            .build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  /** A client stream that reads no ack until told to, collecting what it reads. */
  static final class Acks implements ClientResponseObserver<PublishRequest, PublishStreamAck> {
    final AtomicReference<ClientCallStreamObserver<PublishRequest>> call = new AtomicReference<>();
    final ConcurrentLinkedQueue<PublishStreamAck> got = new ConcurrentLinkedQueue<>();
    final AtomicBoolean completed = new AtomicBoolean();
    final AtomicReference<Throwable> error = new AtomicReference<>();

    @Override
    public void beforeStart(ClientCallStreamObserver<PublishRequest> r) {
      call.set(r);
      r.disableAutoRequestWithInitial(0);
    }

    @Override
    public void onNext(PublishStreamAck a) {
      got.add(a);
    }

    @Override
    public void onError(Throwable t) {
      error.set(t);
    }

    @Override
    public void onCompleted() {
      completed.set(true);
    }
  }

  long stored() {
    return AdminGrpc.newBlockingStub(channel)
        .getStream(StreamName.newBuilder().setName("P").build())
        .getPartitions(0)
        .getEndOffset();
  }

  static PublishRequest publish(long seq) {
    return PublishRequest.newBuilder().setMessage(msg("p.x", "m" + seq)).setSequence(seq).build();
  }

  static List<Long> range(int n) {
    return LongStream.range(0, n).boxed().toList();
  }

  @Test
  void manyPublishesAreStoredBeforeTheClientReadsAnyAck() throws Exception {
    start(1024);
    int n = 500;
    Acks acks = new Acks();
    PublisherGrpc.newStub(channel).publishStream(acks);
    ClientCallStreamObserver<PublishRequest> out = acks.call.get();
    for (int i = 0; i < n; i++) {
      out.onNext(publish(i));
    }
    // The client has read no ack, yet all n are stored: they were in flight together.
    await().atMost(Duration.ofSeconds(60)).until(() -> stored() == n);
    assertThat(acks.got).isEmpty();
    out.onCompleted();
    acks.call.get().request(Integer.MAX_VALUE);
    await().atMost(Duration.ofSeconds(60)).until(acks.completed::get);
    assertThat(acks.error.get()).isNull();
    assertThat(acks.got)
        .extracting(PublishStreamAck::getSequence)
        .containsExactlyInAnyOrderElementsOf(range(n));
    assertThat(acks.got).allSatisfy(a -> assertThat(a.hasAck()).isTrue());
  }

  @Test
  void aStreamFarLongerThanTheInFlightBoundIsAnsweredInFullEachSequenceOnce() throws Exception {
    start(16);
    int n = 5000;
    Acks acks = new Acks();
    PublisherGrpc.newStub(channel).publishStream(acks);
    ClientCallStreamObserver<PublishRequest> out = acks.call.get();
    out.request(Integer.MAX_VALUE);
    for (int i = 0; i < n; i++) {
      out.onNext(publish(i));
    }
    out.onCompleted();
    await().atMost(Duration.ofSeconds(90)).until(acks.completed::get);
    assertThat(acks.error.get()).isNull();
    assertThat(acks.got)
        .extracting(PublishStreamAck::getSequence)
        .containsExactlyInAnyOrderElementsOf(range(n));
    assertThat(acks.got).allSatisfy(a -> assertThat(a.hasAck()).isTrue());
    assertThat(stored()).isEqualTo(n);
  }
}

package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.grpc.v1.AckRange;
import io.switchboard.grpc.v1.AdminGrpc;
import io.switchboard.grpc.v1.Durability;
import io.switchboard.grpc.v1.PublishAck;
import io.switchboard.grpc.v1.PublishEntry;
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
 * sequence once. Requests carrying many messages ({@code entries}) and batched acks ({@code
 * batch_acks}) answer each sequence exactly once too, an error for its own sequence only, and
 * de-duplicate a resent batch per message.
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

  /** Every answer the client read, one per sequence (a sequence answered twice fails). */
  static Map<Long, PublishStreamAck> bySequence(Iterable<PublishStreamAck> got) {
    Map<Long, PublishStreamAck> out = new java.util.TreeMap<>();
    for (PublishStreamAck a : got) {
      if (!a.hasBatch()) {
        assertThat(out.put(a.getSequence(), a)).as("sequence %d", a.getSequence()).isNull();
        continue;
      }
      for (AckRange r : a.getBatch().getRangesList()) {
        assertThat(r.getCount()).isPositive();
        for (int i = 0; i < r.getCount(); i++) {
          PublishStreamAck one =
              PublishStreamAck.newBuilder()
                  .setSequence(r.getFirstSequence() + i)
                  .setAck(
                      PublishAck.newBuilder()
                          .setStream(r.getStream())
                          .setPartition(r.getPartition())
                          .setOffset(r.getFirstOffset() + i)
                          .setDurability(r.getDurability()))
                  .build();
          assertThat(out.put(one.getSequence(), one)).as("sequence %d", one.getSequence()).isNull();
        }
      }
      for (PublishStreamAck item : a.getBatch().getItemsList()) {
        assertThat(item.hasBatch()).isFalse();
        assertThat(out.put(item.getSequence(), item))
            .as("sequence %d", item.getSequence())
            .isNull();
      }
    }
    return out;
  }

  static PublishRequest.Builder batch(long from, int n) {
    PublishRequest.Builder b = PublishRequest.newBuilder().setBatchAcks(true);
    for (long s = from; s < from + n; s++) {
      b.addEntries(PublishEntry.newBuilder().setMessage(msg("p.x", "m" + s)).setSequence(s));
    }
    return b;
  }

  /** Sends {@code requests}, half-closes, and reads every answer until the server completes. */
  Map<Long, PublishStreamAck> exchange(List<PublishRequest> requests) {
    Acks acks = new Acks();
    PublisherGrpc.newStub(channel).publishStream(acks);
    ClientCallStreamObserver<PublishRequest> out = acks.call.get();
    out.request(Integer.MAX_VALUE);
    requests.forEach(out::onNext);
    out.onCompleted();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> acks.completed.get() || acks.error.get() != null);
    assertThat(acks.error.get()).isNull();
    return bySequence(acks.got);
  }

  @Test
  void requestsOfManyMessagesWithBatchedAcksAnswerEachSequenceOnceInFewResponses()
      throws Exception {
    start(4);
    int requests = 40;
    int per = 250;
    List<PublishRequest> sent = new java.util.ArrayList<>();
    for (int r = 0; r < requests; r++) {
      sent.add(batch((long) r * per, per).build());
    }
    Acks acks = new Acks();
    PublisherGrpc.newStub(channel).publishStream(acks);
    ClientCallStreamObserver<PublishRequest> out = acks.call.get();
    out.request(Integer.MAX_VALUE);
    sent.forEach(out::onNext);
    out.onCompleted();
    await().atMost(Duration.ofSeconds(90)).until(acks.completed::get);
    assertThat(acks.error.get()).isNull();
    Map<Long, PublishStreamAck> answers = bySequence(acks.got);
    assertThat(answers.keySet()).containsExactlyElementsOf(range(requests * per));
    assertThat(answers.values()).allSatisfy(a -> assertThat(a.hasAck()).isTrue());
    // One stream, one partition, stored in order: each sequence at its own offset.
    assertThat(answers.values())
        .allSatisfy(a -> assertThat(a.getAck().getOffset()).isEqualTo(a.getSequence()));
    assertThat(stored()).isEqualTo(requests * per);
    // Batched: far fewer responses than messages (each is at least one request's worth or more).
    assertThat(acks.got).allSatisfy(a -> assertThat(a.hasBatch()).isTrue());
    assertThat(acks.got.size()).isLessThan(requests * per / 10);
  }

  @Test
  void aFailedMessageInABatchGetsItsOwnErrorAndTheOthersAreStored() throws Exception {
    start(1024);
    PublishRequest.Builder b = batch(0, 10);
    b.setEntries(3, b.getEntries(3).toBuilder().setMessage(msg("p..bad", "x")));
    b.setEntries(7, b.getEntries(7).toBuilder().setMessage(msg("nostream.x", "y")));
    Map<Long, PublishStreamAck> answers = exchange(List.of(b.build()));
    assertThat(answers.keySet()).containsExactlyElementsOf(range(10));
    assertThat(answers.get(3L).hasError()).isTrue();
    assertThat(answers.get(3L).getError().getReason()).isEqualTo("INVALID_SUBJECT");
    assertThat(answers.get(7L).getAck().getDurability()).isEqualTo(Durability.DURABILITY_MEMORY);
    assertThat(answers.get(7L).getAck().getStream()).isEmpty();
    for (long s : List.of(0L, 1L, 2L, 4L, 5L, 6L, 8L, 9L)) {
      assertThat(answers.get(s).hasAck()).as("sequence %d", s).isTrue();
      assertThat(answers.get(s).getAck().getStream()).isEqualTo("P");
    }
    assertThat(stored()).isEqualTo(8);
  }

  @Test
  void aResentBatchOfAnIdempotentProducerIsStoredOncePerMessage() throws Exception {
    start(1024);
    Map<Long, PublishStreamAck> first =
        exchange(List.of(batch(0, 10).setProducerId("prod").build()));
    assertThat(first.values()).allSatisfy(a -> assertThat(a.getAck().getDuplicate()).isFalse());
    // A reconnecting client resends 5..9 with 10..14 in one request: the first five are duplicates
    // answered with the original offsets, the rest stored.
    Map<Long, PublishStreamAck> again =
        exchange(List.of(batch(5, 10).setProducerId("prod").build()));
    assertThat(again.keySet()).containsExactlyElementsOf(LongStream.range(5, 15).boxed().toList());
    for (long s = 5; s < 10; s++) {
      assertThat(again.get(s).getAck().getDuplicate()).as("sequence %d", s).isTrue();
      assertThat(again.get(s).getAck().getOffset()).isEqualTo(first.get(s).getAck().getOffset());
    }
    for (long s = 10; s < 15; s++) {
      assertThat(again.get(s).getAck().getDuplicate()).as("sequence %d", s).isFalse();
    }
    assertThat(stored()).isEqualTo(15);
  }

  @Test
  void oneMessageAndEntriesInOneRequestWithoutBatchedAcksAreAnsweredOneByOne() throws Exception {
    start(1024);
    PublishRequest r =
        PublishRequest.newBuilder(batch(1, 3).build())
            .setBatchAcks(false)
            .setMessage(msg("p.x", "first"))
            .setSequence(0)
            .build();
    Acks acks = new Acks();
    PublisherGrpc.newStub(channel).publishStream(acks);
    acks.call.get().request(Integer.MAX_VALUE);
    acks.call.get().onNext(r);
    acks.call.get().onCompleted();
    await().atMost(Duration.ofSeconds(60)).until(acks.completed::get);
    assertThat(acks.got).noneMatch(PublishStreamAck::hasBatch);
    assertThat(bySequence(acks.got).keySet()).containsExactly(0L, 1L, 2L, 3L);
    assertThat(stored()).isEqualTo(4);
  }

  @Test
  void aRequestOfTooManyMessagesClosesOnlyItsStream() throws Exception {
    start(1024);
    Acks acks = new Acks();
    PublisherGrpc.newStub(channel).publishStream(acks);
    acks.call.get().request(Integer.MAX_VALUE);
    acks.call.get().onNext(batch(0, PublisherService.MAX_ENTRIES + 1).build());
    await().atMost(Duration.ofSeconds(60)).until(() -> acks.error.get() != null);
    assertThat(io.grpc.Status.fromThrowable(acks.error.get()).getCode())
        .isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
    assertThat(GrpcApiTest.errorInfo(acks.error.get()).getReason())
        .isEqualTo("GRPC_BATCH_TOO_LARGE");
    // The server and a new stream carry on.
    assertThat(exchange(List.of(batch(0, PublisherService.MAX_ENTRIES).build()))).hasSize(1000);
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

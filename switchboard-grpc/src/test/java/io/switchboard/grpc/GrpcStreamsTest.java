package io.switchboard.grpc;

import static io.switchboard.grpc.GrpcApiTest.msg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.switchboard.grpc.v1.AdminGrpc;
import io.switchboard.grpc.v1.AppendRequest;
import io.switchboard.grpc.v1.AppendResponse;
import io.switchboard.grpc.v1.ConsumerConfig;
import io.switchboard.grpc.v1.ConsumerName;
import io.switchboard.grpc.v1.CreateConsumerRequest;
import io.switchboard.grpc.v1.DeliveryMode;
import io.switchboard.grpc.v1.Empty;
import io.switchboard.grpc.v1.EventStoreGrpc;
import io.switchboard.grpc.v1.ListStreamsRequest;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.ReadRequest;
import io.switchboard.grpc.v1.ReadResponse;
import io.switchboard.grpc.v1.ReadSubjectRequest;
import io.switchboard.grpc.v1.StoredMessage;
import io.switchboard.grpc.v1.StreamConfig;
import io.switchboard.grpc.v1.StreamName;
import io.switchboard.grpc.v1.StreamsGrpc;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Streams.Read, the event store and Admin over grpc-java's blocking and async stubs. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcStreamsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  ManagedChannel channel;
  AdminGrpc.AdminBlockingStub admin;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    channel = GrpcApiTest.connect(server);
    admin = AdminGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  void publish(String subject, String payload) {
    PublisherGrpc.newBlockingStub(channel)
        .publish(PublishRequest.newBuilder().setMessage(msg(subject, payload)).build());
  }

  @Test
  void adminCreatesListsDescribesAndDeletesStreamsAndConsumers() {
    var created =
        admin.createStream(
            StreamConfig.newBuilder().setName("orders").addSubjects("orders.>").build());
    assertThat(created.getConfig().getPartitions()).isEqualTo(1);
    assertThat(created.getPartitionsList()).hasSize(1);
    assertThatThrownBy(
            () ->
                admin.createStream(
                    StreamConfig.newBuilder().setName("orders").addSubjects("other.>").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS));
    assertThat(admin.listStreams(ListStreamsRequest.getDefaultInstance()).getStreamsList())
        .extracting(s -> s.getConfig().getName())
        .containsExactly("orders");
    var consumer =
        admin.createConsumer(
            CreateConsumerRequest.newBuilder()
                .setStream("orders")
                .setConfig(
                    ConsumerConfig.newBuilder()
                        .setName("billing")
                        .setMode(DeliveryMode.DELIVERY_MODE_SHARED)
                        .setFilter("orders.eu.>"))
                .build());
    assertThat(consumer.getConfig().getFilter()).isEqualTo("orders.eu.>");
    assertThat(
            admin
                .getConsumer(
                    ConsumerName.newBuilder().setStream("orders").setConsumer("billing").build())
                .getConfig()
                .getMode())
        .isEqualTo(DeliveryMode.DELIVERY_MODE_SHARED);
    assertThat(
            admin
                .listConsumers(StreamName.newBuilder().setName("orders").build())
                .getConsumersCount())
        .isEqualTo(1);
    admin.deleteConsumer(
        ConsumerName.newBuilder().setStream("orders").setConsumer("billing").build());
    admin.deleteStream(StreamName.newBuilder().setName("orders").build());
    assertThatThrownBy(() -> admin.getStream(StreamName.newBuilder().setName("orders").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    assertThatThrownBy(
            () -> admin.createStream(StreamConfig.newBuilder().setName("bad name!").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void readFromAnOffsetSaysCaughtUpAndEnds() {
    admin.createStream(StreamConfig.newBuilder().setName("log").addSubjects("log.>").build());
    for (int i = 0; i < 50; i++) {
      publish("log.x", "m" + i);
    }
    Iterator<ReadResponse> it =
        StreamsGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .read(ReadRequest.newBuilder().setStream("log").setOffset(10).build());
    List<ReadResponse> all = new ArrayList<>();
    it.forEachRemaining(all::add);
    assertThat(all).hasSize(41);
    assertThat(all.get(0).getMessage().getPosition().getOffset()).isEqualTo(10);
    assertThat(all.get(39).getMessage().getMessage().getPayload().toStringUtf8()).isEqualTo("m49");
    assertThat(all.get(40).getCaughtUp().getNextOffset()).isEqualTo(50);
    // max_messages stops early
    List<ReadResponse> some = new ArrayList<>();
    StreamsGrpc.newBlockingStub(channel)
        .read(ReadRequest.newBuilder().setStream("log").setMaxMessages(5).build())
        .forEachRemaining(some::add);
    assertThat(some).hasSize(5);
    assertThatThrownBy(
            () ->
                StreamsGrpc.newBlockingStub(channel)
                    .read(ReadRequest.newBuilder().setStream("nope").build())
                    .hasNext())
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void readFromTheEndFollowsNewMessages() throws Exception {
    admin.createStream(StreamConfig.newBuilder().setName("log").addSubjects("log.>").build());
    publish("log.x", "old");
    GrpcApiTest.Collector<ReadResponse> in = new GrpcApiTest.Collector<>();
    StreamsGrpc.newStub(channel)
        .read(ReadRequest.newBuilder().setStream("log").setEnd(true).setFollow(true).build(), in);
    assertThat(in.next().getCaughtUp().getNextOffset()).isEqualTo(1);
    publish("log.x", "new1");
    publish("log.x", "new2");
    assertThat(in.next().getMessage().getMessage().getPayload().toStringUtf8()).isEqualTo("new1");
    assertThat(in.next().getMessage().getMessage().getPayload().toStringUtf8()).isEqualTo("new2");
  }

  @Test
  void readFromATime() {
    admin.createStream(StreamConfig.newBuilder().setName("log").addSubjects("log.>").build());
    PublisherGrpc.PublisherBlockingStub pub = PublisherGrpc.newBlockingStub(channel);
    for (int i = 0; i < 5; i++) {
      pub.publish(
          PublishRequest.newBuilder()
              .setMessage(msg("log.t", "t" + i).toBuilder().setTimestampMs(1_000_000L * (i + 1)))
              .build());
    }
    List<ReadResponse> got = new ArrayList<>();
    StreamsGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .read(ReadRequest.newBuilder().setStream("log").setTimeMs(3_000_000L).build())
        .forEachRemaining(got::add);
    assertThat(got.get(0).getMessage().getMessage().getPayload().toStringUtf8()).isEqualTo("t2");
    assertThat(got).hasSize(4);
  }

  @Test
  void appendWithExpectedRevisionsAndReadSubject() {
    admin.createStream(StreamConfig.newBuilder().setName("orders").addSubjects("order.>").build());
    EventStoreGrpc.EventStoreBlockingStub es = EventStoreGrpc.newBlockingStub(channel);
    Empty e = Empty.getDefaultInstance();
    // stream_exists on a subject with no event: a typed conflict, current -1
    AppendResponse none =
        es.append(
            AppendRequest.newBuilder()
                .setMessage(msg("order.1", "created"))
                .setStream("orders")
                .setStreamExists(e)
                .build());
    assertThat(none.getWrongExpectedRevision().getCurrentRevision()).isEqualTo(-1);
    AppendResponse first =
        es.append(
            AppendRequest.newBuilder()
                .setMessage(msg("order.1", "created"))
                .setNoStream(e)
                .build());
    assertThat(first.getSuccess().getOffset()).isZero();
    publish("order.2", "other aggregate");
    AppendResponse again =
        es.append(
            AppendRequest.newBuilder().setMessage(msg("order.1", "dup")).setNoStream(e).build());
    assertThat(again.getWrongExpectedRevision().getCurrentRevision()).isZero();
    AppendResponse second =
        es.append(
            AppendRequest.newBuilder().setMessage(msg("order.1", "paid")).setRevision(0).build());
    assertThat(second.getSuccess().getOffset()).isEqualTo(2);
    AppendResponse stale =
        es.append(
            AppendRequest.newBuilder().setMessage(msg("order.1", "late")).setRevision(0).build());
    assertThat(stale.getWrongExpectedRevision().getCurrentRevision()).isEqualTo(2);
    AppendResponse exists =
        es.append(
            AppendRequest.newBuilder()
                .setMessage(msg("order.1", "shipped"))
                .setStream("orders")
                .setStreamExists(e)
                .build());
    assertThat(exists.getSuccess().getOffset()).isEqualTo(3);
    es.append(AppendRequest.newBuilder().setMessage(msg("order.1", "closed")).setAny(e).build());

    List<StoredMessage> events = new ArrayList<>();
    es.readSubject(
            ReadSubjectRequest.newBuilder().setStream("orders").setSubject("order.1").build())
        .forEachRemaining(events::add);
    assertThat(events)
        .extracting(m -> m.getMessage().getPayload().toStringUtf8())
        .containsExactly("created", "paid", "shipped", "closed");
  }
}

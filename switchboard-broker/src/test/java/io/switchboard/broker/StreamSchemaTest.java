package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.broker.schema.SchemaType;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.broker.stream.StreamSchema;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Streams that require a schema: the broker's publish path checks every message, and counts. */
class StreamSchemaTest {
  static final String USER =
      "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";

  @TempDir Path dir;

  Broker open() {
    return Broker.open(
        new BrokerConfig(dir, io.switchboard.broker.live.LiveBusConfig.DEFAULTS, 2, 1024, 60_000),
        Clock.SYSTEM);
  }

  /** Avro binary of User{name}: zig-zag length, then UTF-8. */
  static byte[] user(String name) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[n.length + 1];
    out[0] = (byte) (n.length << 1);
    System.arraycopy(n, 0, out, 1, n.length);
    return out;
  }

  static byte[] confluent(int id, byte[] value) {
    return ByteBuffer.allocate(5 + value.length).put((byte) 0).putInt(id).put(value).array();
  }

  static Message msg(String subject, byte[] payload, List<Header> headers) {
    return new Message(subject, null, headers, payload, 0, null);
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return c instanceof SwitchboardException se ? se.code() : null;
  }

  static ErrorCode refused(Broker b, Message m) {
    return codeOf(
        org.assertj.core.api.Assertions.catchThrowable(
            () -> b.publish(m, PublishOptions.NONE).join()));
  }

  @Test
  void shouldStoreOnlyMessagesThatNameAVersionOfTheSubjectAndDecode() {
    try (Broker b = open()) {
      int id = b.schemas().register("users-value", SchemaType.AVRO, USER).id();
      int other = b.schemas().register("other-value", SchemaType.AVRO, "\"long\"").id();
      b.createStream(
          StreamConfig.builder("USERS", "users.>")
              .schema(new StreamSchema("users-value", StreamSchema.Format.ANY))
              .build());
      ConcurrentLinkedQueue<Message> live = new ConcurrentLinkedQueue<>();
      b.live().subscribe("users.>", null, live::add);

      assertThat(
              b.publish(msg("users.1", confluent(id, user("ann")), List.of()), PublishOptions.NONE)
                  .join()
                  .offset())
          .isZero();
      List<Header> byHeader =
          List.of(
              new Header(
                  StreamSchema.HEADER, Integer.toString(id).getBytes(StandardCharsets.UTF_8)));
      assertThat(
              b.publish(msg("users.2", user("bob"), byHeader), PublishOptions.NONE).join().offset())
          .isEqualTo(1);

      assertThat(refused(b, msg("users.3", user("cy"), List.of())))
          .isEqualTo(ErrorCode.SCHEMA_REQUIRED);
      assertThat(refused(b, msg("users.3", confluent(999, user("cy")), List.of())))
          .isEqualTo(ErrorCode.SCHEMA_ID_UNKNOWN);
      assertThat(refused(b, msg("users.3", confluent(other, new byte[] {2}), List.of())))
          .isEqualTo(ErrorCode.SCHEMA_SUBJECT_MISMATCH);
      assertThat(refused(b, msg("users.3", confluent(id, new byte[] {40, 'x'}), List.of())))
          .isEqualTo(ErrorCode.SCHEMA_PAYLOAD_INVALID);
      List<Header> badHeader =
          List.of(new Header(StreamSchema.HEADER, "seven".getBytes(StandardCharsets.UTF_8)));
      assertThat(refused(b, msg("users.3", user("cy"), badHeader)))
          .isEqualTo(ErrorCode.SCHEMA_REQUIRED);
      // A Kafka-style batch is refused whole when one message fails.
      assertThatThrownBy(
              () ->
                  b.publishBatch(
                          "USERS",
                          0,
                          List.of(
                              msg("users.4", confluent(id, user("dee")), List.of()),
                              msg("users.5", user("eve"), List.of())),
                          Broker.NO_PRODUCER,
                          (short) 0,
                          0)
                      .join())
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.SCHEMA_REQUIRED));

      assertThat(b.schemaRejectedCount()).isEqualTo(6);
      await().atMost(Duration.ofSeconds(10)).until(() -> live.size() == 2);
      assertThat(b.partitionBounds("USERS", 0).highWatermark()).isEqualTo(2);
      // Subjects the stream does not capture are not checked.
      assertThat(
              b
                  .publish(msg("other.1", new byte[] {1}, List.of()), PublishOptions.NONE)
                  .join()
                  .stream())
          .isNull();
    }
  }

  @Test
  void shouldKeepTheRequirementAcrossARestartAndFollowDeletions() {
    int id;
    try (Broker b = open()) {
      id = b.schemas().register("users-value", SchemaType.AVRO, USER).id();
      b.createStream(
          StreamConfig.builder("USERS", "users.>")
              .schema(new StreamSchema("users-value", StreamSchema.Format.CONFLUENT))
              .build());
    }
    try (Broker b = open()) {
      assertThat(b.streamConfig("USERS").schema())
          .isEqualTo(new StreamSchema("users-value", StreamSchema.Format.CONFLUENT));
      List<Header> byHeader =
          List.of(
              new Header(
                  StreamSchema.HEADER, Integer.toString(id).getBytes(StandardCharsets.UTF_8)));
      // CONFLUENT format: the header does not count.
      assertThat(refused(b, msg("users.1", user("ann"), byHeader)))
          .isEqualTo(ErrorCode.SCHEMA_REQUIRED);
      b.publish(msg("users.1", confluent(id, user("ann")), List.of()), PublishOptions.NONE).join();
      b.schemas().deleteVersion("users-value", "1", false);
      assertThat(refused(b, msg("users.1", confluent(id, user("ann")), List.of())))
          .isEqualTo(ErrorCode.SCHEMA_SUBJECT_MISMATCH);
    }
  }

  @Test
  void shouldCheckProtobufPayloadsWithConfluentsMessageIndexes() {
    String proto =
        "syntax = \"proto3\"; package shop; message Quote { string symbol = 1; int32 cents = 2; }"
            + " message Ack { bool ok = 1; }";
    try (Broker b = open()) {
      int id = b.schemas().register("quotes-value", SchemaType.PROTOBUF, proto).id();
      b.createStream(
          StreamConfig.builder("QUOTES", "quotes.>")
              .schema(new StreamSchema("quotes-value", StreamSchema.Format.CONFLUENT))
              .build());
      // Quote{symbol="AB", cents=150}: indexes [0] as one 0 byte, then the fields.
      byte[] quote = {0, 0x0a, 2, 'A', 'B', 0x10, (byte) 0x96, 0x01};
      b.publish(msg("quotes.1", confluent(id, quote), List.of()), PublishOptions.NONE).join();
      // Ack{ok=true}: indexes [1] (count 1, index 1 as zig-zag varints), then field 1 = 1.
      byte[] ack = {2, 2, 0x08, 1};
      b.publish(msg("quotes.2", confluent(id, ack), List.of()), PublishOptions.NONE).join();
      // symbol sent as a varint: the wrong wire type for a string.
      byte[] wrong = {0, 0x08, 1};
      assertThat(refused(b, msg("quotes.3", confluent(id, wrong), List.of())))
          .isEqualTo(ErrorCode.SCHEMA_PAYLOAD_INVALID);
      assertThat(b.partitionBounds("QUOTES", 0).highWatermark()).isEqualTo(2);
    }
  }
}

package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DescribeShareGroupOffsetsRequestData;
import org.apache.kafka.common.message.DescribeShareGroupOffsetsResponseData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData;
import org.apache.kafka.common.message.ShareAcknowledgeResponseData;
import org.apache.kafka.common.message.ShareFetchRequestData;
import org.apache.kafka.common.message.ShareFetchResponseData;
import org.apache.kafka.common.message.ShareGroupDescribeRequestData;
import org.apache.kafka.common.message.ShareGroupDescribeResponseData;
import org.apache.kafka.common.message.ShareGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Share groups on the wire (KIP-932), request by request with kafka-clients' own message classes:
 * every version served round-trips, records are acquired and acknowledged as the protocol says, and
 * bad input (unknown members, stale epochs, sessions that do not exist, records not held,
 * acknowledgement types that do not exist) is answered with Kafka's error codes.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KafkaShareWireTest {
  @TempDir Path dir;
  SwitchboardServer server;
  int port;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                KafkaShareGroups.AUTO_OFFSET_RESET.name(),
                "earliest"));
    port = server.addresses().get("kafka").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void topic(ShareWire w, String name, int partitions) throws Exception {
    CreateTopicsRequestData req = new CreateTopicsRequestData().setTimeoutMs(10_000);
    req.topics()
        .add(
            new CreateTopicsRequestData.CreatableTopic()
                .setName(name)
                .setNumPartitions(partitions)
                .setReplicationFactor((short) 1));
    assertThat(
            w.call(req, (short) 7, new CreateTopicsResponseData()).topics().find(name).errorCode())
        .isZero();
  }

  void produce(String topic, int partition, int count) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(topic, partition, "k" + i, "v" + i));
      }
      producer.flush();
    }
  }

  static List<String> values(ShareFetchResponseData.PartitionData p) {
    List<String> out = new ArrayList<>();
    for (Record r :
        ((org.apache.kafka.common.record.internal.MemoryRecords) p.records()).records()) {
      byte[] v = new byte[r.valueSize()];
      r.value().get(v);
      out.add(new String(v, java.nio.charset.StandardCharsets.UTF_8));
    }
    return out;
  }

  @Test
  void apiVersionsListsTheShareApisAtTheVersionsServed() throws Exception {
    try (ShareWire w = new ShareWire(port)) {
      ApiVersionsResponseData r =
          w.call(
              new ApiVersionsRequestData()
                  .setClientSoftwareName("share-wire")
                  .setClientSoftwareVersion("1"),
              (short) 4,
              new ApiVersionsResponseData());
      assertThat(r.apiKeys().find(ApiKeys.SHARE_GROUP_HEARTBEAT.id).minVersion())
          .isEqualTo((short) 1);
      assertThat(r.apiKeys().find(ApiKeys.SHARE_GROUP_HEARTBEAT.id).maxVersion())
          .isEqualTo((short) 1);
      assertThat(r.apiKeys().find(ApiKeys.SHARE_GROUP_DESCRIBE.id).maxVersion())
          .isEqualTo((short) 1);
      assertThat(r.apiKeys().find(ApiKeys.SHARE_FETCH.id).minVersion()).isEqualTo((short) 1);
      assertThat(r.apiKeys().find(ApiKeys.SHARE_FETCH.id).maxVersion()).isEqualTo((short) 2);
      assertThat(r.apiKeys().find(ApiKeys.SHARE_ACKNOWLEDGE.id).maxVersion()).isEqualTo((short) 2);
      // The broker-to-broker share APIs are not served.
      assertThat(r.apiKeys().find(ApiKeys.READ_SHARE_GROUP_STATE.id)).isNull();
    }
  }

  @Test
  void everyShareVersionRoundTripsAndAcquiresAsTheProtocolSays() throws Exception {
    try (ShareWire w = new ShareWire(port)) {
      topic(w, "w", 2);
      produce("w", 0, 4);
      Uuid id = KafkaTopics.topicId("w");
      ShareGroupHeartbeatResponseData joined = w.heartbeat("wg", "m1", 0, List.of("w"));
      assertThat(joined.errorCode()).isZero();
      assertThat(joined.memberId()).isEqualTo("m1");
      assertThat(joined.memberEpoch()).isPositive();
      assertThat(joined.assignment().topicPartitions()).hasSize(1);
      assertThat(joined.assignment().topicPartitions().get(0).topicId()).isEqualTo(id);
      assertThat(joined.assignment().topicPartitions().get(0).partitions()).containsExactly(0, 1);
      ShareGroupHeartbeatResponseData again = w.heartbeat("wg", "m1", joined.memberEpoch(), null);
      assertThat(again.errorCode()).isZero();
      assertThat(again.memberEpoch()).isEqualTo(joined.memberEpoch());
      assertThat(again.assignment()).as("unchanged: not sent again").isNull();

      ShareGroupDescribeResponseData described =
          w.call(
              new ShareGroupDescribeRequestData().setGroupIds(List.of("wg", "nobody")),
              (short) 1,
              new ShareGroupDescribeResponseData());
      assertThat(described.groups().get(0).errorCode()).isZero();
      assertThat(described.groups().get(0).members()).hasSize(1);
      assertThat(
              described
                  .groups()
                  .get(0)
                  .members()
                  .get(0)
                  .assignment()
                  .topicPartitions()
                  .get(0)
                  .topicName())
          .isEqualTo("w");
      assertThat(described.groups().get(1).errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());

      // v1: a session opens and acquires the four records, first delivery.
      ShareFetchResponseData f = w.fetch("wg", "m1", 0, id, 2, (short) 1);
      assertThat(f.errorCode()).isZero();
      assertThat(f.acquisitionLockTimeoutMs()).isEqualTo(30_000);
      ShareFetchResponseData.PartitionData p0 = f.responses().find(id).partitions().get(0);
      assertThat(p0.partitionIndex()).isZero();
      assertThat(values(p0)).containsExactly("v0", "v1", "v2", "v3");
      assertThat(p0.acquiredRecords()).hasSize(1);
      assertThat(p0.acquiredRecords().get(0).firstOffset()).isZero();
      assertThat(p0.acquiredRecords().get(0).lastOffset()).isEqualTo(3);
      assertThat(p0.acquiredRecords().get(0).deliveryCount()).isEqualTo((short) 1);

      // ShareAcknowledge v1 accepts 0-1.
      ShareAcknowledgeResponseData a =
          w.acknowledge("wg", "m1", 1, id, 0, 0, 1, List.of((byte) 1), (short) 1);
      assertThat(a.errorCode()).isZero();
      assertThat(a.responses().find(id).partitions().get(0).errorCode()).isZero();

      // ShareFetch v2 releases 2-3 on the way and gets them again, second delivery.
      ShareFetchRequestData req =
          new ShareFetchRequestData()
              .setGroupId("wg")
              .setMemberId("m1")
              .setShareSessionEpoch(2)
              .setMaxWaitMs(1_000)
              .setMinBytes(1)
              .setMaxRecords(10)
              .setBatchSize(10);
      ShareFetchRequestData.FetchTopic t = new ShareFetchRequestData.FetchTopic().setTopicId(id);
      t.partitions()
          .add(
              new ShareFetchRequestData.FetchPartition()
                  .setPartitionIndex(0)
                  .setAcknowledgementBatches(
                      List.of(
                          new ShareFetchRequestData.AcknowledgementBatch()
                              .setFirstOffset(2)
                              .setLastOffset(3)
                              .setAcknowledgeTypes(List.of((byte) 2, (byte) 2)))));
      req.topics().add(t);
      ShareFetchResponseData f2 = w.call(req, (short) 2, new ShareFetchResponseData());
      assertThat(f2.errorCode()).isZero();
      ShareFetchResponseData.PartitionData q0 = f2.responses().find(id).partitions().get(0);
      assertThat(q0.acknowledgeErrorCode()).isZero();
      assertThat(values(q0)).containsExactly("v2", "v3");
      assertThat(q0.acquiredRecords().get(0).deliveryCount()).isEqualTo((short) 2);

      // ShareAcknowledge v2: RENEW (v2 only) keeps the lock, then ACCEPT, closing the session.
      assertThat(
              w.acknowledge("wg", "m1", 3, id, 0, 2, 3, List.of((byte) 4), (short) 2)
                  .responses()
                  .find(id)
                  .partitions()
                  .get(0)
                  .errorCode())
          .isZero();
      ShareAcknowledgeResponseData closing =
          w.acknowledge("wg", "m1", -1, id, 0, 2, 3, List.of((byte) 1), (short) 2);
      assertThat(closing.errorCode()).isZero();
      assertThat(closing.acquisitionLockTimeoutMs()).isEqualTo(30_000);
      assertThat(closing.responses().find(id).partitions().get(0).errorCode()).isZero();
      assertThat(w.fetch("wg", "m1", 4, id, 2, (short) 1).errorCode())
          .isEqualTo(Errors.SHARE_SESSION_NOT_FOUND.code());

      // Everything was accepted: a new session finds nothing.
      ShareFetchResponseData empty = w.fetch("wg", "m1", 0, id, 2, (short) 1);
      assertThat(empty.errorCode()).isZero();
      assertThat(empty.responses()).isEmpty();

      ShareGroupHeartbeatResponseData left = w.heartbeat("wg", "m1", -1, null);
      assertThat(left.errorCode()).isZero();
      assertThat(left.memberEpoch()).isEqualTo(-1);
    }
  }

  @Test
  void incrementalAlterConfigsTakesShareGroupConfigurationsAtEachVersion() throws Exception {
    try (ShareWire w = new ShareWire(port)) {
      for (short v = 0; v <= 1; v++) {
        IncrementalAlterConfigsRequestData req = new IncrementalAlterConfigsRequestData();
        IncrementalAlterConfigsRequestData.AlterConfigsResource group =
            new IncrementalAlterConfigsRequestData.AlterConfigsResource()
                .setResourceType(KafkaShareGroups.GROUP_RESOURCE)
                .setResourceName("cfg" + v);
        group
            .configs()
            .add(
                new IncrementalAlterConfigsRequestData.AlterableConfig()
                    .setName("share.auto.offset.reset")
                    .setConfigOperation(KafkaShareGroups.SET)
                    .setValue("earliest"));
        req.resources().add(group);
        IncrementalAlterConfigsRequestData.AlterConfigsResource topic =
            new IncrementalAlterConfigsRequestData.AlterConfigsResource()
                .setResourceType(KafkaApis.TOPIC)
                .setResourceName("t");
        topic
            .configs()
            .add(
                new IncrementalAlterConfigsRequestData.AlterableConfig()
                    .setName("retention.ms")
                    .setConfigOperation(KafkaShareGroups.SET)
                    .setValue("1"));
        req.resources().add(topic);
        IncrementalAlterConfigsResponseData r =
            w.call(req, v, new IncrementalAlterConfigsResponseData());
        assertThat(r.responses()).hasSize(2);
        assertThat(r.responses().get(0).errorCode()).as("v%d", v).isZero();
        assertThat(r.responses().get(1).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
      }
    }
  }

  @Test
  void describeShareGroupOffsetsAtEachVersion() throws Exception {
    try (ShareWire w = new ShareWire(port)) {
      topic(w, "o", 2);
      produce("o", 1, 3);
      assertThat(w.heartbeat("og", "m", 0, List.of("o")).errorCode()).isZero();
      for (short v = 0; v <= 1; v++) {
        DescribeShareGroupOffsetsRequestData req = new DescribeShareGroupOffsetsRequestData();
        req.groups()
            .add(
                new DescribeShareGroupOffsetsRequestData.DescribeShareGroupOffsetsRequestGroup()
                    .setGroupId("og")
                    .setTopics(null));
        req.groups()
            .add(
                new DescribeShareGroupOffsetsRequestData.DescribeShareGroupOffsetsRequestGroup()
                    .setGroupId("none")
                    .setTopics(null));
        DescribeShareGroupOffsetsResponseData r =
            w.call(req, v, new DescribeShareGroupOffsetsResponseData());
        var og = r.groups().get(0);
        assertThat(og.errorCode()).isZero();
        assertThat(og.topics()).hasSize(1);
        assertThat(og.topics().get(0).topicId()).isEqualTo(KafkaTopics.topicId("o"));
        var p1 = og.topics().get(0).partitions().get(1);
        assertThat(p1.partitionIndex()).isEqualTo(1);
        assertThat(p1.startOffset()).isZero();
        if (v >= 1) {
          assertThat(p1.lag()).isEqualTo(3);
        }
        assertThat(r.groups().get(1).errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
      }
    }
  }

  @Test
  void badInputGetsKafkasErrorCodes() throws Exception {
    try (ShareWire w = new ShareWire(port)) {
      topic(w, "b", 1);
      produce("b", 0, 2);
      Uuid id = KafkaTopics.topicId("b");
      assertThat(w.heartbeat("bg", "ghost", 3, null).errorCode())
          .isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
      assertThat(w.heartbeat("bg", "ghost", -1, null).errorCode())
          .isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
      assertThat(w.heartbeat("bg", "", 0, List.of("b")).errorCode())
          .isEqualTo(Errors.INVALID_REQUEST.code());
      assertThat(w.heartbeat("", "m", 0, List.of("b")).errorCode())
          .isEqualTo(Errors.INVALID_GROUP_ID.code());
      assertThat(w.heartbeat("bg", "m", 0, null).errorCode())
          .as("a join names its topics")
          .isEqualTo(Errors.INVALID_REQUEST.code());
      ShareGroupHeartbeatResponseData joined = w.heartbeat("bg", "m", 0, List.of("b"));
      assertThat(joined.errorCode()).isZero();
      ShareGroupHeartbeatResponseData fenced =
          w.heartbeat("bg", "m", joined.memberEpoch() + 7, null);
      assertThat(fenced.errorCode()).isEqualTo(Errors.FENCED_MEMBER_EPOCH.code());
      assertThat(fenced.errorMessage()).contains("epoch");

      assertThat(w.fetch("bg", "m", 4, id, 1, (short) 1).errorCode())
          .as("no session to continue")
          .isEqualTo(Errors.SHARE_SESSION_NOT_FOUND.code());
      assertThat(w.acknowledge("bg", "m", 0, id, 0, 0, 0, List.of((byte) 1), (short) 1).errorCode())
          .as("acknowledgements do not open sessions")
          .isEqualTo(Errors.INVALID_SHARE_SESSION_EPOCH.code());
      ShareFetchResponseData opened = w.fetch("bg", "m", 0, id, 1, (short) 1);
      assertThat(opened.errorCode()).isZero();
      assertThat(opened.responses().find(id).partitions().get(0).acquiredRecords()).hasSize(1);
      assertThat(w.fetch("bg", "m", 5, id, 1, (short) 1).errorCode())
          .as("epoch 1 is next")
          .isEqualTo(Errors.INVALID_SHARE_SESSION_EPOCH.code());
      // Offset 7 was never acquired; offset 0 is held, and stays so.
      ShareAcknowledgeResponseData notHeld =
          w.acknowledge("bg", "m", 1, id, 0, 7, 7, List.of((byte) 1), (short) 1);
      assertThat(notHeld.responses().find(id).partitions().get(0).errorCode())
          .isEqualTo(Errors.INVALID_RECORD_STATE.code());
      assertThat(
              w.acknowledge("bg", "m", 2, id, 0, 0, 0, List.of((byte) 9), (short) 1)
                  .responses()
                  .find(id)
                  .partitions()
                  .get(0)
                  .errorCode())
          .as("no such acknowledgement type")
          .isEqualTo(Errors.INVALID_REQUEST.code());
      assertThat(
              w.acknowledge("bg", "m", 3, id, 0, 0, 0, List.of((byte) 4), (short) 1)
                  .responses()
                  .find(id)
                  .partitions()
                  .get(0)
                  .errorCode())
          .as("RENEW is version 2's")
          .isEqualTo(Errors.INVALID_REQUEST.code());
      assertThat(
              w.acknowledge(
                      "bg", "m", 4, id, 0, 0, 1, List.of((byte) 1, (byte) 1, (byte) 1), (short) 1)
                  .responses()
                  .find(id)
                  .partitions()
                  .get(0)
                  .errorCode())
          .as("three types for two offsets")
          .isEqualTo(Errors.INVALID_REQUEST.code());
      assertThat(
              w.acknowledge("bg", "m", 5, id, 0, 1, 0, List.of((byte) 1), (short) 1)
                  .responses()
                  .find(id)
                  .partitions()
                  .get(0)
                  .errorCode())
          .as("last before first")
          .isEqualTo(Errors.INVALID_REQUEST.code());
      // After all that, the held records are still held and accepted normally.
      assertThat(
              w.acknowledge("bg", "m", 6, id, 0, 0, 1, List.of((byte) 1), (short) 1)
                  .responses()
                  .find(id)
                  .partitions()
                  .get(0)
                  .errorCode())
          .isZero();
      // A topic id nobody has.
      Uuid nowhere = Uuid.randomUuid();
      ShareFetchResponseData unknown = w.fetch("bg", "m", 7, nowhere, 1, (short) 1);
      assertThat(unknown.errorCode()).isZero();
      assertThat(unknown.responses().find(nowhere).partitions().get(0).errorCode())
          .isEqualTo(Errors.UNKNOWN_TOPIC_ID.code());
      // Acknowledgements in the request that opens a session.
      ShareFetchRequestData early =
          new ShareFetchRequestData()
              .setGroupId("bg")
              .setMemberId("m2")
              .setShareSessionEpoch(0)
              .setMaxRecords(1)
              .setBatchSize(1);
      ShareFetchRequestData.FetchTopic t = new ShareFetchRequestData.FetchTopic().setTopicId(id);
      t.partitions()
          .add(
              new ShareFetchRequestData.FetchPartition()
                  .setPartitionIndex(0)
                  .setAcknowledgementBatches(
                      List.of(
                          new ShareFetchRequestData.AcknowledgementBatch()
                              .setFirstOffset(0)
                              .setLastOffset(0)
                              .setAcknowledgeTypes(List.of((byte) 1)))));
      early.topics().add(t);
      assertThat(w.call(early, (short) 1, new ShareFetchResponseData()).errorCode())
          .isEqualTo(Errors.INVALID_REQUEST.code());
    }
  }
}

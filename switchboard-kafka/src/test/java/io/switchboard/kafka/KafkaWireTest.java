package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.AddOffsetsToTxnRequestData;
import org.apache.kafka.common.message.AddOffsetsToTxnResponseData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.ConsumerGroupDescribeRequestData;
import org.apache.kafka.common.message.ConsumerGroupDescribeResponseData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DeleteGroupsResponseData;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.DescribeProducersRequestData;
import org.apache.kafka.common.message.DescribeProducersResponseData;
import org.apache.kafka.common.message.DescribeTopicPartitionsRequestData;
import org.apache.kafka.common.message.DescribeTopicPartitionsResponseData;
import org.apache.kafka.common.message.DescribeTransactionsRequestData;
import org.apache.kafka.common.message.DescribeTransactionsResponseData;
import org.apache.kafka.common.message.EndTxnRequestData;
import org.apache.kafka.common.message.EndTxnResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.ListTransactionsRequestData;
import org.apache.kafka.common.message.ListTransactionsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka wire as a client library sees it, request by request: every API and version the front
 * end advertises answers a request the client's own classes wrote with a response the client's own
 * classes read at that version (the guard on the pinned kafka-clients codec), answers keep request
 * order, and the requests Kafka closes a connection for close it here.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KafkaWireTest {
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
                KafkaFrontEnd.MAX_REQUEST_BYTES.name(),
                "65536",
                KafkaFrontEnd.TRANSACTION_MAX_BYTES.name(),
                "1024"));
    port = server.addresses().get("kafka").getPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** A blocking Kafka connection speaking frames. */
  final class Wire implements AutoCloseable {
    final Socket socket;
    final DataOutputStream out;
    final DataInputStream in;

    Wire() throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(20_000);
      out = new DataOutputStream(socket.getOutputStream());
      in = new DataInputStream(socket.getInputStream());
    }

    byte[] frame(ApiMessage body, short version, int correlationId) {
      ApiMessageType type = ApiMessageType.fromApiKey(body.apiKey());
      short headerVersion = type.requestHeaderVersion(version);
      RequestHeaderData header =
          new RequestHeaderData()
              .setRequestApiKey(body.apiKey())
              .setRequestApiVersion(version)
              .setCorrelationId(correlationId)
              .setClientId("wire-test");
      ObjectSerializationCache cache = new ObjectSerializationCache();
      int size = header.size(cache, headerVersion) + body.size(cache, version);
      ByteBuffer b = ByteBuffer.allocate(4 + size);
      b.putInt(size);
      ByteBufferAccessor w = new ByteBufferAccessor(b);
      header.write(w, cache, headerVersion);
      body.write(w, cache, version);
      return b.array();
    }

    void send(byte[] frame) throws IOException {
      out.write(frame);
      out.flush();
    }

    /** Reads one answer: its correlation id and body, parsed at {@code version}. */
    <T extends ApiMessage> T read(T into, short version, int expectCorrelationId)
        throws IOException {
      ByteBuffer b = readFrame();
      assertThat(b.getInt()).as("correlation id").isEqualTo(expectCorrelationId);
      ApiMessageType type = ApiMessageType.fromApiKey(into.apiKey());
      if (type.responseHeaderVersion(version) >= 1) {
        assertThat(b.get()).as("no tagged fields in the header").isZero();
      }
      into.read(new ByteBufferAccessor(b), version);
      assertThat(b.remaining()).as("bytes after the body").isZero();
      return into;
    }

    ByteBuffer readFrame() throws IOException {
      int size = in.readInt();
      byte[] bytes = new byte[size];
      in.readFully(bytes);
      return ByteBuffer.wrap(bytes);
    }

    boolean closedByServer() throws IOException {
      try {
        return in.read() < 0;
      } catch (java.net.SocketException e) {
        return true; // reset
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  @Test
  void everyAdvertisedVersionRoundTripsWithTheClientsOwnClasses() throws Exception {
    try (Wire w = new Wire()) {
      int id = 1;
      // ApiVersions first, as every client does, and it lists exactly what the rest covers.
      for (short v = 0; v <= 5; v++) {
        ApiVersionsRequestData req = new ApiVersionsRequestData();
        if (v >= 3) {
          req.setClientSoftwareName("wire-test").setClientSoftwareVersion("1");
        }
        w.send(w.frame(req, v, id));
        ApiVersionsResponseData r = w.read(new ApiVersionsResponseData(), v, id++);
        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.apiKeys()).hasSize(KafkaApis.VERSIONS.size());
      }
      for (short v = 2; v <= 7; v++) {
        CreateTopicsRequestData req = new CreateTopicsRequestData().setTimeoutMs(10_000);
        req.topics()
            .add(
                new CreateTopicsRequestData.CreatableTopic()
                    .setName("t" + v)
                    .setNumPartitions(2)
                    .setReplicationFactor((short) 1));
        w.send(w.frame(req, v, id));
        CreateTopicsResponseData r = w.read(new CreateTopicsResponseData(), v, id++);
        assertThat(r.topics().find("t" + v).errorCode()).isEqualTo(Errors.NONE.code());
      }
      for (short v = 0; v <= 13; v++) {
        MetadataRequestData req = new MetadataRequestData();
        if (v == 0) {
          req.setTopics(new ArrayList<>()); // all topics
        } else {
          req.setTopics(null);
        }
        w.send(w.frame(req, v, id));
        MetadataResponseData r = w.read(new MetadataResponseData(), v, id++);
        assertThat(r.topics().find("t2").partitions()).hasSize(2);
        assertThat(r.brokers().find(KafkaApis.NODE_ID).port()).isEqualTo(port);
      }
      for (short v = 1; v <= 11; v++) {
        ListOffsetsRequestData req = new ListOffsetsRequestData().setReplicaId(-1);
        req.topics()
            .add(
                new ListOffsetsRequestData.ListOffsetsTopic()
                    .setName("t2")
                    .setPartitions(
                        List.of(
                            new ListOffsetsRequestData.ListOffsetsPartition()
                                .setPartitionIndex(1)
                                .setTimestamp(KafkaApis.LATEST))));
        w.send(w.frame(req, v, id));
        ListOffsetsResponseData r = w.read(new ListOffsetsResponseData(), v, id++);
        assertThat(r.topics().get(0).partitions().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.topics().get(0).partitions().get(0).offset()).isZero();
      }
      Uuid t2 = KafkaTopics.topicId("t2");
      for (short v = 4; v <= 18; v++) {
        FetchRequestData req =
            new FetchRequestData()
                .setReplicaId(-1)
                .setMaxWaitMs(0)
                .setMinBytes(1)
                .setMaxBytes(1 << 20);
        FetchRequestData.FetchTopic topic =
            new FetchRequestData.FetchTopic()
                .setPartitions(
                    List.of(
                        new FetchRequestData.FetchPartition()
                            .setPartition(0)
                            .setFetchOffset(0)
                            .setPartitionMaxBytes(1 << 20)));
        if (v >= 13) {
          topic.setTopicId(t2);
        } else {
          topic.setTopic("t2");
        }
        req.topics().add(topic);
        w.send(w.frame(req, v, id));
        FetchResponseData r = w.read(new FetchResponseData(), v, id++);
        assertThat(r.responses().get(0).partitions().get(0).errorCode())
            .isEqualTo(Errors.NONE.code());
        assertThat(r.responses().get(0).partitions().get(0).highWatermark()).isZero();
      }
      for (short v = 1; v <= 4; v++) {
        DescribeConfigsRequestData req = new DescribeConfigsRequestData();
        req.resources()
            .add(
                new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType(KafkaApis.TOPIC)
                    .setResourceName("t2")
                    .setConfigurationKeys(null));
        w.send(w.frame(req, v, id));
        DescribeConfigsResponseData r = w.read(new DescribeConfigsResponseData(), v, id++);
        assertThat(r.results().get(0).errorCode()).isZero();
        assertThat(r.results().get(0).configs())
            .extracting(DescribeConfigsResponseData.DescribeConfigsResourceResult::name)
            .contains("retention.ms", "cleanup.policy");
      }
      for (short v = 0; v <= 2; v++) {
        DescribeClusterRequestData req = new DescribeClusterRequestData().setEndpointType((byte) 1);
        w.send(w.frame(req, v, id));
        DescribeClusterResponseData r = w.read(new DescribeClusterResponseData(), v, id++);
        assertThat(r.errorCode()).isZero();
        assertThat(r.brokers().find(KafkaApis.NODE_ID).port()).isEqualTo(port);
      }
      for (short v = 0; v <= 3; v++) {
        CreatePartitionsRequestData req = new CreatePartitionsRequestData().setTimeoutMs(10_000);
        req.topics()
            .add(
                new CreatePartitionsRequestData.CreatePartitionsTopic()
                    .setName("t7")
                    .setCount(3 + v)
                    .setAssignments(null));
        w.send(w.frame(req, v, id));
        CreatePartitionsResponseData r = w.read(new CreatePartitionsResponseData(), v, id++);
        assertThat(r.results().get(0).errorCode()).as("create partitions v%d", v).isZero();
      }
      for (short v = 1; v <= 6; v++) {
        DeleteTopicsRequestData req = new DeleteTopicsRequestData().setTimeoutMs(10_000);
        String name = "t" + (v + 1);
        if (v >= 6) {
          req.topics().add(new DeleteTopicsRequestData.DeleteTopicState().setName(name));
        } else {
          req.topicNames().add(name);
        }
        w.send(w.frame(req, v, id));
        DeleteTopicsResponseData r = w.read(new DeleteTopicsResponseData(), v, id++);
        assertThat(r.responses().find(name).errorCode()).as(name).isEqualTo(Errors.NONE.code());
      }
    }
  }

  /** Joins {@code group} at v9 (the member-id handshake first): {member id, generation}. */
  String[] join(Wire w, String group, int[] id) throws IOException {
    JoinGroupRequestData req =
        new JoinGroupRequestData()
            .setGroupId(group)
            .setMemberId("")
            .setSessionTimeoutMs(30_000)
            .setRebalanceTimeoutMs(30_000)
            .setProtocolType("consumer");
    req.protocols()
        .add(
            new JoinGroupRequestData.JoinGroupRequestProtocol()
                .setName("range")
                .setMetadata(new byte[0]));
    w.send(w.frame(req, (short) 9, id[0]));
    JoinGroupResponseData first = w.read(new JoinGroupResponseData(), (short) 9, id[0]++);
    assertThat(first.errorCode()).isEqualTo(Errors.MEMBER_ID_REQUIRED.code());
    w.send(w.frame(req.setMemberId(first.memberId()), (short) 9, id[0]));
    JoinGroupResponseData joined = w.read(new JoinGroupResponseData(), (short) 9, id[0]++);
    assertThat(joined.errorCode()).isZero();
    return new String[] {joined.memberId(), Integer.toString(joined.generationId())};
  }

  @Test
  void produceAndGroupApisRoundTripAtEveryVersion() throws Exception {
    try (Wire w = new Wire()) {
      int[] id = {1};
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("p")
                  .setNumPartitions(1)
                  .setReplicationFactor((short) 1));
      w.send(w.frame(create, (short) 7, id[0]));
      w.read(new CreateTopicsResponseData(), (short) 7, id[0]++);
      for (short v = 3; v <= 13; v++) {
        ProduceRequestData req = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000);
        ProduceRequestData.TopicProduceData t =
            new ProduceRequestData.TopicProduceData()
                .setPartitionData(
                    List.of(
                        new ProduceRequestData.PartitionProduceData()
                            .setIndex(0)
                            .setRecords(
                                MemoryRecords.withRecords(
                                    Compression.NONE, new SimpleRecord(("v" + v).getBytes())))));
        if (v >= 13) {
          t.setTopicId(KafkaTopics.topicId("p"));
        } else {
          t.setName("p");
        }
        req.topicData().add(t);
        w.send(w.frame(req, v, id[0]));
        ProduceResponseData r = w.read(new ProduceResponseData(), v, id[0]++);
        ProduceResponseData.PartitionProduceResponse pr =
            r.responses().iterator().next().partitionResponses().get(0);
        assertThat(pr.errorCode()).as("produce v%d", v).isZero();
        assertThat(pr.baseOffset()).isEqualTo(v - 3);
      }
      for (short v = 0; v <= 5; v++) {
        w.send(
            w.frame(
                new InitProducerIdRequestData()
                    .setTransactionalId(null)
                    .setProducerId(-1)
                    .setProducerEpoch((short) -1),
                v,
                id[0]));
        InitProducerIdResponseData r = w.read(new InitProducerIdResponseData(), v, id[0]++);
        assertThat(r.errorCode()).isZero();
        assertThat(r.producerId()).isNotNegative();
      }
      for (short v = 0; v <= 6; v++) {
        FindCoordinatorRequestData req = new FindCoordinatorRequestData().setKeyType((byte) 0);
        if (v >= 4) {
          req.setCoordinatorKeys(List.of("g"));
        } else {
          req.setKey("g");
        }
        w.send(w.frame(req, v, id[0]));
        FindCoordinatorResponseData r = w.read(new FindCoordinatorResponseData(), v, id[0]++);
        assertThat(v >= 4 ? r.coordinators().get(0).port() : r.port()).isEqualTo(port);
      }
      for (short v = 0; v <= 9; v++) {
        JoinGroupRequestData req =
            new JoinGroupRequestData()
                .setGroupId("join" + v)
                .setMemberId("")
                .setSessionTimeoutMs(30_000)
                .setRebalanceTimeoutMs(v >= 1 ? 30_000 : -1)
                .setProtocolType("consumer");
        req.protocols()
            .add(
                new JoinGroupRequestData.JoinGroupRequestProtocol()
                    .setName("range")
                    .setMetadata(new byte[] {1}));
        w.send(w.frame(req, v, id[0]));
        JoinGroupResponseData r = w.read(new JoinGroupResponseData(), v, id[0]++);
        if (v >= 4) {
          assertThat(r.errorCode()).isEqualTo(Errors.MEMBER_ID_REQUIRED.code());
          w.send(w.frame(req.setMemberId(r.memberId()), v, id[0]));
          r = w.read(new JoinGroupResponseData(), v, id[0]++);
        }
        assertThat(r.errorCode()).as("join v%d", v).isZero();
        assertThat(r.members()).hasSize(1);
      }
      for (short v = 0; v <= 5; v++) {
        String[] m = join(w, "sync" + v, id);
        SyncGroupRequestData req =
            new SyncGroupRequestData()
                .setGroupId("sync" + v)
                .setMemberId(m[0])
                .setGenerationId(Integer.parseInt(m[1]))
                .setProtocolType("consumer")
                .setProtocolName("range")
                .setAssignments(
                    List.of(
                        new SyncGroupRequestData.SyncGroupRequestAssignment()
                            .setMemberId(m[0])
                            .setAssignment(new byte[] {7})));
        w.send(w.frame(req, v, id[0]));
        SyncGroupResponseData r = w.read(new SyncGroupResponseData(), v, id[0]++);
        assertThat(r.errorCode()).as("sync v%d", v).isZero();
        assertThat(r.assignment()).containsExactly(7);
      }
      String[] member = join(w, "live", id);
      int generation = Integer.parseInt(member[1]);
      for (short v = 0; v <= 4; v++) {
        w.send(
            w.frame(
                new HeartbeatRequestData()
                    .setGroupId("live")
                    .setMemberId(member[0])
                    .setGenerationId(generation),
                v,
                id[0]));
        // Joined, not yet synced: the generation is current, so the heartbeat is fine.
        assertThat(w.read(new HeartbeatResponseData(), v, id[0]++).errorCode()).isZero();
      }
      for (short v = 2; v <= 9; v++) {
        OffsetCommitRequestData req =
            new OffsetCommitRequestData()
                .setGroupId("live")
                .setMemberId(member[0])
                .setGenerationIdOrMemberEpoch(generation);
        req.topics()
            .add(
                new OffsetCommitRequestData.OffsetCommitRequestTopic()
                    .setName("p")
                    .setPartitions(
                        List.of(
                            new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                .setPartitionIndex(0)
                                .setCommittedOffset(v)
                                .setCommittedMetadata("m" + v))));
        w.send(w.frame(req, v, id[0]));
        OffsetCommitResponseData r = w.read(new OffsetCommitResponseData(), v, id[0]++);
        assertThat(r.topics().get(0).partitions().get(0).errorCode()).as("commit v%d", v).isZero();
      }
      for (short v = 1; v <= 9; v++) {
        OffsetFetchRequestData req = new OffsetFetchRequestData();
        if (v >= 8) {
          req.groups()
              .add(
                  new OffsetFetchRequestData.OffsetFetchRequestGroup()
                      .setGroupId("live")
                      .setTopics(
                          List.of(
                              new OffsetFetchRequestData.OffsetFetchRequestTopics()
                                  .setName("p")
                                  .setPartitionIndexes(List.of(0)))));
        } else {
          req.setGroupId("live")
              .setTopics(
                  List.of(
                      new OffsetFetchRequestData.OffsetFetchRequestTopic()
                          .setName("p")
                          .setPartitionIndexes(List.of(0))));
        }
        w.send(w.frame(req, v, id[0]));
        OffsetFetchResponseData r = w.read(new OffsetFetchResponseData(), v, id[0]++);
        long committed =
            v >= 8
                ? r.groups().get(0).topics().get(0).partitions().get(0).committedOffset()
                : r.topics().get(0).partitions().get(0).committedOffset();
        assertThat(committed).as("fetch v%d", v).isEqualTo(9);
      }
      for (short v = 0; v <= 6; v++) {
        w.send(w.frame(new DescribeGroupsRequestData().setGroups(List.of("live")), v, id[0]));
        DescribeGroupsResponseData r = w.read(new DescribeGroupsResponseData(), v, id[0]++);
        assertThat(r.groups().get(0).members()).hasSize(1);
      }
      for (short v = 0; v <= 5; v++) {
        w.send(w.frame(new ListGroupsRequestData(), v, id[0]));
        ListGroupsResponseData r = w.read(new ListGroupsResponseData(), v, id[0]++);
        assertThat(r.groups())
            .extracting(ListGroupsResponseData.ListedGroup::groupId)
            .contains("live");
      }
      for (short v = 0; v <= 5; v++) {
        String[] m = join(w, "leave" + v, id);
        LeaveGroupRequestData req = new LeaveGroupRequestData().setGroupId("leave" + v);
        if (v >= 3) {
          req.members().add(new LeaveGroupRequestData.MemberIdentity().setMemberId(m[0]));
        } else {
          req.setMemberId(m[0]);
        }
        w.send(w.frame(req, v, id[0]));
        LeaveGroupResponseData r = w.read(new LeaveGroupResponseData(), v, id[0]++);
        assertThat(v >= 3 ? r.members().get(0).errorCode() : r.errorCode())
            .as("leave v%d", v)
            .isZero();
      }
      for (short v = 0; v <= 3; v++) {
        w.send(
            w.frame(new DeleteGroupsRequestData().setGroupsNames(List.of("leave" + v)), v, id[0]));
        DeleteGroupsResponseData r = w.read(new DeleteGroupsResponseData(), v, id[0]++);
        assertThat(r.results().find("leave" + v).errorCode()).as("delete v%d", v).isZero();
      }
    }
  }

  /** A transactional producer's id and epoch. */
  private record Pid(long id, short epoch) {}

  private Pid initTransactional(Wire w, String txn, short v, int[] id) throws IOException {
    w.send(
        w.frame(
            new InitProducerIdRequestData()
                .setTransactionalId(txn)
                .setTransactionTimeoutMs(60_000)
                .setProducerId(-1)
                .setProducerEpoch((short) -1),
            v,
            id[0]));
    InitProducerIdResponseData r = w.read(new InitProducerIdResponseData(), v, id[0]++);
    assertThat(r.errorCode()).as("init v%d", v).isZero();
    return new Pid(r.producerId(), r.producerEpoch());
  }

  private short addPartition(Wire w, String txn, Pid p, String topic, short v, int[] id)
      throws IOException {
    AddPartitionsToTxnRequestData req =
        new AddPartitionsToTxnRequestData()
            .setV3AndBelowTransactionalId(txn)
            .setV3AndBelowProducerId(p.id())
            .setV3AndBelowProducerEpoch(p.epoch());
    req.v3AndBelowTopics()
        .add(
            new AddPartitionsToTxnRequestData.AddPartitionsToTxnTopic()
                .setName(topic)
                .setPartitions(List.of(0)));
    w.send(w.frame(req, v, id[0]));
    AddPartitionsToTxnResponseData r = w.read(new AddPartitionsToTxnResponseData(), v, id[0]++);
    return r.resultsByTopicV3AndBelow()
        .find(topic)
        .resultsByPartition()
        .find(0)
        .partitionErrorCode();
  }

  private ProduceResponseData.PartitionProduceResponse produceTxn(
      Wire w, String txn, MemoryRecords records, short v, int[] id) throws IOException {
    ProduceRequestData req =
        new ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000).setTransactionalId(txn);
    req.topicData()
        .add(
            new ProduceRequestData.TopicProduceData()
                .setName("t")
                .setPartitionData(
                    List.of(
                        new ProduceRequestData.PartitionProduceData()
                            .setIndex(0)
                            .setRecords(records))));
    w.send(w.frame(req, v, id[0]));
    return w.read(new ProduceResponseData(), v, id[0]++)
        .responses()
        .iterator()
        .next()
        .partitionResponses()
        .get(0);
  }

  @Test
  void transactionApisRoundTripAtEveryVersion() throws Exception {
    try (Wire w = new Wire()) {
      int[] id = {1};
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("t")
                  .setNumPartitions(1)
                  .setReplicationFactor((short) 1));
      w.send(w.frame(create, (short) 7, id[0]));
      w.read(new CreateTopicsResponseData(), (short) 7, id[0]++);
      for (short v = 1; v <= 6; v++) { // key types came with v1
        FindCoordinatorRequestData req = new FindCoordinatorRequestData().setKeyType((byte) 1);
        if (v >= 4) {
          req.setCoordinatorKeys(List.of("txn"));
        } else {
          req.setKey("txn");
        }
        w.send(w.frame(req, v, id[0]));
        FindCoordinatorResponseData r = w.read(new FindCoordinatorResponseData(), v, id[0]++);
        assertThat(v >= 4 ? r.coordinators().get(0).port() : r.port()).isEqualTo(port);
      }
      // One committed transaction per version, each API at min(i, its highest version).
      for (short i = 0; i <= 5; i++) {
        String txn = "txn" + i;
        Pid p = initTransactional(w, txn, (short) Math.min(i, 5), id);
        assertThat(addPartition(w, txn, p, "t", (short) Math.min(i, 3), id)).isZero();
        ProduceResponseData.PartitionProduceResponse pr =
            produceTxn(
                w,
                txn,
                MemoryRecords.withTransactionalRecords(
                    Compression.NONE, p.id(), p.epoch(), 0, new SimpleRecord(("r" + i).getBytes())),
                (short) (3 + i),
                id);
        assertThat(pr.errorCode()).as("produce v%d", 3 + i).isZero();
        assertThat(pr.baseOffset()).as("no offset before the commit").isEqualTo(-1);

        short ao = (short) Math.min(i, 4);
        w.send(
            w.frame(
                new AddOffsetsToTxnRequestData()
                    .setTransactionalId(txn)
                    .setProducerId(p.id())
                    .setProducerEpoch(p.epoch())
                    .setGroupId("g" + i),
                ao,
                id[0]));
        assertThat(w.read(new AddOffsetsToTxnResponseData(), ao, id[0]++).errorCode()).isZero();

        short to = (short) Math.min(i, 5);
        TxnOffsetCommitRequestData commit =
            new TxnOffsetCommitRequestData()
                .setTransactionalId(txn)
                .setGroupId("g" + i)
                .setProducerId(p.id())
                .setProducerEpoch(p.epoch());
        commit
            .topics()
            .add(
                new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic()
                    .setName("t")
                    .setPartitions(
                        List.of(
                            new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                                .setPartitionIndex(0)
                                .setCommittedOffset(i + 1))));
        w.send(w.frame(commit, to, id[0]));
        TxnOffsetCommitResponseData tr = w.read(new TxnOffsetCommitResponseData(), to, id[0]++);
        assertThat(tr.topics().get(0).partitions().get(0).errorCode())
            .as("txn offsets v%d", to)
            .isZero();

        short et = (short) Math.min(i, 4);
        w.send(
            w.frame(
                new EndTxnRequestData()
                    .setTransactionalId(txn)
                    .setProducerId(p.id())
                    .setProducerEpoch(p.epoch())
                    .setCommitted(true),
                et,
                id[0]));
        assertThat(w.read(new EndTxnResponseData(), et, id[0]++).errorCode())
            .as("end v%d", et)
            .isZero();
      }
      w.send(
          w.frame(
              new ListOffsetsRequestData()
                  .setReplicaId(-1)
                  .setTopics(
                      List.of(
                          new ListOffsetsRequestData.ListOffsetsTopic()
                              .setName("t")
                              .setPartitions(
                                  List.of(
                                      new ListOffsetsRequestData.ListOffsetsPartition()
                                          .setPartitionIndex(0)
                                          .setTimestamp(-1))))),
              (short) 7,
              id[0]));
      ListOffsetsResponseData lo = w.read(new ListOffsetsResponseData(), (short) 7, id[0]++);
      assertThat(lo.topics().get(0).partitions().get(0).offset())
          .as("six commits of one record each")
          .isEqualTo(6);
      for (short v = 0; v <= 1; v++) {
        w.send(
            w.frame(
                new ListTransactionsRequestData()
                    .setStateFilters(List.of("CompleteCommit", "Bogus")),
                v,
                id[0]));
        ListTransactionsResponseData r = w.read(new ListTransactionsResponseData(), v, id[0]++);
        assertThat(r.transactionStates()).as("list v%d", v).hasSize(6);
        assertThat(r.unknownStateFilters()).containsExactly("Bogus");
      }
      w.send(
          w.frame(
              new DescribeTransactionsRequestData().setTransactionalIds(List.of("txn0", "none")),
              (short) 0,
              id[0]));
      DescribeTransactionsResponseData d =
          w.read(new DescribeTransactionsResponseData(), (short) 0, id[0]++);
      assertThat(d.transactionStates().get(0).transactionState()).isEqualTo("CompleteCommit");
      assertThat(d.transactionStates().get(1).errorCode())
          .isEqualTo(Errors.TRANSACTIONAL_ID_NOT_FOUND.code());
      w.send(w.frame(describeProducers("t", 0, 7), (short) 0, id[0]));
      DescribeProducersResponseData dp =
          w.read(new DescribeProducersResponseData(), (short) 0, id[0]++);
      DescribeProducersResponseData.PartitionResponse p0 = dp.topics().get(0).partitions().get(0);
      assertThat(p0.errorCode()).isZero();
      assertThat(p0.activeProducers()).as("the six committing producers").hasSize(6);
      assertThat(p0.activeProducers())
          .allSatisfy(
              ps -> {
                assertThat(ps.lastSequence()).isZero();
                assertThat(ps.lastTimestamp()).isPositive();
                assertThat(ps.currentTxnStartOffset()).isEqualTo(-1);
              });
      assertThat(dp.topics().get(0).partitions().get(1).errorCode())
          .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
    }
  }

  private static DescribeProducersRequestData describeProducers(String topic, int... partitions) {
    DescribeProducersRequestData req = new DescribeProducersRequestData();
    req.topics()
        .add(
            new DescribeProducersRequestData.TopicRequest()
                .setName(topic)
                .setPartitionIndexes(java.util.Arrays.stream(partitions).boxed().toList()));
    return req;
  }

  @Test
  void transactionsRefuseWhatKafkaRefuses() throws Exception {
    try (Wire w = new Wire()) {
      int[] id = {1};
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("t")
                  .setNumPartitions(1)
                  .setReplicationFactor((short) 1));
      w.send(w.frame(create, (short) 7, id[0]));
      w.read(new CreateTopicsResponseData(), (short) 7, id[0]++);
      short v = 5;

      w.send(
          w.frame(
              new InitProducerIdRequestData()
                  .setTransactionalId("x")
                  .setTransactionTimeoutMs(Integer.MAX_VALUE)
                  .setProducerId(-1)
                  .setProducerEpoch((short) -1),
              v,
              id[0]));
      assertThat(w.read(new InitProducerIdResponseData(), v, id[0]++).errorCode())
          .isEqualTo(Errors.INVALID_TRANSACTION_TIMEOUT.code());

      Pid p = initTransactional(w, "x", v, id);
      MemoryRecords one =
          MemoryRecords.withTransactionalRecords(
              Compression.NONE, p.id(), p.epoch(), 0, new SimpleRecord("a".getBytes()));
      // Records for a partition not added to the transaction.
      assertThat(produceTxn(w, "x", one, (short) 11, id).errorCode())
          .isEqualTo(Errors.INVALID_TXN_STATE.code());
      // A partition that does not exist: nothing is added.
      assertThat(addPartition(w, "x", p, "nope", (short) 3, id))
          .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
      // A stale epoch is fenced.
      assertThat(addPartition(w, "x", new Pid(p.id(), (short) (p.epoch() - 1)), "t", (short) 3, id))
          .isEqualTo(Errors.PRODUCER_FENCED.code());
      assertThat(addPartition(w, "x", p, "t", (short) 3, id)).isZero();
      assertThat(produceTxn(w, "x", one, (short) 11, id).errorCode()).isZero();
      // A retry of kept records is answered as they were, a gap is refused.
      assertThat(produceTxn(w, "x", one, (short) 11, id).errorCode()).isZero();
      assertThat(
              produceTxn(
                      w,
                      "x",
                      MemoryRecords.withTransactionalRecords(
                          Compression.NONE, p.id(), p.epoch(), 5, new SimpleRecord("b".getBytes())),
                      (short) 11,
                      id)
                  .errorCode())
          .isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER.code());
      // Past kafka.transaction-max-bytes (1024 here): refused with a message naming the limit.
      ProduceResponseData.PartitionProduceResponse big =
          produceTxn(
              w,
              "x",
              MemoryRecords.withTransactionalRecords(
                  Compression.NONE, p.id(), p.epoch(), 1, new SimpleRecord(new byte[2000])),
              (short) 11,
              id);
      assertThat(big.errorCode()).isEqualTo(Errors.RECORD_LIST_TOO_LARGE.code());
      assertThat(big.errorMessage()).contains("kafka.transaction-max-bytes");
      // A transactional batch without a transactional id.
      ProduceRequestData plain = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000);
      plain
          .topicData()
          .add(
              new ProduceRequestData.TopicProduceData()
                  .setName("t")
                  .setPartitionData(
                      List.of(
                          new ProduceRequestData.PartitionProduceData()
                              .setIndex(0)
                              .setRecords(one))));
      w.send(w.frame(plain, (short) 11, id[0]));
      assertThat(
              w.read(new ProduceResponseData(), (short) 11, id[0]++)
                  .responses()
                  .iterator()
                  .next()
                  .partitionResponses()
                  .get(0)
                  .errorCode())
          .isEqualTo(Errors.INVALID_RECORD.code());
      // The abort drops what was kept: nothing reached the partition.
      w.send(
          w.frame(
              new EndTxnRequestData()
                  .setTransactionalId("x")
                  .setProducerId(p.id())
                  .setProducerEpoch(p.epoch())
                  .setCommitted(false),
              (short) 4,
              id[0]));
      assertThat(w.read(new EndTxnResponseData(), (short) 4, id[0]++).errorCode()).isZero();
      // Committing what was aborted is out of place.
      w.send(
          w.frame(
              new EndTxnRequestData()
                  .setTransactionalId("x")
                  .setProducerId(p.id())
                  .setProducerEpoch(p.epoch())
                  .setCommitted(true),
              (short) 4,
              id[0]));
      assertThat(w.read(new EndTxnResponseData(), (short) 4, id[0]++).errorCode())
          .isEqualTo(Errors.INVALID_TXN_STATE.code());
      w.send(
          w.frame(
              new ListOffsetsRequestData()
                  .setReplicaId(-1)
                  .setTopics(
                      List.of(
                          new ListOffsetsRequestData.ListOffsetsTopic()
                              .setName("t")
                              .setPartitions(
                                  List.of(
                                      new ListOffsetsRequestData.ListOffsetsPartition()
                                          .setPartitionIndex(0)
                                          .setTimestamp(-1))))),
              (short) 7,
              id[0]));
      assertThat(
              w.read(new ListOffsetsResponseData(), (short) 7, id[0]++)
                  .topics()
                  .get(0)
                  .partitions()
                  .get(0)
                  .offset())
          .isZero();
    }
  }

  private short txnOffset(Wire w, String txn, Pid p, int generation, String member, int[] id)
      throws IOException {
    TxnOffsetCommitRequestData commit =
        new TxnOffsetCommitRequestData()
            .setTransactionalId(txn)
            .setGroupId("g")
            .setProducerId(p.id())
            .setProducerEpoch(p.epoch())
            .setGenerationIdOrMemberEpoch(generation)
            .setMemberId(member);
    commit
        .topics()
        .add(
            new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic()
                .setName("t")
                .setPartitions(
                    List.of(
                        new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                            .setPartitionIndex(0)
                            .setCommittedOffset(5))));
    w.send(w.frame(commit, (short) 3, id[0]));
    return w.read(new TxnOffsetCommitResponseData(), (short) 3, id[0]++)
        .topics()
        .get(0)
        .partitions()
        .get(0)
        .errorCode();
  }

  @Test
  void consumerGroupApisRoundTripAtEveryVersionAndGuardOffsetsByMemberEpoch() throws Exception {
    try (Wire w = new Wire()) {
      int[] id = {1};
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("t")
                  .setNumPartitions(2)
                  .setReplicationFactor((short) 1));
      w.send(w.frame(create, (short) 7, id[0]));
      w.read(new CreateTopicsResponseData(), (short) 7, id[0]++);
      String[] members = new String[2];
      int[] epochs = new int[2];
      for (short v = 0; v <= 1; v++) {
        ConsumerGroupHeartbeatRequestData join =
            new ConsumerGroupHeartbeatRequestData()
                .setGroupId("cg" + v)
                .setMemberId(v == 0 ? "" : "client-made-" + v)
                .setMemberEpoch(0)
                .setRebalanceTimeoutMs(30_000)
                .setSubscribedTopicNames(List.of("t"))
                .setTopicPartitions(List.of());
        w.send(w.frame(join, v, id[0]));
        ConsumerGroupHeartbeatResponseData r =
            w.read(new ConsumerGroupHeartbeatResponseData(), v, id[0]++);
        assertThat(r.errorCode()).as("heartbeat v%d", v).isZero();
        assertThat(r.memberId()).as("v0: the coordinator names the member").isNotEmpty();
        assertThat(r.assignment().topicPartitions().get(0).topicId())
            .isEqualTo(KafkaTopics.topicId("t"));
        assertThat(r.assignment().topicPartitions().get(0).partitions()).containsExactly(0, 1);
        members[v] = r.memberId();
        epochs[v] = r.memberEpoch();
      }
      for (short v = 0; v <= 1; v++) {
        w.send(
            w.frame(
                new ConsumerGroupDescribeRequestData().setGroupIds(List.of("cg1", "nothing")),
                v,
                id[0]));
        ConsumerGroupDescribeResponseData d =
            w.read(new ConsumerGroupDescribeResponseData(), v, id[0]++);
        assertThat(d.groups().get(0).errorCode()).isZero();
        assertThat(d.groups().get(0).groupState()).isEqualTo("Stable");
        assertThat(
                d.groups()
                    .get(0)
                    .members()
                    .get(0)
                    .assignment()
                    .topicPartitions()
                    .get(0)
                    .topicName())
            .isEqualTo("t");
        assertThat(d.groups().get(1).errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
      }
      // OffsetCommit and OffsetFetch 9 carry the member epoch.
      for (int epoch : new int[] {epochs[1] + 1, epochs[1]}) {
        OffsetCommitRequestData commit =
            new OffsetCommitRequestData()
                .setGroupId("cg1")
                .setMemberId(members[1])
                .setGenerationIdOrMemberEpoch(epoch);
        commit
            .topics()
            .add(
                new OffsetCommitRequestData.OffsetCommitRequestTopic()
                    .setName("t")
                    .setPartitions(
                        List.of(
                            new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                .setPartitionIndex(0)
                                .setCommittedOffset(0))));
        w.send(w.frame(commit, (short) 9, id[0]));
        short error =
            w.read(new OffsetCommitResponseData(), (short) 9, id[0]++)
                .topics()
                .get(0)
                .partitions()
                .get(0)
                .errorCode();
        assertThat(error)
            .isEqualTo(epoch == epochs[1] ? Errors.NONE.code() : Errors.STALE_MEMBER_EPOCH.code());
        OffsetFetchRequestData fetch = new OffsetFetchRequestData();
        fetch
            .groups()
            .add(
                new OffsetFetchRequestData.OffsetFetchRequestGroup()
                    .setGroupId("cg1")
                    .setMemberId(members[1])
                    .setMemberEpoch(epoch)
                    .setTopics(null));
        w.send(w.frame(fetch, (short) 9, id[0]));
        OffsetFetchResponseData.OffsetFetchResponseGroup g =
            w.read(new OffsetFetchResponseData(), (short) 9, id[0]++).groups().get(0);
        if (epoch == epochs[1]) {
          assertThat(g.errorCode()).isZero();
          assertThat(g.topics().get(0).partitions().get(0).committedOffset()).isZero();
        } else {
          assertThat(g.errorCode()).isEqualTo(Errors.STALE_MEMBER_EPOCH.code());
        }
      }
      // ListGroups tells the type; DescribeGroups leaves a consumer group to ConsumerGroupDescribe.
      w.send(
          w.frame(
              new ListGroupsRequestData().setTypesFilter(List.of("classic")), (short) 5, id[0]));
      assertThat(w.read(new ListGroupsResponseData(), (short) 5, id[0]++).groups())
          .extracting(ListGroupsResponseData.ListedGroup::groupId)
          .doesNotContain("cg1");
      w.send(w.frame(new ListGroupsRequestData(), (short) 5, id[0]));
      assertThat(w.read(new ListGroupsResponseData(), (short) 5, id[0]++).groups())
          .filteredOn(g -> g.groupId().equals("cg1"))
          .singleElement()
          .satisfies(g -> assertThat(g.groupType()).isEqualTo("consumer"));
      w.send(w.frame(new DescribeGroupsRequestData().setGroups(List.of("cg1")), (short) 5, id[0]));
      assertThat(
              w.read(new DescribeGroupsResponseData(), (short) 5, id[0]++)
                  .groups()
                  .get(0)
                  .errorCode())
          .isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
      w.send(
          w.frame(
              new ConsumerGroupHeartbeatRequestData()
                  .setGroupId("cg1")
                  .setMemberId(members[1])
                  .setMemberEpoch(-1),
              (short) 1,
              id[0]));
      assertThat(w.read(new ConsumerGroupHeartbeatResponseData(), (short) 1, id[0]++).memberEpoch())
          .isEqualTo(-1);
    }
  }

  private OffsetFetchResponseData.OffsetFetchResponsePartition stableOffset(Wire w, int[] id)
      throws IOException {
    OffsetFetchRequestData req =
        new OffsetFetchRequestData().setGroupId("g").setRequireStable(true);
    req.topics()
        .add(
            new OffsetFetchRequestData.OffsetFetchRequestTopic()
                .setName("t")
                .setPartitionIndexes(List.of(0)));
    w.send(w.frame(req, (short) 7, id[0]));
    return w.read(new OffsetFetchResponseData(), (short) 7, id[0]++)
        .topics()
        .get(0)
        .partitions()
        .get(0);
  }

  @Test
  void transactionalOffsetsAreUnstableUntilTheTransactionEnds() throws Exception {
    try (Wire w = new Wire()) {
      int[] id = {1};
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("t")
                  .setNumPartitions(1)
                  .setReplicationFactor((short) 1));
      w.send(w.frame(create, (short) 7, id[0]));
      w.read(new CreateTopicsResponseData(), (short) 7, id[0]++);
      Pid p = initTransactional(w, "o", (short) 3, id);
      w.send(
          w.frame(
              new AddOffsetsToTxnRequestData()
                  .setTransactionalId("o")
                  .setProducerId(p.id())
                  .setProducerEpoch(p.epoch())
                  .setGroupId("g"),
              (short) 3,
              id[0]));
      assertThat(w.read(new AddOffsetsToTxnResponseData(), (short) 3, id[0]++).errorCode())
          .isZero();
      // KIP-447: a member's offsets are checked against the group when they are sent.
      assertThat(txnOffset(w, "o", p, 4, "nobody", id)).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
      assertThat(txnOffset(w, "o", p, -1, "", id)).isZero();
      assertThat(txnOffset(w, "o", p, -1, "", id)).as("the same partition again").isZero();
      assertThat(stableOffset(w, id).errorCode()).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT.code());
      for (boolean retry : new boolean[] {false, true}) {
        w.send(
            w.frame(
                new EndTxnRequestData()
                    .setTransactionalId("o")
                    .setProducerId(p.id())
                    .setProducerEpoch(p.epoch())
                    .setCommitted(true),
                (short) 3,
                id[0]));
        assertThat(w.read(new EndTxnResponseData(), (short) 3, id[0]++).errorCode())
            .as(retry ? "a retried commit is answered as the first" : "commit")
            .isZero();
      }
      OffsetFetchResponseData.OffsetFetchResponsePartition after = stableOffset(w, id);
      assertThat(after.errorCode()).isZero();
      assertThat(after.committedOffset()).isEqualTo(5);
    }
  }

  @Test
  void describeTopicPartitionsPagesThroughPartitionsWithItsCursor() throws Exception {
    try (Wire w = new Wire()) {
      int[] id = {1};
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("d")
                  .setNumPartitions(3)
                  .setReplicationFactor((short) 1));
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("e")
                  .setNumPartitions(1)
                  .setReplicationFactor((short) 1));
      w.send(w.frame(create, (short) 7, id[0]));
      w.read(new CreateTopicsResponseData(), (short) 7, id[0]++);
      DescribeTopicPartitionsRequestData req =
          new DescribeTopicPartitionsRequestData().setResponsePartitionLimit(2);
      for (String t : List.of("e", "d", "nope")) {
        req.topics().add(new DescribeTopicPartitionsRequestData.TopicRequest().setName(t));
      }
      w.send(w.frame(req, (short) 0, id[0]));
      DescribeTopicPartitionsResponseData first =
          w.read(new DescribeTopicPartitionsResponseData(), (short) 0, id[0]++);
      assertThat(first.topics()).hasSize(1);
      assertThat(first.topics().find("d").topicId()).isEqualTo(KafkaTopics.topicId("d"));
      assertThat(first.topics().find("d").partitions())
          .extracting(
              DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponsePartition
                  ::partitionIndex)
          .containsExactly(0, 1);
      assertThat(first.nextCursor().topicName()).isEqualTo("d");
      assertThat(first.nextCursor().partitionIndex()).isEqualTo(2);

      req.setCursor(
          new DescribeTopicPartitionsRequestData.Cursor().setTopicName("d").setPartitionIndex(2));
      w.send(w.frame(req, (short) 0, id[0]));
      DescribeTopicPartitionsResponseData second =
          w.read(new DescribeTopicPartitionsResponseData(), (short) 0, id[0]++);
      assertThat(second.topics().find("d").partitions())
          .extracting(
              DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponsePartition
                  ::partitionIndex)
          .containsExactly(2);
      assertThat(second.topics().find("e").partitions()).hasSize(1);
      assertThat(second.topics().find("e").partitions().get(0).leaderId()).isZero();
      assertThat(second.topics().find("nope").errorCode())
          .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
      assertThat(second.nextCursor()).isNull();
    }
  }

  @Test
  void anApiVersionsVersionNotServedIsAnsweredInTheV0Body() throws Exception {
    try (Wire w = new Wire()) {
      w.send(w.frame(new ApiVersionsRequestData(), (short) 0, 7)); // header only matters
      w.read(new ApiVersionsResponseData(), (short) 0, 7);
      // The same request marked as version 99.
      byte[] f = w.frame(new ApiVersionsRequestData(), (short) 0, 8);
      ByteBuffer.wrap(f).putShort(6, (short) 99);
      w.send(f);
      ApiVersionsResponseData r = w.read(new ApiVersionsResponseData(), (short) 0, 8);
      assertThat(r.errorCode()).isEqualTo(Errors.UNSUPPORTED_VERSION.code());
      assertThat(r.apiKeys().find(ApiKeys.API_VERSIONS.id).maxVersion()).isEqualTo((short) 5);
      // The connection stays open: the client retries at a version we serve.
      w.send(w.frame(new ApiVersionsRequestData(), (short) 2, 9));
      assertThat(w.read(new ApiVersionsResponseData(), (short) 2, 9).errorCode()).isZero();
    }
  }

  @Test
  void answersKeepRequestOrderWhenRequestsArePipelined() throws Exception {
    try (Wire w = new Wire()) {
      // A slow answer (a topic created off the loop) between two quick ones.
      CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
      create
          .topics()
          .add(
              new CreateTopicsRequestData.CreatableTopic()
                  .setName("piped")
                  .setNumPartitions(1)
                  .setReplicationFactor((short) 1));
      ByteBuffer all = ByteBuffer.allocate(4096);
      all.put(w.frame(new ApiVersionsRequestData(), (short) 2, 100));
      all.put(w.frame(create, (short) 7, 101));
      all.put(w.frame(new ApiVersionsRequestData(), (short) 2, 102));
      w.send(java.util.Arrays.copyOf(all.array(), all.position()));
      w.read(new ApiVersionsResponseData(), (short) 2, 100);
      w.read(new CreateTopicsResponseData(), (short) 7, 101);
      w.read(new ApiVersionsResponseData(), (short) 2, 102);
    }
  }

  @Test
  void anUnknownApiKeyClosesTheConnectionAfterEarlierAnswers() throws Exception {
    try (Wire w = new Wire()) {
      byte[] ok = w.frame(new ApiVersionsRequestData(), (short) 2, 1);
      byte[] bad = w.frame(new ApiVersionsRequestData(), (short) 2, 2);
      ByteBuffer.wrap(bad).putShort(4, (short) 9_999);
      ByteBuffer both = ByteBuffer.allocate(ok.length + bad.length).put(ok).put(bad);
      w.send(both.array());
      w.read(new ApiVersionsResponseData(), (short) 2, 1);
      assertThat(w.closedByServer()).isTrue();
    }
  }

  @Test
  void aRequestLargerThanTheLimitIsRefusedBeforeItIsBuffered() throws Exception {
    try (Wire w = new Wire()) {
      // Declares 1 GiB (the limit here is 64 KiB) and sends only the size: closed at once.
      w.send(ByteBuffer.allocate(4).putInt(1 << 30).array());
      assertThat(w.closedByServer()).isTrue();
    }
    try (Wire w = new Wire()) {
      w.send(ByteBuffer.allocate(4).putInt(-5).array());
      assertThat(w.closedByServer()).isTrue();
    }
  }

  @Test
  void aBodyThatDoesNotParseClosesTheConnection() throws Exception {
    try (Wire w = new Wire()) {
      // A Metadata v12 header followed by a truncated body.
      byte[] f = w.frame(new MetadataRequestData().setTopics(null), (short) 12, 1);
      byte[] cut = java.util.Arrays.copyOf(f, f.length - 2);
      ByteBuffer.wrap(cut).putInt(0, cut.length - 4);
      w.send(cut);
      assertThat(w.closedByServer()).isTrue();
    } catch (EOFException e) {
      throw new AssertionError("no answer expected, only a close", e);
    }
  }
}

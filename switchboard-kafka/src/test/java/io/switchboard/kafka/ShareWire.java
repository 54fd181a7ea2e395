package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ShareAcknowledgeRequestData;
import org.apache.kafka.common.message.ShareAcknowledgeResponseData;
import org.apache.kafka.common.message.ShareFetchRequestData;
import org.apache.kafka.common.message.ShareFetchResponseData;
import org.apache.kafka.common.message.ShareGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ShareGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

/**
 * A blocking Kafka connection for share-group requests, written and read with kafka-clients' own
 * message classes: what a test needs to act as a share member the real client would not be (one
 * that vanishes holding records, one that sends what it should not).
 */
final class ShareWire implements AutoCloseable {
  final Socket socket;
  final DataOutputStream out;
  final DataInputStream in;
  int correlation = 1;

  ShareWire(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(20_000);
    out = new DataOutputStream(socket.getOutputStream());
    in = new DataInputStream(socket.getInputStream());
  }

  /** Sends {@code body} at {@code version} and reads the answer into {@code into}. */
  <T extends ApiMessage> T call(ApiMessage body, short version, T into) throws IOException {
    int id = correlation++;
    ApiMessageType type = ApiMessageType.fromApiKey(body.apiKey());
    short headerVersion = type.requestHeaderVersion(version);
    RequestHeaderData header =
        new RequestHeaderData()
            .setRequestApiKey(body.apiKey())
            .setRequestApiVersion(version)
            .setCorrelationId(id)
            .setClientId("share-wire");
    ObjectSerializationCache cache = new ObjectSerializationCache();
    int size = header.size(cache, headerVersion) + body.size(cache, version);
    ByteBuffer b = ByteBuffer.allocate(4 + size);
    b.putInt(size);
    ByteBufferAccessor w = new ByteBufferAccessor(b);
    header.write(w, cache, headerVersion);
    body.write(w, cache, version);
    out.write(b.array());
    out.flush();
    byte[] answer = new byte[in.readInt()];
    in.readFully(answer);
    ByteBuffer a = ByteBuffer.wrap(answer);
    assertThat(a.getInt()).as("correlation id").isEqualTo(id);
    if (type.responseHeaderVersion(version) >= 1) {
      assertThat(a.get()).as("no tagged fields in the header").isZero();
    }
    into.read(new ByteBufferAccessor(a), version);
    assertThat(a.remaining()).as("bytes after the body").isZero();
    return into;
  }

  ShareGroupHeartbeatResponseData heartbeat(
      String group, String member, int epoch, List<String> topics) throws IOException {
    return call(
        new ShareGroupHeartbeatRequestData()
            .setGroupId(group)
            .setMemberId(member)
            .setMemberEpoch(epoch)
            .setSubscribedTopicNames(topics),
        (short) 1,
        new ShareGroupHeartbeatResponseData());
  }

  /** A share fetch of partitions {@code 0..partitions-1} of {@code topic}, without acks. */
  ShareFetchResponseData fetch(
      String group, String member, int epoch, Uuid topic, int partitions, short version)
      throws IOException {
    ShareFetchRequestData.FetchTopic t = new ShareFetchRequestData.FetchTopic().setTopicId(topic);
    for (int p = 0; p < partitions; p++) {
      t.partitions().add(new ShareFetchRequestData.FetchPartition().setPartitionIndex(p));
    }
    ShareFetchRequestData req =
        new ShareFetchRequestData()
            .setGroupId(group)
            .setMemberId(member)
            .setShareSessionEpoch(epoch)
            .setMaxWaitMs(1_000)
            .setMinBytes(1)
            .setMaxBytes(1 << 20)
            .setMaxRecords(100)
            .setBatchSize(100);
    req.topics().add(t);
    return call(req, version, new ShareFetchResponseData());
  }

  ShareAcknowledgeResponseData acknowledge(
      String group,
      String member,
      int epoch,
      Uuid topic,
      int partition,
      long first,
      long last,
      List<Byte> types,
      short version)
      throws IOException {
    ShareAcknowledgeRequestData req =
        new ShareAcknowledgeRequestData()
            .setGroupId(group)
            .setMemberId(member)
            .setShareSessionEpoch(epoch);
    ShareAcknowledgeRequestData.AcknowledgeTopic t =
        new ShareAcknowledgeRequestData.AcknowledgeTopic().setTopicId(topic);
    t.partitions()
        .add(
            new ShareAcknowledgeRequestData.AcknowledgePartition()
                .setPartitionIndex(partition)
                .setAcknowledgementBatches(
                    List.of(
                        new ShareAcknowledgeRequestData.AcknowledgementBatch()
                            .setFirstOffset(first)
                            .setLastOffset(last)
                            .setAcknowledgeTypes(types))));
    req.topics().add(t);
    return call(req, version, new ShareAcknowledgeResponseData());
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}

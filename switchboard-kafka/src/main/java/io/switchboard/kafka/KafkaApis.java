package io.switchboard.kafka;

import io.netty.channel.ChannelHandlerContext;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PartitionBounds;
import io.switchboard.broker.PartitionRead;
import io.switchboard.broker.RawRead;
import io.switchboard.broker.group.CommittedOffset;
import io.switchboard.broker.group.GroupInfo;
import io.switchboard.broker.group.Groups;
import io.switchboard.broker.group.OffsetCommit;
import io.switchboard.broker.group.StreamPartition;
import io.switchboard.broker.stream.Retention;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.broker.stream.StreamInfo;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.StreamReads;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.AddOffsetsToTxnRequestData;
import org.apache.kafka.common.message.AddOffsetsToTxnResponseData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.message.AlterShareGroupOffsetsRequestData;
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
import org.apache.kafka.common.message.DeleteShareGroupOffsetsRequestData;
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
import org.apache.kafka.common.message.DescribeShareGroupOffsetsRequestData;
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
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
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
import org.apache.kafka.common.message.SaslAuthenticateRequestData;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.message.SaslHandshakeRequestData;
import org.apache.kafka.common.message.SaslHandshakeResponseData;
import org.apache.kafka.common.message.ShareAcknowledgeRequestData;
import org.apache.kafka.common.message.ShareFetchRequestData;
import org.apache.kafka.common.message.ShareGroupDescribeRequestData;
import org.apache.kafka.common.message.ShareGroupHeartbeatRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * The Kafka APIs Switchboard serves, each translated into broker calls (docs/kafka.md). Called on a
 * connection's event loop; calls that may block (admin, timestamp look-ups) go through {@link
 * Broker#offload}, reads through the broker's tail reader, and every answer completes on the
 * connection's loop. Errors are answered with Kafka's error codes, never thrown. Thread-safe.
 */
final class KafkaApis {
  /** The one node: leader of every partition and coordinator of every group. */
  static final int NODE_ID = 0;

  /** Leader epoch of every partition: one node, never re-elected. */
  static final int LEADER_EPOCH = 0;

  /** Versions served, per API: the floors of kafka-clients 4.x (KIP-896) up to what 4.4 sends. */
  static final Map<ApiKeys, short[]> VERSIONS = new EnumMap<>(ApiKeys.class);

  static {
    VERSIONS.put(ApiKeys.API_VERSIONS, new short[] {0, 5});
    VERSIONS.put(ApiKeys.METADATA, new short[] {0, 13});
    VERSIONS.put(ApiKeys.FETCH, new short[] {4, 18});
    VERSIONS.put(ApiKeys.LIST_OFFSETS, new short[] {1, 11});
    VERSIONS.put(ApiKeys.CREATE_TOPICS, new short[] {2, 7});
    VERSIONS.put(ApiKeys.DELETE_TOPICS, new short[] {1, 6});
    VERSIONS.put(ApiKeys.CREATE_PARTITIONS, new short[] {0, 3});
    VERSIONS.put(ApiKeys.DESCRIBE_CONFIGS, new short[] {1, 4});
    VERSIONS.put(ApiKeys.DESCRIBE_CLUSTER, new short[] {0, 2});
    VERSIONS.put(ApiKeys.DESCRIBE_TOPIC_PARTITIONS, new short[] {0, 0});
    // Advertised from 0 though 0-2 are refused: librdkafka 2.x turns compression off otherwise
    // (KAFKA-18659); the generated codec reads 3 and up, and a lower version closes the connection.
    VERSIONS.put(ApiKeys.PRODUCE, new short[] {0, 13});
    VERSIONS.put(ApiKeys.INIT_PRODUCER_ID, new short[] {0, 5});
    // Transactions as kafka-clients does them without transaction.version 2 (not advertised):
    // the client adds partitions itself (versions 0-3 are the client's; 4 and up are brokers').
    VERSIONS.put(ApiKeys.ADD_PARTITIONS_TO_TXN, new short[] {0, 3});
    VERSIONS.put(ApiKeys.ADD_OFFSETS_TO_TXN, new short[] {0, 4});
    VERSIONS.put(ApiKeys.TXN_OFFSET_COMMIT, new short[] {0, 5});
    VERSIONS.put(ApiKeys.END_TXN, new short[] {0, 4});
    VERSIONS.put(ApiKeys.DESCRIBE_TRANSACTIONS, new short[] {0, 0});
    VERSIONS.put(ApiKeys.LIST_TRANSACTIONS, new short[] {0, 1});
    VERSIONS.put(ApiKeys.DESCRIBE_PRODUCERS, new short[] {0, 0});
    VERSIONS.put(ApiKeys.FIND_COORDINATOR, new short[] {0, 6});
    VERSIONS.put(ApiKeys.JOIN_GROUP, new short[] {0, 9});
    VERSIONS.put(ApiKeys.SYNC_GROUP, new short[] {0, 5});
    VERSIONS.put(ApiKeys.HEARTBEAT, new short[] {0, 4});
    VERSIONS.put(ApiKeys.LEAVE_GROUP, new short[] {0, 5});
    VERSIONS.put(ApiKeys.OFFSET_COMMIT, new short[] {2, 9});
    VERSIONS.put(ApiKeys.OFFSET_FETCH, new short[] {1, 9});
    VERSIONS.put(ApiKeys.DESCRIBE_GROUPS, new short[] {0, 6});
    VERSIONS.put(ApiKeys.LIST_GROUPS, new short[] {0, 5});
    VERSIONS.put(ApiKeys.DELETE_GROUPS, new short[] {0, 3});
    // KIP-848 (group.protocol=consumer): the consumer's versions; 1 has client-made member ids.
    VERSIONS.put(ApiKeys.CONSUMER_GROUP_HEARTBEAT, new short[] {0, 1});
    VERSIONS.put(ApiKeys.CONSUMER_GROUP_DESCRIBE, new short[] {0, 1});
    // Handshake v0 means raw SASL tokens on the wire (before KIP-152): clients of the last years
    // send v1 and SaslAuthenticate.
    VERSIONS.put(ApiKeys.SASL_HANDSHAKE, new short[] {1, 1});
    VERSIONS.put(ApiKeys.SASL_AUTHENTICATE, new short[] {0, 2});
    // Share groups (KIP-932, KafkaShareGroups): the stable versions; 0 was 4.0's early access.
    VERSIONS.put(ApiKeys.SHARE_GROUP_HEARTBEAT, new short[] {1, 1});
    VERSIONS.put(ApiKeys.SHARE_GROUP_DESCRIBE, new short[] {1, 1});
    VERSIONS.put(ApiKeys.SHARE_FETCH, new short[] {1, 2});
    VERSIONS.put(ApiKeys.SHARE_ACKNOWLEDGE, new short[] {1, 2});
    VERSIONS.put(ApiKeys.DESCRIBE_SHARE_GROUP_OFFSETS, new short[] {0, 1});
    VERSIONS.put(ApiKeys.DELETE_SHARE_GROUP_OFFSETS, new short[] {0, 0});
    VERSIONS.put(ApiKeys.ALTER_SHARE_GROUP_OFFSETS, new short[] {0, 0});
    // Share groups' configurations only (resource type group); other resources are refused.
    VERSIONS.put(ApiKeys.INCREMENTAL_ALTER_CONFIGS, new short[] {0, 1});
  }

  private static final String CLUSTER_ID =
      new Uuid(
              UUID.nameUUIDFromBytes("switchboard".getBytes(StandardCharsets.UTF_8))
                  .getMostSignificantBits(),
              UUID.nameUUIDFromBytes("switchboard".getBytes(StandardCharsets.UTF_8))
                  .getLeastSignificantBits())
          .toString();

  /** Kafka's "latest" and friends in ListOffsets. */
  static final long LATEST = -1;

  static final long EARLIEST = -2;
  static final long MAX_TIMESTAMP = -3;
  static final long EARLIEST_LOCAL = -4;
  static final long LATEST_TIERED = -5;
  static final long EARLIEST_PENDING_UPLOAD = -6;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KafkaApis.class);

  private final Broker broker;

  /** The {@code switchboard.protocol} attribute of this front end's spans. */
  static final String PROTOCOL = "kafka";

  private final io.switchboard.spi.trace.Tracing tracing;
  private final KafkaSettings settings;
  private final Map<Uuid, String> topicsById = new ConcurrentHashMap<>();
  private final KafkaGroups groups;
  private final KafkaTransactions txns;
  private volatile KafkaShareGroups shares;

  KafkaApis(Broker broker, KafkaSettings settings, KafkaGroups groups, KafkaTransactions txns) {
    this(broker, settings, groups, txns, io.switchboard.spi.trace.Tracing.OFF);
  }

  /** With {@code publish} spans of produced records ({@code Tracing.OFF}: none). */
  KafkaApis(
      Broker broker,
      KafkaSettings settings,
      KafkaGroups groups,
      KafkaTransactions txns,
      io.switchboard.spi.trace.Tracing tracing) {
    this.tracing = tracing;
    this.broker = broker;
    this.settings = settings;
    this.groups = groups;
    this.txns = txns;
    this.shares =
        new KafkaShareGroups(
            broker,
            KafkaShareGroups.Settings.DEFAULTS,
            groups.executor(),
            System::currentTimeMillis);
  }

  /** The share groups the front end keeps (its settings, its timer). */
  void shareGroups(KafkaShareGroups shares) {
    this.shares = shares;
  }

  /** The coordinator's generations are the broker's: numbered and recorded there. */
  static KafkaGroups.Generations generationsOf(Broker broker) {
    return (group, members) -> broker.groups().newGeneration(group, members);
  }

  /** A topic's partitions now, 0 when it is not a stream (for the consumer-protocol assignor). */
  static java.util.function.ToIntFunction<String> partitionsOf(Broker broker) {
    return topic -> {
      if (!KafkaTopics.isStreamName(topic)) {
        return 0;
      }
      try {
        return broker.streamConfig(topic).partitions();
      } catch (SwitchboardException e) {
        return 0;
      }
    };
  }

  private static KafkaGroups.Client client(ChannelHandlerContext ctx, RequestHeaderData header) {
    return new KafkaGroups.Client(
        header.clientId() == null ? "" : header.clientId(),
        String.valueOf(ctx.channel().remoteAddress()));
  }

  static boolean supports(ApiKeys key, short version) {
    short[] range = VERSIONS.get(key);
    if (key == ApiKeys.PRODUCE && version < 3) {
      return false; // advertised, not served (see VERSIONS)
    }
    return range != null && version >= range[0] && version <= range[1];
  }

  /** Answers one decoded request; the future completes on the connection's loop. */
  CompletableFuture<ApiMessage> handle(
      ChannelHandlerContext ctx,
      KafkaSession session,
      RequestHeaderData header,
      ApiMessage request,
      short version) {
    Executor loop = ctx.executor();
    Access access = session.access;
    return switch (ApiKeys.forId(request.apiKey())) {
      case SASL_HANDSHAKE ->
          CompletableFuture.completedFuture(
              saslHandshake(session, (SaslHandshakeRequestData) request));
      case SASL_AUTHENTICATE ->
          saslAuthenticate(ctx, session, (SaslAuthenticateRequestData) request);
      case API_VERSIONS -> CompletableFuture.completedFuture(apiVersions());
      case METADATA -> metadata(ctx, access, (MetadataRequestData) request, version);
      case DESCRIBE_TOPIC_PARTITIONS ->
          CompletableFuture.completedFuture(
              describeTopicPartitions(access, (DescribeTopicPartitionsRequestData) request));
      case CREATE_TOPICS -> createTopics(access, (CreateTopicsRequestData) request, version, loop);
      case DELETE_TOPICS -> deleteTopics(access, (DeleteTopicsRequestData) request, version, loop);
      case CREATE_PARTITIONS ->
          createPartitions(access, (CreatePartitionsRequestData) request, loop);
      case LIST_OFFSETS -> listOffsets(access, (ListOffsetsRequestData) request, version, loop);
      case FETCH -> fetch(access, (FetchRequestData) request, version, loop);
      case DESCRIBE_CONFIGS ->
          CompletableFuture.completedFuture(
              describeConfigs(access, (DescribeConfigsRequestData) request));
      case DESCRIBE_CLUSTER ->
          CompletableFuture.completedFuture(
              describeCluster(ctx, (DescribeClusterRequestData) request));
      case PRODUCE -> produce(access, (ProduceRequestData) request, version);
      case INIT_PRODUCER_ID -> initProducerId((InitProducerIdRequestData) request);
      case ADD_PARTITIONS_TO_TXN ->
          addPartitionsToTxn(access, (AddPartitionsToTxnRequestData) request);
      case ADD_OFFSETS_TO_TXN -> addOffsetsToTxn(access, (AddOffsetsToTxnRequestData) request);
      case TXN_OFFSET_COMMIT -> txnOffsetCommit(access, (TxnOffsetCommitRequestData) request);
      case END_TXN -> endTxn((EndTxnRequestData) request);
      case DESCRIBE_TRANSACTIONS ->
          describeTransactions(access, (DescribeTransactionsRequestData) request);
      case LIST_TRANSACTIONS -> listTransactions(access, (ListTransactionsRequestData) request);
      case DESCRIBE_PRODUCERS -> describeProducers(access, (DescribeProducersRequestData) request);
      case FIND_COORDINATOR ->
          CompletableFuture.completedFuture(
              findCoordinator(ctx, (FindCoordinatorRequestData) request, version));
      case JOIN_GROUP -> {
        KafkaGroups.Client client = client(ctx, header);
        JoinGroupRequestData r = (JoinGroupRequestData) request;
        if (!session.joinGroup(r.groupId())) {
          // Joining counts as a consumer (docs/security.md "Quotas"); the error JoinGroup has
          // for a group that takes no more members.
          yield CompletableFuture.completedFuture(
              new JoinGroupResponseData()
                  .setMemberId(r.memberId())
                  .setErrorCode(Errors.GROUP_MAX_SIZE_REACHED.code()));
        }
        yield groups.on(() -> groups.join(r, version, client)).thenApply(a -> a);
      }
      case SYNC_GROUP -> {
        SyncGroupRequestData r = (SyncGroupRequestData) request;
        yield groups.on(() -> groups.sync(r)).thenApply(a -> a);
      }
      case HEARTBEAT -> {
        HeartbeatRequestData r = (HeartbeatRequestData) request;
        yield groups.on(() -> groups.heartbeat(r)).thenApply(a -> a);
      }
      case LEAVE_GROUP -> {
        LeaveGroupRequestData r = (LeaveGroupRequestData) request;
        session.leaveGroup(r.groupId());
        yield groups.on(() -> groups.leave(r, version)).thenApply(a -> a);
      }
      case OFFSET_COMMIT -> offsetCommit(access, (OffsetCommitRequestData) request);
      case OFFSET_FETCH -> // (requireStable: see committed)
          offsetFetchOfMembers(access, (OffsetFetchRequestData) request, version);
      case DESCRIBE_GROUPS -> describeGroups((DescribeGroupsRequestData) request, version);
      case LIST_GROUPS -> listGroups((ListGroupsRequestData) request);
      case DELETE_GROUPS -> deleteGroups(access, (DeleteGroupsRequestData) request);
      case CONSUMER_GROUP_HEARTBEAT ->
          consumerGroupHeartbeat(
              access, client(ctx, header), (ConsumerGroupHeartbeatRequestData) request, version);
      case CONSUMER_GROUP_DESCRIBE ->
          consumerGroupDescribe((ConsumerGroupDescribeRequestData) request);
      case SHARE_GROUP_HEARTBEAT ->
          shares.heartbeat(
              (ShareGroupHeartbeatRequestData) request,
              new KafkaShareGroups.Client(
                  header.clientId() == null ? "" : header.clientId(),
                  String.valueOf(ctx.channel().remoteAddress())),
              (topic, group) -> mayConsumeAs(access, topic, group) && mayReadWhole(access, topic),
              loop);
      case SHARE_GROUP_DESCRIBE -> shares.describe((ShareGroupDescribeRequestData) request);
      case SHARE_FETCH ->
          shares.fetch(
              (ShareFetchRequestData) request,
              version,
              (topic, group) -> mayConsumeAs(access, topic, group) && mayReadWhole(access, topic),
              loop);
      case INCREMENTAL_ALTER_CONFIGS ->
          shares.alterConfigs(
              (IncrementalAlterConfigsRequestData) request,
              access.allows(Permission.ADMIN, Permission.STREAMS_TARGET),
              loop);
      case DESCRIBE_SHARE_GROUP_OFFSETS ->
          shares.describeOffsets(
              (DescribeShareGroupOffsetsRequestData) request,
              (topic, group) -> mayConsumeAs(access, topic, group));
      case DELETE_SHARE_GROUP_OFFSETS ->
          shares.deleteOffsets(
              (DeleteShareGroupOffsetsRequestData) request,
              access.allows(Permission.ADMIN, Permission.STREAMS_TARGET),
              loop);
      case ALTER_SHARE_GROUP_OFFSETS ->
          shares.alterOffsets(
              (AlterShareGroupOffsetsRequestData) request,
              access.allows(Permission.ADMIN, Permission.STREAMS_TARGET),
              loop);
      case SHARE_ACKNOWLEDGE ->
          shares.acknowledge((ShareAcknowledgeRequestData) request, version, loop);
      default ->
          throw new IllegalStateException("no handler for " + ApiKeys.forId(request.apiKey()));
    };
  }

  // ------------------------------------------------------------------ ApiVersions

  ApiVersionsResponseData apiVersions() {
    ApiVersionsResponseData.ApiVersionCollection keys =
        new ApiVersionsResponseData.ApiVersionCollection();
    VERSIONS.forEach(
        (k, r) ->
            keys.add(
                new ApiVersionsResponseData.ApiVersion()
                    .setApiKey(k.id)
                    .setMinVersion(r[0])
                    .setMaxVersion(r[1])));
    return new ApiVersionsResponseData()
        .setErrorCode(Errors.NONE.code())
        .setApiKeys(keys)
        .setFinalizedFeaturesEpoch(-1);
  }

  /** KIP-511: the answer to an ApiVersions version we do not serve, in the v0 body. */
  ApiVersionsResponseData unsupportedApiVersions() {
    ApiVersionsResponseData.ApiVersionCollection keys =
        new ApiVersionsResponseData.ApiVersionCollection();
    short[] r = VERSIONS.get(ApiKeys.API_VERSIONS);
    keys.add(
        new ApiVersionsResponseData.ApiVersion()
            .setApiKey(ApiKeys.API_VERSIONS.id)
            .setMinVersion(r[0])
            .setMaxVersion(r[1]));
    return new ApiVersionsResponseData()
        .setErrorCode(Errors.UNSUPPORTED_VERSION.code())
        .setApiKeys(keys);
  }

  // ------------------------------------------------------------------ SASL

  /** The mechanisms SaslHandshake offers (Kafka's names). */
  static final List<String> MECHANISMS =
      List.of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER");

  private ApiMessage saslHandshake(KafkaSession session, SaslHandshakeRequestData req) {
    SaslHandshakeResponseData out = new SaslHandshakeResponseData().setMechanisms(MECHANISMS);
    if (session.mechanism != null) {
      return out.setErrorCode(Errors.ILLEGAL_SASL_STATE.code());
    }
    if (!MECHANISMS.contains(req.mechanism())) {
      return out.setErrorCode(Errors.UNSUPPORTED_SASL_MECHANISM.code());
    }
    session.mechanism = req.mechanism();
    return out.setErrorCode(Errors.NONE.code());
  }

  private CompletableFuture<ApiMessage> saslAuthenticate(
      ChannelHandlerContext ctx, KafkaSession session, SaslAuthenticateRequestData req) {
    SaslAuthenticateResponseData out =
        new SaslAuthenticateResponseData().setAuthBytes(new byte[0]).setSessionLifetimeMs(0);
    if (session.mechanism == null || session.authenticated() && session.scram == null) {
      session.failed = true;
      return CompletableFuture.completedFuture(
          out.setErrorCode(Errors.ILLEGAL_SASL_STATE.code())
              .setErrorMessage("SaslAuthenticate without a SaslHandshake, or after success"));
    }
    java.net.InetAddress source =
        ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
    byte[] bytes = req.authBytes() == null ? new byte[0] : req.authBytes();
    io.switchboard.spi.security.Authenticator auth = session.security.authenticator();
    CompletableFuture<byte[]> answer;
    CompletableFuture<io.switchboard.spi.security.Principal> who;
    switch (session.mechanism) {
      case "PLAIN" -> {
        // RFC 4616: [authzid] NUL authcid NUL passwd
        String text = new String(bytes, StandardCharsets.UTF_8);
        String[] parts = text.split("\u0000", -1);
        if (parts.length != 3) {
          who =
              CompletableFuture.failedFuture(
                  badSasl("a PLAIN message is authzid NUL user NUL password"));
        } else {
          who = auth.password(parts[1], parts[2], source);
        }
        answer = who.thenApply(p -> new byte[0]);
      }
      case "OAUTHBEARER" -> {
        // RFC 7628: gs2-header, then kvpairs separated by 0x01; the token is auth=Bearer <token>.
        String text = new String(bytes, StandardCharsets.UTF_8);
        String token = null;
        for (String kv : text.split("\u0001")) {
          if (kv.startsWith("auth=Bearer ")) {
            token = kv.substring("auth=Bearer ".length()).trim();
          }
        }
        who =
            token == null
                ? CompletableFuture.failedFuture(
                    badSasl("no auth=Bearer in the OAUTHBEARER message"))
                : auth.bearer(token, source);
        answer = who.thenApply(p -> new byte[0]);
      }
      default -> {
        if (session.scram == null) {
          try {
            session.scram = auth.scram(session.mechanism, source);
          } catch (RuntimeException e) {
            session.failed = true;
            return CompletableFuture.completedFuture(
                out.setErrorCode(Errors.SASL_AUTHENTICATION_FAILED.code())
                    .setErrorMessage("Authentication failed: " + e.getMessage()));
          }
        }
        CompletableFuture<io.switchboard.spi.security.ScramExchange.Step> step =
            session.scram.next(bytes);
        who = step.thenApply(io.switchboard.spi.security.ScramExchange.Step::principal);
        answer = step.thenApply(io.switchboard.spi.security.ScramExchange.Step::serverMessage);
      }
    }
    return answer.handleAsync(
        (serverMessage, e) -> {
          if (e != null) {
            session.failed = true;
            LOG.info("kafka: SASL {} failed from {}", session.mechanism, source);
            return (ApiMessage)
                out.setErrorCode(Errors.SASL_AUTHENTICATION_FAILED.code())
                    .setErrorMessage(
                        "Authentication failed during authentication due to invalid credentials"
                            + " with SASL mechanism "
                            + session.mechanism);
          }
          io.switchboard.spi.security.Principal p = who.getNow(null);
          if (p != null) {
            io.switchboard.spi.security.Access a = session.security.access(p);
            try {
              a.openConnection(); // the principal's connection quota
            } catch (SwitchboardException over) {
              session.failed = true; // answered, then closed
              return (ApiMessage)
                  out.setErrorCode(Errors.SASL_AUTHENTICATION_FAILED.code())
                      .setErrorMessage(over.getMessage());
            }
            if (session.access != null) {
              session.access.closeConnection(); // anonymous until now (auth.required off)
              session.forgetGroups();
            }
            session.access = a;
            session.scram = null;
          }
          return (ApiMessage) out.setErrorCode(Errors.NONE.code()).setAuthBytes(serverMessage);
        },
        ctx.executor());
  }

  private static SwitchboardException badSasl(String why) {
    return SwitchboardException.of(ErrorCode.AUTHENTICATION_FAILED, why);
  }

  // ------------------------------------------------------------------ authorization

  /** Whether the connection may read a stream without a consumer (fetch, offsets, metadata). */
  private static boolean mayRead(Access access, String stream) {
    return access.allows(
        Permission.CONSUME, Permission.consumerTarget(stream, Permission.READ_TOKEN));
  }

  /**
   * Whether every subject the stream can hold may be read: a fetch serves record batches byte for
   * byte, so it cannot skip the messages of a subject the principal may not subscribe to ({@link
   * StreamReads}). An unknown stream passes (the read reports it).
   */
  private boolean mayReadWhole(Access access, String stream) {
    try {
      return StreamReads.stream(access, broker, stream) == Decision.ALLOW;
    } catch (SwitchboardException e) {
      return true;
    }
  }

  private static boolean mayAdmin(Access access, String stream) {
    return access.allows(Permission.ADMIN, stream);
  }

  /** A topic Metadata shows: one the connection may read, manage or produce to. */
  private boolean visible(Access access, StreamInfo s) {
    return visible(access, s.config());
  }

  private boolean visible(Access access, StreamConfig c) {
    String name = c.name();
    return mayRead(access, name)
        || mayAdmin(access, name)
        || access.allows(Permission.PUBLISH, KafkaRecords.subjectOf(c));
  }

  /** A group's commits and committed offsets on a stream are its consumer's: STREAM.GROUP. */
  private static boolean mayConsumeAs(Access access, String stream, String group) {
    return access.allows(Permission.CONSUME, Permission.consumerTarget(stream, group));
  }

  // ------------------------------------------------------------------ DescribeCluster

  private ApiMessage describeCluster(ChannelHandlerContext ctx, DescribeClusterRequestData req) {
    InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
    DescribeClusterResponseData out =
        new DescribeClusterResponseData()
            .setClusterId(CLUSTER_ID)
            .setControllerId(NODE_ID)
            .setEndpointType(req.endpointType());
    if (req.endpointType() != 1) {
      return out.setErrorCode(Errors.UNSUPPORTED_ENDPOINT_TYPE.code())
          .setErrorMessage("only brokers (endpoint type 1): there is no separate controller");
    }
    out.brokers()
        .add(
            new DescribeClusterResponseData.DescribeClusterBroker()
                .setBrokerId(NODE_ID)
                .setHost(advertisedHost(local))
                .setPort(local.getPort()));
    return out;
  }

  private String advertisedHost(InetSocketAddress local) {
    return settings.advertisedHost().isEmpty() ? local.getHostString() : settings.advertisedHost();
  }

  // ------------------------------------------------------------------ DescribeConfigs

  /** Kafka's config resource types and sources, and the config types we report. */
  static final byte TOPIC = 2;

  static final byte BROKER = 4;
  static final byte SOURCE_TOPIC = 1;
  static final byte SOURCE_STATIC_BROKER = 4;
  static final byte SOURCE_DEFAULT = 5;

  private ApiMessage describeConfigs(Access access, DescribeConfigsRequestData req) {
    DescribeConfigsResponseData out = new DescribeConfigsResponseData();
    for (DescribeConfigsRequestData.DescribeConfigsResource r : req.resources()) {
      DescribeConfigsResponseData.DescribeConfigsResult result =
          new DescribeConfigsResponseData.DescribeConfigsResult()
              .setResourceType(r.resourceType())
              .setResourceName(r.resourceName());
      out.results().add(result);
      List<TopicConfigs.Entry> entries;
      if (r.resourceType() == TOPIC) {
        Optional<StreamInfo> s =
            KafkaTopics.isStreamName(r.resourceName())
                ? streamInfo(r.resourceName())
                : Optional.empty();
        if (s.isEmpty()) {
          result
              .setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
              .setErrorMessage("no topic " + r.resourceName());
          continue;
        }
        if (!mayAdmin(access, r.resourceName()) && !mayRead(access, r.resourceName())) {
          result.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
          continue;
        }
        entries = TopicConfigs.entries(s.get().config());
      } else if (r.resourceType() == BROKER
          && (r.resourceName().isEmpty() || r.resourceName().equals(Integer.toString(NODE_ID)))) {
        if (!access.allows(Permission.ADMIN, Permission.STREAMS_TARGET)) {
          result.setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
          continue;
        }
        entries = brokerConfigs();
      } else {
        result
            .setErrorCode(Errors.INVALID_REQUEST.code())
            .setErrorMessage(
                "resource type " + r.resourceType() + " " + r.resourceName() + " is not described");
        continue;
      }
      for (TopicConfigs.Entry e : entries) {
        if (r.configurationKeys() != null && !r.configurationKeys().contains(e.name())) {
          continue;
        }
        result
            .configs()
            .add(
                new DescribeConfigsResponseData.DescribeConfigsResourceResult()
                    .setName(e.name())
                    .setValue(e.value())
                    .setReadOnly(e.readOnly())
                    .setConfigSource(e.source())
                    .setIsSensitive(false)
                    .setConfigType(e.type())
                    .setDocumentation(req.includeDocumentation() ? e.doc() : null));
      }
    }
    return out;
  }

  private List<TopicConfigs.Entry> brokerConfigs() {
    return List.of(
        new TopicConfigs.Entry(
            "broker.id", "0", true, SOURCE_STATIC_BROKER, TopicConfigs.INT, "This node's id."),
        new TopicConfigs.Entry(
            "num.partitions",
            Integer.toString(settings.defaultPartitions()),
            true,
            SOURCE_STATIC_BROKER,
            TopicConfigs.INT,
            "Partitions of an auto-created topic (kafka.default-partitions)."),
        new TopicConfigs.Entry(
            "auto.create.topics.enable",
            Boolean.toString(settings.autoCreateTopics()),
            true,
            SOURCE_STATIC_BROKER,
            TopicConfigs.BOOLEAN,
            "Whether Metadata creates unknown topics (kafka.auto-create-topics)."),
        new TopicConfigs.Entry(
            "socket.request.max.bytes",
            Integer.toString(settings.maxRequestBytes()),
            true,
            SOURCE_STATIC_BROKER,
            TopicConfigs.INT,
            "Largest request accepted (kafka.max-request-bytes)."),
        new TopicConfigs.Entry(
            "message.max.bytes",
            Integer.toString(StreamConfig.DEFAULT_MAX_MESSAGE_BYTES),
            true,
            SOURCE_DEFAULT,
            TopicConfigs.INT,
            "Largest message a topic accepts unless it says otherwise."),
        new TopicConfigs.Entry(
            "default.replication.factor",
            "1",
            true,
            SOURCE_DEFAULT,
            TopicConfigs.SHORT,
            "One node holds every partition."));
  }

  // ------------------------------------------------------------------ Produce

  /** One partition of a produce: its answer, filled by its own completion. */
  private record ProducePart(
      ProduceResponseData.PartitionProduceResponse answer, CompletableFuture<?> done) {}

  private CompletableFuture<ApiMessage> produce(
      Access access, ProduceRequestData req, short version) {
    ProduceResponseData out = new ProduceResponseData();
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (ProduceRequestData.TopicProduceData t : req.topicData()) {
      ProduceResponseData.TopicProduceResponse tr =
          new ProduceResponseData.TopicProduceResponse().setName(t.name()).setTopicId(t.topicId());
      out.responses().add(tr);
      String stream = version >= 13 ? streamOf(t.topicId()).orElse(null) : t.name();
      for (ProduceRequestData.PartitionProduceData p : t.partitionData()) {
        ProduceResponseData.PartitionProduceResponse pr =
            new ProduceResponseData.PartitionProduceResponse()
                .setIndex(p.index())
                .setBaseOffset(-1)
                .setLogAppendTimeMs(-1)
                .setLogStartOffset(-1);
        tr.partitionResponses().add(pr);
        if (stream == null) {
          pr.setErrorCode(Errors.UNKNOWN_TOPIC_ID.code());
          continue;
        }
        if (!KafkaTopics.isStreamName(stream)) {
          pr.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
          continue;
        }
        if (broker.streamOwner(stream).isPresent()) {
          // As Kafka's internal topics: the server writes them, clients only read.
          pr.setErrorCode(Errors.INVALID_TOPIC_EXCEPTION.code())
              .setErrorMessage(stream + " is an internal topic: the server writes it");
          continue;
        }
        if (req.transactionalId() != null) {
          pending.add(produceTransactional(access, req.transactionalId(), stream, p, pr));
          continue;
        }
        pending.add(producePartition(access, stream, p, pr));
      }
    }
    CompletableFuture<ApiMessage> all =
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
            .thenApply(v -> (ApiMessage) out);
    // acks=0: the producer wants no answer (the connection keeps no place for one).
    return req.acks() == 0 ? null : all;
  }

  /** Stores one partition's batches in order; completes when its answer is filled. */
  private CompletableFuture<Void> producePartition(
      Access access,
      String stream,
      ProduceRequestData.PartitionProduceData p,
      ProduceResponseData.PartitionProduceResponse pr) {
    List<KafkaRecords.Batch> batches;
    StreamConfig config;
    try {
      config = broker.streamConfig(stream);
      if (p.index() < 0 || p.index() >= config.partitions()) {
        throw SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, stream + "/" + p.index());
      }
      batches = KafkaRecords.decode((MemoryRecords) p.records(), config);
      java.util.Set<String> subjects = new java.util.HashSet<>();
      for (KafkaRecords.Batch b : batches) {
        b.messages().forEach(m -> subjects.add(m.subject()));
      }
      for (String subject : subjects) {
        if (!access.allows(Permission.PUBLISH, subject)) {
          pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())
              .setErrorMessage("not allowed to publish on " + subject);
          return CompletableFuture.completedFuture(null);
        }
      }
    } catch (SwitchboardException e) {
      pr.setErrorCode(KafkaErrors.of(e).code()).setErrorMessage(e.getMessage());
      return CompletableFuture.completedFuture(null);
    } catch (KafkaRecords.Invalid e) {
      pr.setErrorCode(e.error.code()).setErrorMessage(e.getMessage());
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Long> chain = CompletableFuture.completedFuture(-1L);
    for (KafkaRecords.Batch b : batches) {
      chain =
          chain.thenCompose(
              first ->
                  publishBatch(stream, p.index(), b)
                      .thenApply(ack -> first >= 0 ? first : ack.offset()));
    }
    return chain.handle(
        (first, e) -> {
          if (e != null) {
            SwitchboardException se = unwrap(e);
            pr.setErrorCode(KafkaErrors.of(e).code())
                .setErrorMessage(se == null ? String.valueOf(e) : se.getMessage());
          } else {
            pr.setBaseOffset(first);
          }
          try {
            pr.setLogStartOffset(broker.partitionBounds(stream, p.index()).logStartOffset());
          } catch (SwitchboardException ignored) {
            // deleted meanwhile: the answer says what happened to the records
          }
          return null;
        });
  }

  /**
   * Keeps one partition's records of a transactional produce in its transaction (docs/kafka.md,
   * "Transactions"): checked as a plain produce's are, stored when the transaction commits. The
   * answer has no offset (-1): the records have none until then.
   */
  private CompletableFuture<Void> produceTransactional(
      Access access,
      String transactionalId,
      String stream,
      ProduceRequestData.PartitionProduceData p,
      ProduceResponseData.PartitionProduceResponse pr) {
    MemoryRecords records = (MemoryRecords) p.records();
    long producerId;
    short epoch;
    int first;
    int last;
    try {
      StreamConfig config = broker.streamConfig(stream);
      if (p.index() < 0 || p.index() >= config.partitions()) {
        throw SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, stream + "/" + p.index());
      }
      List<KafkaRecords.Batch> batches = KafkaRecords.decode(records, config, true);
      java.util.Set<String> subjects = new java.util.HashSet<>();
      for (KafkaRecords.Batch b : batches) {
        b.messages().forEach(m -> subjects.add(m.subject()));
      }
      for (String subject : subjects) {
        if (!access.allows(Permission.PUBLISH, subject)) {
          pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())
              .setErrorMessage("not allowed to publish on " + subject);
          return CompletableFuture.completedFuture(null);
        }
      }
      KafkaRecords.Batch head = batches.get(0);
      producerId = head.producerId();
      epoch = head.producerEpoch();
      first = head.baseSequence();
      last = first - 1;
      for (KafkaRecords.Batch b : batches) {
        if (b.producerId() != producerId
            || b.producerEpoch() != epoch
            || b.baseSequence() != last + 1) {
          pr.setErrorCode(Errors.INVALID_RECORD.code())
              .setErrorMessage("the batches of one produce are one producer's, in sequence");
          return CompletableFuture.completedFuture(null);
        }
        last += b.messages().size();
      }
    } catch (SwitchboardException e) {
      pr.setErrorCode(KafkaErrors.of(e).code()).setErrorMessage(e.getMessage());
      return CompletableFuture.completedFuture(null);
    } catch (KafkaRecords.Invalid e) {
      pr.setErrorCode(e.error.code()).setErrorMessage(e.getMessage());
      return CompletableFuture.completedFuture(null);
    }
    // A copy: the request's buffer is the connection's, and freed once the request is answered.
    java.nio.ByteBuffer view = records.buffer();
    byte[] bytes = new byte[view.remaining()];
    view.get(bytes);
    long pid = producerId;
    short ep = epoch;
    int f = first;
    int l = last;
    return txns.on(
            () ->
                CompletableFuture.completedFuture(
                    txns.produce(
                        transactionalId,
                        new KafkaTxnLog.PartitionKey(stream, p.index()),
                        pid,
                        ep,
                        f,
                        l,
                        bytes)))
        .thenAccept(
            a -> {
              if (a.error() != Errors.NONE) {
                pr.setErrorCode(a.error().code()).setErrorMessage(a.message());
              }
            });
  }

  /**
   * One produced batch to the broker. With tracing on, each record gets its {@code publish} span (a
   * child of its {@code traceparent} header) and is stored with the span's context; the {@code
   * store} spans end with the batch's acknowledgement, each with its record's offset.
   */
  private CompletableFuture<io.switchboard.broker.stream.PublishAck> publishBatch(
      String stream, int partition, KafkaRecords.Batch b) {
    if (!tracing.enabled()) {
      return broker.publishBatch(
          stream, partition, b.messages(), b.producerId(), b.producerEpoch(), b.baseSequence());
    }
    List<io.switchboard.spi.trace.Tracing.Op> spans = new ArrayList<>(b.messages().size());
    List<io.switchboard.core.Message> traced = new ArrayList<>(b.messages().size());
    for (io.switchboard.core.Message m : b.messages()) {
      io.switchboard.spi.trace.Tracing.Op op = tracing.publish(PROTOCOL, m);
      spans.add(op);
      traced.add(op.message());
    }
    CompletableFuture<io.switchboard.broker.stream.PublishAck> ack =
        broker.publishBatch(
            stream, partition, traced, b.producerId(), b.producerEpoch(), b.baseSequence());
    for (int i = 0; i < spans.size(); i++) {
      int at = i;
      spans
          .get(i)
          .stored(
              ack.thenApply(
                  a ->
                      new io.switchboard.broker.stream.PublishAck(
                          a.stream(),
                          a.partition(),
                          a.offset() + at,
                          a.durability(),
                          a.duplicate(),
                          a.deliverAtMs())));
    }
    return ack;
  }

  private static SwitchboardException unwrap(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e instanceof SwitchboardException se ? se : null;
  }

  /** Producer ids for idempotent producers: random, so no two producers share one. */
  private final java.security.SecureRandom ids = new java.security.SecureRandom();

  private CompletableFuture<ApiMessage> initProducerId(InitProducerIdRequestData req) {
    InitProducerIdResponseData out = new InitProducerIdResponseData();
    if (req.transactionalId() != null) {
      if (req.transactionalId().isEmpty()) {
        return CompletableFuture.completedFuture(
            out.setErrorCode(Errors.INVALID_REQUEST.code())
                .setProducerId(-1)
                .setProducerEpoch((short) -1));
      }
      return txns.on(
              () ->
                  txns.initProducerId(
                      req.transactionalId(),
                      req.transactionTimeoutMs(),
                      req.producerId(),
                      req.producerEpoch()))
          .thenApply(
              i ->
                  out.setErrorCode(i.error().code())
                      .setProducerId(i.producerId())
                      .setProducerEpoch(i.epoch()));
    }
    return CompletableFuture.completedFuture(idempotentProducerId(req, out));
  }

  private ApiMessage idempotentProducerId(
      InitProducerIdRequestData req, InitProducerIdResponseData out) {
    if (req.producerId() >= 0
        && req.producerEpoch() >= 0
        && req.producerEpoch() < Short.MAX_VALUE - 1) {
      // KIP-360: a producer that lost its sequence state goes on under the next epoch.
      return out.setProducerId(req.producerId())
          .setProducerEpoch((short) (req.producerEpoch() + 1));
    }
    long id = ids.nextLong() & ((1L << 62) - 1);
    return out.setProducerId(id).setProducerEpoch((short) 0);
  }

  // ------------------------------------------------------------------ transactions

  private CompletableFuture<ApiMessage> addPartitionsToTxn(
      Access access, AddPartitionsToTxnRequestData req) {
    AddPartitionsToTxnResponseData out = new AddPartitionsToTxnResponseData();
    List<KafkaTxnLog.PartitionKey> add = new ArrayList<>();
    Map<String, List<Integer>> unknown = new java.util.LinkedHashMap<>();
    for (AddPartitionsToTxnRequestData.AddPartitionsToTxnTopic t : req.v3AndBelowTopics()) {
      Optional<StreamConfig> config =
          KafkaTopics.isStreamName(t.name()) && broker.streamOwner(t.name()).isEmpty()
              ? streamConfigOf(t.name())
              : Optional.empty();
      for (int p : t.partitions()) {
        if (config.isEmpty() || p < 0 || p >= config.get().partitions()) {
          unknown.computeIfAbsent(t.name(), k -> new ArrayList<>()).add(p);
        } else {
          add.add(new KafkaTxnLog.PartitionKey(t.name(), p));
        }
      }
    }
    // All or none, as Kafka: with an unknown partition the others are answered
    // OPERATION_NOT_ATTEMPTED.
    CompletableFuture<Errors> result =
        unknown.isEmpty()
            ? txns.on(
                () ->
                    CompletableFuture.completedFuture(
                        txns.addPartitions(
                            req.v3AndBelowTransactionalId(),
                            req.v3AndBelowProducerId(),
                            req.v3AndBelowProducerEpoch(),
                            add)))
            : CompletableFuture.completedFuture(Errors.OPERATION_NOT_ATTEMPTED);
    return result.thenApply(
        e -> {
          Map<String, AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult> byTopic =
              new java.util.LinkedHashMap<>();
          for (KafkaTxnLog.PartitionKey k : add) {
            partitionResult(out, byTopic, k.stream(), k.partition(), e);
          }
          unknown.forEach(
              (t, ps) ->
                  ps.forEach(
                      p -> partitionResult(out, byTopic, t, p, Errors.UNKNOWN_TOPIC_OR_PARTITION)));
          return (ApiMessage) out;
        });
  }

  private static void partitionResult(
      AddPartitionsToTxnResponseData out,
      Map<String, AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult> byTopic,
      String topic,
      int partition,
      Errors e) {
    AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult tr =
        byTopic.computeIfAbsent(
            topic,
            n -> {
              AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult r =
                  new AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult().setName(n);
              out.resultsByTopicV3AndBelow().add(r);
              return r;
            });
    tr.resultsByPartition()
        .add(
            new AddPartitionsToTxnResponseData.AddPartitionsToTxnPartitionResult()
                .setPartitionIndex(partition)
                .setPartitionErrorCode(e.code()));
  }

  private Optional<StreamConfig> streamConfigOf(String stream) {
    try {
      return Optional.of(broker.streamConfig(stream));
    } catch (SwitchboardException e) {
      return Optional.empty();
    }
  }

  private CompletableFuture<ApiMessage> addOffsetsToTxn(
      Access access, AddOffsetsToTxnRequestData req) {
    if (req.groupId() == null || req.groupId().isEmpty()) {
      return CompletableFuture.completedFuture(
          new AddOffsetsToTxnResponseData().setErrorCode(Errors.INVALID_GROUP_ID.code()));
    }
    return txns.on(
            () ->
                CompletableFuture.completedFuture(
                    txns.addOffsets(
                        req.transactionalId(),
                        req.producerId(),
                        req.producerEpoch(),
                        req.groupId())))
        .thenApply(e -> new AddOffsetsToTxnResponseData().setErrorCode(e.code()));
  }

  private CompletableFuture<ApiMessage> txnOffsetCommit(
      Access access, TxnOffsetCommitRequestData req) {
    TxnOffsetCommitResponseData out = new TxnOffsetCommitResponseData();
    Map<KafkaTxnLog.PartitionKey, OffsetCommit> offsets = new java.util.LinkedHashMap<>();
    List<TxnOffsetCommitResponseData.TxnOffsetCommitResponsePartition> toCommit = new ArrayList<>();
    for (TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic t : req.topics()) {
      TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic tr =
          new TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic().setName(t.name());
      out.topics().add(tr);
      for (TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition p : t.partitions()) {
        TxnOffsetCommitResponseData.TxnOffsetCommitResponsePartition pr =
            new TxnOffsetCommitResponseData.TxnOffsetCommitResponsePartition()
                .setPartitionIndex(p.partitionIndex());
        tr.partitions().add(pr);
        Optional<StreamConfig> config =
            KafkaTopics.isStreamName(t.name()) ? streamConfigOf(t.name()) : Optional.empty();
        if (config.isEmpty()
            || p.partitionIndex() < 0
            || p.partitionIndex() >= config.get().partitions()) {
          pr.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        } else if (!mayConsumeAs(access, t.name(), req.groupId())) {
          pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
        } else if (p.committedOffset() < 0) {
          pr.setErrorCode(Errors.INVALID_COMMIT_OFFSET_SIZE.code());
        } else if (p.committedMetadata() != null
            && p.committedMetadata().getBytes(StandardCharsets.UTF_8).length
                > MAX_OFFSET_METADATA_BYTES) {
          pr.setErrorCode(Errors.OFFSET_METADATA_TOO_LARGE.code());
        } else {
          offsets.put(
              new KafkaTxnLog.PartitionKey(t.name(), p.partitionIndex()),
              new OffsetCommit(p.committedOffset(), p.committedMetadata()));
          toCommit.add(pr);
        }
      }
    }
    if (offsets.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    String group = req.groupId();
    int generation = req.generationIdOrMemberEpoch();
    String member = req.memberId();
    // KIP-447: a member's offsets are checked against the group's generation when sent; offsets
    // sent without one (generation -1) are not.
    CompletableFuture<Errors> membership =
        generation < 0
            ? CompletableFuture.completedFuture(Errors.NONE)
            : groups.on(
                () ->
                    CompletableFuture.completedFuture(
                        groups.checkCommit(group, generation, member, req.groupInstanceId())));
    return membership
        .thenCompose(
            check ->
                check != Errors.NONE
                    ? CompletableFuture.completedFuture(check)
                    : txns.on(
                        () ->
                            CompletableFuture.completedFuture(
                                txns.txnOffsets(
                                    req.transactionalId(),
                                    req.producerId(),
                                    req.producerEpoch(),
                                    group,
                                    offsets))))
        .thenApply(
            e -> {
              toCommit.forEach(pr -> pr.setErrorCode(e.code()));
              return (ApiMessage) out;
            });
  }

  private CompletableFuture<ApiMessage> endTxn(EndTxnRequestData req) {
    return txns.on(
            () ->
                txns.end(
                    req.transactionalId(), req.producerId(), req.producerEpoch(), req.committed()))
        .thenApply(
            e ->
                new EndTxnResponseData()
                    .setErrorCode(e.code())
                    .setProducerId(-1)
                    .setProducerEpoch((short) -1));
  }

  /** Kafka's transaction states (ListTransactions' filter). */
  static final java.util.Set<String> TRANSACTION_STATES =
      java.util.Set.of(
          "Empty",
          "Ongoing",
          "PrepareCommit",
          "PrepareAbort",
          "CompleteCommit",
          "CompleteAbort",
          "Dead",
          "PrepareEpochFence");

  /** Transactions are the server's to describe: admin on {@code $streams}. */
  private static boolean mayDescribeTransactions(Access access) {
    return access.allows(Permission.ADMIN, Permission.STREAMS_TARGET);
  }

  private CompletableFuture<ApiMessage> describeTransactions(
      Access access, DescribeTransactionsRequestData req) {
    List<String> ids = new ArrayList<>(req.transactionalIds());
    boolean allowed = mayDescribeTransactions(access);
    return txns.on(
            () ->
                CompletableFuture.completedFuture(
                    allowed ? txns.views(ids) : List.<KafkaTransactions.View>of()))
        .thenApply(
            views -> {
              Map<String, KafkaTransactions.View> byId = new java.util.HashMap<>();
              views.forEach(v -> byId.put(v.id(), v));
              DescribeTransactionsResponseData out = new DescribeTransactionsResponseData();
              for (String id : ids) {
                DescribeTransactionsResponseData.TransactionState s =
                    new DescribeTransactionsResponseData.TransactionState()
                        .setTransactionalId(id)
                        .setTransactionState("")
                        .setProducerId(-1)
                        .setProducerEpoch((short) -1)
                        .setTransactionStartTimeMs(-1);
                out.transactionStates().add(s);
                KafkaTransactions.View v = byId.get(id);
                if (!allowed) {
                  s.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code());
                } else if (v == null) {
                  s.setErrorCode(Errors.TRANSACTIONAL_ID_NOT_FOUND.code());
                } else {
                  s.setTransactionState(v.state())
                      .setTransactionTimeoutMs(v.timeoutMs())
                      .setTransactionStartTimeMs(v.startedMs())
                      .setProducerId(v.producerId())
                      .setProducerEpoch(v.epoch());
                  v.partitions()
                      .forEach(
                          (topic, parts) ->
                              s.topics()
                                  .add(
                                      new DescribeTransactionsResponseData.TopicData()
                                          .setTopic(topic)
                                          .setPartitions(parts)));
                }
              }
              return (ApiMessage) out;
            });
  }

  /**
   * DescribeProducers (KIP-664, {@code kafka-transactions describe-producers}): each partition's
   * producer state as the broker keeps it. Partitions hold committed data only, so no producer has
   * a transaction open in one (CurrentTxnStartOffset -1).
   */
  private CompletableFuture<ApiMessage> describeProducers(
      Access access, DescribeProducersRequestData req) {
    DescribeProducersResponseData out = new DescribeProducersResponseData();
    List<CompletableFuture<?>> lookups = new ArrayList<>();
    for (DescribeProducersRequestData.TopicRequest t : req.topics()) {
      DescribeProducersResponseData.TopicResponse tr =
          new DescribeProducersResponseData.TopicResponse().setName(t.name());
      out.topics().add(tr);
      for (int index : t.partitionIndexes()) {
        DescribeProducersResponseData.PartitionResponse pr =
            new DescribeProducersResponseData.PartitionResponse().setPartitionIndex(index);
        tr.partitions().add(pr);
        if (!mayRead(access, t.name())) {
          pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
          continue;
        }
        CompletableFuture<List<io.switchboard.broker.stream.ProducerInfo>> states;
        try {
          bounds(t.name(), index); // an unknown topic or partition
          states = broker.producers(t.name(), index);
        } catch (SwitchboardException e) {
          pr.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code()).setErrorMessage(e.getMessage());
          continue;
        }
        lookups.add(
            states.handle(
                (list, e) -> {
                  if (e != null) {
                    SwitchboardException se = unwrap(e);
                    pr.setErrorCode(KafkaErrors.of(e).code())
                        .setErrorMessage(se == null ? null : se.getMessage());
                    return null;
                  }
                  for (io.switchboard.broker.stream.ProducerInfo p : list) {
                    pr.activeProducers()
                        .add(
                            new DescribeProducersResponseData.ProducerState()
                                .setProducerId(p.producerId())
                                .setProducerEpoch(p.epoch())
                                .setLastSequence(p.lastSequence())
                                .setLastTimestamp(p.lastTimestampMs())
                                .setCoordinatorEpoch(-1)
                                .setCurrentTxnStartOffset(-1));
                  }
                  return null;
                }));
      }
    }
    return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new))
        .thenApply(v -> (ApiMessage) out);
  }

  private CompletableFuture<ApiMessage> listTransactions(
      Access access, ListTransactionsRequestData req) {
    ListTransactionsResponseData out = new ListTransactionsResponseData();
    java.util.Set<String> states = new java.util.HashSet<>();
    for (String s : req.stateFilters()) {
      if (TRANSACTION_STATES.contains(s)) {
        states.add(s);
      } else {
        out.unknownStateFilters().add(s);
      }
    }
    java.util.Set<Long> producers = new java.util.HashSet<>(req.producerIdFilters());
    long minDuration = req.durationFilter();
    if (!mayDescribeTransactions(access)) {
      return CompletableFuture.completedFuture(out);
    }
    return txns.on(() -> CompletableFuture.completedFuture(txns.views(null)))
        .thenApply(
            views -> {
              long now = System.currentTimeMillis();
              for (KafkaTransactions.View v : views) {
                if (!req.stateFilters().isEmpty() && !states.contains(v.state())
                    || !producers.isEmpty() && !producers.contains(v.producerId())
                    || minDuration >= 0
                        && (v.startedMs() < 0 || now - v.startedMs() < minDuration)) {
                  continue;
                }
                out.transactionStates()
                    .add(
                        new ListTransactionsResponseData.TransactionState()
                            .setTransactionalId(v.id())
                            .setProducerId(v.producerId())
                            .setTransactionState(v.state()));
              }
              return (ApiMessage) out;
            });
  }

  // ------------------------------------------------------------------ coordinator, groups

  /** Kafka's {@code offset.metadata.max.bytes}, which the broker's group store holds to too. */
  static final int MAX_OFFSET_METADATA_BYTES = 4096;

  /** Kafka's coordinator key types. */
  static final byte GROUP_KEY = 0;

  static final byte TRANSACTION_KEY = 1;

  private ApiMessage findCoordinator(
      ChannelHandlerContext ctx, FindCoordinatorRequestData req, short version) {
    InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
    String host = advertisedHost(local);
    FindCoordinatorResponseData out = new FindCoordinatorResponseData();
    List<String> keys = version >= 4 ? req.coordinatorKeys() : List.of(req.key());
    for (String key : keys) {
      FindCoordinatorResponseData.Coordinator c =
          new FindCoordinatorResponseData.Coordinator().setKey(key);
      if (req.keyType() == GROUP_KEY || req.keyType() == TRANSACTION_KEY) {
        c.setNodeId(NODE_ID).setHost(host).setPort(local.getPort());
      } else {
        c.setNodeId(-1)
            .setHost("")
            .setPort(-1)
            .setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code())
            .setErrorMessage(
                "only consumer groups and transactions have a coordinator here (key types 0, 1)");
      }
      out.coordinators().add(c);
    }
    if (version < 4) {
      FindCoordinatorResponseData.Coordinator c = out.coordinators().get(0);
      out.coordinators().clear();
      out.setErrorCode(c.errorCode())
          .setErrorMessage(c.errorMessage())
          .setNodeId(c.nodeId())
          .setHost(c.host())
          .setPort(c.port());
    }
    return out;
  }

  private CompletableFuture<ApiMessage> offsetCommit(Access access, OffsetCommitRequestData req) {
    OffsetCommitResponseData out = new OffsetCommitResponseData();
    Map<StreamPartition, OffsetCommit> offsets = new java.util.LinkedHashMap<>();
    List<OffsetCommitResponseData.OffsetCommitResponsePartition> toCommit = new ArrayList<>();
    for (OffsetCommitRequestData.OffsetCommitRequestTopic t : req.topics()) {
      OffsetCommitResponseData.OffsetCommitResponseTopic tr =
          new OffsetCommitResponseData.OffsetCommitResponseTopic().setName(t.name());
      out.topics().add(tr);
      for (OffsetCommitRequestData.OffsetCommitRequestPartition p : t.partitions()) {
        OffsetCommitResponseData.OffsetCommitResponsePartition pr =
            new OffsetCommitResponseData.OffsetCommitResponsePartition()
                .setPartitionIndex(p.partitionIndex());
        tr.partitions().add(pr);
        if (!KafkaTopics.isStreamName(t.name()) || !exists(t.name())) {
          pr.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        } else if (!mayConsumeAs(access, t.name(), req.groupId())) {
          pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
        } else if (p.committedOffset() < 0) {
          pr.setErrorCode(Errors.INVALID_COMMIT_OFFSET_SIZE.code());
        } else if (p.committedMetadata() != null
            && p.committedMetadata().getBytes(StandardCharsets.UTF_8).length
                > MAX_OFFSET_METADATA_BYTES) {
          pr.setErrorCode(Errors.OFFSET_METADATA_TOO_LARGE.code());
        } else {
          offsets.put(
              new StreamPartition(t.name(), p.partitionIndex()),
              new OffsetCommit(p.committedOffset(), p.committedMetadata()));
          toCommit.add(pr);
        }
      }
    }
    if (offsets.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    String group = req.groupId();
    int generation = req.generationIdOrMemberEpoch();
    String member = req.memberId();
    return groups
        .on(
            () ->
                CompletableFuture.completedFuture(
                    new CommitCheck(
                        groups.checkCommit(group, generation, member, req.groupInstanceId()),
                        groups.isConsumerGroup(group))))
        .thenCompose(
            checked -> {
              Errors check = checked.error();
              if (check != Errors.NONE) {
                toCommit.forEach(pr -> pr.setErrorCode(check.code()));
                return CompletableFuture.completedFuture((ApiMessage) out);
              }
              // A consumer-protocol group (KIP-848) was checked here, by member epoch: the
              // broker's store keeps no generation for it.
              boolean outside = generation < 0 || checked.consumerGroup();
              int gen = outside ? Groups.NO_GENERATION : generation;
              String who = outside ? null : member;
              return broker
                  .groups()
                  .commit(group, gen, who, offsets)
                  .handle(
                      (v, e) -> {
                        if (e != null) {
                          Errors err = groupError(e);
                          toCommit.forEach(pr -> pr.setErrorCode(err.code()));
                        }
                        return (ApiMessage) out;
                      });
            });
  }

  /** A commit's check by the coordinator, and whether the group runs the consumer protocol. */
  private record CommitCheck(Errors error, boolean consumerGroup) {}

  /** The broker's group errors as Kafka's. */
  private static Errors groupError(Throwable e) {
    SwitchboardException se = unwrap(e);
    if (se == null) {
      return Errors.UNKNOWN_SERVER_ERROR;
    }
    return switch (se.code().name()) {
      case "STALE_GENERATION" -> Errors.ILLEGAL_GENERATION;
      case "UNKNOWN_GROUP_MEMBER" -> Errors.UNKNOWN_MEMBER_ID;
      case "GROUP_NOT_EMPTY" -> Errors.NON_EMPTY_GROUP;
      case "GROUP_NOT_FOUND" -> Errors.GROUP_ID_NOT_FOUND;
      case "OFFSET_METADATA_TOO_LARGE" -> Errors.OFFSET_METADATA_TOO_LARGE;
      default -> KafkaErrors.of(se);
    };
  }

  /**
   * OffsetFetch; from version 9 a member of a consumer-protocol group names itself and its epoch,
   * checked first (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID for the group).
   */
  private CompletableFuture<ApiMessage> offsetFetchOfMembers(
      Access access, OffsetFetchRequestData req, short version) {
    if (version < 9 || req.groups().stream().allMatch(g -> g.memberId() == null)) {
      return CompletableFuture.completedFuture(offsetFetch(access, req, version, Map.of()));
    }
    return groups
        .on(
            () -> {
              Map<String, Errors> checks = new java.util.HashMap<>();
              for (OffsetFetchRequestData.OffsetFetchRequestGroup g : req.groups()) {
                checks.put(
                    g.groupId(),
                    groups.checkOffsetFetch(g.groupId(), g.memberId(), g.memberEpoch()));
              }
              return CompletableFuture.completedFuture(checks);
            })
        .thenApply(checks -> offsetFetch(access, req, version, checks));
  }

  private ApiMessage offsetFetch(
      Access access, OffsetFetchRequestData req, short version, Map<String, Errors> checks) {
    OffsetFetchResponseData out = new OffsetFetchResponseData();
    if (version >= 8) {
      for (OffsetFetchRequestData.OffsetFetchRequestGroup g : req.groups()) {
        OffsetFetchResponseData.OffsetFetchResponseGroup gr =
            new OffsetFetchResponseData.OffsetFetchResponseGroup().setGroupId(g.groupId());
        out.groups().add(gr);
        Errors check = checks.getOrDefault(g.groupId(), Errors.NONE);
        if (check != Errors.NONE) {
          gr.setErrorCode(check.code());
          continue;
        }
        Map<String, List<Integer>> asked = null;
        if (g.topics() != null) {
          asked = new java.util.LinkedHashMap<>();
          for (OffsetFetchRequestData.OffsetFetchRequestTopics t : g.topics()) {
            asked.put(t.name(), t.partitionIndexes());
          }
        }
        committed(access, g.groupId(), asked, req.requireStable())
            .forEach(
                (topic, parts) -> {
                  OffsetFetchResponseData.OffsetFetchResponseTopics tr =
                      new OffsetFetchResponseData.OffsetFetchResponseTopics().setName(topic);
                  gr.topics().add(tr);
                  parts.forEach(
                      p ->
                          tr.partitions()
                              .add(
                                  new OffsetFetchResponseData.OffsetFetchResponsePartitions()
                                      .setPartitionIndex(p.partition)
                                      .setCommittedOffset(p.offset)
                                      .setCommittedLeaderEpoch(-1)
                                      .setMetadata(p.metadata)
                                      .setErrorCode(p.error.code())));
                });
      }
      return out;
    }
    Map<String, List<Integer>> asked = null;
    if (req.topics() != null) {
      asked = new java.util.LinkedHashMap<>();
      for (OffsetFetchRequestData.OffsetFetchRequestTopic t : req.topics()) {
        asked.put(t.name(), t.partitionIndexes());
      }
    }
    committed(access, req.groupId(), asked, version >= 7 && req.requireStable())
        .forEach(
            (topic, parts) -> {
              OffsetFetchResponseData.OffsetFetchResponseTopic tr =
                  new OffsetFetchResponseData.OffsetFetchResponseTopic().setName(topic);
              out.topics().add(tr);
              parts.forEach(
                  p ->
                      tr.partitions()
                          .add(
                              new OffsetFetchResponseData.OffsetFetchResponsePartition()
                                  .setPartitionIndex(p.partition)
                                  .setCommittedOffset(p.offset)
                                  .setCommittedLeaderEpoch(-1)
                                  .setMetadata(p.metadata)
                                  .setErrorCode(p.error.code())));
            });
    return out;
  }

  /** One partition's committed offset as OffsetFetch answers it. */
  private record Committed(int partition, long offset, String metadata, Errors error) {}

  /**
   * A group's committed offsets by topic: for {@code asked} (topic → partitions) or, when null,
   * every partition it committed. Partitions without a commit answer offset -1, as Kafka's do.
   */
  private Map<String, List<Committed>> committed(
      Access access, String group, Map<String, List<Integer>> asked, boolean requireStable) {
    Map<String, List<Committed>> out = new java.util.LinkedHashMap<>();
    if (asked == null) {
      broker
          .groups()
          .fetch(group, null)
          .forEach(
              (sp, c) -> {
                if (mayConsumeAs(access, sp.stream(), group)) {
                  out.computeIfAbsent(sp.stream(), k -> new ArrayList<>())
                      .add(new Committed(sp.partition(), c.offset(), c.metadata(), Errors.NONE));
                }
              });
      out.values().forEach(l -> l.sort(java.util.Comparator.comparingInt(Committed::partition)));
      return out;
    }
    List<StreamPartition> wanted = new ArrayList<>();
    asked.forEach((t, parts) -> parts.forEach(p -> wanted.add(new StreamPartition(t, p))));
    Map<StreamPartition, CommittedOffset> found = broker.groups().fetch(group, wanted);
    asked.forEach(
        (t, parts) -> {
          List<Committed> l = out.computeIfAbsent(t, k -> new ArrayList<>());
          for (int p : parts) {
            if (!mayConsumeAs(access, t, group)) {
              l.add(new Committed(p, -1, "", Errors.TOPIC_AUTHORIZATION_FAILED));
              continue;
            }
            if (requireStable && txns.hasPendingOffset(group, t, p)) {
              // An open transaction commits this partition's offset: the client asks again.
              l.add(new Committed(p, -1, "", Errors.UNSTABLE_OFFSET_COMMIT));
              continue;
            }
            CommittedOffset c = found.get(new StreamPartition(t, p));
            l.add(
                c == null
                    ? new Committed(p, -1, "", Errors.NONE)
                    : new Committed(p, c.offset(), c.metadata(), Errors.NONE));
          }
        });
    return out;
  }

  /**
   * ConsumerGroupHeartbeat (KIP-848): the coordinator assigns (KafkaConsumerGroups). Subscribing
   * needs {@code consume} on each topic as the group, as committing does.
   */
  private CompletableFuture<ApiMessage> consumerGroupHeartbeat(
      Access access,
      KafkaGroups.Client client,
      ConsumerGroupHeartbeatRequestData req,
      short version) {
    if (req.subscribedTopicNames() != null) {
      for (String topic : req.subscribedTopicNames()) {
        if (!mayConsumeAs(access, topic, req.groupId())) {
          return CompletableFuture.completedFuture(
              new ConsumerGroupHeartbeatResponseData()
                  .setMemberId(req.memberId())
                  .setMemberEpoch(req.memberEpoch())
                  .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())
                  .setErrorMessage("may not consume " + topic + " as group " + req.groupId()));
        }
      }
    }
    return groups
        .on(() -> CompletableFuture.completedFuture(groups.consumerHeartbeat(req, version, client)))
        .thenApply(a -> a);
  }

  private CompletableFuture<ApiMessage> consumerGroupDescribe(
      ConsumerGroupDescribeRequestData req) {
    List<String> ids = new ArrayList<>(req.groupIds());
    return groups.on(
        () -> {
          ConsumerGroupDescribeResponseData out = new ConsumerGroupDescribeResponseData();
          ids.forEach(id -> out.groups().add(groups.describeConsumerGroup(id)));
          return CompletableFuture.completedFuture(out);
        });
  }

  private CompletableFuture<ApiMessage> describeGroups(
      DescribeGroupsRequestData req, short version) {
    List<String> ids = new ArrayList<>(req.groups());
    return groups.on(
        () -> {
          DescribeGroupsResponseData out = new DescribeGroupsResponseData();
          for (String id : ids) {
            DescribeGroupsResponseData.DescribedGroup d = groups.describe(id);
            if (version < 6) {
              d.setErrorMessage(null); // the field came with version 6
            }
            if (d.errorCode() == Errors.NONE.code()
                && d.groupState().equals(KafkaGroups.State.DEAD.kafkaName)) {
              if (broker.groups().describe(id).isPresent()) {
                d.setGroupState(KafkaGroups.State.EMPTY.kafkaName).setProtocolType("consumer");
              } else if (version >= 6) {
                d.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code())
                    .setErrorMessage("group " + id + " not found");
              }
            }
            out.groups().add(d);
          }
          return CompletableFuture.completedFuture(out);
        });
  }

  private CompletableFuture<ApiMessage> listGroups(ListGroupsRequestData req) {
    List<String> states = req.statesFilter();
    return groups.on(
        () -> {
          ListGroupsResponseData out = new ListGroupsResponseData();
          java.util.Set<String> live = new java.util.HashSet<>();
          for (ListGroupsResponseData.ListedGroup g : groups.list()) {
            live.add(g.groupId());
            out.groups().add(g);
          }
          // Groups known only by their committed offsets are empty groups, as in Kafka.
          for (GroupInfo g : broker.groups().list()) {
            if (!live.contains(g.group())) {
              out.groups()
                  .add(
                      new ListGroupsResponseData.ListedGroup()
                          .setGroupId(g.group())
                          .setProtocolType("consumer")
                          .setGroupState(KafkaGroups.State.EMPTY.kafkaName)
                          .setGroupType("classic"));
            }
          }
          // Share groups with members (KIP-932), Kafka's type "share".
          for (String id : shares.groupIds()) {
            out.groups()
                .add(
                    new ListGroupsResponseData.ListedGroup()
                        .setGroupId(id)
                        .setProtocolType("share")
                        .setGroupState("Stable")
                        .setGroupType("share"));
          }
          if (states != null && !states.isEmpty()) {
            out.groups().removeIf(g -> !states.contains(g.groupState()));
          }
          List<String> types = req.typesFilter(); // version 5: classic, consumer
          if (types != null && !types.isEmpty()) {
            out.groups()
                .removeIf(g -> types.stream().noneMatch(t -> t.equalsIgnoreCase(g.groupType())));
          }
          return CompletableFuture.completedFuture(out);
        });
  }

  private CompletableFuture<ApiMessage> deleteGroups(Access access, DeleteGroupsRequestData req) {
    DeleteGroupsResponseData out = new DeleteGroupsResponseData();
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (String id : req.groupsNames()) {
      DeleteGroupsResponseData.DeletableGroupResult r =
          new DeleteGroupsResponseData.DeletableGroupResult().setGroupId(id);
      out.results().add(r);
      if (!access.allows(Permission.ADMIN, Permission.STREAMS_TARGET)) {
        r.setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code());
        continue;
      }
      pending.add(
          groups
              .on(() -> CompletableFuture.completedFuture(groups.hasMembers(id)))
              .thenCompose(
                  busy -> {
                    if (busy) {
                      r.setErrorCode(Errors.NON_EMPTY_GROUP.code());
                      return CompletableFuture.completedFuture(null);
                    }
                    return broker
                        .groups()
                        .delete(id, null)
                        .handle(
                            (n, e) -> {
                              if (e != null) {
                                r.setErrorCode(groupError(e).code());
                              }
                              return null;
                            });
                  }));
    }
    return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
        .thenApply(v -> (ApiMessage) out);
  }

  // ------------------------------------------------------------------ Metadata

  private CompletableFuture<ApiMessage> metadata(
      ChannelHandlerContext ctx, Access access, MetadataRequestData req, short version) {
    InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
    String host = advertisedHost(local);
    MetadataResponseData.MetadataResponseBrokerCollection brokers =
        new MetadataResponseData.MetadataResponseBrokerCollection();
    brokers.add(
        new MetadataResponseData.MetadataResponseBroker()
            .setNodeId(NODE_ID)
            .setHost(host)
            .setPort(local.getPort()));
    MetadataResponseData out =
        new MetadataResponseData()
            .setBrokers(brokers)
            .setClusterId(CLUSTER_ID)
            .setControllerId(NODE_ID);
    // v0 asks for every topic with an empty list; later versions with null.
    boolean all = req.topics() == null || (version == 0 && req.topics().isEmpty());
    if (all) {
      for (StreamInfo s : broker.listStreams()) {
        if (visible(access, s)) {
          out.topics().add(describe(s));
        }
      }
      return CompletableFuture.completedFuture(out);
    }
    List<String> toCreate = new ArrayList<>();
    for (MetadataRequestData.MetadataRequestTopic t : req.topics()) {
      String name = t.name();
      if (name == null && t.topicId() != null) {
        name = streamOf(t.topicId()).orElse(null);
        if (name == null) {
          out.topics()
              .add(
                  new MetadataResponseData.MetadataResponseTopic()
                      .setTopicId(t.topicId())
                      .setErrorCode(Errors.UNKNOWN_TOPIC_ID.code()));
          continue;
        }
      }
      if (!KafkaTopics.isStreamName(name)) {
        out.topics()
            .add(
                new MetadataResponseData.MetadataResponseTopic()
                    .setName(name)
                    .setErrorCode(Errors.INVALID_TOPIC_EXCEPTION.code()));
        continue;
      }
      Optional<StreamInfo> s = streamInfo(name);
      if (s.isPresent() && !visible(access, s.get()) || s.isEmpty() && !mayAdmin(access, name)) {
        out.topics()
            .add(
                new MetadataResponseData.MetadataResponseTopic()
                    .setName(name)
                    .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
      } else if (s.isPresent()) {
        out.topics().add(describe(s.get()));
      } else if (req.allowAutoTopicCreation() && settings.autoCreateTopics() && version >= 4
          || version < 4 && settings.autoCreateTopics()) {
        toCreate.add(name);
      } else {
        out.topics()
            .add(
                new MetadataResponseData.MetadataResponseTopic()
                    .setName(name)
                    .setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code()));
      }
    }
    if (toCreate.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    return broker
        .offload(
            () -> {
              List<MetadataResponseData.MetadataResponseTopic> made = new ArrayList<>();
              for (String name : toCreate) {
                made.add(autoCreate(name));
              }
              return made;
            },
            ctx.executor())
        .thenApply(
            made -> {
              made.forEach(out.topics()::add);
              return (ApiMessage) out;
            });
  }

  /** The most partitions one DescribeTopicPartitions answer holds (Kafka's default limit). */
  static final int MAX_DESCRIBED_PARTITIONS = 2000;

  /**
   * DescribeTopicPartitions (KIP-966): the topics asked (none: every visible one), by name, their
   * partitions from the cursor on, at most the request's limit of them, and a cursor to go on from
   * when more are left.
   */
  private ApiMessage describeTopicPartitions(
      Access access, DescribeTopicPartitionsRequestData req) {
    DescribeTopicPartitionsResponseData out = new DescribeTopicPartitionsResponseData();
    java.util.TreeSet<String> names = new java.util.TreeSet<>();
    boolean all = req.topics() == null || req.topics().isEmpty();
    if (all) {
      for (StreamConfig c : broker.streamConfigs()) {
        if (visible(access, c)) {
          names.add(c.name());
        }
      }
    } else {
      req.topics().forEach(t -> names.add(t.name()));
    }
    int limit =
        req.responsePartitionLimit() <= 0
            ? MAX_DESCRIBED_PARTITIONS
            : Math.min(req.responsePartitionLimit(), MAX_DESCRIBED_PARTITIONS);
    DescribeTopicPartitionsRequestData.Cursor cursor = req.cursor();
    int left = limit;
    for (String name : names) {
      if (cursor != null && name.compareTo(cursor.topicName()) < 0) {
        continue;
      }
      DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponseTopic t =
          new DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponseTopic()
              .setName(name)
              .setTopicId(Uuid.ZERO_UUID)
              .setTopicAuthorizedOperations(Integer.MIN_VALUE);
      Optional<StreamConfig> config =
          name != null && KafkaTopics.isStreamName(name) ? streamConfigOf(name) : Optional.empty();
      if (config.isEmpty()) {
        out.topics().add(t.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code()));
        continue;
      }
      if (!visible(access, config.get())) {
        out.topics().add(t.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
        continue;
      }
      if (left == 0) {
        out.setNextCursor(
            new DescribeTopicPartitionsResponseData.Cursor()
                .setTopicName(name)
                .setPartitionIndex(0));
        break;
      }
      Uuid id = KafkaTopics.topicId(name);
      topicsById.put(id, name);
      t.setTopicId(id).setIsInternal(broker.streamOwner(name).isPresent());
      int first =
          cursor != null && name.equals(cursor.topicName())
              ? Math.max(0, cursor.partitionIndex())
              : 0;
      int partitions = config.get().partitions();
      int p = first;
      for (; p < partitions && left > 0; p++, left--) {
        t.partitions()
            .add(
                new DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponsePartition()
                    .setPartitionIndex(p)
                    .setLeaderId(NODE_ID)
                    .setLeaderEpoch(LEADER_EPOCH)
                    .setReplicaNodes(List.of(NODE_ID))
                    .setIsrNodes(List.of(NODE_ID))
                    .setEligibleLeaderReplicas(List.of())
                    .setLastKnownElr(List.of())
                    .setOfflineReplicas(List.of()));
      }
      out.topics().add(t);
      if (p < partitions) {
        out.setNextCursor(
            new DescribeTopicPartitionsResponseData.Cursor()
                .setTopicName(name)
                .setPartitionIndex(p));
        break;
      }
    }
    return out;
  }

  /** Creates a topic a Metadata request asked for; off the loop. */
  private MetadataResponseData.MetadataResponseTopic autoCreate(String name) {
    try {
      broker.createStream(
          StreamConfig.builder(name, KafkaTopics.subjectsOf(name).toArray(String[]::new))
              .partitions(settings.defaultPartitions())
              .build());
      LOG.info("kafka: created topic {} ({} partitions)", name, settings.defaultPartitions());
    } catch (SwitchboardException e) {
      if (e.code() != ErrorCode.STREAM_EXISTS) {
        return new MetadataResponseData.MetadataResponseTopic()
            .setName(name)
            .setErrorCode(KafkaErrors.of(e).code());
      }
    }
    return streamInfo(name)
        .map(this::describe)
        .orElse(
            new MetadataResponseData.MetadataResponseTopic()
                .setName(name)
                .setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code()));
  }

  private MetadataResponseData.MetadataResponseTopic describe(StreamInfo s) {
    String name = s.config().name();
    Uuid id = KafkaTopics.topicId(name);
    topicsById.put(id, name);
    List<MetadataResponseData.MetadataResponsePartition> parts = new ArrayList<>();
    for (int p = 0; p < s.partitions().size(); p++) {
      parts.add(
          new MetadataResponseData.MetadataResponsePartition()
              .setPartitionIndex(p)
              .setLeaderId(NODE_ID)
              .setLeaderEpoch(LEADER_EPOCH)
              .setReplicaNodes(List.of(NODE_ID))
              .setIsrNodes(List.of(NODE_ID))
              .setOfflineReplicas(List.of()));
    }
    return new MetadataResponseData.MetadataResponseTopic()
        .setName(name)
        .setTopicId(id)
        .setIsInternal(broker.streamOwner(name).isPresent())
        .setPartitions(parts);
  }

  /** Whether a stream exists (a map look-up: no partition is sized). */
  private boolean exists(String name) {
    try {
      broker.streamConfig(name);
      return true;
    } catch (SwitchboardException e) {
      if (e.code() == ErrorCode.STREAM_NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  private Optional<StreamInfo> streamInfo(String name) {
    try {
      return Optional.of(broker.streamInfo(name));
    } catch (SwitchboardException e) {
      if (e.code() == ErrorCode.STREAM_NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** The stream a topic id names, if any. */
  private Optional<String> streamOf(Uuid id) {
    String known = topicsById.get(id);
    if (known != null) {
      if (exists(known)) {
        return Optional.of(known);
      }
      topicsById.remove(id, known);
    }
    for (StreamInfo s : broker.listStreams()) {
      String name = s.config().name();
      if (KafkaTopics.topicId(name).equals(id)) {
        topicsById.put(id, name);
        return Optional.of(name);
      }
    }
    return Optional.empty();
  }

  // ------------------------------------------------------------------ CreateTopics, DeleteTopics

  private CompletableFuture<ApiMessage> createTopics(
      Access access, CreateTopicsRequestData req, short version, Executor loop) {
    List<CreateTopicsRequestData.CreatableTopic> topics = new ArrayList<>(req.topics());
    boolean validateOnly = req.validateOnly();
    return broker.offload(
        () -> {
          CreateTopicsResponseData out = new CreateTopicsResponseData();
          for (CreateTopicsRequestData.CreatableTopic t : topics) {
            out.topics()
                .add(
                    mayAdmin(access, t.name())
                        ? createTopic(t, validateOnly)
                        : new CreateTopicsResponseData.CreatableTopicResult()
                            .setName(t.name())
                            .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
          }
          return out;
        },
        loop);
  }

  /** One topic of a CreateTopics request; off the loop. */
  private CreateTopicsResponseData.CreatableTopicResult createTopic(
      CreateTopicsRequestData.CreatableTopic t, boolean validateOnly) {
    CreateTopicsResponseData.CreatableTopicResult r =
        new CreateTopicsResponseData.CreatableTopicResult().setName(t.name());
    if (!KafkaTopics.isStreamName(t.name())) {
      return r.setErrorCode(Errors.INVALID_TOPIC_EXCEPTION.code())
          .setErrorMessage(KafkaTopics.whyNot(t.name()));
    }
    if (!t.assignments().isEmpty()) {
      return r.setErrorCode(Errors.INVALID_REQUEST.code())
          .setErrorMessage("replica assignments are not supported: one node holds every partition");
    }
    if (t.replicationFactor() > 1) {
      return r.setErrorCode(Errors.INVALID_REPLICATION_FACTOR.code())
          .setErrorMessage(
              "replication factor "
                  + t.replicationFactor()
                  + " is larger than the number of brokers: 1");
    }
    int partitions = t.numPartitions() < 0 ? settings.defaultPartitions() : t.numPartitions();
    StreamConfig.Builder b =
        StreamConfig.builder(t.name(), KafkaTopics.subjectsOf(t.name()).toArray(String[]::new))
            .partitions(partitions);
    List<CreateTopicsResponseData.CreatableTopicConfigs> configs = new ArrayList<>();
    try {
      for (CreateTopicsRequestData.CreatableTopicConfig c : t.configs()) {
        TopicConfigs.apply(b, c.name(), c.value());
      }
      StreamConfig config = b.build();
      if (!validateOnly) {
        broker.createStream(config);
        LOG.info("kafka: created topic {} ({} partitions)", t.name(), partitions);
      } else if (exists(t.name())) {
        throw SwitchboardException.of(ErrorCode.STREAM_EXISTS, t.name());
      }
      TopicConfigs.describe(config)
          .forEach(
              (k, v) ->
                  configs.add(
                      new CreateTopicsResponseData.CreatableTopicConfigs()
                          .setName(k)
                          .setValue(v)
                          .setConfigSource((byte) 5)));
    } catch (SwitchboardException e) {
      Errors error = KafkaErrors.of(e);
      return r.setErrorCode(error.code()).setErrorMessage(e.getMessage());
    } catch (IllegalArgumentException e) {
      return r.setErrorCode(Errors.INVALID_CONFIG.code()).setErrorMessage(e.getMessage());
    }
    return r.setTopicId(KafkaTopics.topicId(t.name()))
        .setNumPartitions(partitions)
        .setReplicationFactor((short) 1)
        .setConfigs(configs);
  }

  private CompletableFuture<ApiMessage> createPartitions(
      Access access, CreatePartitionsRequestData req, Executor loop) {
    List<CreatePartitionsRequestData.CreatePartitionsTopic> topics = new ArrayList<>(req.topics());
    boolean validateOnly = req.validateOnly();
    return broker.offload(
        () -> {
          CreatePartitionsResponseData out = new CreatePartitionsResponseData();
          for (CreatePartitionsRequestData.CreatePartitionsTopic t : topics) {
            out.results()
                .add(
                    mayAdmin(access, t.name())
                        ? createPartitions(t, validateOnly)
                        : new CreatePartitionsResponseData.CreatePartitionsTopicResult()
                            .setName(t.name())
                            .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
          }
          return out;
        },
        loop);
  }

  /** Grows one topic's partitions; off the loop. */
  private CreatePartitionsResponseData.CreatePartitionsTopicResult createPartitions(
      CreatePartitionsRequestData.CreatePartitionsTopic t, boolean validateOnly) {
    CreatePartitionsResponseData.CreatePartitionsTopicResult r =
        new CreatePartitionsResponseData.CreatePartitionsTopicResult().setName(t.name());
    Optional<StreamInfo> s =
        KafkaTopics.isStreamName(t.name()) ? streamInfo(t.name()) : Optional.empty();
    if (s.isEmpty()) {
      return r.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
          .setErrorMessage("no topic " + t.name());
    }
    int now = s.get().config().partitions();
    if (t.assignments() != null && !t.assignments().isEmpty()) {
      return r.setErrorCode(Errors.INVALID_REPLICA_ASSIGNMENT.code())
          .setErrorMessage("replica assignments are not supported: one node holds every partition");
    }
    if (t.count() <= now) {
      return r.setErrorCode(Errors.INVALID_PARTITIONS.code())
          .setErrorMessage(
              "topic "
                  + t.name()
                  + " has "
                  + now
                  + " partitions; it may only grow, not to "
                  + t.count());
    }
    try {
      StreamConfig grown = s.get().config().withPartitions(t.count());
      if (!validateOnly) {
        broker.updateStream(grown);
        LOG.info("kafka: topic {} grew from {} to {} partitions", t.name(), now, t.count());
      }
      return r.setErrorCode(Errors.NONE.code());
    } catch (SwitchboardException e) {
      Errors error =
          e.code() == ErrorCode.INVALID_CONFIG ? Errors.INVALID_PARTITIONS : KafkaErrors.of(e);
      return r.setErrorCode(error.code()).setErrorMessage(e.getMessage());
    }
  }

  private CompletableFuture<ApiMessage> deleteTopics(
      Access access, DeleteTopicsRequestData req, short version, Executor loop) {
    List<DeleteTopicsRequestData.DeleteTopicState> asked = new ArrayList<>();
    if (version >= 6) {
      asked.addAll(req.topics());
    } else {
      for (String n : req.topicNames()) {
        asked.add(new DeleteTopicsRequestData.DeleteTopicState().setName(n));
      }
    }
    return broker.offload(
        () -> {
          DeleteTopicsResponseData out = new DeleteTopicsResponseData();
          for (DeleteTopicsRequestData.DeleteTopicState t : asked) {
            out.responses().add(deleteTopic(access, t));
          }
          return out;
        },
        loop);
  }

  private DeleteTopicsResponseData.DeletableTopicResult deleteTopic(
      Access access, DeleteTopicsRequestData.DeleteTopicState t) {
    DeleteTopicsResponseData.DeletableTopicResult r =
        new DeleteTopicsResponseData.DeletableTopicResult().setName(t.name());
    String name = t.name();
    if (name == null) {
      r.setTopicId(t.topicId());
      name = streamOf(t.topicId()).orElse(null);
      if (name == null) {
        return r.setErrorCode(Errors.UNKNOWN_TOPIC_ID.code());
      }
      r.setName(name);
    } else {
      r.setTopicId(KafkaTopics.topicId(name));
    }
    if (!KafkaTopics.isStreamName(name)) {
      return r.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
    }
    if (!mayAdmin(access, name)) {
      return r.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
    }
    try {
      broker.deleteStream(name);
      LOG.info("kafka: deleted topic {}", name);
      return r.setErrorCode(Errors.NONE.code());
    } catch (SwitchboardException e) {
      return r.setErrorCode(KafkaErrors.of(e).code()).setErrorMessage(e.getMessage());
    }
  }

  // ------------------------------------------------------------------ ListOffsets

  private CompletableFuture<ApiMessage> listOffsets(
      Access access, ListOffsetsRequestData req, short version, Executor loop) {
    ListOffsetsResponseData out = new ListOffsetsResponseData();
    List<CompletableFuture<?>> lookups = new ArrayList<>();
    for (ListOffsetsRequestData.ListOffsetsTopic t : req.topics()) {
      ListOffsetsResponseData.ListOffsetsTopicResponse tr =
          new ListOffsetsResponseData.ListOffsetsTopicResponse().setName(t.name());
      out.topics().add(tr);
      for (ListOffsetsRequestData.ListOffsetsPartition p : t.partitions()) {
        ListOffsetsResponseData.ListOffsetsPartitionResponse pr =
            new ListOffsetsResponseData.ListOffsetsPartitionResponse()
                .setPartitionIndex(p.partitionIndex())
                .setLeaderEpoch(version >= 4 ? LEADER_EPOCH : -1) // v4 has the field
                .setTimestamp(-1)
                .setOffset(-1);
        tr.partitions().add(pr);
        if (!mayRead(access, t.name())) {
          pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
          continue;
        }
        PartitionBounds bounds;
        try {
          bounds = bounds(t.name(), p.partitionIndex());
        } catch (SwitchboardException e) {
          pr.setErrorCode(KafkaErrors.of(e).code());
          continue;
        }
        long ts = p.timestamp();
        if (ts == LATEST) {
          pr.setOffset(bounds.highWatermark());
        } else if (ts == EARLIEST || ts == EARLIEST_LOCAL) {
          pr.setOffset(bounds.logStartOffset());
        } else if (ts == LATEST_TIERED || ts == EARLIEST_PENDING_UPLOAD) {
          pr.setOffset(-1); // no tiered storage: Kafka answers -1 too
        } else if (ts == MAX_TIMESTAMP) { // KIP-734, sent from version 7
          String stream = t.name();
          int partition = p.partitionIndex();
          lookups.add(
              broker
                  .offload(() -> broker.maxTimestampOffset(stream, partition), loop)
                  .handle(
                      (found, e) -> {
                        if (e != null) {
                          pr.setErrorCode(KafkaErrors.of(e).code());
                        } else if (found != null) {
                          pr.setOffset(found[0]).setTimestamp(found[1]);
                        }
                        return null;
                      }));
        } else if (ts < 0) {
          pr.setErrorCode(Errors.INVALID_REQUEST.code());
        } else {
          String stream = t.name();
          int partition = p.partitionIndex();
          lookups.add(
              broker
                  .offload(() -> byTimestamp(stream, partition, ts), loop)
                  .handle(
                      (found, e) -> {
                        if (e != null) {
                          pr.setErrorCode(KafkaErrors.of(e).code());
                        } else if (found != null) {
                          pr.setOffset(found[0]).setTimestamp(found[1]);
                        }
                        return null;
                      }));
        }
      }
    }
    return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new))
        .thenApply(v -> (ApiMessage) out);
  }

  /** {offset, timestamp} of the first message at or after {@code ts}, or null; off the loop. */
  private long[] byTimestamp(String stream, int partition, long ts) {
    long offset = broker.offsetForTimestamp(stream, partition, ts);
    if (offset < 0) {
      return null;
    }
    PartitionRead read = broker.readMessages(stream, partition, offset, 1 << 20, 1);
    long stamp = read.messages().isEmpty() ? ts : read.messages().get(0).message().timestampMs();
    return new long[] {offset, stamp};
  }

  private PartitionBounds bounds(String topic, int partition) {
    if (!KafkaTopics.isStreamName(topic)) {
      throw SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, topic);
    }
    return broker.partitionBounds(topic, partition);
  }

  // ------------------------------------------------------------------ Fetch

  /** One partition of a fetch: where it reads, and what it got. */
  private static final class FetchPart {
    final String stream;
    final FetchRequestData.FetchPartition asked;
    final FetchResponseData.PartitionData answer;
    volatile RawRead read;

    FetchPart(String stream, FetchRequestData.FetchPartition asked) {
      this.stream = stream;
      this.asked = asked;
      this.answer = new FetchResponseData.PartitionData().setPartitionIndex(asked.partition());
    }
  }

  private CompletableFuture<ApiMessage> fetch(
      Access access, FetchRequestData req, short version, Executor loop) {
    FetchResponseData out = new FetchResponseData().setSessionId(0);
    if (req.sessionId() != 0) {
      // We keep no fetch sessions (KIP-227 allows it): a client that names one starts over.
      return CompletableFuture.completedFuture(
          out.setErrorCode(Errors.FETCH_SESSION_ID_NOT_FOUND.code()));
    }
    List<FetchPart> parts = new ArrayList<>();
    for (FetchRequestData.FetchTopic t : req.topics()) {
      FetchResponseData.FetchableTopicResponse tr =
          new FetchResponseData.FetchableTopicResponse()
              .setTopic(t.topic())
              .setTopicId(t.topicId());
      out.responses().add(tr);
      String stream = version >= 13 ? streamOf(t.topicId()).orElse(null) : t.topic();
      for (FetchRequestData.FetchPartition p : t.partitions()) {
        FetchPart part = new FetchPart(stream, p);
        tr.partitions().add(part.answer);
        if (stream == null) {
          part.answer.setErrorCode(Errors.UNKNOWN_TOPIC_ID.code());
        } else if (!KafkaTopics.isStreamName(stream)) {
          part.answer.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        } else if (!mayRead(access, stream) || !mayReadWhole(access, stream)) {
          part.answer.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
        } else {
          parts.add(part);
        }
      }
    }
    int maxBytes = req.maxBytes() <= 0 ? Integer.MAX_VALUE : req.maxBytes();
    // First pass: whatever is there now.
    return readAll(parts, maxBytes, 0, 0, loop)
        .thenCompose(
            got -> {
              if (got >= Math.max(1, req.minBytes()) || req.maxWaitMs() <= 0) {
                return CompletableFuture.completedFuture(got);
              }
              List<FetchPart> waiting =
                  parts.stream().filter(p -> p.answer.errorCode() == Errors.NONE.code()).toList();
              return readAll(waiting, maxBytes, req.maxWaitMs(), Math.max(1, req.minBytes()), loop);
            })
        .thenApply(
            got -> {
              for (FetchPart p : parts) {
                finish(p);
              }
              return (ApiMessage) out;
            });
  }

  /**
   * Reads every part, each waiting up to {@code waitMs}; completes once all are read or, when
   * waiting, once {@code enough} bytes came in. Returns the bytes read.
   */
  private CompletableFuture<Long> readAll(
      List<FetchPart> parts, int maxBytes, long waitMs, int enough, Executor loop) {
    if (parts.isEmpty()) {
      return CompletableFuture.completedFuture(0L);
    }
    CompletableFuture<Long> done = new CompletableFuture<>();
    AtomicInteger left = new AtomicInteger(parts.size());
    AtomicLong bytes = new AtomicLong();
    List<CompletableFuture<RawRead>> reads = new ArrayList<>();
    for (FetchPart p : parts) {
      int limit = Math.max(1, Math.min(maxBytes, p.asked.partitionMaxBytes()));
      CompletableFuture<RawRead> r =
          broker.tailRaw(p.stream, p.asked.partition(), p.asked.fetchOffset(), limit, waitMs, loop);
      reads.add(r);
      r.whenComplete(
          (read, e) -> {
            if (done.isDone()) {
              return;
            }
            if (e != null) {
              Throwable cause = e instanceof CompletionException ? e.getCause() : e;
              p.answer.setErrorCode(KafkaErrors.of(cause).code());
            } else if (read.batches().hasRemaining() || p.read == null) {
              p.read = read;
            }
            long total = read == null ? bytes.get() : bytes.addAndGet(read.batches().remaining());
            if (left.decrementAndGet() == 0 || (enough > 0 && total >= enough)) {
              done.complete(total);
            }
          });
    }
    // Reads still waiting when the answer goes out are not needed any more.
    done.whenComplete((v, e) -> reads.forEach(r -> r.cancel(false)));
    return done;
  }

  /** Fills a part's answer from what it read (or its bounds, when it read nothing). */
  private void finish(FetchPart p) {
    FetchResponseData.PartitionData a = p.answer;
    if (a.errorCode() != Errors.NONE.code()) {
      try {
        PartitionBounds b = broker.partitionBounds(p.stream, p.asked.partition());
        a.setHighWatermark(b.highWatermark()).setLogStartOffset(b.logStartOffset());
      } catch (SwitchboardException e) {
        a.setHighWatermark(-1).setLogStartOffset(-1);
      }
      a.setLastStableOffset(a.highWatermark()).setRecords(MemoryRecords.EMPTY);
      return;
    }
    RawRead r = p.read;
    if (r == null) {
      PartitionBounds b = broker.partitionBounds(p.stream, p.asked.partition());
      r = new RawRead(java.nio.ByteBuffer.allocate(0), b.logStartOffset(), b.highWatermark());
    }
    a.setHighWatermark(r.highWatermark())
        .setLastStableOffset(r.highWatermark())
        .setLogStartOffset(r.logStartOffset())
        .setPreferredReadReplica(-1)
        .setRecords(MemoryRecords.readableRecords(r.batches()));
  }

  /** Topic configurations we understand, both ways. */
  static final class TopicConfigs {
    private TopicConfigs() {}

    static void apply(StreamConfig.Builder b, String name, String value) {
      long n;
      switch (name) {
        case "cleanup.policy" -> {
          switch (value) {
            case "delete" -> b.retention(Retention.LIMITS);
            case "compact" -> b.retention(Retention.COMPACTED);
            default ->
                throw new IllegalArgumentException(
                    "cleanup.policy=" + value + ": only delete or compact");
          }
        }
        case "retention.ms" -> {
          n = parse(name, value);
          b.maxAgeMs(n < 0 ? -1 : n);
        }
        case "retention.bytes" -> {
          n = parse(name, value);
          b.maxBytes(n < 0 ? -1 : n);
        }
        case "max.message.bytes" -> b.maxMessageBytes((int) parse(name, value));
        // Kafka forces every message with 1; Switchboard's nearest policies: always, or interval.
        case "flush.messages" -> b.fsyncPolicy(parse(name, value) == 1 ? "always" : "interval");
        // Meaningless on one node, accepted as Kafka tools set them.
        case "min.insync.replicas", "segment.bytes", "segment.ms", "compression.type" -> {}
        default -> throw new IllegalArgumentException("topic config " + name + " is not supported");
      }
    }

    private static long parse(String name, String value) {
      try {
        return Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + "=" + value + " is not a whole number");
      }
    }

    /** Kafka's config data types (DescribeConfigs v3+). */
    static final byte BOOLEAN = 1;

    static final byte STRING = 2;
    static final byte INT = 3;
    static final byte SHORT = 4;
    static final byte LONG = 5;
    static final byte LIST = 7;

    /** One described configuration. */
    record Entry(String name, String value, boolean readOnly, byte source, byte type, String doc) {}

    /** A topic's configuration as DescribeConfigs gives it. */
    static List<Entry> entries(StreamConfig c) {
      StreamConfig d = StreamConfig.builder(c.name(), c.subjects().toArray(String[]::new)).build();
      List<Entry> out = new ArrayList<>();
      out.add(
          entry(
              "cleanup.policy",
              c.retention() == Retention.COMPACTED ? "compact" : "delete",
              c.retention() != d.retention(),
              LIST,
              "delete: limits retention; compact: the last message per subject is kept."));
      out.add(
          entry(
              "retention.ms",
              Long.toString(c.maxAgeMs()),
              c.maxAgeMs() != d.maxAgeMs(),
              LONG,
              "Messages older than this are removed (-1: no limit)."));
      out.add(
          entry(
              "retention.bytes",
              Long.toString(c.maxBytes()),
              c.maxBytes() != d.maxBytes(),
              LONG,
              "The stream keeps at most this many bytes (-1: no limit)."));
      out.add(
          entry(
              "max.message.bytes",
              Integer.toString(c.maxMessageBytes()),
              c.maxMessageBytes() != d.maxMessageBytes(),
              INT,
              "Largest message accepted."));
      out.add(
          new Entry("min.insync.replicas", "1", true, SOURCE_DEFAULT, INT, "One node: always 1."));
      return out;
    }

    private static Entry entry(String name, String value, boolean set, byte type, String doc) {
      return new Entry(name, value, false, set ? SOURCE_TOPIC : SOURCE_DEFAULT, type, doc);
    }

    static Map<String, String> describe(StreamConfig c) {
      Map<String, String> out = new java.util.LinkedHashMap<>();
      out.put("cleanup.policy", c.retention() == Retention.COMPACTED ? "compact" : "delete");
      out.put("retention.ms", Long.toString(c.maxAgeMs()));
      out.put("retention.bytes", Long.toString(c.maxBytes()));
      out.put("max.message.bytes", Integer.toString(c.maxMessageBytes()));
      return out;
    }
  }
}

package io.switchboard.kafka;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.switchboard.spi.ProtocolMeters;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

/**
 * One Kafka connection, on its event loop: decodes each request with kafka-clients' generated
 * classes, hands it to {@link KafkaApis}, and writes the answers in request order (Kafka clients
 * pipeline requests and match answers by order as well as by correlation id). At most {@link
 * KafkaSettings#maxInFlight()} requests wait for their answers; past it the connection is not read
 * until they are written.
 *
 * <p>A request Kafka itself would close the connection for (an unknown API key, a version we do not
 * serve other than ApiVersions', a body that does not parse) closes it here too, after the answers
 * before it are written.
 */
final class KafkaConnection extends ChannelInboundHandlerAdapter {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(KafkaConnection.class);

  /** A request waiting for its answer; {@code answer} null: nothing is sent back (acks=0). */
  private record Pending(
      int correlationId,
      short responseHeaderVersion,
      short version,
      CompletableFuture<ApiMessage> answer) {}

  private final KafkaApis apis;
  private final KafkaSettings settings;
  private final ProtocolMeters meters;
  private final KafkaSession session;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private boolean closing;

  /** Reading is muted for a quota's throttle time (as Kafka's broker mutes after a response). */
  private boolean throttled;

  KafkaConnection(
      KafkaApis apis, KafkaSettings settings, ProtocolMeters meters, KafkaSession session) {
    this.apis = apis;
    this.settings = settings;
    this.meters = meters;
    this.session = session;
  }

  /** What a connection may send before it has authenticated (when authentication is required). */
  private static boolean beforeAuthentication(ApiKeys key) {
    return key == ApiKeys.API_VERSIONS
        || key == ApiKeys.SASL_HANDSHAKE
        || key == ApiKeys.SASL_AUTHENTICATE;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    meters.opened();
    if (session.authenticated() && !session.openConnection()) {
      // Anonymous over the anonymous principal's connection quota: closed, as Kafka's connection
      // quotas do.
      closing = true;
      ctx.close();
      return;
    }
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    meters.closed();
    pending.clear();
    if (session.access != null) {
      session.access.closeConnection();
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf frame = (ByteBuf) msg;
    try {
      if (!closing) {
        handle(frame);
      }
    } finally {
      frame.release();
    }
  }

  private void handle(ByteBuf frame) {
    // A view of the frame, not a copy: the generated readers copy what they keep (strings, bytes),
    // and the records of a produce are decoded before this returns, while the frame is still held.
    ByteBuffer buf = frame.nioBuffer().slice();
    if (buf.remaining() < 8) {
      fail("a request shorter than its header (" + buf.remaining() + " bytes)");
      return;
    }
    short apiKey = buf.getShort(0);
    short version = buf.getShort(2);
    int correlationId = buf.getInt(4);
    if (!ApiKeys.hasId(apiKey)) {
      fail("unknown API key " + apiKey);
      return;
    }
    ApiKeys key = ApiKeys.forId(apiKey);
    if (key == ApiKeys.API_VERSIONS && !KafkaApis.supports(key, version)) {
      // KIP-511: answered in the v0 body and header, listing the versions we serve.
      reply(
          new Pending(
              correlationId,
              (short) 0,
              (short) 0,
              CompletableFuture.completedFuture(apis.unsupportedApiVersions())));
      return;
    }
    if (!KafkaApis.supports(key, version)) {
      fail(key + " version " + version + " is not served");
      return;
    }
    if (!session.authenticated() && !beforeAuthentication(key)) {
      meters.badInput("request_before_authentication");
      fail(key + " before SASL authentication (auth.required is on)");
      return;
    }
    ApiMessageType type = ApiMessageType.fromApiKey(apiKey);
    RequestHeaderData header;
    ApiMessage request;
    try {
      ByteBufferAccessor in = new ByteBufferAccessor(buf);
      header = new RequestHeaderData(in, type.requestHeaderVersion(version));
      request = type.newRequest();
      request.read(in, version);
    } catch (RuntimeException e) {
      fail(key + " v" + version + " does not parse: " + e.getMessage());
      return;
    }
    CompletableFuture<ApiMessage> answer;
    try {
      answer = apis.handle(ctx, session, header, request, version);
      answer = metered(request, answer);
    } catch (RuntimeException e) {
      LOG.warn("kafka: {} v{} failed", key, version, e);
      fail(key + " failed: " + e);
      return;
    }
    reply(new Pending(correlationId, type.responseHeaderVersion(version), version, answer));
  }

  /**
   * The principal's quotas (issue 18), the Kafka way: a produce is charged to the publish rates and
   * a fetch's records to the consume rate; past them the answer carries {@code throttle_time_ms}
   * (the client backs off, KIP-219) and this connection stops reading for that time. Never an
   * error.
   */
  private CompletableFuture<ApiMessage> metered(
      ApiMessage request, CompletableFuture<ApiMessage> answer) {
    if (answer == null || session.access == null) {
      return answer;
    }
    if (request instanceof org.apache.kafka.common.message.ProduceRequestData produce) {
      int messages = 0;
      long bytes = 0;
      for (var t : produce.topicData()) {
        for (var p : t.partitionData()) {
          if (p.records()
              instanceof org.apache.kafka.common.record.internal.MemoryRecords records) {
            bytes += records.sizeInBytes();
            for (var b : records.batches()) {
              Integer n = b.countOrNull();
              messages += n == null ? 1 : n;
            }
          }
        }
      }
      int pause = (int) session.access.quota().publish(messages, bytes);
      if (pause > 0) {
        throttle(pause);
        return answer.thenApply(
            r ->
                r instanceof org.apache.kafka.common.message.ProduceResponseData pr
                    ? pr.setThrottleTimeMs(pause)
                    : r);
      }
      return answer;
    }
    if (request instanceof org.apache.kafka.common.message.FetchRequestData) {
      return answer.thenApply(
          r -> {
            if (r instanceof org.apache.kafka.common.message.FetchResponseData fr) {
              long bytes = 0;
              for (var t : fr.responses()) {
                for (var p : t.partitions()) {
                  if (p.records() != null) {
                    bytes += p.records().sizeInBytes();
                  }
                }
              }
              int pause = (int) session.access.quota().consume(bytes);
              if (pause > 0) {
                ctx.executor().execute(() -> throttle(pause));
                fr.setThrottleTimeMs(pause);
              }
            }
            return r;
          });
    }
    return answer;
  }

  /** Stops reading for {@code ms} (a pause already running is not extended). On the loop. */
  private void throttle(long ms) {
    if (throttled || closing) {
      return;
    }
    throttled = true;
    ctx.channel().config().setAutoRead(false);
    ctx.executor()
        .schedule(
            () -> {
              throttled = false;
              if (!closing && pending.size() < settings.maxInFlight()) {
                ctx.channel().config().setAutoRead(true);
              }
            },
            ms,
            java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void reply(Pending p) {
    if (p.answer() == null) {
      return; // acks=0: no answer, and nothing to keep the order of
    }
    pending.add(p);
    if (pending.size() >= settings.maxInFlight()) {
      ctx.channel().config().setAutoRead(false);
    }
    if (p.answer().isDone() && pending.peek() == p) {
      drain();
    } else {
      p.answer().whenComplete((r, e) -> ctx.executor().execute(this::drain));
    }
  }

  /** Writes every answer at the head that is ready, in order. On the event loop. */
  private void drain() {
    boolean wrote = false;
    Pending p;
    while ((p = pending.peek()) != null && p.answer().isDone()) {
      pending.poll();
      ApiMessage body;
      try {
        body = p.answer().join();
      } catch (RuntimeException e) {
        // Handlers answer with error codes; a throw here is a defect: Kafka closes the connection.
        LOG.warn("kafka: an answer failed", e);
        ctx.close();
        return;
      }
      ByteBuf frame;
      try {
        frame = encode(p, body);
      } catch (RuntimeException e) {
        // A field this version cannot carry: a defect of ours; the client sees a closed connection.
        LOG.warn("kafka: an answer does not encode at v{}", p.version(), e);
        ctx.flush();
        ctx.close();
        return;
      }
      ctx.write(frame, ctx.voidPromise());
      wrote = true;
      if (session.failed) {
        // A failed SASL exchange: its answer goes out, then the connection closes (as Kafka's).
        ctx.flush();
        closing = true;
        pending.clear();
        ctx.close();
        return;
      }
    }
    if (wrote) {
      ctx.flush();
    }
    if (pending.isEmpty() && closing) {
      ctx.close();
    } else if (pending.size() < settings.maxInFlight() && !closing && !throttled) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  static ByteBuf encode(Pending p, ApiMessage body) {
    return encode(p.correlationId(), p.responseHeaderVersion(), p.version(), body);
  }

  /** A whole response frame: size, header (v0: correlation id; v1: and no tagged fields), body. */
  static ByteBuf encode(int correlationId, short headerVersion, short version, ApiMessage body) {
    ObjectSerializationCache cache = new ObjectSerializationCache();
    int bodySize = body.size(cache, version);
    int headerSize = headerVersion >= 1 ? 5 : 4;
    ByteBuffer out = ByteBuffer.allocate(4 + headerSize + bodySize);
    out.putInt(headerSize + bodySize);
    out.putInt(correlationId);
    if (headerVersion >= 1) {
      out.put((byte) 0); // no tagged fields
    }
    body.write(new ByteBufferAccessor(out), cache, version);
    out.flip();
    return Unpooled.wrappedBuffer(out);
  }

  /** Closes the connection once the answers to the requests before this one are written. */
  private void fail(String why) {
    LOG.info("kafka: closing {}: {}", ctx.channel().remoteAddress(), why);
    closing = true;
    ctx.channel().config().setAutoRead(false);
    if (pending.isEmpty()) {
      ctx.close();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.info("kafka: closing {}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}

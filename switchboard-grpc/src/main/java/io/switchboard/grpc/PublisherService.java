package io.switchboard.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.switchboard.broker.Broker;
import io.switchboard.broker.PublishOptions;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.grpc.v1.AckBatch;
import io.switchboard.grpc.v1.AckRange;
import io.switchboard.grpc.v1.PublishAck;
import io.switchboard.grpc.v1.PublishEntry;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublishStreamAck;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.spi.ProtocolMeters;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.trace.Tracing;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code Publisher}: unary and pipelined publishing. Every call runs on its connection's event
 * loop; the broker's futures complete there.
 */
final class PublisherService extends PublisherGrpc.PublisherImplBase {
  private final Broker broker;
  private final Clock clock;
  private final GrpcSettings settings;
  private final ProtocolMeters meters;

  PublisherService(Broker broker, Clock clock, GrpcSettings settings, ProtocolMeters meters) {
    this.broker = broker;
    this.clock = clock;
    this.settings = settings;
    this.meters = meters;
  }

  @Override
  public void publish(PublishRequest request, StreamObserver<PublishAck> out) {
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    try {
      GrpcQuota.admitPublish(access, request.getMessage().getPayload().size());
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    publish(request, access, loop, -1)
        .whenComplete(
            (ack, error) -> {
              if (error != null) {
                out.onError(GrpcErrors.toStatus(error));
              } else {
                meters.published(request.getMessage().getPayload().size());
                out.onNext(Protos.ack(ack));
                out.onCompleted();
              }
            });
  }

  /** Completes on {@code loop}, or where storage completes it when {@code loop} is null. */
  private CompletableFuture<io.switchboard.broker.stream.PublishAck> publish(
      PublishRequest request, Access access, Executor loop, long sequence) {
    return publish(
        request.getMessage(),
        request.getExpectedStream(),
        request.getMessageId(),
        request.getProducerId(),
        access,
        loop,
        sequence);
  }

  private CompletableFuture<io.switchboard.broker.stream.PublishAck> publish(
      io.switchboard.grpc.v1.Message message,
      String expectedStream,
      String messageId,
      String producerId,
      Access access,
      Executor loop,
      long sequence) {
    try {
      Message m = GrpcTrace.withTrace(Protos.toCore(message, clock.nowMs()), GrpcTrace.headers());
      access.check(Permission.PUBLISH, m.subject());
      if (messageId.isEmpty() && !producerId.isEmpty() && sequence >= 0) {
        messageId = producerId + ":" + sequence;
      }
      PublishOptions options =
          new PublishOptions(
              expectedStream.isEmpty() ? null : expectedStream,
              messageId.isEmpty() ? null : messageId);
      return traced(m, options, loop);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The broker's publish, in a publish span when tracing is on (as every front end). */
  private CompletableFuture<io.switchboard.broker.stream.PublishAck> traced(
      Message m, PublishOptions options, Executor loop) {
    Tracing.Op span = GrpcTrace.tracing().publish(GrpcTrace.PROTOCOL, m);
    Message sent = span == null ? m : span.message();
    CompletableFuture<io.switchboard.broker.stream.PublishAck> ack =
        loop == null ? broker.publish(sent, options) : broker.publish(sent, options, loop);
    return span == null ? ack : span.stored(ack);
  }

  @Override
  public StreamObserver<PublishRequest> publishStream(StreamObserver<PublishStreamAck> out) {
    ServerCallStreamObserver<PublishStreamAck> call =
        (ServerCallStreamObserver<PublishStreamAck>) out;
    Executor loop = Loops.current();
    Access access = GrpcAuth.access();
    // Inbound flow control by hand: at most maxInFlight publishes wait for storage; past it the
    // stream is not read (HTTP/2 window fills, the client's sends wait) until answers go out.
    call.disableAutoRequest();
    call.request(settings.maxInFlight());
    return new PublishStreamObserver(call, access, loop);
  }

  /** Most messages one {@code PublishStream} request may carry ({@code message} and entries). */
  static final int MAX_ENTRIES = 1000;

  /** Most answers (ranges and items) in one batched ack: keeps a response well under 4 MiB. */
  static final int MAX_BATCH_ANSWERS = 1000;

  /** The answers one request still owes; its in-flight slot is freed at zero. Loop only. */
  private static final class Owed {
    int remaining;

    Owed(int remaining) {
      this.remaining = remaining;
    }
  }

  /** One message's answer, queued where storage completed it. */
  private record Answer(
      long sequence, io.switchboard.broker.stream.PublishAck ack, Throwable error, Owed owed) {}

  /**
   * One {@code PublishStream}: publishes as its requests arrive (up to {@code maxInFlight} requests
   * waiting for storage, each of one message or of up to {@value #MAX_ENTRIES} entries), and
   * answers them in batches. A storage ack lands on the partition's runner or the log's flusher; it
   * is queued there, and one task on the call's event loop writes every answer queued by then
   * (grpc-java flushes them together) and asks the transport for as many requests as it finished
   * answering — one loop task, one flush and one {@code request(n)} per batch rather than per
   * message. With {@code batch_acks} the answers of one such task go out as one response (an {@code
   * AckBatch}: runs of consecutive sequences at consecutive offsets as ranges, the rest as items),
   * so an ack is never held back for another, and one frame carries many. The queue holds at most
   * the answers of {@code maxInFlight} requests.
   */
  private final class PublishStreamObserver implements StreamObserver<PublishRequest> {
    private final ServerCallStreamObserver<PublishStreamAck> call;
    private final Access access;
    private final Executor loop;
    private final java.util.concurrent.ConcurrentLinkedQueue<Answer> answered =
        new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicBoolean drainScheduled =
        new java.util.concurrent.atomic.AtomicBoolean();
    private final GrpcQuota.Throttle throttle;
    // Loop only:
    private int inFlight; // requests with answers still owed
    private boolean batchAcks;
    private boolean halfClosed;
    private boolean done;

    PublishStreamObserver(
        ServerCallStreamObserver<PublishStreamAck> call, Access access, Executor loop) {
      this.call = call;
      this.access = access;
      this.loop = loop;
      this.throttle = new GrpcQuota.Throttle(call, loop);
    }

    @Override
    public void onNext(PublishRequest request) {
      if (done) {
        return;
      }
      int entries = request.getEntriesCount();
      // Without entries a request is one message (an unset one is answered INVALID_SUBJECT, as
      // always); with entries, its message is published first when set.
      boolean first = entries == 0 || request.hasMessage();
      int count = entries + (first ? 1 : 0);
      if (count > MAX_ENTRIES) {
        fail(GrpcErrors.of(ErrorCode.GRPC_BATCH_TOO_LARGE, count, MAX_ENTRIES));
        return;
      }
      long bytes = first ? request.getMessage().getPayload().size() : 0;
      if (first && request.getSequence() < 0) {
        fail(badSequence(request.getSequence()));
        return;
      }
      for (int i = 0; i < entries; i++) {
        PublishEntry e = request.getEntries(i);
        if (e.getSequence() < 0) {
          fail(badSequence(e.getSequence()));
          return;
        }
        bytes += e.getMessage().getPayload().size();
      }
      if (request.getBatchAcks()) {
        batchAcks = true;
      }
      inFlight++;
      throttle.pause(access.quota().publish(count, bytes));
      Owed owed = new Owed(count);
      if (first) {
        long seq = request.getSequence();
        answerWhenDone(
            seq,
            owed,
            request.getMessage().getPayload().size(),
            publish(request, access, null, seq));
      }
      for (int i = 0; i < entries; i++) {
        PublishEntry e = request.getEntries(i);
        long seq = e.getSequence();
        answerWhenDone(
            seq,
            owed,
            e.getMessage().getPayload().size(),
            publish(
                e.getMessage(),
                request.getExpectedStream(),
                e.getMessageId(),
                request.getProducerId(),
                access,
                null,
                seq));
      }
    }

    private RuntimeException badSequence(long seq) {
      return GrpcErrors.of(ErrorCode.INVALID_ARGUMENT, "sequence " + seq + " must be >= 0");
    }

    private void answerWhenDone(
        long seq,
        Owed owed,
        int payloadBytes,
        CompletableFuture<io.switchboard.broker.stream.PublishAck> f) {
      f.whenComplete(
          (ack, error) -> {
            if (error == null) {
              meters.published(payloadBytes); // an adder: safe where storage completes it
            }
            answered.add(new Answer(seq, ack, error, owed));
            if (drainScheduled.compareAndSet(false, true)) {
              loop.execute(this::drain);
            }
          });
    }

    /** On the loop: writes every answer queued so far and reads as many more requests. */
    private void drain() {
      drainScheduled.set(false);
      int freed = 0;
      Batch batch = batchAcks && !done ? new Batch() : null;
      Answer a;
      while ((a = answered.poll()) != null) {
        if (--a.owed().remaining == 0) {
          freed++;
        }
        if (done) {
          continue;
        }
        if (batch == null) {
          call.onNext(single(a));
        } else if (batch.add(a)) {
          call.onNext(batch.build());
          batch = new Batch();
        }
      }
      if (batch != null && !batch.isEmpty()) {
        call.onNext(batch.build());
      }
      inFlight -= freed;
      if (done) {
        return;
      }
      if (halfClosed && inFlight == 0) {
        done = true;
        call.onCompleted();
      } else if (freed > 0) {
        throttle.request(freed); // after a pause when past a publish rate
      }
    }

    @Override
    public void onError(Throwable t) {
      done = true; // cancelled by the client: pending acks have nowhere to go
    }

    @Override
    public void onCompleted() {
      halfClosed = true;
      if (inFlight == 0 && !done) {
        done = true;
        call.onCompleted();
      }
    }

    private void fail(RuntimeException e) {
      done = true;
      call.onError(e);
    }
  }

  /** One message's answer on its own. */
  private static PublishStreamAck single(Answer a) {
    PublishStreamAck.Builder b = PublishStreamAck.newBuilder().setSequence(a.sequence());
    if (a.error() != null) {
      b.setError(GrpcErrors.itemError(a.error()));
    } else {
      b.setAck(Protos.ack(a.ack()));
    }
    return b.build();
  }

  /**
   * The answers of one drain as an {@link AckBatch}: a stored message continuing the open run (next
   * sequence at the next offset of the same partition) extends it, another stored message opens a
   * new run, and errors, duplicates, delayed and uncaptured messages are items.
   */
  private static final class Batch {
    private final AckBatch.Builder b = AckBatch.newBuilder();
    private io.switchboard.broker.stream.PublishAck runAck; // the run's first ack
    private long runSequence;
    private int runCount;

    /** Adds an answer; true when the batch is full and must be sent. */
    boolean add(Answer a) {
      io.switchboard.broker.stream.PublishAck ack = a.ack();
      if (a.error() != null
          || ack.stream() == null
          || ack.duplicate()
          || ack.deliverAtMs() != 0
          || ack.offset() < 0) {
        b.addItems(single(a));
      } else if (runAck != null
          && a.sequence() == runSequence + runCount
          && ack.offset() == runAck.offset() + runCount
          && ack.partition() == runAck.partition()
          && ack.durability() == runAck.durability()
          && ack.stream().equals(runAck.stream())) {
        runCount++;
        return false; // a longer run takes no more room
      } else {
        closeRun();
        runAck = ack;
        runSequence = a.sequence();
        runCount = 1;
      }
      return b.getItemsCount() + b.getRangesCount() + (runAck == null ? 0 : 1) >= MAX_BATCH_ANSWERS;
    }

    private void closeRun() {
      if (runAck != null) {
        b.addRanges(
            AckRange.newBuilder()
                .setFirstSequence(runSequence)
                .setCount(runCount)
                .setStream(runAck.stream())
                .setPartition(runAck.partition())
                .setFirstOffset(runAck.offset())
                .setDurability(Protos.durability(runAck.durability())));
        runAck = null;
      }
    }

    boolean isEmpty() {
      return runAck == null && b.getItemsCount() == 0 && b.getRangesCount() == 0;
    }

    PublishStreamAck build() {
      closeRun();
      return PublishStreamAck.newBuilder().setBatch(b).build();
    }
  }
}

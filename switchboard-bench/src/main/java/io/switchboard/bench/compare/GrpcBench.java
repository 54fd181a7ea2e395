package io.switchboard.bench.compare;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.grpc.v1.AdminGrpc;
import io.switchboard.grpc.v1.ConsumeRequest;
import io.switchboard.grpc.v1.ConsumeResponse;
import io.switchboard.grpc.v1.ConsumerConfig;
import io.switchboard.grpc.v1.CreateConsumerRequest;
import io.switchboard.grpc.v1.DeliveryMode;
import io.switchboard.grpc.v1.Message;
import io.switchboard.grpc.v1.PublishAck;
import io.switchboard.grpc.v1.PublishRequest;
import io.switchboard.grpc.v1.PublishStreamAck;
import io.switchboard.grpc.v1.PublisherGrpc;
import io.switchboard.grpc.v1.RequestMessage;
import io.switchboard.grpc.v1.RequestsGrpc;
import io.switchboard.grpc.v1.ServeRequest;
import io.switchboard.grpc.v1.ServeResponse;
import io.switchboard.grpc.v1.StreamConfig;
import io.switchboard.grpc.v1.SubscriberGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * The gRPC front end beside the native protocol, in one run against one server
 * (docs/benchmarks.md): persisted publish of 100 B messages (native async publishes, gRPC {@code
 * PublishStream} with requests of {@value #BATCH} messages and batched acks, and one message a
 * request as before, gRPC unary {@code Publish}), consume with a per-message ack (native push
 * consumer, gRPC {@code Consume}), and request/reply round trips (native request with a native
 * responder, gRPC {@code Request} with a {@code Serve} responder). Starts Switchboard with its
 * launcher on free loopback ports, stops it by PID. Prints a Markdown table.
 *
 * <pre>
 * java -cp … io.switchboard.bench.compare.GrpcBench ROOT WORKDIR SECONDS
 * </pre>
 */
public final class GrpcBench {
  static final int SIZE = 100;
  static final int WINDOW = 1000;
  static final int UNARY_WINDOW = 100;
  static final int CREDIT = 1000;
  static final int REQUESTS = 20_000;

  /** Messages per PublishStream request in the batched mode (entries, batch_acks). */
  static final int BATCH = 100;

  private GrpcBench() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    Path work = Path.of(args[1]);
    long seconds = Long.parseLong(args[2]);
    Files.createDirectories(work);
    int nativePort = Running.freePort();
    int grpcPort = Running.freePort();
    Path log = work.resolve("switchboard.log");
    Process p =
        Procs.start(
            List.of(
                root.resolve("switchboard").toString(),
                "server",
                "--data",
                work.resolve("data").toString(),
                "--port",
                "" + nativePort,
                "--set",
                "http.port=-1",
                "--set",
                "mqtt.port=-1",
                "--set",
                "kafka.port=-1",
                "--set",
                "amqp.port=-1",
                "--set",
                "grpc.port=" + grpcPort),
            Map.of(),
            log);
    try (Running r =
            new Running(List.of(p), Map.of("native", nativePort, "grpc", grpcPort), log)
                .awaitListening(Duration.ofSeconds(120));
        SwitchboardClient nat = SwitchboardClient.connect("127.0.0.1:" + r.port("native"))) {
      ManagedChannel ch =
          NettyChannelBuilder.forAddress("127.0.0.1", grpcPort)
              .usePlaintext()
              .flowControlWindow(4 << 20)
              .build();
      AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(ch);
      for (String s : new String[] {"NP", "GP", "GU"}) {
        admin.createStream(
            StreamConfig.newBuilder()
                .setName(s)
                .addSubjects(s.toLowerCase(java.util.Locale.ROOT) + ".>")
                .build());
        admin.createConsumer(
            CreateConsumerRequest.newBuilder()
                .setStream(s)
                .setConfig(
                    ConsumerConfig.newBuilder()
                        .setName("c")
                        .setMode(DeliveryMode.DELIVERY_MODE_SHARED)
                        .setMaxAckPending(2 * CREDIT))
                .build());
      }
      byte[] payload = new byte[SIZE];
      StringBuilder out = new StringBuilder();
      out.append("| workload | native | gRPC | gRPC / native |\n| --- | --- | --- | --- |\n");

      // Warm up both publish paths (JIT) before measuring either: on a loaded machine the first
      // workload of a cold server ran several times slower than the same one a minute later.
      long warm = Math.max(2, seconds / 3);
      nativePublish(nat, payload, warm);
      grpcStreamPublish(ch, payload, warm, BATCH);
      grpcStreamPublish(ch, payload, warm, 1);
      // Native before and after the gRPC workloads, compared with their mean: load that drifts
      // during the run shows as the gap between the two rather than biasing the ratio.
      double natBefore = nativePublish(nat, payload, seconds);
      double grpcBatched = grpcStreamPublish(ch, payload, seconds, BATCH);
      double grpcStream = grpcStreamPublish(ch, payload, seconds, 1);
      double grpcUnary = grpcUnaryPublish(ch, payload, seconds);
      double natAfter = nativePublish(nat, payload, seconds);
      double natPub = (natBefore + natAfter) / 2;
      System.err.printf(
          "native publish: %,.0f msg/s before the gRPC workloads, %,.0f after%n",
          natBefore, natAfter);
      row(
          out,
          "persisted publish, 100 B, streaming, "
              + BATCH
              + " a request, batched acks ("
              + WINDOW
              + " in flight)",
          natPub,
          grpcBatched,
          "msg/s");
      row(
          out,
          "persisted publish, 100 B, streaming, one a request (" + WINDOW + " in flight)",
          natPub,
          grpcStream,
          "msg/s");
      row(
          out,
          "persisted publish, 100 B, gRPC unary (" + UNARY_WINDOW + " in flight)",
          natPub,
          grpcUnary,
          "msg/s");

      long n = Math.min(200_000, Math.min(countOf(admin, "NP"), countOf(admin, "GP")));
      double natConsume = nativeConsume(nat, n);
      double grpcConsume = grpcConsume(ch, n);
      row(
          out,
          "consume " + n + " with an ack each (credit " + CREDIT + ")",
          natConsume,
          grpcConsume,
          "msg/s");

      Histogram natRtt = nativeRequests(nativePort, payload);
      Histogram grpcRtt = grpcRequests(ch, payload);
      out.append(
          String.format(
              "| request/reply round trip p50 (µs, %d sequential) | %d | %d | %.2f× |%n",
              REQUESTS,
              natRtt.getValueAtPercentile(50),
              grpcRtt.getValueAtPercentile(50),
              (double) grpcRtt.getValueAtPercentile(50) / natRtt.getValueAtPercentile(50)));
      out.append(
          String.format(
              "| request/reply round trip p99 (µs) | %d | %d | %.2f× |%n",
              natRtt.getValueAtPercentile(99),
              grpcRtt.getValueAtPercentile(99),
              (double) grpcRtt.getValueAtPercentile(99) / natRtt.getValueAtPercentile(99)));
      out.append(
          String.format(
              "%nNative publish %,.0f msg/s before the gRPC publish workloads and %,.0f after;"
                  + " the publish rows compare with their mean.%n",
              natBefore, natAfter));
      System.out.print(out);
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  static void row(StringBuilder out, String name, double nat, double grpc, String unit) {
    out.append(
        String.format(
            "| %s | %,.0f %s | %,.0f %s | %.2f |%n", name, nat, unit, grpc, unit, grpc / nat));
  }

  static long countOf(AdminGrpc.AdminBlockingStub admin, String stream) {
    return admin
        .getStream(io.switchboard.grpc.v1.StreamName.newBuilder().setName(stream).build())
        .getPartitions(0)
        .getEndOffset();
  }

  static double nativePublish(SwitchboardClient c, byte[] payload, long seconds) throws Exception {
    Semaphore window = new Semaphore(WINDOW);
    AtomicLong acked = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long t0 = System.nanoTime();
    while (System.nanoTime() < end) {
      window.acquire();
      c.publishAsync("np.x", payload)
          .whenComplete(
              (a, e) -> {
                if (e == null) {
                  acked.incrementAndGet();
                }
                window.release();
              });
    }
    window.acquire(WINDOW);
    return acked.get() / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * {@code PublishStream} with {@link #WINDOW} messages in flight: {@code batch} messages a request
   * (as entries, with batched acks) or, with 1, one message a request answered one by one.
   */
  static double grpcStreamPublish(ManagedChannel ch, byte[] payload, long seconds, int batch)
      throws Exception {
    Semaphore window = new Semaphore(WINDOW);
    AtomicLong acked = new AtomicLong();
    CompletableFuture<Void> done = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicReference<
            io.grpc.stub.ClientCallStreamObserver<PublishRequest>>
        acks = new java.util.concurrent.atomic.AtomicReference<>();
    StreamObserver<PublishRequest> out =
        PublisherGrpc.newStub(ch)
            .publishStream(
                new io.grpc.stub.ClientResponseObserver<PublishRequest, PublishStreamAck>() {
                  @Override
                  public void beforeStart(
                      io.grpc.stub.ClientCallStreamObserver<PublishRequest> call) {
                    // Ask for a window of acks at once (and one more per ack read) rather than
                    // grpc-java's default of one at a time: with the default, each ack waits for
                    // the previous one's trip through the callback executor before it is even
                    // decoded, which held this stream to under a tenth of the native rate.
                    call.disableAutoRequestWithInitial(WINDOW);
                    acks.set(call);
                  }

                  @Override
                  public void onNext(PublishStreamAck a) {
                    acks.get().request(1);
                    int answered;
                    if (a.hasBatch()) {
                      int ok = 0;
                      for (io.switchboard.grpc.v1.AckRange r : a.getBatch().getRangesList()) {
                        ok += r.getCount();
                      }
                      answered = ok + a.getBatch().getItemsCount();
                      for (PublishStreamAck item : a.getBatch().getItemsList()) {
                        if (item.hasAck()) {
                          ok++;
                        }
                      }
                      acked.addAndGet(ok);
                    } else {
                      answered = 1;
                      if (a.hasAck()) {
                        acked.incrementAndGet();
                      }
                    }
                    window.release(answered);
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.complete(null);
                  }
                });
    Message m =
        Message.newBuilder().setSubject("gp.x").setPayload(ByteString.copyFrom(payload)).build();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long t0 = System.nanoTime();
    long seq = 0;
    while (System.nanoTime() < end) {
      window.acquire(batch);
      PublishRequest r;
      if (batch == 1) {
        r = PublishRequest.newBuilder().setMessage(m).setSequence(seq++).build();
      } else {
        PublishRequest.Builder b = PublishRequest.newBuilder().setBatchAcks(true);
        for (int i = 0; i < batch; i++) {
          b.addEntries(
              io.switchboard.grpc.v1.PublishEntry.newBuilder().setMessage(m).setSequence(seq++));
        }
        r = b.build();
      }
      synchronized (out) {
        out.onNext(r);
      }
    }
    window.acquire(WINDOW);
    double rate = acked.get() / ((System.nanoTime() - t0) / 1e9);
    out.onCompleted();
    done.get(30, TimeUnit.SECONDS);
    return rate;
  }

  static double grpcUnaryPublish(ManagedChannel ch, byte[] payload, long seconds) throws Exception {
    Semaphore window = new Semaphore(UNARY_WINDOW);
    AtomicLong acked = new AtomicLong();
    PublisherGrpc.PublisherStub stub = PublisherGrpc.newStub(ch);
    PublishRequest req =
        PublishRequest.newBuilder()
            .setMessage(
                Message.newBuilder().setSubject("gu.x").setPayload(ByteString.copyFrom(payload)))
            .build();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long t0 = System.nanoTime();
    while (System.nanoTime() < end) {
      window.acquire();
      stub.publish(
          req,
          new StreamObserver<PublishAck>() {
            @Override
            public void onNext(PublishAck a) {
              acked.incrementAndGet();
            }

            @Override
            public void onError(Throwable t) {
              window.release();
            }

            @Override
            public void onCompleted() {
              window.release();
            }
          });
    }
    window.acquire(UNARY_WINDOW);
    return acked.get() / ((System.nanoTime() - t0) / 1e9);
  }

  static double nativeConsume(SwitchboardClient c, long n) throws Exception {
    CountDownLatch all = new CountDownLatch((int) n);
    long t0 = System.nanoTime();
    var sub =
        c.consume(
            "NP",
            "c",
            "bench",
            CREDIT,
            d -> {
              c.ackAsync("NP", "c", d);
              all.countDown();
            });
    all.await(10, TimeUnit.MINUTES);
    double rate = (n - all.getCount()) / ((System.nanoTime() - t0) / 1e9);
    sub.close();
    return rate;
  }

  static double grpcConsume(ManagedChannel ch, long n) throws Exception {
    CountDownLatch all = new CountDownLatch((int) n);
    Object lock = new Object();
    java.util.concurrent.atomic.AtomicReference<StreamObserver<ConsumeRequest>> out =
        new java.util.concurrent.atomic.AtomicReference<>();
    long t0 = System.nanoTime();
    java.util.concurrent.atomic.AtomicReference<
            io.grpc.stub.ClientCallStreamObserver<ConsumeRequest>>
        call = new java.util.concurrent.atomic.AtomicReference<>();
    out.set(
        SubscriberGrpc.newStub(ch)
            .consume(
                new io.grpc.stub.ClientResponseObserver<ConsumeRequest, ConsumeResponse>() {
                  @Override
                  public void beforeStart(io.grpc.stub.ClientCallStreamObserver<ConsumeRequest> c) {
                    // Read a credit's worth of deliveries ahead, not one at a time (as publish).
                    c.disableAutoRequestWithInitial(CREDIT);
                    call.set(c);
                  }

                  @Override
                  public void onNext(ConsumeResponse r) {
                    call.get().request(1);
                    if (r.hasDelivery()) {
                      synchronized (lock) {
                        out.get()
                            .onNext(
                                ConsumeRequest.newBuilder()
                                    .setAck(
                                        ConsumeRequest.Settle.newBuilder()
                                            .addDeliveryIds(r.getDelivery().getDeliveryId()))
                                    .build());
                      }
                      all.countDown();
                    }
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                }));
    synchronized (lock) {
      out.get()
          .onNext(
              ConsumeRequest.newBuilder()
                  .setOpen(
                      ConsumeRequest.Open.newBuilder()
                          .setStream("GP")
                          .setConsumer("c")
                          .setCredit(CREDIT))
                  .build());
    }
    all.await(10, TimeUnit.MINUTES);
    double rate = (n - all.getCount()) / ((System.nanoTime() - t0) / 1e9);
    synchronized (lock) {
      out.get().onCompleted();
    }
    return rate;
  }

  /**
   * Repeats {@code probe} until it succeeds (a responder answered: its subscription is in place on
   * the server), for at most 30 s. Each failed probe is itself a round trip to the server, which
   * says at once that no one responds; the millisecond between probes only keeps this off a spin.
   */
  static void awaitAnswered(java.util.concurrent.Callable<?> probe) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        probe.call();
        return;
      } catch (Exception e) {
        if (System.nanoTime() > end) {
          throw new IllegalStateException("the responder did not answer a probe within 30 s", e);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      }
    }
  }

  static Histogram nativeRequests(int port, byte[] payload) throws Exception {
    try (SwitchboardClient responder = SwitchboardClient.connect("127.0.0.1:" + port);
        SwitchboardClient requester = SwitchboardClient.connect("127.0.0.1:" + port)) {
      var sub = responder.subscribe("rpc.native", m -> responder.reply(m, m.payload()));
      // Ready when a probe request is answered: the subscription has reached the server.
      awaitAnswered(
          () ->
              requester
                  .request("rpc.native", payload, Duration.ofSeconds(5))
                  .get(5, TimeUnit.SECONDS));
      Histogram h = new Histogram(3);
      for (int i = 0; i < REQUESTS; i++) {
        long t = System.nanoTime();
        requester.request("rpc.native", payload, Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS);
        h.recordValue((System.nanoTime() - t) / 1000);
      }
      sub.close();
      return h;
    }
  }

  static Histogram grpcRequests(ManagedChannel ch, byte[] payload) throws Exception {
    Object lock = new Object();
    java.util.concurrent.atomic.AtomicReference<StreamObserver<ServeRequest>> out =
        new java.util.concurrent.atomic.AtomicReference<>();
    out.set(
        RequestsGrpc.newStub(ch)
            .serve(
                new StreamObserver<ServeResponse>() {
                  @Override
                  public void onNext(ServeResponse r) {
                    synchronized (lock) {
                      out.get()
                          .onNext(
                              ServeRequest.newBuilder()
                                  .setReply(
                                      ServeRequest.Reply.newBuilder()
                                          .setRequestId(r.getRequestId())
                                          .setPayload(r.getRequest().getPayload()))
                                  .build());
                    }
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                }));
    synchronized (lock) {
      out.get()
          .onNext(
              ServeRequest.newBuilder()
                  .setServe(ServeRequest.Serve.newBuilder().setPattern("rpc.grpc"))
                  .build());
    }
    RequestsGrpc.RequestsBlockingStub req = RequestsGrpc.newBlockingStub(ch);
    RequestMessage m =
        RequestMessage.newBuilder()
            .setMessage(
                Message.newBuilder()
                    .setSubject("rpc.grpc")
                    .setPayload(ByteString.copyFrom(payload)))
            .build();
    // Ready when a probe request is answered (until then: UNAVAILABLE, no responders).
    awaitAnswered(() -> req.withDeadlineAfter(5, TimeUnit.SECONDS).request(m));
    Histogram h = new Histogram(3);
    for (int i = 0; i < REQUESTS; i++) {
      long t = System.nanoTime();
      req.withDeadlineAfter(5, TimeUnit.SECONDS).request(m);
      h.recordValue((System.nanoTime() - t) / 1000);
    }
    synchronized (lock) {
      out.get().onCompleted();
    }
    return h;
  }
}

package io.switchboard.bench.compare;

/** The workloads of the side-by-side suite (issue #7), each bounded in time. */
enum Workload {
  PUBLISH_100B(
      "1", "Persisted publish, 100 B, one producer, max rate", 100, 0, true, Headline.PUBLISH),
  PUBLISH_1KIB(
      "2", "Persisted publish, 1 KiB, one producer, max rate", 1024, 0, true, Headline.PUBLISH),
  LATENCY_1KIB(
      "3", "End-to-end latency, 1 KiB at 10,000 msg/s", 1024, 10_000, true, Headline.LATENCY),
  /**
   * Issue 13's latency goal: the stored path at a rate where neither broker queues, one consumer
   * acknowledging each message; run with the broker's default durability only.
   */
  LATENCY_1KIB_5K(
      "3b",
      "End-to-end latency, 1 KiB at 5,000 msg/s, one consumer, per-message ack",
      1024,
      5_000,
      false,
      Headline.LATENCY),
  WORK_QUEUE(
      "4",
      "Work queue, 1 KiB, one producer, two consumers, per-message ack",
      1024,
      0,
      true,
      Headline.RECEIVE),
  FANOUT_1(
      "5a", "Live pub/sub to 1 subscriber, 100 B, no persistence", 100, 0, false, Headline.RECEIVE),
  FANOUT_10(
      "5b",
      "Live pub/sub to 10 subscribers, 100 B, no persistence",
      100,
      0,
      false,
      Headline.RECEIVE),
  MQTT_QOS1("6", "MQTT QoS 1 publish, 100 B, one client", 100, 0, false, Headline.PUBLISH),
  REQUEST_REPLY(
      "7", "Request/reply round trip, 100 B, one requester", 100, 0, false, Headline.LATENCY),
  CONSUME_1KIB(
      "8",
      "Kafka consumer reading a stored backlog, 1 KiB, one consumer in a group",
      1024,
      0,
      false,
      Headline.RECEIVE);

  /** Which figure of a run the tables lead with. */
  enum Headline {
    /** Acknowledged publishes per second; latency from send to acknowledgement. */
    PUBLISH,
    /** Messages received per second (over all receivers); latency end to end. */
    RECEIVE,
    /** Latency end to end at a fixed rate (or per round trip); the rate is context. */
    LATENCY
  }

  final String id;
  final String title;
  final int sizeBytes;

  /** Messages per second the producer keeps to; 0 = as fast as it can. */
  final int rate;

  /** Run twice: default durability and fsynced before the acknowledgement. */
  final boolean durabilitySensitive;

  final Headline headline;

  Workload(
      String id,
      String title,
      int sizeBytes,
      int rate,
      boolean durabilitySensitive,
      Headline headline) {
    this.id = id;
    this.title = title;
    this.sizeBytes = sizeBytes;
    this.rate = rate;
    this.durabilitySensitive = durabilitySensitive;
    this.headline = headline;
  }

  /** Subscribers of a fan-out workload; 1 for the others. */
  int subscribers() {
    return this == FANOUT_10 ? 10 : 1;
  }
}

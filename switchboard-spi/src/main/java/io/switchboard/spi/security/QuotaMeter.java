package io.switchboard.spi.security;

/**
 * One principal's usage against its {@link QuotaLimits}, shared by all of its connections.
 * Thread-safe and non-blocking, so front ends call it on their event loops (through {@link
 * Access}).
 *
 * <p>Rates are token buckets that may go into debt: a charge is always taken (what was read is
 * handled), and the answer is how long the connection should wait before it reads again — the time
 * for the bucket to refill to zero. A front end that can slow a client down (pausing reads, Kafka's
 * {@code throttle_time_ms}) charges and pauses; one that cannot (HTTP, one request at a time) asks
 * {@link #wait} first and refuses while the bucket is in debt.
 */
public interface QuotaMeter {

  /** What is metered at a rate. */
  enum Rate {
    PUBLISH_BYTES("publish-bytes"),
    PUBLISH_MESSAGES("publish-messages"),
    CONSUME_BYTES("consume-bytes"),
    REQUESTS("requests");

    private final String wireName;

    Rate(String wireName) {
      this.wireName = wireName;
    }

    /** As {@link QuotaLimits#FIELDS} names it. */
    public String wireName() {
      return wireName;
    }
  }

  /** Longest pause a charge asks for, however deep the debt: a client is slowed, not stalled. */
  long MAX_PAUSE_MS = 30_000;

  /**
   * Charges {@code messages} publishes with {@code bytes} payload bytes in all.
   *
   * @return milliseconds to pause before reading more (0: none)
   */
  long publish(int messages, long bytes);

  /**
   * Charges {@code bytes} delivered payload bytes.
   *
   * @return milliseconds to pause before delivering more (0: none)
   */
  long consume(long bytes);

  /**
   * Charges one request.
   *
   * @return milliseconds to pause before reading more (0: none)
   */
  long request();

  /** Milliseconds until {@code rate}'s bucket is out of debt (0: a charge may go now). */
  long wait(Rate rate);

  /** The limit per second of {@code rate} (0: unlimited). */
  long limit(Rate rate);

  /** Takes one connection; false when the principal has its quota of connections open. */
  boolean openConnection();

  void closeConnection();

  /** Takes one subscription or consumer; false when the principal has its quota open. */
  boolean openConsumer();

  void closeConsumer();

  /** The limits in force. */
  QuotaLimits limits();

  /** Connections open now. */
  int connections();

  /** Subscriptions and consumers open now. */
  int consumers();

  /** No limits, nothing counted. */
  QuotaMeter UNLIMITED =
      new QuotaMeter() {
        @Override
        public long publish(int messages, long bytes) {
          return 0;
        }

        @Override
        public long consume(long bytes) {
          return 0;
        }

        @Override
        public long request() {
          return 0;
        }

        @Override
        public long wait(Rate rate) {
          return 0;
        }

        @Override
        public long limit(Rate rate) {
          return 0;
        }

        @Override
        public boolean openConnection() {
          return true;
        }

        @Override
        public void closeConnection() {}

        @Override
        public boolean openConsumer() {
          return true;
        }

        @Override
        public void closeConsumer() {}

        @Override
        public QuotaLimits limits() {
          return QuotaLimits.UNLIMITED;
        }

        @Override
        public int connections() {
          return 0;
        }

        @Override
        public int consumers() {
          return 0;
        }
      };
}

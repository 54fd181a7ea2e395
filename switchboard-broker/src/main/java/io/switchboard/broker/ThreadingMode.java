package io.switchboard.broker;

/**
 * Which threads run the broker's agents (partitions, consumers) and its log flushers (Aeron's
 * dedicated runner or {@code AgentInvoker}).
 */
public enum ThreadingMode {
  /** Each runner and each flusher has its own thread: the server. */
  DEDICATED,

  /**
   * No runner or flusher thread: the caller drives every duty cycle through {@link Broker#doWork()}
   * (with a manual clock, a test decides exactly what happens when). Work-queue trimming runs in
   * {@code doWork()} too, on the broker's clock; delayed releases, consumer state writes,
   * maintenance and live-bus timers keep their own threads.
   */
  INVOKER
}

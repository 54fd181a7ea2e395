package io.switchboard.broker.stream;

/**
 * A single-threaded owner of some state, run by an {@link AgentRunner}: {@link #doWork()} is only
 * ever called from one thread at a time; other threads talk to it through its own bounded queue.
 */
public interface Agent {
  /**
   * One duty cycle.
   *
   * @return how much work was done; 0 when idle (the runner may then park)
   */
  int doWork();

  /** Set by the runner: how posting work to this agent wakes the runner. */
  void onWork(Runnable wakeUp);
}

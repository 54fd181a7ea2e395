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

  /**
   * Called by the runner, on the agent's thread, after {@link #doWork()} threw {@code e}. The agent
   * fails every operation it was handling with {@link io.switchboard.core.ErrorCode#INTERNAL} (or
   * the error itself when it is a {@link io.switchboard.core.SwitchboardException}), so no caller
   * waits for an answer the failed cycle will never give; later cycles serve new work as usual.
   */
  void dutyCycleFailed(RuntimeException e);
}

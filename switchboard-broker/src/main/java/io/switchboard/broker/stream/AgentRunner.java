package io.switchboard.broker.stream;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs agents' duty cycles (partitions, consumers) on one dedicated thread. When a full pass does
 * no work it parks, backing off from 1 µs to 1 ms; a publish posted to any of its agents unparks
 * it. An {@linkplain #invoker invoker} has no thread: its owner calls {@link #doWork()} (Aeron's
 * {@code AgentInvoker}), so a test decides when each duty cycle runs.
 *
 * <p>Thread safety: {@link #add}, {@link #remove} and {@link #close} from any thread; the agents
 * run only on the runner's thread, or for an invoker on the thread calling {@link #doWork()}, one
 * at a time.
 */
public final class AgentRunner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AgentRunner.class);
  private static final long MIN_PARK_NS = TimeUnit.MICROSECONDS.toNanos(1);
  private static final long MAX_PARK_NS = TimeUnit.MILLISECONDS.toNanos(1);

  private final List<Agent> agents = new CopyOnWriteArrayList<>();

  /** Held by the runner thread for each pass over its agents; see {@link #remove}. */
  private final ReentrantLock pass = new ReentrantLock();

  /** The dedicated thread; null for an invoker. */
  private final Thread thread;

  private volatile boolean running = true;

  public AgentRunner(String name) {
    thread = Thread.ofPlatform().daemon().name(name).unstarted(this::run);
    thread.start();
  }

  private AgentRunner() {
    thread = null;
  }

  /** A runner without a thread: the caller runs each pass with {@link #doWork()}. */
  public static AgentRunner invoker() {
    return new AgentRunner();
  }

  /** Runs {@code agent} on this runner from now on. */
  public void add(Agent agent) {
    if (thread != null) {
      agent.onWork(() -> LockSupport.unpark(thread));
    }
    agents.add(agent);
    LockSupport.unpark(thread);
  }

  /**
   * Stops running {@code agent}. Returns only once no duty cycle of it is in progress, so the
   * caller may then touch the agent's state itself (finish, close) without racing its owner. Must
   * not be called from an agent's own duty cycle.
   */
  public void remove(Agent agent) {
    agents.remove(agent);
    agent.onWork(() -> {});
    if (Thread.currentThread() != thread) {
      pass.lock(); // waits for a pass that may still be running the agent
      pass.unlock();
    }
  }

  /**
   * One pass over every agent, for an invoker (a dedicated runner calls it on its thread).
   *
   * @return the work done; 0 when every agent was idle
   * @throws IllegalStateException on a runner with a thread of its own
   */
  public int doWork() {
    if (thread != null && Thread.currentThread() != thread) {
      throw new IllegalStateException("a dedicated runner runs its own passes");
    }
    int work = 0;
    pass.lock();
    try {
      for (Agent a : agents) {
        try {
          work += a.doWork();
        } catch (RuntimeException e) {
          // An agent's bug must not stop the partitions that share its thread, nor leave the
          // callers it was serving waiting: it fails what it was handling.
          LOG.error("SB-BRK-2003 {}: duty cycle failed", a, e);
          failed(a, e);
        }
      }
    } finally {
      pass.unlock();
    }
    return work;
  }

  private void run() {
    io.switchboard.core.Blocking.markNonBlocking(); // agents never block (CRAFT §2)
    long park = MIN_PARK_NS;
    while (running) {
      int work = doWork();
      if (work > 0) {
        park = MIN_PARK_NS;
      } else {
        LockSupport.parkNanos(this, park);
        park = Math.min(park * 2, MAX_PARK_NS);
      }
    }
  }

  private static void failed(Agent a, RuntimeException e) {
    try {
      a.dutyCycleFailed(e);
    } catch (RuntimeException again) {
      LOG.error("SB-BRK-2003 {}: failing its operations failed too", a, again);
    }
  }

  /** Stops the thread after its current pass. */
  @Override
  public void close() {
    running = false;
    if (thread == null) {
      return;
    }
    LockSupport.unpark(thread);
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

package io.switchboard.grpc;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

/**
 * The executor a call's work runs on. Handlers run on the connection's event loop ({@code
 * directExecutor}); every completion of a broker future hops back to that loop, so a call's state
 * is touched by one thread and needs no lock.
 */
final class Loops {
  private Loops() {}

  /** The current event loop, or (off a loop: tests, in-process) a serializing executor. */
  static Executor current() {
    EventExecutor loop = ThreadExecutorMap.currentExecutor();
    return loop != null ? loop : new Serial(ForkJoinPool.commonPool());
  }

  /** Runs tasks one at a time, in order, on a base executor. */
  static final class Serial implements Executor {
    private final Executor base;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean running;

    Serial(Executor base) {
      this.base = base;
    }

    @Override
    public void execute(Runnable task) {
      synchronized (tasks) {
        tasks.add(task);
        if (running) {
          return;
        }
        running = true;
      }
      base.execute(this::drain);
    }

    private void drain() {
      while (true) {
        Runnable next;
        synchronized (tasks) {
          next = tasks.poll();
          if (next == null) {
            running = false;
            return;
          }
        }
        next.run();
      }
    }
  }
}

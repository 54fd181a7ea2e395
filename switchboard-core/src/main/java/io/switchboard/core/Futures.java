package io.switchboard.core;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/** Helpers for the threading contract's futures (docs/architecture.md, "Threads"). Stateless. */
public final class Futures {
  private Futures() {}

  /**
   * A future that completes as {@code f} does, on {@code executor} (a caller's event loop), with
   * the failure unwrapped from its {@link CompletionException}. When the executor refuses the task
   * (it is shutting down), the result is handed over on the completing thread instead, so whoever
   * waits still hears of it.
   */
  public static <T> CompletableFuture<T> completeOn(CompletableFuture<T> f, Executor executor) {
    CompletableFuture<T> out = new CompletableFuture<>();
    f.whenComplete(
        (r, e) -> {
          Runnable complete =
              () -> {
                if (e != null) {
                  out.completeExceptionally(
                      e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
                } else {
                  out.complete(r);
                }
              };
          try {
            executor.execute(complete);
          } catch (RejectedExecutionException stopping) {
            complete.run();
          }
        });
    return out;
  }
}

package io.switchboard.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The check behind the threading contract (docs/architecture.md, "Threading contract"): threads
 * that must never block — network event loops, agent runners — are marked, and every broker call
 * that may touch disk or take a broker monitor says so with {@link #check}. On a marked thread that
 * is a bug: in strict mode (system property {@code switchboard.blocking.strict=true}, which the
 * build sets for every test) it throws, so a test fails; otherwise it is logged once per call.
 *
 * <p>Thread-safe.
 */
public final class Blocking {
  private static final System.Logger LOG = System.getLogger(Blocking.class.getName());
  private static final ThreadLocal<Boolean> NON_BLOCKING = new ThreadLocal<>();
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();
  private static final boolean STRICT = Boolean.getBoolean("switchboard.blocking.strict");

  private Blocking() {}

  /** Marks the calling thread as one that must never block (call first thing on it). */
  public static void markNonBlocking() {
    NON_BLOCKING.set(Boolean.TRUE);
  }

  /** Whether the calling thread is marked as one that must never block. */
  public static boolean onNonBlockingThread() {
    return NON_BLOCKING.get() == Boolean.TRUE;
  }

  /**
   * Says the calling code may block ({@code what} names it). On a thread that must not block:
   * throws {@link IllegalStateException} in strict mode, else logs once per {@code what}.
   */
  public static void check(String what) {
    if (!onNonBlockingThread()) {
      return;
    }
    String message =
        what
            + " may block, and runs on "
            + Thread.currentThread().getName()
            + ", which must not: run it on the broker's executor (Broker.offload)";
    if (STRICT) {
      throw new IllegalStateException(message);
    }
    if (LOGGED.add(what)) {
      LOG.log(System.Logger.Level.WARNING, "SB-CORE-0001 " + message);
    }
  }
}

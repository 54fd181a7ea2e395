package io.switchboard.security;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.Authenticator;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.ScramExchange;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authenticator: passwords against SCRAM credentials, SCRAM exchanges, JWT bearer tokens.
 * Thread-safe.
 *
 * <p>Threads: password hashing (a few thousand HMACs) runs on {@code sb-auth-N} (two threads, at
 * most {@link #MAX_QUEUED} waiting: more logins at once are refused, never queued without bound);
 * answers that must wait (the failure delay of {@link LoginThrottle}) complete on {@code
 * sb-auth-delay}. Nothing runs on the caller's event loop beyond parsing a SCRAM message or a
 * token.
 *
 * <p>Unknown users and wrong passwords take the same path: an unknown user's password is hashed
 * against a decoy credential (same salt size, same iterations), both fail with the same text and
 * the same delay. Every failure is an audit line ({@code SB-SEC-5001}).
 */
final class Logins implements Authenticator {
  static final Logger AUDIT = LoggerFactory.getLogger("switchboard.audit");

  /** Logins waiting for a hashing thread; beyond it a login is refused at once. */
  static final int MAX_QUEUED = 1024;

  /** Passwords remembered as verified (per user, a salted hash): spares HTTP Basic the hashing. */
  static final int MAX_VERIFIED = 1024;

  private static final String FAILED = "invalid user name or password";

  private final CredentialStore store;
  private final Supplier<JwtVerifier> jwt;
  private final LoginThrottle throttle;
  private final ThreadPoolExecutor hashing;
  private final ScheduledThreadPoolExecutor delays;
  private final SecureRandom random;
  private final Map<String, Verified> verified =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Verified> eldest) {
          return size() > MAX_VERIFIED;
        }
      };

  private record Verified(ScramCredential credential, byte[] digest) {}

  Logins(
      CredentialStore store,
      Supplier<JwtVerifier> jwt,
      LoginThrottle throttle,
      ThreadPoolExecutor hashing,
      ScheduledThreadPoolExecutor delays,
      SecureRandom random) {
    this.store = store;
    this.jwt = jwt;
    this.throttle = throttle;
    this.hashing = hashing;
    this.delays = delays;
    this.random = random;
  }

  @Override
  public CompletableFuture<Principal> password(String user, String password, InetAddress source) {
    CompletableFuture<Principal> out = new CompletableFuture<>();
    String address = address(source);
    if (user == null || password == null || user.isEmpty()) {
      fail(out, address, user, FAILED, "password");
      return out;
    }
    long wait = throttle.delayMs(address, user);
    try {
      hashing.execute(
          () -> {
            boolean ok;
            try {
              ok = check(user, password);
            } catch (RuntimeException e) {
              LOG.warn("SB-SEC-5002 password check for {} failed", user, e);
              ok = false;
            }
            if (ok) {
              throttle.succeeded(user);
              later(wait, () -> out.complete(Principal.user(user)));
            } else {
              fail(out, address, user, FAILED, "password");
            }
          });
    } catch (RejectedExecutionException e) {
      out.completeExceptionally(
          SwitchboardException.of(
              ErrorCode.AUTHENTICATION_FAILED, "too many logins in progress; retry"));
    }
    return out;
  }

  private static final Logger LOG = LoggerFactory.getLogger(Logins.class);

  /** Runs on a hashing thread. */
  private boolean check(String user, String password) {
    ScramCredential cred = store.credential(user, ScramMechanism.SCRAM_SHA_256);
    boolean known = cred != null;
    if (!known) {
      cred = decoy(ScramMechanism.SCRAM_SHA_256, user);
    }
    byte[] digest = digest(cred.salt(), password);
    synchronized (verified) {
      Verified v = verified.get(user);
      if (known
          && v != null
          && v.credential() == cred
          && MessageDigest.isEqual(v.digest(), digest)) {
        return true;
      }
    }
    boolean matches = cred.matches(password) && known;
    if (matches) {
      synchronized (verified) {
        verified.put(user, new Verified(cred, digest));
      }
    }
    return matches;
  }

  @Override
  public CompletableFuture<Principal> bearer(String token, InetAddress source) {
    CompletableFuture<Principal> out = new CompletableFuture<>();
    String address = address(source);
    JwtVerifier v = jwt.get();
    if (v == null || !v.enabled()) {
      fail(out, address, null, "bearer tokens are not configured", "token");
      return out;
    }
    String subject;
    try {
      subject = v.verify(token);
    } catch (SwitchboardException e) {
      fail(out, address, null, JwtVerifier.INVALID, "token");
      return out;
    }
    later(throttle.delayMs(address, null), () -> out.complete(Principal.token(subject)));
    return out;
  }

  @Override
  public ScramExchange scram(String mechanism, InetAddress source) {
    ScramMechanism m = ScramMechanism.bySaslName(mechanism);
    if (m == null) {
      throw SwitchboardException.of(
          ErrorCode.AUTHENTICATION_FAILED,
          "mechanism " + mechanism + " is not offered; use SCRAM-SHA-512 or SCRAM-SHA-256");
    }
    String address = address(source);
    ScramServer server =
        new ScramServer(m, u -> store.credential(u, m), u -> decoy(m, u), this::nonce);
    return message -> {
      CompletableFuture<ScramExchange.Step> out = new CompletableFuture<>();
      ScramExchange.Step step;
      try {
        step = server.next(message);
      } catch (SwitchboardException e) {
        fail(out, address, server.user(), FAILED, m.saslName());
        return out;
      }
      if (step.complete()) {
        throttle.succeeded(server.user());
      }
      later(throttle.delayMs(address, server.user()), () -> out.complete(step));
      return out;
    };
  }

  private <T> void fail(
      CompletableFuture<T> out, String address, String user, String why, String mechanism) {
    AUDIT.warn(
        "SB-SEC-5001 login failed: mechanism={} user={} source={} reason={}",
        mechanism,
        user == null ? "-" : printable(user),
        address,
        why);
    long wait = throttle.failed(address, user);
    later(
        wait,
        () ->
            out.completeExceptionally(
                SwitchboardException.of(ErrorCode.AUTHENTICATION_FAILED, why)));
  }

  private void later(long delayMs, Runnable r) {
    if (delayMs <= 0) {
      r.run();
      return;
    }
    try {
      delays.schedule(r, delayMs, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      r.run(); // shutting down or saturated: answer now rather than never
    }
  }

  /** A credential for a user that does not exist: stable salt, keys no password produces. */
  ScramCredential decoy(ScramMechanism m, String user) {
    byte[] mac =
        m.hmac(
            store.snapshot().decoySecret(),
            (m.saslName() + "\0" + user).getBytes(StandardCharsets.UTF_8));
    byte[] salt = java.util.Arrays.copyOf(mac, ScramMechanism.SALT_BYTES);
    byte[] keys = new byte[m.hashBytes()];
    random.nextBytes(keys);
    return new ScramCredential(m, salt, ScramMechanism.DEFAULT_ITERATIONS, keys, keys.clone());
  }

  private String nonce() {
    byte[] b = new byte[18];
    random.nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }

  private static byte[] digest(byte[] salt, String password) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(salt);
      return d.digest(password.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String address(InetAddress source) {
    return source == null ? "-" : source.getHostAddress();
  }

  /** A user name as one log line: control characters escaped, at most 128 characters. */
  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 128; i++) {
      char c = s.charAt(i);
      b.append(c < ' ' || c == 0x7f ? String.format("\\u%04x", (int) c) : c);
    }
    return b.toString();
  }
}

package io.switchboard.security;

import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Authenticator;
import io.switchboard.spi.security.Authorizer;
import io.switchboard.spi.security.Decision;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.QuotaLimits;
import io.switchboard.spi.security.Quotas;
import io.switchboard.spi.security.Security;
import io.switchboard.spi.security.SecurityAdmin;
import io.switchboard.spi.security.TlsContexts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's security: users and rules in {@code <data>/security/}, the authenticator, the one
 * decision point, and TLS material. Thread-safe.
 *
 * <p>Every decision reads immutable snapshots (rules, users), so the decision point never blocks;
 * {@link #version()} moves on every change (rules added or removed, users added or removed or given
 * a new password, files changed by the command line), and per-connection caches ({@link
 * io.switchboard.spi.security.Access}) drop their decisions when it does: a removed user's open
 * connections lose their access at their next check.
 *
 * <p>Threads: {@code sb-auth-N} (password hashing), {@code sb-auth-delay} (delayed answers, and the
 * check for changed files every {@code security.reload-check-ms}).
 */
public final class SecurityService implements Security, SecurityAdmin, Authorizer, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SecurityService.class);

  /** The directory under the data directory that holds users and rules. */
  public static final String DIRECTORY = "security";

  private final CredentialStore credentials;
  private final RuleStore rules;
  private final QuotaStore quotaStore;
  private final QuotaEngine quotas;
  private final boolean authRequired;
  private final boolean defaultAllow;
  private final AtomicLong version = new AtomicLong(1);
  private final java.util.concurrent.atomic.LongAdder skippedReads =
      new java.util.concurrent.atomic.LongAdder();
  private volatile RuleSet ruleSet;
  private final Logins logins;
  private final ThreadPoolExecutor hashing;
  private final ScheduledThreadPoolExecutor background;
  private final Optional<TlsContexts> tls;

  private SecurityService(
      CredentialStore credentials,
      RuleStore rules,
      QuotaStore quotaStore,
      QuotaEngine quotas,
      boolean authRequired,
      boolean defaultAllow,
      Logins logins,
      ThreadPoolExecutor hashing,
      ScheduledThreadPoolExecutor background,
      Optional<TlsContexts> tls) {
    this.credentials = credentials;
    this.rules = rules;
    this.quotaStore = quotaStore;
    this.quotas = quotas;
    this.authRequired = authRequired;
    this.defaultAllow = defaultAllow;
    this.logins = logins;
    this.hashing = hashing;
    this.background = background;
    this.tls = tls;
    this.ruleSet = new RuleSet(rules.rules(), defaultAllow);
    quotas.update(quotaStore.quotas());
  }

  /**
   * Opens the security store under {@code dataDir} and starts the service as configured.
   *
   * @throws SwitchboardException {@code INVALID_CONFIG} for a damaged store or bad TLS/JWT files
   */
  public static SecurityService open(Path dataDir, ServerConfig config, Clock clock)
      throws IOException {
    Path dir = dataDir.resolve(DIRECTORY);
    SecureRandom random = new SecureRandom();
    CredentialStore credentials = new CredentialStore(dir, random);
    RuleStore rules = new RuleStore(dir);
    QuotaStore quotaStore = new QuotaStore(dir);
    ThreadPoolExecutor hashing =
        new ThreadPoolExecutor(
            2,
            2,
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(Logins.MAX_QUEUED),
            daemon("sb-auth"));
    ScheduledThreadPoolExecutor background =
        new ScheduledThreadPoolExecutor(1, daemon("sb-auth-delay"));
    background.setRemoveOnCancelPolicy(true);
    try {
      String jwks = config.get(SecurityKeys.JWT_JWKS);
      JwtFiles jwt =
          new JwtFiles(
              config.get(SecurityKeys.JWT_SECRET),
              jwks.isEmpty() ? null : Path.of(jwks),
              config.get(SecurityKeys.JWT_ISSUER),
              config.get(SecurityKeys.JWT_AUDIENCE),
              clock);
      LoginThrottle throttle =
          new LoginThrottle(
              clock,
              config.get(SecurityKeys.FAILURE_DELAY_MS),
              config.get(SecurityKeys.MAX_FAILURE_DELAY_MS),
              15 * 60_000L,
              10_000);
      Logins logins = new Logins(credentials, jwt::current, throttle, hashing, background, random);
      Optional<TlsContexts> tls = TlsFiles.fromConfig(config);
      SecurityService s =
          new SecurityService(
              credentials,
              rules,
              quotaStore,
              new QuotaEngine(clock, quotaSettings(config)),
              config.get(SecurityKeys.AUTH_REQUIRED),
              config.get(SecurityKeys.ACL_DEFAULT).equals("allow"),
              logins,
              hashing,
              background,
              tls);
      long period = config.get(SecurityKeys.RELOAD_CHECK_MS);
      background.scheduleWithFixedDelay(
          () -> s.reload(jwt, tls), period, period, TimeUnit.MILLISECONDS);
      return s;
    } catch (RuntimeException | IOException e) {
      hashing.shutdownNow();
      background.shutdownNow();
      throw e;
    }
  }

  /**
   * The store alone, for the command line's {@code user} and {@code acl} commands: no threads, no
   * authentication; changes are written to {@code dataDir} and a running server picks them up.
   */
  public static SecurityAdmin openAdmin(Path dataDir) throws IOException {
    Path dir = dataDir.resolve(DIRECTORY);
    SecureRandom random = new SecureRandom();
    return new SecurityService(
        new CredentialStore(dir, random),
        new RuleStore(dir),
        new QuotaStore(dir),
        new QuotaEngine(Clock.SYSTEM, QuotaLimits.UNLIMITED),
        false,
        true,
        null,
        null,
        null,
        Optional.empty());
  }

  /** The {@code quota.*} settings: every principal's limits unless a stored quota says more. */
  static QuotaLimits quotaSettings(ServerConfig config) {
    return new QuotaLimits(
        config.get(SecurityKeys.QUOTA_PUBLISH_BYTES),
        config.get(SecurityKeys.QUOTA_PUBLISH_MESSAGES),
        config.get(SecurityKeys.QUOTA_CONSUME_BYTES),
        config.get(SecurityKeys.QUOTA_REQUESTS),
        config.get(SecurityKeys.QUOTA_CONNECTIONS),
        config.get(SecurityKeys.QUOTA_CONSUMERS));
  }

  /** Registers the quota meters (throttles and refusals) in {@code registry}. */
  public void bindMeters(io.micrometer.core.instrument.MeterRegistry registry) {
    quotas.bindMeters(registry);
    io.micrometer.core.instrument.FunctionCounter.builder(
            "switchboard.security.read.skipped",
            skippedReads,
            java.util.concurrent.atomic.LongAdder::sum)
        .description(
            "Messages whole-stream reads skipped: the reader may not subscribe to their subject")
        .register(registry);
  }

  /** Messages whole-stream reads skipped so far. */
  public long skippedReads() {
    return skippedReads.sum();
  }

  private void reload(JwtFiles jwt, Optional<TlsContexts> tls) {
    quotas.sweep();
    try {
      if (quotaStore.reloadIfChanged()) {
        quotas.update(quotaStore.quotas());
        LOG.info("SB-SEC-1003 quotas changed on disk; re-read");
      }
      boolean changed = credentials.reloadIfChanged();
      if (rules.reloadIfChanged()) {
        ruleSet = new RuleSet(rules.rules(), defaultAllow);
        changed = true;
      }
      if (changed) {
        version.incrementAndGet();
        LOG.info("SB-SEC-1001 users or rules changed on disk; re-read");
      }
      jwt.reloadIfChanged();
      tls.ifPresent(t -> ((TlsFiles) t).reloadIfChanged());
    } catch (IOException | RuntimeException e) {
      LOG.warn("SB-SEC-5003 re-reading security files failed; the previous ones stay in force", e);
    }
  }

  // ------------------------------------------------------------------ Security

  @Override
  public boolean authRequired() {
    return authRequired;
  }

  @Override
  public Authenticator authenticator() {
    return logins;
  }

  @Override
  public Authorizer authorizer() {
    return this;
  }

  @Override
  public Quotas quotas() {
    return quotas;
  }

  @Override
  public SecurityAdmin admin() {
    return this;
  }

  @Override
  public Optional<TlsContexts> tls() {
    return tls;
  }

  // ------------------------------------------------------------------ Authorizer

  @Override
  public Decision decide(Principal principal, Permission permission, String target) {
    if (principal.kind() == Principal.Kind.USER && !credentials.exists(principal.name())) {
      return Decision.DENY; // removed since it logged in
    }
    if (authRequired && principal.kind() == Principal.Kind.ANONYMOUS) {
      return Decision.DENY;
    }
    return ruleSet.decide(principal, permission, target);
  }

  @Override
  public void skipped(long messages) {
    skippedReads.add(messages);
  }

  @Override
  public long version() {
    return version.get();
  }

  // ------------------------------------------------------------------ SecurityAdmin

  @Override
  public List<String> users() {
    return credentials.users();
  }

  @Override
  public void addUser(String name, String password, String actor) {
    io(() -> credentials.put(name, password, false, true));
    changed(actor, "user add " + Logins.printable(name));
  }

  @Override
  public void setPassword(String name, String password, String actor) {
    io(() -> credentials.put(name, password, true, false));
    changed(actor, "user passwd " + Logins.printable(name));
  }

  @Override
  public void removeUser(String name, String actor) {
    io(() -> credentials.remove(name));
    changed(actor, "user rm " + Logins.printable(name));
  }

  @Override
  public List<AclRule> rules() {
    return rules.rules();
  }

  @Override
  public AclRule addRule(AclRule rule, String actor) {
    AclRule[] stored = new AclRule[1];
    io(() -> stored[0] = rules.add(rule));
    ruleSet = new RuleSet(rules.rules(), defaultAllow);
    changed(actor, "acl add " + describe(stored[0]));
    return stored[0];
  }

  @Override
  public void removeRule(String id, String actor) {
    io(() -> rules.remove(id));
    ruleSet = new RuleSet(rules.rules(), defaultAllow);
    changed(actor, "acl rm " + Logins.printable(id));
  }

  @Override
  public Map<String, QuotaLimits> storedQuotas() {
    return quotaStore.quotas();
  }

  @Override
  public void setQuota(String principal, QuotaLimits limits, String actor) {
    io(() -> quotaStore.put(principal, limits));
    quotas.update(quotaStore.quotas());
    changed(actor, "quota set " + Logins.printable(principal) + " " + limits.asMap());
  }

  @Override
  public void removeQuota(String principal, String actor) {
    io(() -> quotaStore.remove(principal));
    quotas.update(quotaStore.quotas());
    changed(actor, "quota rm " + Logins.printable(principal));
  }

  static String describe(AclRule r) {
    return r.id()
        + " "
        + r.effect().wireName()
        + " "
        + r.principal()
        + " "
        + r.permissions().stream().map(Permission::wireName).sorted().toList()
        + " "
        + r.resource();
  }

  private void changed(String actor, String what) {
    version.incrementAndGet();
    Logins.AUDIT.info("SB-SEC-1002 admin change by {}: {}", actor, what);
  }

  private interface IoAction {
    void run() throws IOException;
  }

  private static void io(IoAction a) {
    try {
      a.run();
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.INTERNAL, "security store: " + e.getMessage());
    }
  }

  @Override
  public void close() {
    if (hashing != null) {
      hashing.shutdownNow();
    }
    if (background != null) {
      background.shutdownNow();
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** For tests: an unchecked wrapper of {@link #open}. */
  static SecurityService openUnchecked(Path dataDir, ServerConfig config, Clock clock) {
    try {
      return open(dataDir, config, clock);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

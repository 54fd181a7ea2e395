package io.switchboard.security;

import io.switchboard.core.Clock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current {@link JwtVerifier}, rebuilt when the JWKS file changes. Thread-safe (volatile swap;
 * reloads come from one thread).
 */
final class JwtFiles {
  private static final Logger LOG = LoggerFactory.getLogger(JwtFiles.class);

  private final String secret;
  private final Path jwks;
  private final String issuer;
  private final String audience;
  private final Clock clock;
  private volatile JwtVerifier current;
  private long stamp;

  JwtFiles(String secret, Path jwks, String issuer, String audience, Clock clock)
      throws IOException {
    this.secret = secret;
    this.jwks = jwks;
    this.issuer = issuer;
    this.audience = audience;
    this.clock = clock;
    this.stamp = stamp();
    this.current = new JwtVerifier(secret, jwks, issuer, audience, clock);
  }

  JwtVerifier current() {
    return current;
  }

  void reloadIfChanged() throws IOException {
    long s = stamp();
    if (jwks == null || s == stamp) {
      return;
    }
    current = new JwtVerifier(secret, jwks, issuer, audience, clock);
    stamp = s;
    LOG.info("SB-SEC-1003 re-read the token keys in {}", jwks);
  }

  private long stamp() throws IOException {
    if (jwks == null || !Files.exists(jwks)) {
      return -1;
    }
    return Files.getLastModifiedTime(jwks).toMillis() * 31 + Files.size(jwks);
  }
}

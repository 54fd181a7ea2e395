package io.switchboard.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * A stored SCRAM credential (RFC 5802 §5): salt, iteration count, StoredKey and ServerKey. The
 * password itself is never stored, and neither is anything a client could log in with: StoredKey is
 * a hash of ClientKey. Immutable (the arrays are never handed out for writing).
 */
public record ScramCredential(
    ScramMechanism mechanism, byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {

  public ScramCredential {
    if (iterations < 1) {
      throw new IllegalArgumentException("iterations must be >= 1");
    }
    if (storedKey.length != mechanism.hashBytes() || serverKey.length != mechanism.hashBytes()) {
      throw new IllegalArgumentException(mechanism.saslName() + " keys must be hash-sized");
    }
  }

  /**
   * Whether {@code password} is the one this credential was made from: derives the StoredKey
   * (costing {@link #iterations()} HMACs) and compares in constant time.
   */
  public boolean matches(String password) {
    byte[] salted = mechanism.hi(password.getBytes(StandardCharsets.UTF_8), salt, iterations);
    byte[] clientKey = mechanism.hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
    return MessageDigest.isEqual(mechanism.hash(clientKey), storedKey);
  }
}

package io.switchboard.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The SCRAM hash functions (RFC 5802 §2.2, §3) for SHA-256 (RFC 7677) and SHA-512. Immutable,
 * thread-safe (every call makes its own {@link Mac} and {@link MessageDigest}).
 *
 * <p>Passwords are taken as their UTF-8 bytes without SASLprep, as Kafka does: clients that send
 * non-ASCII passwords must send them the same way each time.
 */
public enum ScramMechanism {
  SCRAM_SHA_256("SCRAM-SHA-256", "SHA-256", "HmacSHA256", 32),
  SCRAM_SHA_512("SCRAM-SHA-512", "SHA-512", "HmacSHA512", 64);

  /**
   * Iterations of a new credential: RFC 7677 §4 asks for at least 4,096, the value Kafka and
   * PostgreSQL use; each verification of a password (not of a SCRAM proof) costs this many HMACs.
   */
  public static final int DEFAULT_ITERATIONS = 4096;

  /** Fewest iterations a stored credential may have (RFC 7677 §4). */
  public static final int MIN_ITERATIONS = 4096;

  /** Salt bytes of a new credential. */
  public static final int SALT_BYTES = 16;

  private final String saslName;
  private final String digest;
  private final String hmac;
  private final int hashBytes;

  ScramMechanism(String saslName, String digest, String hmac, int hashBytes) {
    this.saslName = saslName;
    this.digest = digest;
    this.hmac = hmac;
    this.hashBytes = hashBytes;
  }

  /** The SASL name: {@code SCRAM-SHA-256}. */
  public String saslName() {
    return saslName;
  }

  /** The key in the credential file: {@code scram-sha-256}. */
  public String fileName() {
    return saslName.toLowerCase(java.util.Locale.ROOT);
  }

  public int hashBytes() {
    return hashBytes;
  }

  /** The mechanism with SASL name {@code name}, or null. */
  public static ScramMechanism bySaslName(String name) {
    for (ScramMechanism m : values()) {
      if (m.saslName.equalsIgnoreCase(name)) {
        return m;
      }
    }
    return null;
  }

  /** A new credential for {@code password}: random salt, {@link #DEFAULT_ITERATIONS}. */
  public ScramCredential newCredential(String password, SecureRandom random) {
    byte[] salt = new byte[SALT_BYTES];
    random.nextBytes(salt);
    return credential(password, salt, DEFAULT_ITERATIONS);
  }

  /** The credential for {@code password} with the given salt and iterations. */
  public ScramCredential credential(String password, byte[] salt, int iterations) {
    byte[] salted = hi(password.getBytes(StandardCharsets.UTF_8), salt, iterations);
    byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
    byte[] serverKey = hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII));
    return new ScramCredential(this, salt, iterations, hash(clientKey), serverKey);
  }

  /** Hi(str, salt, i) of RFC 5802 §2.2: PBKDF2 with this HMAC, one block. */
  public byte[] hi(byte[] password, byte[] salt, int iterations) {
    Mac mac = mac(password);
    mac.update(salt);
    mac.update(new byte[] {0, 0, 0, 1});
    byte[] u = mac.doFinal();
    byte[] result = u.clone();
    for (int i = 1; i < iterations; i++) {
      u = mac.doFinal(u);
      for (int j = 0; j < result.length; j++) {
        result[j] ^= u[j];
      }
    }
    return result;
  }

  public byte[] hmac(byte[] key, byte[] data) {
    return mac(key).doFinal(data);
  }

  public byte[] hash(byte[] data) {
    try {
      return MessageDigest.getInstance(digest).digest(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(digest + " is missing from this JDK", e);
    }
  }

  private Mac mac(byte[] key) {
    try {
      Mac mac = Mac.getInstance(hmac);
      // An empty password is not a valid HMAC key for SecretKeySpec; RFC 2104 pads keys anyway.
      mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, hmac));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(hmac + " is missing from this JDK", e);
    }
  }
}

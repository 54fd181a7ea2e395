package io.switchboard.client;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The client side of one SCRAM exchange (RFC 5802 §3, §5; RFC 7677) for the native HELLO ([P-4.5]
 * of docs/protocol.md): client-first, then client-final with the proof, then the server's signature
 * checked. Confined to one connection attempt.
 *
 * <p>Hi() is the JDK's PBKDF2 (one block of PBKDF2 is Hi). The password is taken as its UTF-8 bytes
 * without SASLprep, as the server stores it. No channel binding ({@code n,,}).
 */
final class ScramClient {
  /** Fewest iterations accepted from a server (RFC 7677 §4): a lower count weakens the proof. */
  static final int MIN_ITERATIONS = 4096;

  /** Most iterations accepted: a hostile server cannot make the client spin for minutes. */
  static final int MAX_ITERATIONS = 1_000_000;

  private final String mechanism;
  private final String pbkdf2;
  private final String hmac;
  private final String digest;
  private final String user;
  private final String password;
  private final String clientNonce;
  private String clientFirstBare;
  private byte[] expectedServerSignature;

  /** Why the server's answer was refused (set by a method returning null or false). */
  private String problem;

  /**
   * @param mechanism {@code SCRAM-SHA-256} or {@code SCRAM-SHA-512}
   */
  ScramClient(String mechanism, String user, String password, SecureRandom random) {
    this.mechanism = mechanism;
    switch (mechanism) {
      case "SCRAM-SHA-256":
        pbkdf2 = "PBKDF2WithHmacSHA256";
        hmac = "HmacSHA256";
        digest = "SHA-256";
        break;
      case "SCRAM-SHA-512":
        pbkdf2 = "PBKDF2WithHmacSHA512";
        hmac = "HmacSHA512";
        digest = "SHA-512";
        break;
      default:
        throw new IllegalArgumentException(
            "mechanism " + mechanism + " is not SCRAM-SHA-256 or SCRAM-SHA-512");
    }
    this.user = user;
    this.password = password;
    byte[] nonce = new byte[24];
    random.nextBytes(nonce);
    this.clientNonce = Base64.getEncoder().withoutPadding().encodeToString(nonce);
  }

  String mechanism() {
    return mechanism;
  }

  String problem() {
    return problem;
  }

  /** Whether the client-final message was made (server-first seen). */
  boolean started() {
    return expectedServerSignature != null || problem != null;
  }

  /** The HELLO credential: {@code SCRAM-SHA-256 n,,n=user,r=nonce}. */
  byte[] hello() {
    clientFirstBare = "n=" + escape(user) + ",r=" + clientNonce;
    return (mechanism + " n,," + clientFirstBare).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The client-final message answering {@code serverFirst}, or null (see {@link #problem()}) when
   * the server's message is malformed, does not extend our nonce, or asks for an iteration count
   * outside [{@link #MIN_ITERATIONS}, {@link #MAX_ITERATIONS}].
   */
  byte[] clientFinal(byte[] serverFirstBytes) {
    String serverFirst = new String(serverFirstBytes, StandardCharsets.UTF_8);
    String nonce = null;
    byte[] salt = null;
    int iterations = -1;
    for (String attr : serverFirst.split(",", -1)) {
      if (attr.startsWith("r=")) {
        nonce = attr.substring(2);
      } else if (attr.startsWith("s=")) {
        try {
          salt = Base64.getDecoder().decode(attr.substring(2));
        } catch (IllegalArgumentException e) {
          return refuse("the salt is not base64");
        }
      } else if (attr.startsWith("i=")) {
        try {
          iterations = Integer.parseInt(attr.substring(2));
        } catch (NumberFormatException e) {
          return refuse("the iteration count is not a number");
        }
      } else if (attr.startsWith("e=")) {
        return refuse("the server refused: " + attr.substring(2));
      }
    }
    if (nonce == null || salt == null || iterations < 0) {
      return refuse("server-first message is malformed");
    }
    if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()) {
      return refuse("the server's nonce does not extend the client's");
    }
    if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      return refuse("iteration count " + iterations + " is outside the accepted range");
    }
    byte[] salted = hi(salt, iterations);
    byte[] clientKey = hmac(salted, "Client Key");
    byte[] storedKey = hash(clientKey);
    byte[] serverKey = hmac(salted, "Server Key");
    String withoutProof =
        "c="
            + Base64.getEncoder().encodeToString("n,,".getBytes(StandardCharsets.US_ASCII))
            + ",r="
            + nonce;
    byte[] authMessage =
        (clientFirstBare + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);
    byte[] signature = hmac(storedKey, authMessage);
    byte[] proof = new byte[clientKey.length];
    for (int i = 0; i < proof.length; i++) {
      proof[i] = (byte) (clientKey[i] ^ signature[i]);
    }
    expectedServerSignature = hmac(serverKey, authMessage);
    return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof))
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Whether {@code serverFinal} ({@code v=…}) carries the signature only a server holding the
   * user's ServerKey can compute (false, with {@link #problem()}, otherwise).
   */
  boolean verify(byte[] serverFinalBytes) {
    if (expectedServerSignature == null) {
      problem = "server-final message before server-first";
      return false;
    }
    String serverFinal = new String(serverFinalBytes, StandardCharsets.UTF_8);
    if (serverFinal.startsWith("e=")) {
      problem = "the server refused: " + serverFinal.substring(2);
      return false;
    }
    if (!serverFinal.startsWith("v=")) {
      problem = "server-final message is malformed";
      return false;
    }
    byte[] v;
    try {
      v = Base64.getDecoder().decode(serverFinal.substring(2));
    } catch (IllegalArgumentException e) {
      problem = "the server signature is not base64";
      return false;
    }
    if (!MessageDigest.isEqual(v, expectedServerSignature)) {
      problem = "the server signature is wrong";
      return false;
    }
    return true;
  }

  private byte[] refuse(String why) {
    problem = why;
    return null;
  }

  private byte[] hi(byte[] salt, int iterations) {
    try {
      SecretKeyFactory f = SecretKeyFactory.getInstance(pbkdf2);
      int bits = MessageDigest.getInstance(digest).getDigestLength() * 8;
      PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, bits);
      try {
        return f.generateSecret(spec).getEncoded();
      } finally {
        spec.clearPassword();
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(pbkdf2 + " is missing from this JDK", e);
    }
  }

  private byte[] hmac(byte[] key, String data) {
    return hmac(key, data.getBytes(StandardCharsets.US_ASCII));
  }

  private byte[] hmac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance(hmac);
      mac.init(new SecretKeySpec(key, hmac));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(hmac + " is missing from this JDK", e);
    }
  }

  private byte[] hash(byte[] data) {
    try {
      return MessageDigest.getInstance(digest).digest(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(digest + " is missing from this JDK", e);
    }
  }

  /** saslname (RFC 5802 §5.1): ',' as "=2C", '=' as "=3D". */
  static String escape(String name) {
    return name.replace("=", "=3D").replace(",", "=2C");
  }
}

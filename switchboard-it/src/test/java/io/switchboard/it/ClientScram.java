package io.switchboard.it;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A test's SCRAM client (RFC 5802) from the JDK's PBKDF2 and HMAC alone, to drive a raw native
 * connection: client-first, client-final, and the server-final a genuine server must send.
 */
final class ClientScram {
  private final String mechanism;
  private final String user;
  private final String password;
  private final String bits;
  private final String clientNonce = "rOprNGfwEbeRWgbNEkqO";
  private String expectedServerFinal;

  ClientScram(String mechanism, String user, String password) {
    this.mechanism = mechanism;
    this.user = user;
    this.password = password;
    this.bits = mechanism.substring("SCRAM-SHA-".length());
  }

  /** The HELLO credential: mechanism, space, client-first. */
  String hello() {
    return mechanism + " n,," + bare();
  }

  private String bare() {
    return "n=" + user + ",r=" + clientNonce;
  }

  String clientFinal(String serverFirst) {
    try {
      byte[] salt = Base64.getDecoder().decode(NativeScramTest.attr(serverFirst, "s"));
      int iterations = Integer.parseInt(NativeScramTest.attr(serverFirst, "i"));
      String nonce = NativeScramTest.attr(serverFirst, "r");
      int hashBits = Integer.parseInt(bits);
      byte[] salted =
          SecretKeyFactory.getInstance("PBKDF2WithHmacSHA" + bits)
              .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, hashBits))
              .getEncoded();
      byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
      byte[] storedKey = MessageDigest.getInstance("SHA-" + bits).digest(clientKey);
      byte[] serverKey = hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII));
      String withoutProof = "c=biws,r=" + nonce;
      byte[] auth =
          (bare() + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);
      byte[] signature = hmac(storedKey, auth);
      byte[] proof = new byte[clientKey.length];
      for (int i = 0; i < proof.length; i++) {
        proof[i] = (byte) (clientKey[i] ^ signature[i]);
      }
      expectedServerFinal = "v=" + Base64.getEncoder().encodeToString(hmac(serverKey, auth));
      return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  String expectedServerFinal() {
    return expectedServerFinal;
  }

  private byte[] hmac(byte[] key, byte[] data) throws java.security.GeneralSecurityException {
    Mac mac = Mac.getInstance("HmacSHA" + bits);
    mac.init(new SecretKeySpec(key, "HmacSHA" + bits));
    return mac.doFinal(data);
  }
}

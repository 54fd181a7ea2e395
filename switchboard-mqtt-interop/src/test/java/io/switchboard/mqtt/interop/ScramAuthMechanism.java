package io.switchboard.mqtt.interop;

import com.hivemq.client.mqtt.datatypes.MqttUtf8String;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig;
import com.hivemq.client.mqtt.mqtt5.auth.Mqtt5EnhancedAuthMechanism;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5Auth;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5AuthBuilder;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5EnhancedAuthBuilder;
import com.hivemq.client.mqtt.mqtt5.message.connect.Mqtt5Connect;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5Disconnect;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The client side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as a HiveMQ client enhanced
 * authentication mechanism (MQTT 5 §4.12), made from the JDK's PBKDF2 (Hi), HMAC and digests only:
 * nothing of the server's code. CONNECT carries client-first, the server's AUTH 0x18 server-first,
 * the client's AUTH 0x18 client-final, and CONNACK (or AUTH 0x00 after a re-authentication)
 * server-final, whose signature is checked: a server that cannot prove it knows the credential
 * fails the connect.
 */
final class ScramAuthMechanism implements Mqtt5EnhancedAuthMechanism {
  private final String method;
  private final String bits;
  private final String user;
  private final String password;
  private final SecureRandom random = new SecureRandom();

  /** Server signatures verified (CONNACK and re-authentications). */
  final AtomicInteger verified = new AtomicInteger();

  /** The reason code of the last refusal, as HiveMQ reports it. */
  final AtomicReference<String> rejected = new AtomicReference<>();

  private String clientFirstBare;
  private byte[] expectedSignature;

  ScramAuthMechanism(String method, String user, String password) {
    this.method = method;
    this.bits = method.substring("SCRAM-SHA-".length());
    this.user = user;
    this.password = password;
  }

  @Override
  public MqttUtf8String getMethod() {
    return MqttUtf8String.of(method);
  }

  @Override
  public int getTimeout() {
    return 30;
  }

  @Override
  public CompletableFuture<Void> onAuth(
      Mqtt5ClientConfig config, Mqtt5Connect connect, Mqtt5EnhancedAuthBuilder auth) {
    auth.data(clientFirst());
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> onReAuth(Mqtt5ClientConfig config, Mqtt5AuthBuilder auth) {
    auth.data(clientFirst());
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Boolean> onContinue(
      Mqtt5ClientConfig config, Mqtt5Auth auth, Mqtt5AuthBuilder next) {
    byte[] answer = clientFinal(text(auth.getData()));
    if (answer == null) {
      return CompletableFuture.completedFuture(false);
    }
    next.data(answer);
    return CompletableFuture.completedFuture(true);
  }

  @Override
  public CompletableFuture<Boolean> onAuthSuccess(Mqtt5ClientConfig config, Mqtt5ConnAck connAck) {
    return CompletableFuture.completedFuture(
        verify(connAck.getEnhancedAuth().flatMap(a -> a.getData())));
  }

  @Override
  public CompletableFuture<Boolean> onReAuthSuccess(Mqtt5ClientConfig config, Mqtt5Auth auth) {
    return CompletableFuture.completedFuture(verify(auth.getData()));
  }

  @Override
  public void onAuthRejected(Mqtt5ClientConfig config, Mqtt5ConnAck connAck) {
    rejected.set(connAck.getReasonCode().name());
  }

  @Override
  public void onReAuthRejected(Mqtt5ClientConfig config, Mqtt5Disconnect disconnect) {
    rejected.set(disconnect.getReasonCode().name());
  }

  @Override
  public void onAuthError(Mqtt5ClientConfig config, Throwable cause) {}

  @Override
  public void onReAuthError(Mqtt5ClientConfig config, Throwable cause) {}

  // ------------------------------------------------------------------ RFC 5802

  private synchronized byte[] clientFirst() {
    byte[] nonce = new byte[18];
    random.nextBytes(nonce);
    clientFirstBare = "n=" + user + ",r=" + Base64.getEncoder().encodeToString(nonce);
    expectedSignature = null;
    return ("n,," + clientFirstBare).getBytes(StandardCharsets.UTF_8);
  }

  private synchronized byte[] clientFinal(String serverFirst) {
    String nonce = attr(serverFirst, "r");
    String clientNonce = attr(clientFirstBare, "r");
    if (nonce == null || !nonce.startsWith(clientNonce)) {
      return null;
    }
    try {
      byte[] salt = Base64.getDecoder().decode(attr(serverFirst, "s"));
      int iterations = Integer.parseInt(attr(serverFirst, "i"));
      byte[] salted =
          SecretKeyFactory.getInstance("PBKDF2WithHmacSHA" + bits)
              .generateSecret(
                  new PBEKeySpec(password.toCharArray(), salt, iterations, Integer.parseInt(bits)))
              .getEncoded();
      byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
      byte[] storedKey = MessageDigest.getInstance("SHA-" + bits).digest(clientKey);
      byte[] serverKey = hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII));
      String withoutProof = "c=biws,r=" + nonce;
      byte[] authMessage =
          (clientFirstBare + "," + serverFirst + "," + withoutProof)
              .getBytes(StandardCharsets.UTF_8);
      byte[] signature = hmac(storedKey, authMessage);
      byte[] proof = new byte[clientKey.length];
      for (int i = 0; i < proof.length; i++) {
        proof[i] = (byte) (clientKey[i] ^ signature[i]);
      }
      expectedSignature = hmac(serverKey, authMessage);
      return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof))
          .getBytes(StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private synchronized boolean verify(Optional<ByteBuffer> serverFinal) {
    String v = attr(text(serverFinal), "v");
    boolean ok =
        v != null
            && expectedSignature != null
            && MessageDigest.isEqual(Base64.getDecoder().decode(v), expectedSignature);
    if (ok) {
      verified.incrementAndGet();
    }
    return ok;
  }

  private byte[] hmac(byte[] key, byte[] data) throws GeneralSecurityException {
    Mac mac = Mac.getInstance("HmacSHA" + bits);
    mac.init(new SecretKeySpec(key, "HmacSHA" + bits));
    return mac.doFinal(data);
  }

  private static String text(Optional<ByteBuffer> data) {
    if (data.isEmpty()) {
      return "";
    }
    ByteBuffer b = data.get().duplicate();
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static String attr(String message, String name) {
    for (String a : message.split(",")) {
      if (a.startsWith(name + "=")) {
        return a.substring(name.length() + 1);
      }
    }
    return null;
  }
}

package io.switchboard.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.config.ServerConfig;
import io.switchboard.spi.security.Authenticator;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.ScramExchange;
import io.switchboard.testkit.ManualClock;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoginsTest {
  static final String SECRET = "0123456789abcdef0123456789abcdef-test-secret";
  static final InetAddress HOST = InetAddress.getLoopbackAddress();

  @TempDir Path data;

  SecurityService open(Map<String, String> flags, Clock clock) throws Exception {
    Map<String, String> all = new HashMap<>(Map.of("auth.failure-delay-ms", "50"));
    all.putAll(flags);
    return SecurityService.open(
        data, ServerConfig.resolve(SecurityKeys.ALL, Map.of(), Map.of(), all), clock);
  }

  static SwitchboardException failure(CompletableFuture<?> f) throws Exception {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return (SwitchboardException) e.getCause();
    }
    throw new AssertionError("expected a failure");
  }

  @Test
  void passwordsAreCheckedAgainstTheScramKeys() throws Exception {
    try (SecurityService s = open(Map.of(), Clock.SYSTEM)) {
      s.addUser("alice", "wonderland", "test");
      Authenticator a = s.authenticator();
      assertThat(a.password("alice", "wonderland", HOST).get(30, TimeUnit.SECONDS))
          .isEqualTo(Principal.user("alice"));
      // a second success comes from the verified cache, same answer
      assertThat(a.password("alice", "wonderland", HOST).get(30, TimeUnit.SECONDS))
          .isEqualTo(Principal.user("alice"));
      long t0 = System.nanoTime();
      SwitchboardException wrong = failure(a.password("alice", "looking-glass", HOST));
      long wrongMs = (System.nanoTime() - t0) / 1_000_000;
      t0 = System.nanoTime();
      SwitchboardException unknown = failure(a.password("mallory", "looking-glass", HOST));
      long unknownMs = (System.nanoTime() - t0) / 1_000_000;
      assertThat(wrong.code()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
      assertThat(unknown.getMessage()).isEqualTo(wrong.getMessage());
      // both are delayed at least the base failure delay (later ones more)
      assertThat(wrongMs).isGreaterThanOrEqualTo(50);
      assertThat(unknownMs).isGreaterThanOrEqualTo(50);
      // the old password stops working after a change
      s.setPassword("alice", "new", "test");
      assertThat(failure(a.password("alice", "wonderland", HOST)).code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
    }
  }

  @Test
  void repeatedFailuresSlowDownPerAddressAndPerUserWithBoundedState() {
    ManualClock clock = new ManualClock();
    LoginThrottle t = new LoginThrottle(clock, 100, 1_000, 60_000, 3);
    assertThat(t.delayMs("1.1.1.1", "alice")).isZero();
    assertThat(t.failed("1.1.1.1", "alice")).isEqualTo(100);
    assertThat(t.failed("1.1.1.1", "alice")).isEqualTo(200);
    assertThat(t.failed("1.1.1.1", "alice")).isEqualTo(400);
    // another address guessing the same user is slowed by the user's count
    assertThat(t.delayMs("2.2.2.2", "alice")).isEqualTo(400);
    // the same address trying another user is slowed by the address's count
    assertThat(t.delayMs("1.1.1.1", "bob")).isEqualTo(400);
    for (int i = 0; i < 10; i++) {
      t.failed("1.1.1.1", "alice");
    }
    assertThat(t.delayMs("1.1.1.1", "alice")).isEqualTo(1_000);
    clock.ms.addAndGet(60_001);
    assertThat(t.delayMs("1.1.1.1", "alice")).isZero();
    for (int i = 0; i < 100; i++) {
      t.failed("10.0.0." + i, "user" + i);
    }
    assertThat(t.size()).isLessThanOrEqualTo(6);
  }

  @Test
  void scramExchangesAuthenticateThroughTheService() throws Exception {
    try (SecurityService s = open(Map.of(), Clock.SYSTEM)) {
      s.addUser("user", "pencil", "test");
      for (String mech : Authenticator.SCRAM_MECHANISMS) {
        ScramMechanism m = ScramMechanism.bySaslName(mech);
        ScramExchange x = s.authenticator().scram(mech, HOST);
        String clientFirstBare = "n=user,r=abcdefgh";
        String serverFirst =
            new String(
                x.next(("n,," + clientFirstBare).getBytes(StandardCharsets.UTF_8))
                    .get(30, TimeUnit.SECONDS)
                    .serverMessage(),
                StandardCharsets.UTF_8);
        String[] parts = serverFirst.split(",");
        String nonce = parts[0].substring(2);
        byte[] salt = Base64.getDecoder().decode(parts[1].substring(2));
        int iterations = Integer.parseInt(parts[2].substring(2));
        byte[] salted = m.hi("pencil".getBytes(StandardCharsets.UTF_8), salt, iterations);
        byte[] clientKey = hmac(m, salted, "Client Key");
        byte[] storedKey = m.hash(clientKey);
        String withoutProof = "c=biws,r=" + nonce;
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] signature = hmac(m, storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
          proof[i] = (byte) (clientKey[i] ^ signature[i]);
        }
        ScramExchange.Step last =
            x.next(
                    (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof))
                        .getBytes(StandardCharsets.UTF_8))
                .get(30, TimeUnit.SECONDS);
        assertThat(last.principal()).isEqualTo(Principal.user("user"));
        byte[] serverKey = hmac(m, salted, "Server Key");
        assertThat(new String(last.serverMessage(), StandardCharsets.UTF_8))
            .isEqualTo("v=" + Base64.getEncoder().encodeToString(hmac(m, serverKey, authMessage)));
      }
      assertThatThrownBy(() -> s.authenticator().scram("SCRAM-SHA-1", HOST))
          .hasMessageContaining("not offered");
    }
  }

  @Test
  void unknownUsersGetAStableDecoySalt() throws Exception {
    try (SecurityService s = open(Map.of(), Clock.SYSTEM)) {
      String a = serverFirstFor(s, "nobody");
      String b = serverFirstFor(s, "nobody");
      assertThat(a.split(",")[1]).isEqualTo(b.split(",")[1]);
      assertThat(a).endsWith(",i=4096");
    }
  }

  private static String serverFirstFor(SecurityService s, String user) throws Exception {
    return new String(
        s.authenticator()
            .scram("SCRAM-SHA-256", HOST)
            .next(("n,,n=" + user + ",r=xyz").getBytes(StandardCharsets.UTF_8))
            .get(30, TimeUnit.SECONDS)
            .serverMessage(),
        StandardCharsets.UTF_8);
  }

  private static byte[] hmac(ScramMechanism m, byte[] key, String data) throws Exception {
    String alg = m == ScramMechanism.SCRAM_SHA_256 ? "HmacSHA256" : "HmacSHA512";
    Mac mac = Mac.getInstance(alg);
    mac.init(new SecretKeySpec(key, alg));
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
  }

  // ------------------------------------------------------------------ JWT

  static String hmacToken(String secret, String sub, long expMs) throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder().subject(sub).expirationTime(new Date(expMs)).build());
    jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  @Test
  void hmacTokensAreVerifiedGoodExpiredAndWrongKey() throws Exception {
    ManualClock clock = new ManualClock();
    long now = clock.nowMs();
    try (SecurityService s = open(Map.of("auth.jwt.secret", SECRET), clock)) {
      Authenticator a = s.authenticator();
      assertThat(a.bearer(hmacToken(SECRET, "svc-billing", now + 60_000), HOST).get())
          .isEqualTo(Principal.token("svc-billing"));
      assertThat(failure(a.bearer(hmacToken(SECRET, "svc", now - 120_000), HOST)).code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
      assertThat(
              failure(a.bearer(hmacToken(SECRET.replace('0', 'x'), "svc", now + 60_000), HOST))
                  .code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
      assertThat(failure(a.bearer("not.a.token", HOST)).code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
      // a token valid now expires as the clock moves on
      String token = hmacToken(SECRET, "svc", now + 10_000);
      assertThat(a.bearer(token, HOST).get().name()).isEqualTo("svc");
      clock.ms.addAndGet(120_000);
      assertThat(failure(a.bearer(token, HOST)).getMessage()).contains("invalid or expired token");
    }
  }

  @Test
  void jwksTokensAreVerifiedAgainstTheFilesPublicKeys() throws Exception {
    RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
    RSAKey other = new RSAKeyGenerator(2048).keyID("k1").generate();
    Path jwks = data.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(key.toPublicJWK()).toString());
    try (SecurityService s =
        open(
            Map.of("auth.jwt.jwks", jwks.toString(), "auth.jwt.issuer", "https://idp"),
            Clock.SYSTEM)) {
      long exp = System.currentTimeMillis() + 60_000;
      assertThat(s.authenticator().bearer(rsaToken(key, "https://idp", exp), HOST).get())
          .isEqualTo(Principal.token("svc"));
      assertThat(
              failure(s.authenticator().bearer(rsaToken(other, "https://idp", exp), HOST)).code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
      assertThat(failure(s.authenticator().bearer(rsaToken(key, "https://evil", exp), HOST)).code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
      // an HMAC token is refused when no secret is configured (no algorithm confusion)
      assertThat(failure(s.authenticator().bearer(hmacToken(SECRET, "svc", exp), HOST)).code())
          .isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
    }
  }

  static String rsaToken(RSAKey key, String issuer, long expMs) throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
            new JWTClaimsSet.Builder()
                .subject("svc")
                .issuer(issuer)
                .expirationTime(new Date(expMs))
                .build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }
}

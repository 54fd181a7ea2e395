package io.switchboard.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.switchboard.core.Clock;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.Date;
import java.util.HashSet;
import java.util.Set;

/**
 * Verifies JWT bearer tokens (RFC 7519) against an HMAC secret (HS256/384/512) and/or the public
 * keys of a JWKS file (RS*, PS*, ES*). Immutable, thread-safe. A token must be signed, carry {@code
 * sub} and {@code exp}, be within its {@code nbf}/{@code exp} (60 s of clock skew, nimbus's
 * default), and match the configured issuer and audience when they are set. Its principal is {@code
 * token:<sub>}.
 */
final class JwtVerifier {
  /** Longest token accepted: bounds parsing work before authentication. */
  static final int MAX_TOKEN_CHARS = 16 * 1024;

  private static final Set<JWSAlgorithm> HMAC =
      Set.of(JWSAlgorithm.HS256, JWSAlgorithm.HS384, JWSAlgorithm.HS512);
  private static final Set<JWSAlgorithm> PUBLIC =
      Set.of(
          JWSAlgorithm.RS256,
          JWSAlgorithm.RS384,
          JWSAlgorithm.RS512,
          JWSAlgorithm.PS256,
          JWSAlgorithm.PS384,
          JWSAlgorithm.PS512,
          JWSAlgorithm.ES256,
          JWSAlgorithm.ES384,
          JWSAlgorithm.ES512);

  private final DefaultJWTProcessor<SecurityContext> hmac;
  private final DefaultJWTProcessor<SecurityContext> jwks;

  /**
   * @param secret the HMAC secret (at least 32 bytes), or empty
   * @param jwksFile a JWKS file, or null
   * @param issuer the required {@code iss}, or empty
   * @param audience the required {@code aud}, or empty
   */
  JwtVerifier(String secret, Path jwksFile, String issuer, String audience, Clock clock)
      throws IOException {
    if (!secret.isEmpty() && secret.getBytes(StandardCharsets.UTF_8).length < 32) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, "auth.jwt.secret must be at least 32 bytes (256 bits)");
    }
    hmac =
        secret.isEmpty()
            ? null
            : processor(
                new JWSVerificationKeySelector<>(
                    HMAC, new ImmutableSecret<>(secret.getBytes(StandardCharsets.UTF_8))),
                issuer,
                audience,
                clock);
    JWKSet set;
    try {
      set = jwksFile == null ? null : JWKSet.load(jwksFile.toFile());
    } catch (ParseException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, jwksFile + " is not a JWKS file: " + e.getMessage());
    }
    jwks =
        set == null
            ? null
            : processor(
                new JWSVerificationKeySelector<>(PUBLIC, new ImmutableJWKSet<>(set)),
                issuer,
                audience,
                clock);
  }

  boolean enabled() {
    return hmac != null || jwks != null;
  }

  /**
   * The token's subject.
   *
   * @throws SwitchboardException {@code AUTHENTICATION_FAILED}
   */
  String verify(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
      throw invalid();
    }
    try {
      SignedJWT jwt = SignedJWT.parse(token);
      JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
      DefaultJWTProcessor<SecurityContext> p = HMAC.contains(alg) ? hmac : jwks;
      if (p == null) {
        throw invalid();
      }
      JWTClaimsSet claims = p.process(jwt, null);
      String sub = claims.getSubject();
      if (sub == null || sub.isBlank()) {
        throw invalid();
      }
      return sub;
    } catch (ParseException | BadJOSEException | JOSEException e) {
      throw invalid();
    }
  }

  static final String INVALID = "invalid or expired token";

  private static SwitchboardException invalid() {
    return SwitchboardException.of(ErrorCode.AUTHENTICATION_FAILED, INVALID);
  }

  private static DefaultJWTProcessor<SecurityContext> processor(
      JWSVerificationKeySelector<SecurityContext> keys,
      String issuer,
      String audience,
      Clock clock) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSKeySelector(keys);
    JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
    if (!issuer.isEmpty()) {
      exact.issuer(issuer);
    }
    Set<String> required = new HashSet<>(Set.of("sub", "exp"));
    p.setJWTClaimsSetVerifier(
        new DefaultJWTClaimsVerifier<>(
            audience.isEmpty() ? null : audience, exact.build(), required) {
          @Override
          protected Date currentTime() {
            return new Date(clock.nowMs());
          }
        });
    return p;
  }
}

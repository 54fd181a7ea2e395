package io.switchboard.spi.security;

import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;

/**
 * Verifies credentials. Thread-safe. Its futures complete on the security service's own threads
 * (password hashing and the slow-down after failures never run on an event loop): a front end hops
 * back to its loop before touching its channel.
 *
 * <p>Every failure is {@code AUTHENTICATION_FAILED} with the same text whatever the reason (unknown
 * user, wrong password, bad token), and failures from one source address or for one user are
 * answered increasingly late (bounded state, see the implementation).
 */
public interface Authenticator {

  /** The SCRAM mechanisms offered, in order of preference: {@code SCRAM-SHA-512}, … */
  String[] SCRAM_MECHANISMS = {"SCRAM-SHA-512", "SCRAM-SHA-256"};

  /**
   * A user name and password (SASL PLAIN, HTTP Basic, MQTT CONNECT), checked against SCRAM keys.
   */
  CompletableFuture<Principal> password(String user, String password, InetAddress source);

  /** A bearer token (JWT). */
  CompletableFuture<Principal> bearer(String token, InetAddress source);

  /**
   * Starts a server-side SCRAM exchange.
   *
   * @param mechanism {@code SCRAM-SHA-256} or {@code SCRAM-SHA-512}
   * @throws io.switchboard.core.SwitchboardException {@code AUTHENTICATION_FAILED} for another
   *     mechanism
   */
  ScramExchange scram(String mechanism, InetAddress source);

  /** The principal of a verified client certificate (its subject DN). */
  default Principal certificate(X509Certificate peer) {
    return Principal.certificate(peer.getSubjectX500Principal().getName());
  }
}

package io.switchboard.spi.security;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What front ends get of security ({@link io.switchboard.spi.ServerContext#security()}): whether a
 * credential is required, the authenticator, the one decision point, administration, and TLS.
 * Thread-safe.
 */
public interface Security {

  /**
   * Whether a connection must authenticate ({@code auth.required}); if not, anonymous is allowed.
   */
  boolean authRequired();

  Authenticator authenticator();

  Authorizer authorizer();

  SecurityAdmin admin();

  /** The server's TLS material, when {@code tls.cert} is set. */
  Optional<TlsContexts> tls();

  /** The quota engine: one shared meter per principal. */
  default Quotas quotas() {
    return Quotas.NONE;
  }

  /**
   * A new per-connection {@link Access} for {@code principal}, metered against its quota. The front
   * end calls {@link Access#openConnection()} once it accepts the connection and {@link
   * Access#closeConnection()} when it ends.
   */
  default Access access(Principal principal) {
    return new Access(authorizer(), principal, quotas().meter(principal));
  }

  /**
   * No security: nothing required, everything allowed, no TLS, no users (every credential is
   * refused). For tests and embedding.
   */
  Security OPEN =
      new Security() {
        @Override
        public boolean authRequired() {
          return false;
        }

        @Override
        public Authenticator authenticator() {
          return new Authenticator() {
            @Override
            public CompletableFuture<Principal> password(
                String user, String password, InetAddress source) {
              return CompletableFuture.failedFuture(refused());
            }

            @Override
            public CompletableFuture<Principal> bearer(String token, InetAddress source) {
              return CompletableFuture.failedFuture(refused());
            }

            @Override
            public ScramExchange scram(String mechanism, InetAddress source) {
              throw refused();
            }
          };
        }

        @Override
        public Authorizer authorizer() {
          return Authorizer.ALLOW_ALL;
        }

        @Override
        public SecurityAdmin admin() {
          return new SecurityAdmin() {
            @Override
            public List<String> users() {
              return List.of();
            }

            @Override
            public void addUser(String name, String password, String actor) {
              throw unsupported();
            }

            @Override
            public void setPassword(String name, String password, String actor) {
              throw unsupported();
            }

            @Override
            public void removeUser(String name, String actor) {
              throw unsupported();
            }

            @Override
            public List<AclRule> rules() {
              return List.of();
            }

            @Override
            public AclRule addRule(AclRule rule, String actor) {
              throw unsupported();
            }

            @Override
            public void removeRule(String id, String actor) {
              throw unsupported();
            }
          };
        }

        @Override
        public Optional<TlsContexts> tls() {
          return Optional.empty();
        }

        private SwitchboardException refused() {
          return SwitchboardException.of(
              ErrorCode.AUTHENTICATION_FAILED, "this server has no users or token keys");
        }

        private SwitchboardException unsupported() {
          return SwitchboardException.of(
              ErrorCode.INVALID_ARGUMENT, "this server runs without a security store");
        }
      };
}

package io.switchboard.spi.security;

import java.util.concurrent.CompletableFuture;

/**
 * The server side of one SCRAM authentication exchange (RFC 5802, RFC 7677): client-first →
 * server-first, client-final → server-final. Confined to one connection.
 */
public interface ScramExchange {

  /**
   * Answers the client's next message.
   *
   * @param clientMessage the client-first message, then the client-final message (UTF-8)
   * @return the server's answer; {@link Step#principal()} is set once the client is proven. Fails
   *     with {@code AUTHENTICATION_FAILED} for a wrong proof, an unknown user (the same answer, in
   *     about the same time) or a malformed message, after the login slow-down
   */
  CompletableFuture<Step> next(byte[] clientMessage);

  /**
   * One answer of the exchange.
   *
   * @param serverMessage the server-first or server-final message (UTF-8)
   * @param principal the authenticated user once the exchange is complete, else null
   */
  record Step(byte[] serverMessage, Principal principal) {
    public boolean complete() {
      return principal != null;
    }
  }
}

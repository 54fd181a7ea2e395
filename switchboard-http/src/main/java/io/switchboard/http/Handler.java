package io.switchboard.http;

import java.util.concurrent.CompletableFuture;

/**
 * A REST route's work: turns a request into a future reply. Called on the connection's event loop;
 * must not block it (broker futures, or the front end's executor for blocking broker calls). A
 * {@link io.switchboard.core.SwitchboardException} thrown or completing the future becomes a
 * problem response.
 */
@FunctionalInterface
interface Handler {
  CompletableFuture<HttpReply> handle(Exchange x);
}

/**
 * The gRPC front end (docs/grpc.md): the services of {@code switchboard/v1/*.proto} on grpc-java's
 * Netty server, over the broker's asynchronous API, with health and reflection.
 */
package io.switchboard.grpc;

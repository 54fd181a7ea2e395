package io.switchboard.spi;

import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.spi.config.ConfigKey;
import io.switchboard.spi.config.ServerConfig;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * A protocol front end: a plug-in that listens on its own port and translates its protocol into
 * calls on the broker ({@code ../shared/DESIGN.md}). Found through {@link java.util.ServiceLoader};
 * a module adds one by listing its class in {@code META-INF/services/io.switchboard.spi.FrontEnd}.
 *
 * <p>Lifecycle: created by the service loader, asked for its {@link #configKeys()} before the
 * configuration is loaded, asked for its {@link #meterRegistry}, started once, closed once. Not
 * called concurrently.
 */
public interface FrontEnd extends AutoCloseable {

  /** A short name for logs: {@code native}, {@code http}, {@code mqtt}. */
  String name();

  /** The configuration keys this front end reads, checked with the server's own. */
  List<ConfigKey<?>> configKeys();

  /**
   * A registry this front end exposes the server's meters through (HTTP's {@code /metrics}), if
   * any: asked for every front end before any starts, and joined to {@link ServerContext#meters()}
   * then, so it sees every front end's meters from the first.
   */
  default Optional<MeterRegistry> meterRegistry(ServerConfig config) {
    return Optional.empty();
  }

  /**
   * Starts listening.
   *
   * @return the address its plain listener listens on, or empty when its configuration turns it off
   *     (its TLS listener, if any, is {@link #tlsAddress()})
   */
  Optional<InetSocketAddress> start(ServerContext context) throws Exception;

  /** Where this front end's TLS listener listens, once started, if it has one. */
  default Optional<InetSocketAddress> tlsAddress() {
    return Optional.empty();
  }

  /**
   * Stops accepting, lets in-flight requests finish (up to a short grace period), and closes every
   * connection. Called before the broker closes.
   */
  @Override
  void close();
}

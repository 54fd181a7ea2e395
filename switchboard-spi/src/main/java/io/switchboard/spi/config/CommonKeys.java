package io.switchboard.spi.config;

/**
 * Keys the server declares and every front end reads. The server lists them in its catalogue (and
 * so in {@code docs/configuration.md}); a front end reads them and never declares them again.
 */
public final class CommonKeys {
  private CommonKeys() {}

  /** The address every listener binds to ({@link io.switchboard.spi.Listeners}). */
  public static final ConfigKey<String> BIND =
      new ConfigKey<>(
          "bind",
          "127.0.0.1",
          "Address every listener binds to. Loopback by default, so a first start exposes nothing"
              + " to the network; use 0.0.0.0 to listen on every interface.",
          ConfigKey.nonBlank());
}

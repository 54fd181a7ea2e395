package io.switchboard.spi;

import io.netty.channel.ChannelPipeline;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Protocols that front ends offer over WebSocket on the HTTP port (MQTT's {@code /mqtt}, for
 * browsers). A front end registers a path, its WebSocket sub-protocol and an installer; the HTTP
 * front end, on an upgrade request for that path, completes the handshake, turns binary frames into
 * bytes and back, and lets the installer add the protocol's own handlers. So front ends stay
 * unaware of each other (DESIGN.md). Thread-safe.
 */
public final class WebSocketProtocols {

  /**
   * One mounted protocol.
   *
   * @param path the HTTP path of the upgrade, e.g. {@code /mqtt}
   * @param subprotocol the {@code Sec-WebSocket-Protocol} it speaks, e.g. {@code mqtt}
   * @param installer adds the protocol's handlers at the end of a pipeline that already turns
   *     WebSocket binary frames into bytes and bytes into frames
   */
  public record Mount(String path, String subprotocol, Consumer<ChannelPipeline> installer) {}

  private final Map<String, Mount> byPath = new ConcurrentHashMap<>();

  /** Mounts a protocol; a second mount on the same path replaces the first. */
  public void register(Mount mount) {
    byPath.put(mount.path(), mount);
  }

  /** The protocol mounted at {@code path}, if any. */
  public Optional<Mount> find(String path) {
    return Optional.ofNullable(byPath.get(path));
  }
}

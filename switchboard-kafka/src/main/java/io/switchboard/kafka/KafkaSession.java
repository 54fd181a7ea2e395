package io.switchboard.kafka;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.ScramExchange;
import io.switchboard.spi.security.Security;

/**
 * One Kafka connection's security state (docs/kafka.md "Security"): who it is once SASL has
 * authenticated it — or anonymous from the start when {@code auth.required} is off — and the SASL
 * exchange under way. Confined to the connection's event loop.
 */
final class KafkaSession {
  /** Largest request read before authentication: a SASL exchange, not data. */
  static final int PRE_AUTH_MAX_REQUEST_BYTES = 64 * 1024;

  final Security security;
  final boolean tls;

  /** Null until authenticated when authentication is required. */
  Access access;

  /** The mechanism SaslHandshake chose, or null. */
  String mechanism;

  /** A SCRAM exchange under way, or null. */
  ScramExchange scram;

  /** A SASL exchange failed: the connection closes once its answer is written (as Kafka). */
  boolean failed;

  /** Most consumer groups one connection is counted in at once (a bound on {@link #groups}). */
  static final int MAX_GROUPS = 1_024;

  /**
   * The groups this connection has joined, each counted once against the principal's consumer quota
   * (docs/security.md "Quotas") until it leaves the group or the connection closes.
   */
  private final java.util.Set<String> groups = new java.util.HashSet<>();

  KafkaSession(Security security, boolean tls) {
    this.security = security;
    this.tls = tls;
    this.access =
        security.authRequired()
            ? null
            : security.access(io.switchboard.spi.security.Principal.ANONYMOUS);
  }

  boolean authenticated() {
    return access != null;
  }

  /**
   * Counts a JoinGroup of {@code group} as one consumer of the principal, once per connection and
   * group (a rejoin is free); false when the principal holds its quota of consumers.
   */
  boolean joinGroup(String group) {
    if (group == null || groups.contains(group)) {
      return true;
    }
    if (groups.size() >= MAX_GROUPS) {
      return false;
    }
    try {
      access.openConsumer();
    } catch (io.switchboard.core.SwitchboardException over) {
      return false;
    }
    groups.add(group);
    return true;
  }

  /** The connection left {@code group}: its consumer place is given back. */
  void leaveGroup(String group) {
    if (groups.remove(group)) {
      access.closeConsumer();
    }
  }

  /** The access changed (a re-authentication): the old one gave back what it held. */
  void forgetGroups() {
    groups.clear();
  }

  /** Counts this connection against its principal's connection quota; false when over it. */
  boolean openConnection() {
    try {
      access.openConnection();
      return true;
    } catch (io.switchboard.core.SwitchboardException over) {
      return false;
    }
  }

  /**
   * The frame decoder of a connection: Kafka's size prefix, with the request limit, and a much
   * lower one until the connection has authenticated, checked before anything is buffered.
   */
  static final class Frames extends LengthFieldBasedFrameDecoder {
    private final KafkaSession session;

    Frames(int maxRequestBytes, KafkaSession session) {
      super(maxRequestBytes + 4, 0, 4, 0, 4, true);
      this.session = session;
    }

    @Override
    protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
      if (!session.authenticated()
          && in.readableBytes() >= 4
          && in.getInt(in.readerIndex()) > PRE_AUTH_MAX_REQUEST_BYTES) {
        in.skipBytes(in.readableBytes());
        ctx.close();
        return null;
      }
      return super.decode(ctx, in);
    }
  }
}

package io.switchboard.grpc;

import io.grpc.Attributes;
import io.grpc.ServerTransportFilter;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.Security;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * One gRPC connection's {@link Access} per principal (calls on one connection may carry different
 * credentials): made on the first call of a principal, counted against its connection quota ({@link
 * Access#openConnection}) when a call of it starts, and given back with its subscriptions when the
 * connection ends. At most {@link #MAX_PRINCIPALS} per connection; a call of a further principal
 * gets an access of its own, counted and given back with that call.
 */
final class GrpcConnection {
  static final int MAX_PRINCIPALS = 16;

  static final Attributes.Key<GrpcConnection> KEY = Attributes.Key.create("switchboard-connection");

  private final HashMap<Principal, Access> accesses = new HashMap<>();
  private boolean closed;

  /** The access of {@code p} on this connection (null: no room, the caller makes its own). */
  synchronized Access access(Security security, Principal p) {
    if (closed) {
      return null;
    }
    Access a = accesses.get(p);
    if (a == null && accesses.size() < MAX_PRINCIPALS) {
      a = security.access(p);
      accesses.put(p, a);
    }
    return a;
  }

  /** The connection ended: its connections and subscriptions go back to their quotas. */
  void close() {
    List<Access> all;
    synchronized (this) {
      closed = true;
      all = new ArrayList<>(accesses.values());
      accesses.clear();
    }
    for (Access a : all) {
      a.closeConnection();
    }
  }

  /** Attaches a {@link GrpcConnection} to each transport and closes it when the transport ends. */
  static final class Filter extends ServerTransportFilter {
    private final io.switchboard.spi.ProtocolMeters meters;

    /**
     * @param meters counts the connections open ({@code switchboard.connections{protocol=grpc}})
     */
    Filter(io.switchboard.spi.ProtocolMeters meters) {
      this.meters = meters;
    }

    @Override
    public Attributes transportReady(Attributes attrs) {
      meters.opened();
      return attrs.toBuilder().set(KEY, new GrpcConnection()).build();
    }

    @Override
    public void transportTerminated(Attributes attrs) {
      // null for a transport that ended before it was ready (a port probe, a failed handshake)
      GrpcConnection c = attrs == null ? null : attrs.get(KEY);
      if (c != null) {
        meters.closed();
        c.close();
      }
    }
  }
}

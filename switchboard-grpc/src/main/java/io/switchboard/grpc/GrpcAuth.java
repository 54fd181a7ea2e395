package io.switchboard.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.switchboard.core.ErrorCode;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.Security;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Authentication from call metadata ({@code authorization: Basic …} or {@code Bearer …}) through
 * the server's one authenticator, and the call's {@link Access} (the decision point every front end
 * uses) in the gRPC {@link Context} for the services. Thread-safe.
 *
 * <p>Without the header a call over TLS with a verified client certificate ({@code
 * tls.client-auth}) is the certificate's principal (the authenticator maps its subject, as on every
 * listener); any other call without it is anonymous, or refused with UNAUTHENTICATED when {@code
 * auth.required}. A verified credential is remembered (by a hash of the header, never the header
 * itself) for {@link #REMEMBER_MS}, at most {@link #MAX_REMEMBERED} of them, and forgotten whenever
 * the rules or users change, so password hashing does not run on every call.
 */
final class GrpcAuth implements ServerInterceptor {
  static final Context.Key<Access> ACCESS = Context.key("switchboard-access");

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  static final long REMEMBER_MS = 60_000;
  static final int MAX_REMEMBERED = 1024;

  private record Remembered(Principal principal, long untilNanos, long version) {}

  private final Security security;
  private final ConcurrentHashMap<String, Remembered> remembered = new ConcurrentHashMap<>();

  GrpcAuth(Security security) {
    this.security = security;
  }

  /** The calling call's access (set by this interceptor). */
  static Access access() {
    Access a = ACCESS.get();
    return a != null ? a : Access.allowAll();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String auth = headers.get(AUTHORIZATION);
    if (auth == null) {
      java.security.cert.X509Certificate cert = peerCertificate(call);
      if (cert != null) {
        // Mutual TLS: the verified client certificate names the principal (as on every listener).
        Principal p;
        try {
          p = security.authenticator().certificate(cert);
        } catch (RuntimeException e) {
          return refuse(call, GrpcErrors.toStatus(e));
        }
        return start(call, headers, next, p);
      }
      if (security.authRequired()) {
        return refuse(
            call, GrpcErrors.of(ErrorCode.AUTHENTICATION_REQUIRED, "send authorization metadata"));
      }
      return start(call, headers, next, Principal.ANONYMOUS);
    }
    String key = hash(auth);
    Remembered r = remembered.get(key);
    if (r != null
        && r.untilNanos - System.nanoTime() > 0
        && r.version == security.authorizer().version()) {
      return start(call, headers, next, r.principal);
    }
    CompletableFuture<Principal> verified;
    InetAddress source = source(call);
    try {
      verified = verify(auth, source);
    } catch (RuntimeException e) {
      return refuse(call, GrpcErrors.toStatus(e));
    }
    Executor loop = Loops.current();
    Delayed<Q, R> delayed = new Delayed<>();
    verified.whenCompleteAsync(
        (principal, error) -> {
          if (delayed.cancelled) {
            return;
          }
          if (error != null) {
            var s = GrpcErrors.toStatus(error);
            call.close(s.getStatus(), s.getTrailers() != null ? s.getTrailers() : new Metadata());
            return;
          }
          if (remembered.size() >= MAX_REMEMBERED) {
            remembered.clear();
          }
          remembered.put(
              key,
              new Remembered(
                  principal,
                  System.nanoTime() + REMEMBER_MS * 1_000_000,
                  security.authorizer().version()));
          delayed.started(start(call, headers, next, principal));
        },
        loop);
    return delayed;
  }

  private CompletableFuture<Principal> verify(String auth, InetAddress source) {
    int space = auth.indexOf(' ');
    String scheme = space < 0 ? auth : auth.substring(0, space);
    String value = space < 0 ? "" : auth.substring(space + 1).trim();
    if (scheme.equalsIgnoreCase("Bearer")) {
      return security.authenticator().bearer(value, source);
    }
    if (scheme.equalsIgnoreCase("Basic")) {
      String decoded;
      try {
        decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return CompletableFuture.failedFuture(
            io.switchboard.core.SwitchboardException.of(
                ErrorCode.AUTHENTICATION_FAILED, "Basic credentials are not base64"));
      }
      int colon = decoded.indexOf(':');
      if (colon < 0) {
        return CompletableFuture.failedFuture(
            io.switchboard.core.SwitchboardException.of(
                ErrorCode.AUTHENTICATION_FAILED, "Basic credentials have no ':'"));
      }
      return security
          .authenticator()
          .password(decoded.substring(0, colon), decoded.substring(colon + 1), source);
    }
    return CompletableFuture.failedFuture(
        io.switchboard.core.SwitchboardException.of(
            ErrorCode.AUTHENTICATION_FAILED, "authorization must be Basic or Bearer"));
  }

  private <Q, R> ServerCall.Listener<Q> start(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next, Principal p) {
    GrpcConnection connection = call.getAttributes().get(GrpcConnection.KEY);
    Access shared = connection == null ? null : connection.access(security, p);
    Access access = shared != null ? shared : security.access(p);
    try {
      access.openConnection(); // once per connection and principal: a no-op once held
    } catch (RuntimeException e) {
      return refuse(call, GrpcErrors.toStatus(e));
    }
    if (shared == null) {
      // No connection to give it back with: this call's access is counted for the call only.
      // (the call's context is cancelled when it ends, however it ends).
      Context.current().addListener(c -> access.closeConnection(), Runnable::run);
    }
    Context ctx = Context.current().withValue(ACCESS, access);
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(
      ServerCall<Q, R> call, io.grpc.StatusRuntimeException s) {
    call.close(s.getStatus(), s.getTrailers() != null ? s.getTrailers() : new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /**
   * The verified client certificate of a call over TLS (the chain's first), or null: a plain
   * connection, or none sent ({@code tls.client-auth=request}).
   */
  private static java.security.cert.X509Certificate peerCertificate(ServerCall<?, ?> call) {
    javax.net.ssl.SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return null;
    }
    try {
      java.security.cert.Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof java.security.cert.X509Certificate x
          ? x
          : null;
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static InetAddress source(ServerCall<?, ?> call) {
    SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    return a instanceof InetSocketAddress i ? i.getAddress() : InetAddress.getLoopbackAddress();
  }

  private static String hash(String auth) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(auth.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The listener of a call whose credential is being verified. Until then the handler has not
   * started and has asked for no message; while it starts it may ask for some, which arrive before
   * its listener is known: they are kept (no more than it asked for) and handed over in order. All
   * on the call's event loop.
   */
  private static final class Delayed<Q, R> extends ServerCall.Listener<Q> {
    private ServerCall.Listener<Q> delegate;
    private final java.util.ArrayDeque<Q> early = new java.util.ArrayDeque<>();
    boolean cancelled;
    private boolean halfClosed;

    void started(ServerCall.Listener<Q> listener) {
      delegate = listener;
      while (!early.isEmpty()) {
        delegate.onMessage(early.poll());
      }
      if (halfClosed) {
        delegate.onHalfClose();
      }
      delegate.onReady();
    }

    @Override
    public void onMessage(Q message) {
      if (delegate == null) {
        early.add(message);
      } else {
        delegate.onMessage(message);
      }
    }

    @Override
    public void onHalfClose() {
      if (delegate == null) {
        halfClosed = true;
      } else {
        delegate.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      cancelled = true;
      if (delegate != null) {
        delegate.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (delegate != null) {
        delegate.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (delegate != null) {
        delegate.onReady();
      }
    }
  }
}

package io.switchboard.http;

import io.micrometer.core.instrument.Timer;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.Access;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.Security;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP connection: routes each request, answers it when its future completes, and keeps the
 * connection alive between requests. Requests are taken one at a time (auto-read is off and a
 * {@code FlowControlHandler} holds pipelined ones), so responses go out in order and a client
 * cannot queue unbounded work. A request for an event stream turns the connection into that stream
 * until it closes. Confined to the connection's event loop; broker callbacks hop back onto it.
 */
final class HttpConnectionHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(HttpConnectionHandler.class);

  private final HttpService service;
  private ChannelHandlerContext ctx;
  private RequestGuard guard;
  private EventStream stream;
  private boolean upgraded;
  private boolean counted;
  private boolean busy;
  private boolean closing;

  /** The request being answered, for the request metrics: timer, route template, method. */
  private Timer.Sample sample;

  private String route;
  private String method;

  HttpConnectionHandler(HttpService service) {
    super(true); // releases each request after channelRead0: the exchange holds a copy
    this.service = service;
  }

  void guard(RequestGuard g) {
    this.guard = g;
  }

  /** The request's Origin when http.cors-origins allows it (read by event streams). */
  static final io.netty.util.AttributeKey<String> CORS_ORIGIN =
      io.netty.util.AttributeKey.valueOf("sb-cors-origin");

  /** Whether the current request is HTTP/1.0 (read by event streams: no chunked encoding). */
  static final io.netty.util.AttributeKey<Boolean> HTTP_1_0 =
      io.netty.util.AttributeKey.valueOf("sb-http-1-0");

  /** The current request's allowed Origin, or null. */
  private String corsOrigin;

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    counted = true;
    if (service.connections().incrementAndGet() > service.settings().maxConnections()) {
      abort(
          SwitchboardException.of(
              ErrorCode.TOO_MANY_CONNECTIONS, service.settings().maxConnections()));
      return;
    }
    ctx.read();
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (counted) {
      service.connections().decrementAndGet();
    }
    if (stream != null) {
      stream.close();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    // Between requests, a read that did not complete one (headers now, body in a later packet)
    // must be followed by another; while a request is worked on, reading waits.
    if (!busy && stream == null && !upgraded && !closing) {
      ctx.read();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    // Idle: nothing read or written for http.idle-timeout-ms. A request in progress (a long
    // poll) or an event stream (heartbeats) is not idle.
    if (evt instanceof IdleStateEvent && !busy && stream == null && !upgraded) {
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("HTTP connection {} failed", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    if (stream != null || upgraded || closing) {
      return; // an event stream reads only to notice the peer closing
    }
    guard.received();
    if (!request.decoderResult().isSuccess()) {
      abort(malformed(request.decoderResult().cause()));
      return;
    }
    HttpVersion version = request.protocolVersion();
    if (!version.equals(HttpVersion.HTTP_1_1) && !version.equals(HttpVersion.HTTP_1_0)) {
      // Netty's decoder takes any HTTP/x.y; RFC 9110 §15.6.6: 505 for a major version we do not
      // speak. Closed after the answer: how the rest of such a request is framed is unknown.
      abort(SwitchboardException.of(ErrorCode.HTTP_VERSION_NOT_SUPPORTED, version.text()));
      return;
    }
    busy = true;
    sample = service.metrics().start();
    route = HttpMetrics.NO_ROUTE;
    method = HttpMetrics.method(request.method());
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    Exchange x;
    String origin = request.headers().get(HttpHeaderNames.ORIGIN);
    try {
      x = Exchange.of(request, ctx.executor());
      corsOrigin = service.settings().allowsOrigin(origin) ? origin : null;
      ctx.channel().attr(CORS_ORIGIN).set(corsOrigin);
      ctx.channel()
          .attr(HTTP_1_0)
          .set(request.protocolVersion().equals(io.netty.handler.codec.http.HttpVersion.HTTP_1_0));
      checkHost(request);
      if (corsOrigin != null
          && x.method().equals(HttpMethod.OPTIONS)
          && request.headers().contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
        respond(preflight(request), keepAlive);
        return;
      }
      checkCrossSite(request, x, origin);
    } catch (RuntimeException e) {
      respond(problem(e, request.uri()), keepAlive);
      return;
    }
    // The credential is checked off the loop (password hashing, failure delays); the request is
    // kept until it is.
    request.retain();
    CompletableFuture<Access> who;
    try {
      who = authenticate(request, x);
    } catch (RuntimeException e) {
      who = CompletableFuture.failedFuture(e);
    }
    Exchange exchange = x;
    who.whenComplete(
        (access, e) ->
            onLoop(
                () -> {
                  try {
                    if (closing) {
                      return;
                    }
                    if (e != null) {
                      respond(unauthorized(e, exchange.path()), keepAlive);
                      return;
                    }
                    ctx.channel().attr(HttpAccess.ACCESS).set(access);
                    dispatch(request, exchange.withAccess(access), origin, keepAlive);
                  } finally {
                    request.release();
                  }
                }));
  }

  /** Routes an authenticated request. */
  private void dispatch(FullHttpRequest request, Exchange x, String origin, boolean keepAlive) {
    String path = x.path();
    Access access = x.access();
    CompletableFuture<HttpReply> reply;
    try {
      Router.Match<EventStream.Opener> sse =
          x.method().equals(HttpMethod.GET) ? service.streams().find(x.method(), x.path()) : null;
      if (sse != null) {
        route = sse.template();
        HttpAccess.check(access, x.method(), sse.template(), x.withParams(sse), service.broker());
        openStream(sse, x, keepAlive);
        return;
      }
      var mount =
          x.method().equals(HttpMethod.GET) ? service.mounts().find(x.path()).orElse(null) : null;
      if (mount != null) {
        checkWebSocketOrigin(request, origin);
        // Another front end's protocol over WebSocket (MQTT on /mqtt): it takes the connection.
        route = mount.path();
        MountedWebSocket.upgrade(ctx, request, mount, service);
        upgraded = true;
        answered(101);
        return;
      }
      if (x.method().equals(HttpMethod.GET)
          && service.upgrades().find(x.method(), x.path()) != null) {
        // The WebSocket handler takes the connection once the handshake response is out; a
        // refused upgrade (thrown before anything is written) is answered as a problem below.
        route = WebSocketHandler.PATH;
        checkWebSocketOrigin(request, origin);
        WebSocketHandler.upgrade(ctx, request, x, service);
        upgraded = true;
        answered(101);
        return;
      }
      Router.Match<Handler> found = service.route(x.method(), x.path());
      route = found.template();
      Exchange routed = x.withParams(found);
      HttpAccess.check(access, x.method(), found.template(), routed, service.broker());
      reply = found.target().handle(routed);
    } catch (RuntimeException e) {
      reply = CompletableFuture.failedFuture(e);
    }
    String instance = path;
    reply.whenComplete(
        (r, e) -> onLoop(() -> respond(r != null ? r : problem(e, instance), keepAlive)));
  }

  private void openStream(Router.Match<EventStream.Opener> sse, Exchange x, boolean keepAlive) {
    try {
      stream = sse.target().open(ctx, x.withParams(sse));
    } catch (RuntimeException e) {
      respond(problem(e, x.path()), keepAlive); // a refused stream honours Connection: close
      return;
    }
    answered(200);
    // Read on, to see the peer close; whatever it sends is dropped.
    ctx.channel().config().setAutoRead(true);
  }

  /**
   * [issue 18] DNS rebinding: a page whose domain was made to resolve to this server must not reach
   * it under that name.
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_HOST_NOT_ALLOWED}
   */
  private void checkHost(FullHttpRequest request) {
    String host = request.headers().get(HttpHeaderNames.HOST);
    if (!service.settings().allowsHost(host)) {
      throw SwitchboardException.of(ErrorCode.HTTP_HOST_NOT_ALLOWED, host);
    }
  }

  /** Content types a page may send cross-site without a CORS preflight (Fetch standard). */
  private static final java.util.Set<String> SIMPLE_TYPES =
      java.util.Set.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data");

  /**
   * [issue 18] A web page must not drive the server: a request that changes state from another
   * origin (not listed in http.cors-origins) is refused, and so is a POST without credentials whose
   * Content-Type a form or a no-CORS fetch can send.
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_ORIGIN_NOT_ALLOWED}, {@link
   *     ErrorCode#HTTP_SIMPLE_CONTENT_TYPE}
   */
  private void checkCrossSite(FullHttpRequest request, Exchange x, String origin) {
    HttpMethod m = x.method();
    boolean changes =
        m.equals(HttpMethod.POST)
            || m.equals(HttpMethod.PUT)
            || m.equals(HttpMethod.DELETE)
            || m.equals(HttpMethod.PATCH);
    if (!changes) {
      return;
    }
    if (origin != null && corsOrigin == null && !sameOrigin(request, origin)) {
      throw SwitchboardException.of(ErrorCode.HTTP_ORIGIN_NOT_ALLOWED, origin);
    }
    String type = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
    boolean credentials =
        request.headers().contains(HttpHeaderNames.AUTHORIZATION)
            || x.query().containsKey(ACCESS_TOKEN);
    if (m.equals(HttpMethod.POST) && type != null && !credentials) {
      String base = type.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
      if (SIMPLE_TYPES.contains(base)) {
        throw SwitchboardException.of(ErrorCode.HTTP_SIMPLE_CONTENT_TYPE, "POST", base);
      }
    }
  }

  private static boolean sameOrigin(FullHttpRequest request, String origin) {
    String host = request.headers().get(HttpHeaderNames.HOST);
    return host != null && (origin.equals("http://" + host) || origin.equals("https://" + host));
  }

  /** The query parameter browsers' EventSource and WebSocket send a bearer token in (RFC 6750). */
  static final String ACCESS_TOKEN = "access_token";

  /**
   * The request's principal: {@code Authorization: Basic} (a user's password) or {@code Bearer} (a
   * JWT), the {@code access_token} query parameter on a GET, the client certificate of a mutual-TLS
   * connection, else anonymous (refused when {@code auth.required}).
   */
  private CompletableFuture<Access> authenticate(FullHttpRequest request, Exchange x) {
    Security security = service.security();
    java.net.InetAddress source =
        ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
            ? a.getAddress()
            : null;
    String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
    String queryToken = x.method().equals(HttpMethod.GET) ? x.query(ACCESS_TOKEN, null) : null;
    CompletableFuture<Principal> who;
    if (auth != null) {
      int space = auth.indexOf(' ');
      String scheme = space < 0 ? auth : auth.substring(0, space);
      String value = space < 0 ? "" : auth.substring(space + 1).trim();
      if (scheme.equalsIgnoreCase("Basic")) {
        String decoded;
        try {
          decoded = new String(java.util.Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          decoded = "";
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
          throw SwitchboardException.of(
              ErrorCode.AUTHENTICATION_FAILED, "Basic credentials are base64(user:password)");
        }
        who =
            security
                .authenticator()
                .password(decoded.substring(0, colon), decoded.substring(colon + 1), source);
      } else if (scheme.equalsIgnoreCase("Bearer")) {
        who = security.authenticator().bearer(value, source);
      } else {
        throw SwitchboardException.of(
            ErrorCode.AUTHENTICATION_FAILED, "the Authorization scheme is Basic or Bearer");
      }
    } else if (queryToken != null) {
      who = security.authenticator().bearer(queryToken, source);
    } else {
      var cert = io.switchboard.spi.Listeners.peerCertificate(ctx.channel());
      if (cert.isPresent()) {
        who = CompletableFuture.completedFuture(security.authenticator().certificate(cert.get()));
      } else if (security.authRequired() && !open(x)) {
        throw SwitchboardException.of(
            ErrorCode.AUTHENTICATION_REQUIRED,
            "send Authorization: Basic or Bearer (or ?access_token= on a GET)");
      } else {
        who = CompletableFuture.completedFuture(Principal.ANONYMOUS);
      }
    }
    return who.thenApply(security::access);
  }

  /**
   * Requests that need no HTTP credential: the probes a load balancer calls, and the upgrade to a
   * protocol mounted over WebSocket (MQTT), which authenticates in its own handshake (CONNECT).
   */
  private boolean open(Exchange x) {
    return x.method().equals(HttpMethod.GET)
        && (x.path().equals("/healthz")
            || x.path().equals("/readyz")
            || service.mounts().find(x.path()).isPresent());
  }

  /** A 401 names the schemes (RFC 9110 §11.6.1); other failures are ordinary problems. */
  private HttpReply unauthorized(Throwable t, String instance) {
    HttpReply r = problem(t, instance);
    if (r.status() == 401) {
      r =
          r.withHeader(
              "WWW-Authenticate", "Basic realm=\"switchboard\", Bearer realm=\"switchboard\"");
    }
    return r;
  }

  /** A CORS preflight from an allowed origin: what the actual request may use, cached 10 min. */
  private HttpReply preflight(FullHttpRequest request) {
    String asked = request.headers().get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS);
    HttpReply r =
        HttpReply.noContent()
            .withHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
            .withHeader("Access-Control-Max-Age", "600");
    if (asked != null && asked.length() <= 1024) {
      r = r.withHeader("Access-Control-Allow-Headers", asked);
    }
    return r;
  }

  /**
   * Browsers send the page's Origin with a WebSocket handshake and enforce nothing themselves: a
   * page from another origin is refused unless listed (cross-site WebSocket hijacking). Clients
   * that send no Origin (not browsers) are not affected.
   *
   * @throws SwitchboardException {@link ErrorCode#HTTP_ORIGIN_NOT_ALLOWED}
   */
  private void checkWebSocketOrigin(FullHttpRequest request, String origin) {
    if (origin == null || corsOrigin != null) {
      return;
    }
    String host = request.headers().get(HttpHeaderNames.HOST);
    if (host != null && (origin.equals("http://" + host) || origin.equals("https://" + host))) {
      return;
    }
    throw SwitchboardException.of(ErrorCode.HTTP_ORIGIN_NOT_ALLOWED, origin);
  }

  /** The problem reply for a failed request; unexpected failures are logged once. */
  private HttpReply problem(Throwable t, String instance) {
    SwitchboardException e = HttpErrors.unwrap(t);
    service.failedRequests().increment();
    if (e.code() == ErrorCode.INTERNAL) {
      LOG.warn("SB-HTTP-5001 {} failed unexpectedly", instance, t);
    }
    HttpReply r = HttpReply.problem(e, instance);
    if (e.code() == ErrorCode.HTTP_METHOD_NOT_ALLOWED) {
      r = r.withHeader("Allow", String.join(", ", service.allowed(instance)));
    }
    return r;
  }

  private SwitchboardException malformed(Throwable cause) {
    LOG.debug("HTTP request from {} not decoded", ctx.channel().remoteAddress(), cause);
    return SwitchboardException.of(ErrorCode.HTTP_MALFORMED_REQUEST, NettyErrors.request(cause));
  }

  /**
   * Answers {@code e} and closes: for requests that cannot be read to the end (too large, too slow,
   * malformed) and for a connection over the limit.
   */
  void abort(SwitchboardException e) {
    if (closing) {
      return;
    }
    if (stream != null) {
      ctx.close();
      return;
    }
    service.failedRequests().increment();
    respond(HttpReply.problem(e, null), false);
  }

  /** Counts and times the request in progress, once. */
  private void answered(int status) {
    if (sample == null) { // refused before a request was read (limits, slow-loris, malformed)
      sample = service.metrics().start();
      route = HttpMetrics.NO_ROUTE;
      method = "UNKNOWN";
    }
    service.metrics().answered(sample, route, method, status);
    sample = null;
  }

  /** The page's origin may read the response (every response varies by Origin when CORS is on). */
  static void corsHeaders(io.netty.handler.codec.http.HttpHeaders headers, String origin) {
    if (origin != null) {
      headers
          .set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin)
          .set(HttpHeaderNames.VARY, HttpHeaderNames.ORIGIN)
          .set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, "ETag, Location, Retry-After");
    }
  }

  private void respond(HttpReply r, boolean keepAlive) {
    if (closing) {
      return;
    }
    answered(r.status());
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(r.status()),
            Unpooled.wrappedBuffer(r.body()));
    if (r.contentType() != null) {
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    }
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
    for (Map.Entry<String, String> h : r.headers().entrySet()) {
      response.headers().set(h.getKey(), h.getValue());
    }
    corsHeaders(response.headers(), corsOrigin);
    if (!keepAlive) {
      closing = true;
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(response).addListener(f -> linger(f.isSuccess()));
      return;
    }
    ctx.writeAndFlush(response)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                ctx.close();
                return;
              }
              busy = false;
              guard.answered();
              // Asked for later, not from inside the read that delivered this request: with Netty
              // 4.2.18 a read requested re-entrantly left the next request held in the
              // FlowControlHandler, and the keep-alive connection stalled.
              ctx.executor().execute(ctx::read);
            });
  }

  /** How long a closing connection drains what the peer still sends before it is closed. */
  static final long LINGER_MS = 2_000;

  /**
   * Ends a connection after its last response: output is shut down so the peer reads the response
   * and then the end of the stream, and what it still sends (the rest of an oversized body) is read
   * and dropped until it closes or {@link #LINGER_MS} passes. Closing at once with unread input
   * would reset the connection and could destroy the response in flight.
   */
  private void linger(boolean written) {
    if (written && ctx.channel() instanceof DuplexChannel duplex) {
      duplex.shutdownOutput();
      ctx.channel().config().setAutoRead(true);
      ctx.executor().schedule(() -> ctx.close(), LINGER_MS, TimeUnit.MILLISECONDS);
    } else {
      ctx.close();
    }
  }

  private void onLoop(Runnable r) {
    if (ctx.executor().inEventLoop()) {
      r.run();
    } else {
      ctx.executor().execute(r);
    }
  }
}

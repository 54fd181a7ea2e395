package io.switchboard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.switchboard.client.ClientOptions;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.protocol.FrameDescriptor;
import io.switchboard.protocol.ProtocolLimits;
import io.switchboard.protocol.codec.FrameCodec;
import io.switchboard.protocol.frame.AuthChallenge;
import io.switchboard.protocol.frame.AuthResponse;
import io.switchboard.protocol.frame.ErrorFrame;
import io.switchboard.protocol.frame.Frame;
import io.switchboard.protocol.frame.Hello;
import io.switchboard.protocol.frame.Publish;
import io.switchboard.protocol.frame.Welcome;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import io.switchboard.spi.security.AclRule;
import io.switchboard.spi.security.Permission;
import io.switchboard.spi.security.SecurityAdmin;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The native HELLO with a SCRAM exchange ([P-4.5] of docs/protocol.md, issue 18): the Java client
 * logs in with SCRAM-SHA-256 and -512 against the stored credentials; failures answer alike for an
 * unknown user and a wrong password, after the login slow-down; a tampered proof fails; a server
 * that cannot prove it knows the credential is refused by the client; a removed user's open
 * connection loses its access.
 */
class NativeScramTest {
  static final long FAILURE_DELAY_MS = 300;

  @TempDir Path dir;
  SwitchboardServer server;
  SecurityAdmin admin;
  int port;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "auth.required",
                "true",
                "acl.default",
                "deny",
                "auth.failure-delay-ms",
                Long.toString(FAILURE_DELAY_MS)));
    port = server.addresses().get("native").getPort();
    admin = server.security();
    admin.addUser("alice", "alice-pw", "test");
    admin.addRule(
        new AclRule(
            "", AclRule.Effect.ALLOW, "user:alice", EnumSet.of(Permission.PUBLISH), "orders.>"),
        "test");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  ClientOptions options() {
    return ClientOptions.of("127.0.0.1", port).withReconnect(false);
  }

  @ParameterizedTest
  @ValueSource(strings = {"SCRAM-SHA-256", "SCRAM-SHA-512"})
  void theClientLogsInWithScramAndActsAsTheUser(String mechanism) {
    try (SwitchboardClient alice =
        SwitchboardClient.connect(
            options().withCredentials("alice", "alice-pw").withMechanism(mechanism))) {
      alice.publish("orders.1", utf8("ok"));
      assertThatThrownBy(() -> alice.publish("payments.1", utf8("no")))
          .hasMessageContaining("user:alice may not publish payments.1");
    }
  }

  @Test
  void scramIsWhatTheClientSendsForAUserAndPassword() {
    assertThat(options().withCredentials("a", "b").mechanism()).isEqualTo("SCRAM-SHA-256");
    // PLAIN stays available for servers without the exchange, and the server still takes it
    try (SwitchboardClient alice =
        SwitchboardClient.connect(
            options().withCredentials("alice", "alice-pw").withMechanism("PLAIN"))) {
      alice.publish("orders.2", utf8("ok"));
    }
  }

  @Test
  void aWrongPasswordAndAnUnknownUserGetTheSameSlowedAnswer() {
    long t0 = System.nanoTime();
    SwitchboardClientException wrong =
        catchThrowableOfType(
            SwitchboardClientException.class,
            () -> SwitchboardClient.connect(options().withCredentials("alice", "nope")));
    long wrongMs = (System.nanoTime() - t0) / 1_000_000;
    t0 = System.nanoTime();
    SwitchboardClientException unknown =
        catchThrowableOfType(
            SwitchboardClientException.class,
            () -> SwitchboardClient.connect(options().withCredentials("mallory", "nope")));
    long unknownMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(wrong.errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
    assertThat(unknown.errorCode()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
    assertThat(unknown.getMessage()).isEqualTo(wrong.getMessage());
    assertThat(wrongMs).isGreaterThanOrEqualTo(FAILURE_DELAY_MS);
    assertThat(unknownMs).isGreaterThanOrEqualTo(FAILURE_DELAY_MS);
  }

  @Test
  void anUnknownUserGetsAStableSaltLikeAKnownOne() throws IOException {
    // the salt an unknown user is offered does not change between attempts
    String first = serverFirst("mallory");
    String again = serverFirst("mallory");
    assertThat(attr(first, "s")).isEqualTo(attr(again, "s"));
    assertThat(attr(first, "i")).isEqualTo(attr(serverFirst("alice"), "i"));
  }

  @Test
  void aTamperedClientProofIsRefused() throws IOException {
    try (RawConnection raw = new RawConnection(port)) {
      ClientScram scram = new ClientScram("SCRAM-SHA-256", "alice", "alice-pw");
      raw.send(hello(scram.hello()));
      String serverFirst = text(((AuthChallenge) raw.read()).data());
      String clientFinal = scram.clientFinal(serverFirst);
      // the genuine proof with one bit flipped
      int p = clientFinal.indexOf(",p=") + 3;
      byte[] proof = Base64.getDecoder().decode(clientFinal.substring(p));
      proof[0] ^= 1;
      raw.send(
          new AuthResponse(
              utf8(clientFinal.substring(0, p) + Base64.getEncoder().encodeToString(proof))));
      Frame answer = raw.read();
      assertThat(answer)
          .isInstanceOfSatisfying(
              ErrorFrame.class,
              e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED.number());
                assertThat(e.fatal()).isTrue();
              });
      assertThat(raw.closedByServer()).isTrue();
    }
    // and the genuine proof logs in, so the refusal was the flipped bit
    try (RawConnection raw = new RawConnection(port)) {
      ClientScram scram = new ClientScram("SCRAM-SHA-256", "alice", "alice-pw");
      raw.send(hello(scram.hello()));
      raw.send(
          new AuthResponse(utf8(scram.clientFinal(text(((AuthChallenge) raw.read()).data())))));
      String serverFinal = text(((AuthChallenge) raw.read()).data());
      assertThat(serverFinal).isEqualTo(scram.expectedServerFinal());
      assertThat(raw.read()).isInstanceOf(Welcome.class);
    }
  }

  @Test
  void beforeTheExchangeEndsOnlyASmallAuthResponseIsRead() throws IOException {
    try (RawConnection raw = new RawConnection(port)) {
      ClientScram scram = new ClientScram("SCRAM-SHA-256", "alice", "alice-pw");
      raw.send(hello(scram.hello()));
      raw.read(); // server-first
      raw.send(Publish.of(1, "orders.1", utf8("early")));
      assertThat(raw.read())
          .isInstanceOfSatisfying(
              ErrorFrame.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.HANDSHAKE_REQUIRED.number()));
    }
    try (RawConnection raw = new RawConnection(port)) {
      ClientScram scram = new ClientScram("SCRAM-SHA-256", "alice", "alice-pw");
      raw.send(hello(scram.hello()));
      raw.read();
      // a header declaring a 1 MiB AUTH_RESPONSE: refused before any body is buffered
      raw.sendRaw(new byte[] {0, 0x10, 0, 0, 0x09, 0});
      assertThat(raw.read())
          .isInstanceOfSatisfying(
              ErrorFrame.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE.number()));
    }
  }

  @Test
  void aRemovedUsersOpenScramConnectionLosesItsAccess() {
    try (SwitchboardClient alice =
        SwitchboardClient.connect(options().withCredentials("alice", "alice-pw"))) {
      alice.publish("orders.1", utf8("before"));
      admin.removeUser("alice", "test");
      assertThatThrownBy(() -> alice.publish("orders.1", utf8("after")))
          .isInstanceOfSatisfying(
              SwitchboardClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PERMISSION_DENIED));
    }
  }

  // ------------------------------------------------------------------ a server that is not ours

  @Test
  void aServerWithAWrongSignatureIsRefused() throws Exception {
    assertFakeServerRefused(
        scram ->
            new Frame[] {
              new AuthChallenge(utf8("v=" + Base64.getEncoder().encodeToString(new byte[32]))),
              welcome()
            });
  }

  @Test
  void aServerThatSkipsItsSignatureIsRefused() throws Exception {
    assertFakeServerRefused(scram -> new Frame[] {welcome()});
  }

  @Test
  void aServerAskingForFewIterationsOrKeepingTheNonceGetsNoProof() throws Exception {
    for (String serverFirst :
        new String[] {"r=NONCEfake,s=c2FsdHNhbHQ=,i=1", "r=someone-elses,s=c2FsdHNhbHQ=,i=4096"}) {
      try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        CompletableFuture<Frame> answer =
            CompletableFuture.supplyAsync(
                () -> {
                  try (Socket s = fake.accept()) {
                    Hello h = (Hello) read(s);
                    String clientFirst = text(h.authToken());
                    String nonce = attr(clientFirst.substring(clientFirst.indexOf("n=")), "r");
                    write(s, new AuthChallenge(utf8(serverFirst.replace("NONCE", nonce))));
                    return read(s); // the client must close instead of sending its proof
                  } catch (IOException e) {
                    return null;
                  }
                });
        assertRefused(fake.getLocalPort());
        assertThat(answer.join()).as(serverFirst).isNull();
      }
    }
  }

  @Test
  void aServerThatWelcomesWithoutAnExchangeIsRefused() throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> served =
          CompletableFuture.runAsync(
              () -> {
                try (Socket s = fake.accept()) {
                  read(s); // HELLO
                  write(s, welcome());
                  s.getInputStream().read(); // until the client closes
                } catch (IOException e) {
                  // the client may close before the fake has written all: that is its answer
                }
              });
      assertRefused(fake.getLocalPort());
      served.join();
    }
  }

  /**
   * A fake server that sees the client's HELLO and proof and answers server-first like a real one
   * (it learnt a salt), then whatever {@code after} says instead of a correct server-final.
   */
  private void assertFakeServerRefused(Function<String, Frame[]> after) throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> served =
          CompletableFuture.runAsync(
              () -> {
                try (Socket s = fake.accept()) {
                  Hello h = (Hello) read(s);
                  String clientFirst = text(h.authToken());
                  String nonce = attr(clientFirst.substring(clientFirst.indexOf("n=")), "r");
                  write(s, new AuthChallenge(utf8("r=" + nonce + "fake,s=c2FsdHNhbHQ=,i=4096")));
                  AuthResponse proof = (AuthResponse) read(s);
                  for (Frame f : after.apply(text(proof.data()))) {
                    write(s, f);
                  }
                  s.getInputStream().read(); // until the client closes
                } catch (IOException e) {
                  // the client may close before the fake has written all: that is its answer
                }
              });
      assertRefused(fake.getLocalPort());
      served.join();
    }
  }

  private static void assertRefused(int fakePort) {
    SwitchboardClientException e =
        catchThrowableOfType(
            SwitchboardClientException.class,
            () ->
                SwitchboardClient.connect(
                    ClientOptions.of("127.0.0.1", fakePort)
                        .withReconnect(false)
                        .withCredentials("alice", "alice-pw")));
    assertThat(e).isNotNull();
    assertThat(e.errorCode()).isEqualTo(ErrorCode.SERVER_NOT_PROVEN);
    assertThat(e.getMessage()).contains("alice");
  }

  private static Welcome welcome() {
    return new Welcome(1, FrameDescriptor.FEATURES_V1, "fake", 1 << 20, 100, 1 << 20, 0);
  }

  private static Frame read(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int length = in.readInt();
    byte[] frame = new byte[FrameDescriptor.HEADER_BYTES + length];
    frame[0] = (byte) (length >>> 24);
    frame[1] = (byte) (length >>> 16);
    frame[2] = (byte) (length >>> 8);
    frame[3] = (byte) length;
    in.readFully(frame, 4, frame.length - 4);
    ByteBuf buf = Unpooled.wrappedBuffer(frame);
    try {
      return FrameCodec.decode(buf, ProtocolLimits.DEFAULTS);
    } finally {
      buf.release();
    }
  }

  private static void write(Socket s, Frame f) throws IOException {
    ByteBuf buf = FrameCodec.encode(ByteBufAllocator.DEFAULT, f);
    try {
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      OutputStream out = s.getOutputStream();
      out.write(bytes);
      out.flush();
    } finally {
      buf.release();
    }
  }

  // ------------------------------------------------------------------ helpers

  private String serverFirst(String user) throws IOException {
    try (RawConnection raw = new RawConnection(port)) {
      raw.send(hello(new ClientScram("SCRAM-SHA-256", user, "x").hello()));
      return text(((AuthChallenge) raw.read()).data());
    }
  }

  private static Hello hello(String credential) {
    return new Hello(
        FrameDescriptor.MIN_VERSION,
        FrameDescriptor.MAX_VERSION,
        FrameDescriptor.FEATURES_V1,
        "scram-test",
        utf8(credential));
  }

  static String attr(String message, String name) {
    for (String a : message.split(",")) {
      if (a.startsWith(name + "=")) {
        return a.substring(name.length() + 1);
      }
    }
    throw new AssertionError(name + " missing from " + message);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}

package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection state machine on the wire, byte by byte: the handshake (PLAIN and AMQPLAIN), tune
 * negotiation, heartbeats, channel limits, and bad input answered with the spec's reply codes.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AmqpWireTest {
  @TempDir Path dir;
  SwitchboardServer server;
  Socket socket;
  DataInputStream in;
  OutputStream out;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(
            Map.of(
                ConfigCatalogue.DATA_DIR.name(),
                dir.toString(),
                "amqp.channel-max",
                "8",
                "amqp.heartbeat-seconds",
                "1"));
    socket = new Socket("127.0.0.1", server.addresses().get("amqp").getPort());
    socket.setSoTimeout(10_000);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  @AfterEach
  void stop() throws IOException {
    socket.close();
    server.close();
  }

  record Read(int type, int channel, byte[] payload) {
    AmqpMethod method() {
      return AmqpMethods.read(Unpooled.wrappedBuffer(payload));
    }
  }

  Read read() throws IOException {
    int type = in.readUnsignedByte();
    int channel = in.readUnsignedShort();
    int size = in.readInt();
    byte[] payload = new byte[size];
    in.readFully(payload);
    assertThat(in.readUnsignedByte()).isEqualTo(0xCE);
    return new Read(type, channel, payload);
  }

  /** The next method frame, skipping heartbeats. */
  AmqpMethod method() throws IOException {
    while (true) {
      Read r = read();
      if (r.type() == AmqpFrame.METHOD) {
        return r.method();
      }
    }
  }

  void send(int channel, AmqpMethod m) throws IOException {
    ByteBuf p = Unpooled.buffer();
    AmqpMethods.write(m, p);
    sendFrame(AmqpFrame.METHOD, channel, ByteBufUtil.getBytes(p));
  }

  void sendFrame(int type, int channel, byte[] payload) throws IOException {
    ByteBuf f = Unpooled.buffer();
    AmqpFrameEncoder.encodeTo(new AmqpFrame(type, channel, Unpooled.wrappedBuffer(payload)), f);
    out.write(ByteBufUtil.getBytes(f));
    out.flush();
  }

  void open(String mechanism, byte[] response, int heartbeat) throws IOException {
    out.write(ProtocolHeader.AMQP_0_9_1);
    AmqpMethod start = method();
    assertThat(start.name()).isEqualTo("connection.start");
    assertThat(start.str(3)).isEqualTo("PLAIN AMQPLAIN");
    @SuppressWarnings("unchecked")
    Map<String, Object> caps = (Map<String, Object>) start.table(2).get("capabilities");
    assertThat(caps)
        .containsEntry("publisher_confirms", true)
        .containsEntry("basic.nack", true)
        .containsEntry("consumer_cancel_notify", true)
        .containsEntry("connection.blocked", true);
    assertThat(start.table(2)).containsKey("version");
    send(0, AmqpMethod.of("connection.start-ok", Map.of(), mechanism, response, "en_US"));
    AmqpMethod tune = method();
    assertThat(tune.name()).isEqualTo("connection.tune");
    assertThat(tune.intArg(0)).isEqualTo(8);
    assertThat(tune.longArg(1)).isEqualTo(131072);
    send(0, AmqpMethod.of("connection.tune-ok", 0, 131072L, heartbeat));
    send(0, AmqpMethod.of("connection.open", "/", "", false));
    assertThat(method().name()).isEqualTo("connection.open-ok");
  }

  void openPlain() throws IOException {
    open("PLAIN", "\0guest\0guest".getBytes(StandardCharsets.UTF_8), 0);
  }

  /** Reads until the server closes the socket; false if it did not within the read timeout. */
  boolean closedByServer() throws IOException {
    try {
      while (true) {
        read();
      }
    } catch (EOFException | java.net.SocketException e) {
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    }
  }

  AmqpMethod expectConnectionClose(int code) throws IOException {
    AmqpMethod close = method();
    assertThat(close.name()).isEqualTo("connection.close");
    assertThat(close.intArg(0)).as(close.str(1)).isEqualTo(code);
    send(0, AmqpMethod.of("connection.close-ok"));
    assertThat(closedByServer()).isTrue();
    return close;
  }

  @Test
  void aWrongProtocolHeaderGetsOursAndAClose() throws IOException {
    out.write("AMQP\u0000\u0000\u0008\u0000".getBytes(StandardCharsets.ISO_8859_1));
    byte[] answer = new byte[8];
    in.readFully(answer);
    assertThat(answer).isEqualTo(ProtocolHeader.AMQP_0_9_1);
    assertThat(closedByServer()).isTrue();
  }

  @Test
  void amqplainHandshakeAndAnOrderlyClose() throws IOException {
    ByteBuf t = Unpooled.buffer();
    Map<String, Object> login = new LinkedHashMap<>();
    // RabbitMQ's default login: anonymous on a server that does not require authentication.
    login.put("LOGIN", "guest");
    login.put("PASSWORD", "guest");
    AmqpTypes.writeTable(t, login);
    t.skipBytes(4);
    open("AMQPLAIN", ByteBufUtil.getBytes(t), 0);
    for (int ch = 1; ch <= 8; ch++) {
      send(ch, AmqpMethod.of("channel.open", ""));
      assertThat(method().name()).isEqualTo("channel.open-ok");
    }
    send(3, AmqpMethod.of("channel.close", 200, "bye", 0, 0));
    assertThat(method().name()).isEqualTo("channel.close-ok");
    send(0, AmqpMethod.of("connection.close", 200, "bye", 0, 0));
    assertThat(method().name()).isEqualTo("connection.close-ok");
    assertThat(closedByServer()).isTrue();
  }

  @Test
  void aChannelAboveChannelMaxClosesTheConnection() throws IOException {
    openPlain();
    send(9, AmqpMethod.of("channel.open", ""));
    expectConnectionClose(530);
  }

  @Test
  void aMethodOnAnUnopenedChannelIsAChannelError() throws IOException {
    openPlain();
    send(2, AmqpMethod.of("basic.qos", 0L, 10, false));
    expectConnectionClose(504);
  }

  @Test
  void aFrameOverFrameMaxIsAFrameError() throws IOException {
    openPlain();
    send(1, AmqpMethod.of("channel.open", ""));
    method();
    sendFrame(AmqpFrame.BODY, 1, new byte[131072]);
    expectConnectionClose(501);
  }

  @Test
  void contentWithoutAPublishIsAnUnexpectedFrame() throws IOException {
    openPlain();
    send(1, AmqpMethod.of("channel.open", ""));
    method();
    sendFrame(AmqpFrame.BODY, 1, new byte[] {1, 2, 3});
    expectConnectionClose(505);
  }

  @Test
  void aMethodInsteadOfContentIsAnUnexpectedFrame() throws IOException {
    openPlain();
    send(1, AmqpMethod.of("channel.open", ""));
    method();
    send(1, AmqpMethod.of("basic.publish", 0, "", "q", false, false));
    send(1, AmqpMethod.of("basic.qos", 0L, 10, false));
    expectConnectionClose(505);
  }

  @Test
  void aBodyLongerThanItsHeaderSaysIsAFrameError() throws IOException {
    openPlain();
    send(1, AmqpMethod.of("channel.open", ""));
    method();
    send(1, AmqpMethod.of("basic.publish", 0, "", "q", false, false));
    ByteBuf h = Unpooled.buffer();
    ContentHeader.basic(2, new Object[14]).write(h);
    sendFrame(AmqpFrame.HEADER, 1, ByteBufUtil.getBytes(h));
    sendFrame(AmqpFrame.BODY, 1, new byte[] {1, 2, 3});
    expectConnectionClose(501);
  }

  /** Partly received content is bounded per connection, not only per channel. */
  @Test
  void contentInProgressOnManyChannelsIsBounded() throws IOException {
    openPlain();
    ByteBuf h = Unpooled.buffer();
    ContentHeader.basic(16 << 20, new Object[14]).write(h);
    byte[] header = ByteBufUtil.getBytes(h);
    for (int ch = 1; ch <= 5; ch++) {
      send(ch, AmqpMethod.of("channel.open", ""));
      assertThat(method().name()).isEqualTo("channel.open-ok");
      send(ch, AmqpMethod.of("basic.publish", 0, "", "q", false, false));
      sendFrame(AmqpFrame.HEADER, ch, header); // 16 MiB announced, none sent
    }
    expectConnectionClose(506);
  }

  @Test
  void immediatePublishIsNotImplemented() throws IOException {
    openPlain();
    send(1, AmqpMethod.of("channel.open", ""));
    method();
    send(1, AmqpMethod.of("basic.publish", 0, "", "q", false, true));
    expectConnectionClose(540);
  }

  @Test
  void anUnknownVirtualHostIsRefused() throws IOException {
    out.write(ProtocolHeader.AMQP_0_9_1);
    method();
    send(
        0,
        AmqpMethod.of(
            "connection.start-ok",
            Map.of(),
            "PLAIN",
            "\0guest\0guest".getBytes(StandardCharsets.UTF_8),
            "en_US"));
    method();
    send(0, AmqpMethod.of("connection.tune-ok", 0, 0L, 0));
    send(0, AmqpMethod.of("connection.open", "/other", "", false));
    expectConnectionClose(530);
  }

  @Test
  void heartbeatsAreSentAndAClientThatSendsNoneIsDisconnected() throws IOException {
    open("PLAIN", "\0guest\0guest".getBytes(StandardCharsets.UTF_8), 1);
    long startNanos = System.nanoTime();
    Read r = read();
    assertThat(r.type()).isEqualTo(AmqpFrame.HEARTBEAT);
    assertThat(r.channel()).isZero();
    assertThat(r.payload()).isEmpty();
    // Silent client: closed after two missed intervals (2 s), not before.
    assertThat(closedByServer()).isTrue();
    assertThat(System.nanoTime() - startNanos).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(1500));
  }

  @Test
  void aClientSendingHeartbeatsStaysConnected() throws Exception {
    open("PLAIN", "\0guest\0guest".getBytes(StandardCharsets.UTF_8), 1);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
    while (System.nanoTime() < end) {
      Read r = read(); // the server's heartbeat, every half second
      assertThat(r.type()).isEqualTo(AmqpFrame.HEARTBEAT);
      sendFrame(AmqpFrame.HEARTBEAT, 0, new byte[0]);
    }
    send(1, AmqpMethod.of("channel.open", ""));
    assertThat(method().name()).isEqualTo("channel.open-ok");
  }
}

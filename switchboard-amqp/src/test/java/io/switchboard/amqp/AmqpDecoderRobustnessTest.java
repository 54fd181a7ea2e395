package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Mutated frames (seeded, so a failure repeats): the decoder and the method and header readers
 * either decode or answer with an {@link AmqpException} carrying a reply code, never anything else,
 * and release every buffer they keep (the suite runs with paranoid leak detection).
 */
class AmqpDecoderRobustnessTest {

  static List<byte[]> seeds() {
    List<byte[]> seeds = new ArrayList<>();
    for (AmqpMethods.Def def : AmqpMethods.ALL) {
      ByteBuf b = Unpooled.buffer();
      AmqpMethods.write(new AmqpMethod(def, AmqpCodecTest.sampleArgs(def)), b);
      seeds.add(ByteBufUtil.getBytes(b));
    }
    Object[] props = new Object[14];
    props[ContentHeader.HEADERS] = AmqpCodecTest.sampleTable();
    props[ContentHeader.CONTENT_TYPE] = "text/plain";
    ByteBuf h = Unpooled.buffer();
    ContentHeader.basic(10, props).write(h);
    seeds.add(ByteBufUtil.getBytes(h));
    return seeds;
  }

  static byte[] mutate(byte[] seed, Random r) {
    byte[] b = seed.clone();
    int edits = 1 + r.nextInt(4);
    for (int i = 0; i < edits && b.length > 0; i++) {
      switch (r.nextInt(3)) {
        case 0 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
        default -> {
          byte[] longer = java.util.Arrays.copyOf(b, b.length + 1 + r.nextInt(8));
          for (int j = b.length; j < longer.length; j++) {
            longer[j] = (byte) r.nextInt(256);
          }
          b = longer;
        }
      }
    }
    return b;
  }

  @Test
  void mutatedPayloadsDecodeOrGetAReplyCode() {
    Random r = new Random(15);
    List<byte[]> seeds = seeds();
    int errors = 0;
    for (int i = 0; i < 50_000; i++) {
      byte[] seed = seeds.get(r.nextInt(seeds.size()));
      byte[] input = mutate(seed, r);
      boolean header = seed == seeds.get(seeds.size() - 1);
      try {
        if (header) {
          ContentHeader.read(Unpooled.wrappedBuffer(input));
        } else {
          AmqpMethods.read(Unpooled.wrappedBuffer(input));
        }
      } catch (AmqpException e) {
        assertThat(e.code()).isIn(501, 502, 540);
        errors++;
      }
    }
    assertThat(errors).isGreaterThan(1000); // the mutations do break things
  }

  @Test
  void mutatedFrameStreamsDecodeOrGetAFrameError() {
    Random r = new Random(42);
    List<byte[]> seeds = seeds();
    for (int i = 0; i < 2_000; i++) {
      ByteBuf stream = Unpooled.buffer();
      stream.writeBytes(ProtocolHeader.AMQP_0_9_1);
      for (int f = 0; f < 4; f++) {
        byte[] payload = seeds.get(r.nextInt(seeds.size()));
        AmqpFrameEncoder.encodeTo(
            new AmqpFrame(1 + r.nextInt(3), r.nextInt(3), Unpooled.wrappedBuffer(payload)), stream);
      }
      byte[] mutated = mutate(ByteBufUtil.getBytes(stream), r);
      stream.release();
      EmbeddedChannel ch = new EmbeddedChannel(new AmqpFrameDecoder(4096));
      int at = 0;
      while (at < mutated.length) {
        int n = 1 + r.nextInt(64);
        ch.writeInbound(Unpooled.wrappedBuffer(mutated, at, Math.min(n, mutated.length - at)));
        at += n;
      }
      Object o;
      while ((o = ch.readInbound()) != null) {
        if (o instanceof AmqpFrame frame) {
          frame.release();
        } else if (o instanceof AmqpException e) {
          assertThat(e.code()).isEqualTo(501);
        } else {
          assertThat(o).isInstanceOf(ProtocolHeader.class);
        }
      }
      ch.finishAndReleaseAll();
    }
  }
}

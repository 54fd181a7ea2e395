package io.switchboard.services;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import io.switchboard.protocol.frame.LiveMessage;
import io.switchboard.services.Quotes.Quote;
import io.switchboard.services.codec.JsonCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The caller's end of a reply stream: order, completion, and every way items can go missing. */
class StreamReceiverTest {
  final JsonCodec codec = new JsonCodec();
  final List<Object> seen = new ArrayList<>();
  final StreamReceiver rx =
      new StreamReceiver(codec, "svc.quotes.history", Quote.class, seen::add, null);

  LiveMessage item(long seq) throws Exception {
    byte[] payload = codec.encode(new Quote("A", seq, List.of()), new java.util.HashMap<>());
    return message(
        Map.of(
            ServiceHeaders.CONTENT_TYPE,
            JsonCodec.CONTENT_TYPE,
            ServiceHeaders.STREAM_SEQ,
            Long.toString(seq)),
        payload);
  }

  static LiveMessage end(long count) {
    return message(Map.of(ServiceHeaders.STREAM_END, Long.toString(count)), new byte[0]);
  }

  static LiveMessage message(Map<String, String> headers, byte[] payload) {
    List<Header> h = new ArrayList<>();
    headers.forEach((k, v) -> h.add(new Header(k, v.getBytes(StandardCharsets.UTF_8))));
    return new LiveMessage(1, 0, "_SVC.x.1", null, h, null, payload);
  }

  static void assertBroken(CompletableFuture<Long> done, String detail) {
    assertThat(done).isCompletedExceptionally();
    done.handle(
            (n, t) -> {
              assertThat(t).isInstanceOf(SwitchboardClientException.class);
              SwitchboardClientException e = (SwitchboardClientException) t;
              assertThat(e.errorCode()).isEqualTo(ErrorCode.REPLY_STREAM_BROKEN);
              assertThat(e.detail()).contains(detail);
              return null;
            })
        .join();
  }

  @Test
  void shouldHandItemsOnInOrderAndCompleteWithTheCount() throws Exception {
    rx.onMessage(item(0));
    rx.onMessage(item(1));
    rx.onMessage(end(2));

    assertThat(rx.done()).isCompletedWithValue(2L);
    assertThat(seen).extracting(q -> ((Quote) q).priceMicros()).containsExactly(0L, 1L);
  }

  @Test
  void shouldFailWhenAnItemIsSkipped() throws Exception {
    rx.onMessage(item(0));
    rx.onMessage(item(2));

    assertBroken(rx.done(), "skipped from item 1 to item 2");
    assertThat(seen).hasSize(1);
  }

  @Test
  void shouldFailWhenTheEndCountsMoreItemsThanArrived() throws Exception {
    rx.onMessage(item(0));
    rx.onMessage(end(3));

    assertBroken(rx.done(), "ended after 3 items, 2 of them lost");
  }

  @Test
  void shouldFailWhenTheServerDroppedItems() throws Exception {
    rx.onMessage(item(0));
    rx.onDropped(7);

    assertBroken(rx.done(), "lost 7 items");
  }

  @Test
  void shouldFailWithTheRespondersErrorAndIgnoreWhatFollows() throws Exception {
    rx.onMessage(
        message(
            Map.of(
                ServiceHeaders.ERROR_CODE,
                Integer.toString(ErrorCode.SERVICE_FAILED.number()),
                ServiceHeaders.ERROR,
                "disk gone"),
            new byte[0]));
    rx.onMessage(item(0));

    assertThat(rx.done()).isCompletedExceptionally();
    assertThat(seen).isEmpty();
  }

  @Test
  void shouldFailOnAnItemWithoutAPosition() {
    rx.onMessage(message(Map.of(ServiceHeaders.CONTENT_TYPE, JsonCodec.CONTENT_TYPE), new byte[0]));

    assertBroken(rx.done(), "sb-stream-seq \"null\"");
  }
}

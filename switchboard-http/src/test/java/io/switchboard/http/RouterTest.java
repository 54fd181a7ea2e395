package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import org.junit.jupiter.api.Test;

class RouterTest {
  final Router<String> router =
      new Router<String>()
          .add(HttpMethod.GET, "/v1/streams", "list")
          .add(HttpMethod.GET, "/v1/streams/{stream}", "info")
          .add(HttpMethod.DELETE, "/v1/streams/{stream}", "delete")
          .add(HttpMethod.GET, "/v1/streams/{stream}/subjects/{subject}/last", "last");

  @Test
  void shouldMatchLiteralAndParameterSegments() {
    assertThat(router.find(HttpMethod.GET, "/v1/streams").target()).isEqualTo("list");
    assertThat(router.find(HttpMethod.GET, "/v1/streams/").target()).isEqualTo("list");
    Router.Match<String> m = router.find(HttpMethod.GET, "/v1/streams/ORDERS/subjects/a.b/last");
    assertThat(m.target()).isEqualTo("last");
    assertThat(m.params()).containsEntry("stream", "ORDERS").containsEntry("subject", "a.b");
    assertThat(router.find(HttpMethod.GET, "/v1/streams/ORDERS/extra")).isNull();
  }

  @Test
  void shouldDecodeEachSegmentAfterSplitting() {
    Router.Match<String> m = router.find(HttpMethod.GET, "/v1/streams/a%2Fb+c%20d");
    assertThat(m.params()).containsEntry("stream", "a/b+c d");
    assertThat(m.notUtf8()).isEmpty();
    for (String bad : new String[] {"/v1/streams/%zz", "/v1/streams/a%2", "/v1/streams/%٣٣"}) {
      assertThatThrownBy(() -> router.find(HttpMethod.GET, bad))
          .as(bad)
          .isInstanceOfSatisfying(
              SwitchboardException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.HTTP_MALFORMED_REQUEST));
    }
  }

  @Test
  void shouldMarkAParameterThatIsNotUtf8AndKeepItAsSent() {
    Router.Match<String> m = router.find(HttpMethod.GET, "/v1/streams/S/subjects/a.%FF/last");
    assertThat(m.target()).isEqualTo("last");
    assertThat(m.notUtf8()).containsExactly("subject");
    assertThat(m.params()).containsEntry("subject", "a.%FF").containsEntry("stream", "S");
    // A literal segment that is not UTF-8 matches nothing.
    assertThat(router.find(HttpMethod.GET, "/v1/%FF")).isNull();
  }

  @Test
  void shouldListTheMethodsAPathAllows() {
    assertThat(router.allowed("/v1/streams/X")).containsExactly("GET", "DELETE");
    assertThat(router.allowed("/nothing")).isEmpty();
  }
}

package io.switchboard.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.services.ServiceDescriptor.Kind;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** What a service interface may look like, and the error for each thing it may not. */
class ServiceDescriptorTest {
  @Test
  void shouldReadNameKindsTypesAndIdempotence() {
    ServiceDescriptor d = ServiceDescriptor.of(Quotes.class);

    assertThat(d.name()).isEqualTo("quotes");
    assertThat(d.methods().keySet()).containsExactlyInAnyOrder("get", "place", "history", "touch");
    assertThat(d.method("get").kind()).isEqualTo(Kind.UNARY);
    assertThat(d.method("get").idempotent()).isTrue();
    assertThat(d.method("place").idempotent()).isFalse();
    assertThat(d.method("history").kind()).isEqualTo(Kind.STREAM);
    assertThat(d.method("history").resultType()).isEqualTo(Quotes.Quote.class);
    assertThat(d.method("touch").kind()).isEqualTo(Kind.ONE_WAY);
  }

  interface Unnamed {
    CompletableFuture<List<String>> names();
  }

  @Test
  void shouldNameAnUnannotatedServiceAfterItsInterfaceAndAllowNoArgument() {
    ServiceDescriptor d = ServiceDescriptor.of(Unnamed.class);

    assertThat(d.name()).isEqualTo("Unnamed");
    assertThat(d.method("names").argType()).isNull();
    assertThat(d.method("names").resultType().getTypeName())
        .isEqualTo("java.util.List<java.lang.String>");
  }

  interface TwoArgs {
    CompletableFuture<String> add(String a, String b);
  }

  interface Overloaded {
    CompletableFuture<String> get(String a);

    CompletableFuture<String> get(Integer a);
  }

  @SuppressWarnings("rawtypes")
  interface Raw {
    CompletableFuture get(String a);
  }

  @Service("two words")
  interface BadName {
    void x(String a);
  }

  interface Empty {}

  @Test
  void shouldRejectEachBrokenRuleWithItsReason() {
    assertInvalid(TwoArgs.class, "add takes 2 arguments");
    assertInvalid(Overloaded.class, "method get is overloaded");
    assertInvalid(Raw.class, "get returns a raw CompletableFuture");
    assertInvalid(BadName.class, "name \"two words\" is not one subject token");
    assertInvalid(Empty.class, "it has no methods");
    assertInvalid(String.class, "not an interface");
  }

  static void assertInvalid(Class<?> type, String reason) {
    assertThatThrownBy(() -> ServiceDescriptor.of(type))
        .isInstanceOfSatisfying(
            SwitchboardClientException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(ErrorCode.INVALID_SERVICE_DEFINITION);
              assertThat(e.detail()).contains(type.getName()).contains(reason);
            });
  }
}

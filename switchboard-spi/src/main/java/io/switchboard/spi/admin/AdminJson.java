package io.switchboard.spi.admin;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.broker.stream.StreamConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The JSON shapes of stream and consumer administration ({@code docs/protocol.md} §11), shared by
 * every front end that offers administration (the native ADMIN frame, HTTP). A definition in a
 * request names only what differs from the defaults: it is laid over the default definition, and
 * unknown fields are refused by name. Thread-safe.
 */
public final class AdminJson {
  /**
   * [P-11] enum values are the lower case of the broker's enums; unknown fields are refused.
   * Shared: never reconfigure it.
   */
  public static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(com.fasterxml.jackson.databind.MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
          .enable(com.fasterxml.jackson.databind.cfg.EnumFeature.WRITE_ENUMS_TO_LOWERCASE)
          .build();

  private AdminJson() {}

  /**
   * A request body that must be one JSON object.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_ARGUMENT} naming the problem
   */
  public static JsonNode parse(byte[] body) {
    try {
      JsonNode node = JSON.readTree(body);
      if (node == null || !node.isObject()) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "admin body must be a JSON object");
      }
      return node;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "admin body is not valid JSON: " + JsonErrors.describe(e));
    } catch (IOException e) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "admin body cannot be read");
    }
  }

  /** A required text field of a request body; {@link ErrorCode#INVALID_ARGUMENT} without it. */
  public static String text(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || !v.isTextual()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "admin body needs a text field \"" + field + "\"");
    }
    return v.asText();
  }

  /**
   * A stream definition laid over the defaults.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_CONFIG} for unknown fields or values
   */
  public static StreamConfig streamConfig(JsonNode body) {
    ObjectNode defaults = JSON.valueToTree(StreamConfig.builder("defaults", "defaults").build());
    // Left out of written definitions while null (NON_NULL), but a field a body may set.
    defaults.putNull("schema");
    return overlay(defaults, body, StreamConfig.class, "stream");
  }

  /** [P-11] CONSUMER_CREATE: {@code {"stream": ..., "config": {...}}}. */
  public static ConsumerConfig consumerConfig(JsonNode body) {
    JsonNode config = body.get("config");
    if (config == null || !config.isObject()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "admin body needs an object field \"config\"");
    }
    return consumerDefinition(config);
  }

  /**
   * A consumer definition (the bare config object) laid over the defaults.
   *
   * @throws SwitchboardException {@link ErrorCode#INVALID_CONFIG} for unknown fields or values
   */
  public static ConsumerConfig consumerDefinition(JsonNode config) {
    ObjectNode defaults = JSON.valueToTree(ConsumerConfig.builder("defaults").build());
    return overlay(defaults, config, ConsumerConfig.class, "consumer");
  }

  private static <T> T overlay(ObjectNode defaults, JsonNode given, Class<T> type, String what) {
    List<String> unknown = new ArrayList<>();
    Iterator<String> names = given.fieldNames();
    while (names.hasNext()) {
      String n = names.next();
      if (!defaults.has(n)) {
        unknown.add(n);
      }
    }
    if (!unknown.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG, what + ": unknown field(s) " + String.join(", ", unknown));
    }
    ObjectNode merged = defaults.deepCopy();
    given
        .properties()
        .forEach(
            e -> {
              if (!e.getKey().equals("stream")) {
                merged.set(e.getKey(), e.getValue());
              }
            });
    try {
      return JSON.treeToValue(merged, type);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      Throwable cause = e.getCause();
      if (cause instanceof SwitchboardException se) {
        throw se;
      }
      throw SwitchboardException.of(ErrorCode.INVALID_CONFIG, what + ": " + JsonErrors.describe(e));
    }
  }

  /** {@code value} as UTF-8 JSON (lower-case enums). */
  public static byte[] write(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (IOException e) {
      throw SwitchboardException.of(ErrorCode.INTERNAL, "cannot write admin reply: " + e);
    }
  }
}

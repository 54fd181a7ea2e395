package io.switchboard.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpMethod;
import io.switchboard.broker.schema.CompatibilityLevel;
import io.switchboard.broker.schema.SchemaRegistry;
import io.switchboard.broker.schema.SchemaType;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The subset of Confluent Schema Registry's REST API that Kafka serializers and deserializers use,
 * served from the broker's {@link SchemaRegistry} (docs/schema-registry.md). Bodies and errors are
 * Confluent's: media type {@value #MEDIA_TYPE}, errors {@code {"error_code": 40401, "message":
 * "..."}}. Every call runs on the front end's executor (a change waits for an fsync). Thread-safe.
 *
 * <p>Codes the routes answer with, and their Confluent error codes: {@code
 * SCHEMA_SUBJECT_NOT_FOUND} 404/40401, {@code SCHEMA_VERSION_NOT_FOUND} 404/40402, {@code
 * SCHEMA_NOT_FOUND} 404/40403, {@code SCHEMA_SUBJECT_NOT_SOFT_DELETED} 404/40405, {@code
 * SCHEMA_VERSION_NOT_SOFT_DELETED} 404/40407, {@code SCHEMA_COMPATIBILITY_NOT_CONFIGURED}
 * 404/40408, {@code SCHEMA_INCOMPATIBLE} 409/409, {@code SCHEMA_INVALID} 422/42201, {@code
 * SCHEMA_VERSION_INVALID} 422/42202, {@code SCHEMA_COMPATIBILITY_INVALID} 422/42203, {@code
 * INVALID_ARGUMENT} 422/422, {@code SCHEMA_REGISTRY_FULL} 507/507, {@code SCHEMA_STORE_ERROR} and
 * anything else 500/50001.
 */
final class SchemaRegistryRoutes {
  /** Confluent's media type; clients also accept {@code application/json}. */
  static final String MEDIA_TYPE = "application/vnd.schemaregistry.v1+json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final SchemaRegistry registry;
  private final Executor blocking;

  SchemaRegistryRoutes(SchemaRegistry registry, Executor blocking) {
    this.registry = registry;
    this.blocking = blocking;
  }

  void register(Router<Handler> r) {
    r.add(HttpMethod.GET, "/subjects", x -> call(() -> list(registry.subjects(deleted(x)))))
        .add(HttpMethod.POST, "/subjects/{s}/versions", this::registerSchema)
        .add(HttpMethod.POST, "/subjects/{s}", this::lookup)
        .add(HttpMethod.DELETE, "/subjects/{s}", this::deleteSubject)
        .add(
            HttpMethod.GET,
            "/subjects/{s}/versions",
            x -> call(() -> list(registry.versions(x.param("s"), deleted(x)))))
        .add(
            HttpMethod.GET,
            "/subjects/{s}/versions/{v}",
            x -> call(() -> version(registry.version(x.param("s"), x.param("v"), deleted(x)))))
        .add(HttpMethod.GET, "/subjects/{s}/versions/{v}/schema", this::rawSchema)
        .add(HttpMethod.DELETE, "/subjects/{s}/versions/{v}", this::deleteVersion)
        .add(HttpMethod.GET, "/schemas/ids/{id}", this::schemaById)
        .add(HttpMethod.GET, "/schemas/ids/{id}/versions", this::idVersions)
        .add(
            HttpMethod.GET,
            "/schemas/types",
            x -> call(() -> json(JSON.createArrayNode().add("AVRO").add("PROTOBUF"))))
        .add(HttpMethod.POST, "/compatibility/subjects/{s}/versions/{v}", this::compatibility)
        .add(HttpMethod.POST, "/compatibility/subjects/{s}/versions", this::compatibility)
        .add(
            HttpMethod.GET,
            "/config",
            x -> call(() -> level("compatibilityLevel", registry.globalLevel())))
        .add(HttpMethod.PUT, "/config", x -> setLevel(x, null))
        .add(HttpMethod.GET, "/config/{s}", this::subjectLevel)
        .add(HttpMethod.PUT, "/config/{s}", x -> setLevel(x, x.param("s")))
        .add(
            HttpMethod.DELETE,
            "/config/{s}",
            x -> call(() -> level("compatibilityLevel", registry.deleteLevel(x.param("s")))));
  }

  // ------------------------------------------------------------------ routes

  private CompletableFuture<HttpReply> registerSchema(Exchange x) {
    return call(
        () -> {
          JsonNode body = body(x);
          SchemaRegistry.Registered g =
              registry.register(x.param("s"), type(body), schemaText(body));
          return json(JSON.createObjectNode().put("id", g.id()));
        });
  }

  private CompletableFuture<HttpReply> lookup(Exchange x) {
    return call(
        () -> {
          JsonNode body = body(x);
          return version(registry.lookup(x.param("s"), type(body), schemaText(body), deleted(x)));
        });
  }

  private CompletableFuture<HttpReply> deleteSubject(Exchange x) {
    return call(() -> list(registry.deleteSubject(x.param("s"), permanent(x))));
  }

  private CompletableFuture<HttpReply> deleteVersion(Exchange x) {
    return call(
        () ->
            json(
                JSON.getNodeFactory()
                    .numberNode(registry.deleteVersion(x.param("s"), x.param("v"), permanent(x)))));
  }

  private CompletableFuture<HttpReply> rawSchema(Exchange x) {
    return call(
        () -> {
          SchemaRegistry.Registered g = registry.version(x.param("s"), x.param("v"), deleted(x));
          return new HttpReply(
              200,
              MEDIA_TYPE,
              g.schema().getBytes(java.nio.charset.StandardCharsets.UTF_8),
              Map.of());
        });
  }

  private CompletableFuture<HttpReply> schemaById(Exchange x) {
    return call(
        () -> {
          int id = id(x);
          SchemaRegistry.StoredSchema s = registry.schema(id);
          if (s == null) {
            throw SwitchboardException.of(ErrorCode.SCHEMA_NOT_FOUND, id);
          }
          ObjectNode n = JSON.createObjectNode();
          if (s.type() != SchemaType.AVRO) {
            n.put("schemaType", s.type().name());
          }
          n.put("schema", s.schema());
          return json(n);
        });
  }

  private CompletableFuture<HttpReply> idVersions(Exchange x) {
    return call(
        () -> {
          ArrayNode a = JSON.createArrayNode();
          for (SchemaRegistry.SubjectVersion sv : registry.subjectVersions(id(x))) {
            a.addObject().put("subject", sv.subject()).put("version", sv.version());
          }
          return json(a);
        });
  }

  private CompletableFuture<HttpReply> compatibility(Exchange x) {
    return call(
        () -> {
          JsonNode body = body(x);
          String v = x.params().containsKey("v") ? x.param("v") : "latest";
          List<String> why =
              registry.checkCompatibility(x.param("s"), v, type(body), schemaText(body));
          ObjectNode n = JSON.createObjectNode().put("is_compatible", why.isEmpty());
          if ("true".equals(x.query("verbose", "false"))) {
            ArrayNode messages = n.putArray("messages");
            why.forEach(messages::add);
          }
          return json(n);
        });
  }

  private CompletableFuture<HttpReply> subjectLevel(Exchange x) {
    return call(
        () ->
            level(
                "compatibilityLevel",
                registry.subjectLevel(
                    x.param("s"), "true".equals(x.query("defaultToGlobal", "false")))));
  }

  private CompletableFuture<HttpReply> setLevel(Exchange x, String subject) {
    return call(
        () -> {
          JsonNode c = body(x).path("compatibility");
          CompatibilityLevel level = CompatibilityLevel.parse(c.isTextual() ? c.asText() : null);
          registry.setLevel(subject, level);
          return level("compatibility", level);
        });
  }

  // ------------------------------------------------------------------ helpers

  /** Runs {@code work} on the executor; any failure becomes Confluent's error body. */
  private CompletableFuture<HttpReply> call(Supplier<HttpReply> work) {
    return CompletableFuture.supplyAsync(work, blocking)
        .exceptionally(t -> error(HttpErrors.unwrap(t)));
  }

  /** Confluent's error body for {@code e}. */
  static HttpReply error(SwitchboardException e) {
    int[] statusAndCode = confluentCode(e.code());
    ObjectNode n =
        JSON.createObjectNode().put("error_code", statusAndCode[1]).put("message", e.getMessage());
    return new HttpReply(statusAndCode[0], MEDIA_TYPE, write(n), Map.of());
  }

  /** HTTP status and Confluent {@code error_code} of one of our codes. */
  static int[] confluentCode(ErrorCode code) {
    return switch (code) {
      case SCHEMA_SUBJECT_NOT_FOUND -> new int[] {404, 40401};
      case SCHEMA_VERSION_NOT_FOUND -> new int[] {404, 40402};
      case SCHEMA_NOT_FOUND -> new int[] {404, 40403};
      case SCHEMA_SUBJECT_NOT_SOFT_DELETED -> new int[] {404, 40405};
      case SCHEMA_VERSION_NOT_SOFT_DELETED -> new int[] {404, 40407};
      case SCHEMA_COMPATIBILITY_NOT_CONFIGURED -> new int[] {404, 40408};
      case SCHEMA_INCOMPATIBLE -> new int[] {409, 409};
      case SCHEMA_INVALID -> new int[] {422, 42201};
      case SCHEMA_VERSION_INVALID -> new int[] {422, 42202};
      case SCHEMA_COMPATIBILITY_INVALID -> new int[] {422, 42203};
      case INVALID_ARGUMENT -> new int[] {422, 422};
      case SCHEMA_REGISTRY_FULL -> new int[] {507, 507};
      default -> new int[] {500, 50001};
    };
  }

  private static boolean deleted(Exchange x) {
    return "true".equals(x.query("deleted", "false"));
  }

  private static boolean permanent(Exchange x) {
    return "true".equals(x.query("permanent", "false"));
  }

  private static int id(Exchange x) {
    String text = x.param("id");
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_NOT_FOUND, text);
    }
  }

  private static JsonNode body(Exchange x) {
    try {
      JsonNode n = JSON.readTree(x.body());
      if (n == null || !n.isObject()) {
        throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "the body must be a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "the body is not valid JSON");
    }
  }

  private static SchemaType type(JsonNode body) {
    JsonNode t = body.path("schemaType");
    return SchemaType.parse(t.isTextual() ? t.asText() : null);
  }

  private static String schemaText(JsonNode body) {
    JsonNode refs = body.path("references");
    if (refs.isArray() && !refs.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_INVALID,
          type(body),
          "schema references are not supported by this registry; inline the referenced types");
    }
    JsonNode s = body.path("schema");
    if (!s.isTextual()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_INVALID, type(body), "the body needs \"schema\": the schema as text");
    }
    return s.asText();
  }

  private static HttpReply version(SchemaRegistry.Registered g) {
    ObjectNode n =
        JSON.createObjectNode()
            .put("subject", g.subject())
            .put("version", g.version())
            .put("id", g.id());
    if (g.type() != SchemaType.AVRO) {
      n.put("schemaType", g.type().name());
    }
    n.put("schema", g.schema());
    return json(n);
  }

  private static HttpReply level(String field, CompatibilityLevel level) {
    return json(JSON.createObjectNode().put(field, level.name()));
  }

  private static HttpReply list(List<?> values) {
    ArrayNode a = JSON.createArrayNode();
    for (Object v : values) {
      if (v instanceof Integer i) {
        a.add(i);
      } else {
        a.add(String.valueOf(v));
      }
    }
    return json(a);
  }

  private static HttpReply json(JsonNode n) {
    return new HttpReply(200, MEDIA_TYPE, write(n), Map.of());
  }

  private static byte[] write(JsonNode n) {
    try {
      return JSON.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException(e); // a tree of plain nodes always writes
    }
  }
}

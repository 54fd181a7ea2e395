package io.switchboard.broker.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.NioStorageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchemaRegistryTest {
  static final String V1 =
      "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";

  /** V1 plus a field with a default: backward and forward compatible with V1. */
  static final String V2 =
      "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},"
          + "{\"name\":\"age\",\"type\":\"int\",\"default\":0}]}";

  /** V1 plus a field without a default: cannot read V1 data (not backward compatible). */
  static final String NO_DEFAULT =
      "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},"
          + "{\"name\":\"email\",\"type\":\"string\"}]}";

  @TempDir Path dir;
  SchemaRegistry r;

  @BeforeEach
  void open() {
    r = open(SchemaRegistryConfig.DEFAULTS);
  }

  SchemaRegistry open(SchemaRegistryConfig limits) {
    return SchemaRegistry.open(NioStorageIO.INSTANCE, dir, limits);
  }

  @AfterEach
  void close() {
    r.close();
  }

  static ErrorCode code(Throwable t) {
    return ((SwitchboardException) t).code();
  }

  @Test
  void shouldGiveOneIdPerDistinctSchemaAcrossSubjects() {
    var a = r.register("users-value", SchemaType.AVRO, V1);
    var again = r.register("users-value", SchemaType.AVRO, V1.replace(":", " : "));
    var other = r.register("people-value", SchemaType.AVRO, V1);
    assertThat(a.version()).isEqualTo(1);
    assertThat(again.id()).isEqualTo(a.id());
    assertThat(again.version()).isEqualTo(1);
    assertThat(other.id()).isEqualTo(a.id());
    assertThat(r.subjectVersions(a.id()))
        .containsExactlyInAnyOrder(
            new SchemaRegistry.SubjectVersion("users-value", 1),
            new SchemaRegistry.SubjectVersion("people-value", 1));
    var b = r.register("users-value", SchemaType.AVRO, V2);
    assertThat(b.id()).isNotEqualTo(a.id());
    assertThat(b.version()).isEqualTo(2);
    assertThat(r.versions("users-value", false)).containsExactly(1, 2);
    assertThat(r.version("users-value", "latest", false).id()).isEqualTo(b.id());
    assertThat(r.lookup("users-value", SchemaType.AVRO, V1, false).version()).isEqualTo(1);
  }

  @Test
  void shouldRefuseAnIncompatibleSchemaUnderBackwardButNotUnderNone() {
    r.register("s", SchemaType.AVRO, V1);
    assertThatThrownBy(() -> r.register("s", SchemaType.AVRO, NO_DEFAULT))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INCOMPATIBLE))
        .hasMessageContaining("email");
    assertThat(r.checkCompatibility("s", "latest", SchemaType.AVRO, NO_DEFAULT)).isNotEmpty();
    assertThat(r.checkCompatibility("s", "1", SchemaType.AVRO, V2)).isEmpty();
    r.setLevel("s", CompatibilityLevel.NONE);
    assertThat(r.register("s", SchemaType.AVRO, NO_DEFAULT).version()).isEqualTo(2);
  }

  @Test
  void shouldCheckForwardAgainstTheOldReader() {
    r.setLevel(null, CompatibilityLevel.FORWARD);
    r.register("s", SchemaType.AVRO, NO_DEFAULT);
    // The old schema (name, email) cannot read data written by V1 (no email, no default).
    assertThatThrownBy(() -> r.register("s", SchemaType.AVRO, V1))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INCOMPATIBLE));
    // Adding a field is forward compatible: the old reader ignores it.
    r.register("t", SchemaType.AVRO, V1);
    assertThat(r.register("t", SchemaType.AVRO, NO_DEFAULT).version()).isEqualTo(2);
  }

  @Test
  void shouldCheckEveryLiveVersionWhenTransitive() {
    r.setLevel("s", CompatibilityLevel.NONE);
    r.register("s", SchemaType.AVRO, V1); // name
    r.register("s", SchemaType.AVRO, "{\"type\":\"record\",\"name\":\"User\",\"fields\":[]}");
    String needsName =
        "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"x\",\"type\":\"int\","
            + "\"default\":1},{\"name\":\"name\",\"type\":\"string\"}]}";
    r.setLevel("s", CompatibilityLevel.BACKWARD);
    // Reading version 2's data (no name) needs a default for name: incompatible with the latest.
    assertThat(r.checkCompatibility("s", "latest", SchemaType.AVRO, needsName)).isNotEmpty();
    String withDefault = needsName.replace("\"string\"}", "\"string\",\"default\":\"\"}");
    assertThat(r.checkCompatibility("s", "latest", SchemaType.AVRO, withDefault)).isEmpty();
    String intName =
        "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"int\","
            + "\"default\":0}]}";
    // Compatible with the latest (no name field there) but not with version 1 (name is a string).
    assertThat(r.checkCompatibility("s", "latest", SchemaType.AVRO, intName)).isEmpty();
    r.setLevel("s", CompatibilityLevel.BACKWARD_TRANSITIVE);
    assertThat(r.checkCompatibility("s", "latest", SchemaType.AVRO, intName)).isNotEmpty();
  }

  @Test
  void shouldGiveEachBadInputItsCode() {
    assertThatThrownBy(() -> r.register("s", SchemaType.AVRO, "{\"type\":\"nope\"}"))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INVALID));
    assertThatThrownBy(() -> r.register("s", SchemaType.AVRO, "not json"))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_INVALID));
    assertThatThrownBy(() -> r.versions("missing", false))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_SUBJECT_NOT_FOUND));
    r.register("s", SchemaType.AVRO, V1);
    assertThatThrownBy(() -> r.version("s", "7", false))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_VERSION_NOT_FOUND));
    assertThatThrownBy(() -> r.version("s", "x", false))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_VERSION_INVALID));
    assertThatThrownBy(() -> r.lookup("s", SchemaType.AVRO, V2, false))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_NOT_FOUND));
    assertThatThrownBy(() -> r.subjectLevel("s", false))
        .satisfies(
            e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_COMPATIBILITY_NOT_CONFIGURED));
    assertThatThrownBy(() -> CompatibilityLevel.parse("SIDEWAYS"))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_COMPATIBILITY_INVALID));
    assertThatThrownBy(() -> r.deleteSubject("s", true))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_SUBJECT_NOT_SOFT_DELETED));
    assertThatThrownBy(() -> r.deleteVersion("s", "1", true))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_VERSION_NOT_SOFT_DELETED));
  }

  @Test
  void shouldSoftDeleteThenPermanentlyDelete() {
    var a = r.register("s", SchemaType.AVRO, V1);
    r.register("s", SchemaType.AVRO, V2);
    assertThat(r.isVersionOf("s", a.id())).isTrue();
    assertThat(r.deleteVersion("s", "1", false)).isEqualTo(1);
    assertThat(r.isVersionOf("s", a.id())).isFalse();
    assertThat(r.versions("s", false)).containsExactly(2);
    assertThat(r.versions("s", true)).containsExactly(1, 2);
    assertThat(r.deleteSubject("s", false)).containsExactly(2);
    assertThat(r.subjects(false)).isEmpty();
    assertThat(r.subjects(true)).containsExactly("s");
    assertThat(r.schema(a.id())).isNotNull(); // soft deletion keeps ids
    assertThat(r.deleteSubject("s", true)).containsExactly(1, 2);
    assertThat(r.subjects(true)).isEmpty();
    assertThat(r.schema(a.id())).isNull();
    // Ids are never reused, even after the file is rewritten and reopened.
    r.close();
    r = open(SchemaRegistryConfig.DEFAULTS);
    assertThat(r.register("s", SchemaType.AVRO, V1).id()).isGreaterThan(a.id() + 1);
  }

  @Test
  void shouldKeepEverythingAcrossReopenAndRewrite() throws Exception {
    var a = r.register("s", SchemaType.AVRO, V1);
    r.register("s", SchemaType.AVRO, V2);
    r.setLevel(null, CompatibilityLevel.FULL);
    r.setLevel("s", CompatibilityLevel.NONE);
    r.deleteVersion("s", "2", false);
    r.close();
    r = open(SchemaRegistryConfig.DEFAULTS);
    assertThat(r.versions("s", true)).containsExactly(1, 2);
    assertThat(r.versions("s", false)).containsExactly(1);
    assertThat(r.globalLevel()).isEqualTo(CompatibilityLevel.FULL);
    assertThat(r.subjectLevel("s", false)).isEqualTo(CompatibilityLevel.NONE);
    assertThat(r.schema(a.id()).schema()).isEqualTo(r.version("s", "1", false).schema());
    r.rewriteNow();
    r.close();
    r = open(SchemaRegistryConfig.DEFAULTS);
    assertThat(r.versions("s", true)).containsExactly(1, 2);
    assertThat(r.subjectLevel("s", false)).isEqualTo(CompatibilityLevel.NONE);
    assertThat(r.register("t", SchemaType.AVRO, NO_DEFAULT).id()).isEqualTo(3);
  }

  @Test
  void shouldDropATornTailAndKeepWhatCameBefore() throws Exception {
    r.register("s", SchemaType.AVRO, V1);
    r.close();
    Path file = dir.resolve(RegistryLog.FILE);
    long intact = Files.size(file);
    // Half a record: a length that promises more than the file holds, as after a crash mid-append.
    Files.write(file, new byte[] {0, 0, 0, 100, 1, 2, 3}, StandardOpenOption.APPEND);
    r = open(SchemaRegistryConfig.DEFAULTS);
    assertThat(r.versions("s", false)).containsExactly(1);
    assertThat(Files.size(file)).isEqualTo(intact);
    assertThat(r.register("s", SchemaType.AVRO, V2).version()).isEqualTo(2);
  }

  @Test
  void shouldEnforceItsBounds() {
    r.close();
    r = open(new SchemaRegistryConfig(2, 2, 2, 200, 1));
    r.setLevel(null, CompatibilityLevel.NONE);
    r.register("a", SchemaType.AVRO, V1);
    r.register("a", SchemaType.AVRO, V2);
    assertThatThrownBy(() -> r.register("a", SchemaType.AVRO, "\"string\""))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_REGISTRY_FULL));
    assertThatThrownBy(() -> r.register("b", SchemaType.AVRO, "\"string\""))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_REGISTRY_FULL));
    assertThatThrownBy(() -> r.register("b", SchemaType.AVRO, "\"" + "x".repeat(300) + "\""))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_REGISTRY_FULL));
    r.register("b", SchemaType.AVRO, V1); // an existing schema needs no new id
    assertThatThrownBy(() -> r.register("c", SchemaType.AVRO, V1))
        .satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.SCHEMA_REGISTRY_FULL));
    // The parsed cache holds one entry, and still answers for both ids.
    assertThat(r.parsed(1)).isNotNull();
    assertThat(r.parsed(2)).isNotNull();
    assertThat(r.parsed(99)).isNull();
  }

  @Test
  void shouldValidateAvroPayloads() {
    var id = r.register("s", SchemaType.AVRO, V1).id();
    ParsedSchema p = r.parsed(id);
    byte[] ok = {6, 'b', 'o', 'b'}; // zig-zag length 3, then the string
    p.validate(ok, 0, ok.length, false);
    assertThatThrownBy(() -> p.validate(ok, 0, 2, false))
        .isInstanceOf(IllegalArgumentException.class);
    byte[] extra = {6, 'b', 'o', 'b', 9};
    assertThatThrownBy(() -> p.validate(extra, 0, extra.length, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("left over");
    assertThat(List.of(r.parsed(id))).containsExactly(p); // cached
  }
}

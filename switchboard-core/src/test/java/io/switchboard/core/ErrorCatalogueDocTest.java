package io.switchboard.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * docs/errors.md is generated from {@link ErrorCode}. Run the build with {@code
 * -Dswitchboard.regenerateDocs=true} to rewrite it after changing the catalogue.
 */
class ErrorCatalogueDocTest {
  private static final Path DOC = Path.of("..", "docs", "errors.md");

  static String render() {
    StringBuilder md = new StringBuilder();
    md.append("# Error codes\n\n")
        .append("Generated from `ErrorCode` in switchboard-core; do not edit by hand.\n")
        .append("Numbers are stable: they never change and are never reused.\n\n")
        .append("| number | name | category | message |\n")
        .append("| --- | --- | --- | --- |\n");
    for (ErrorCode code : ErrorCode.values()) {
      md.append("| ")
          .append(code.number())
          .append(" | `")
          .append(code.name())
          .append("` | ")
          .append(code.category())
          .append(" | ")
          .append(code.template().replace("|", "\\|"))
          .append(" |\n");
    }
    return md.toString();
  }

  @Test
  void docsErrorsMdMatchesTheCatalogue() throws IOException {
    String expected = render();
    if (Boolean.getBoolean("switchboard.regenerateDocs")) {
      Files.writeString(DOC, expected, StandardCharsets.UTF_8);
    }
    assertThat(Files.readString(DOC, StandardCharsets.UTF_8))
        .as("docs/errors.md is stale: rebuild with -Dswitchboard.regenerateDocs=true")
        .isEqualTo(expected);
  }

  @Test
  void numbersAreUniqueAndLookupRoundTrips() {
    Set<Integer> seen = new HashSet<>();
    for (ErrorCode code : ErrorCode.values()) {
      assertThat(seen.add(code.number())).as("duplicate number %s", code.number()).isTrue();
      assertThat(ErrorCode.byNumber(code.number())).isSameAs(code);
    }
    assertThat(ErrorCode.byNumber(-1)).isNull();
  }

  @Test
  void formatFillsPlaceholdersInOrder() {
    assertThat(ErrorCode.LOG_BATCH_TOO_LARGE.format(2000, 1000))
        .isEqualTo("record batch of 2000 bytes exceeds the limit of 1000 bytes");
    assertThat(ErrorCode.LOG_CLOSED.format()).isEqualTo("log {} is closed");
    SwitchboardException e = SwitchboardException.of(ErrorCode.LOG_CLOSED, "p0");
    assertThat(e.code()).isEqualTo(ErrorCode.LOG_CLOSED);
    assertThat(e.getMessage()).isEqualTo("[1002 LOG_CLOSED] log p0 is closed");
  }
}

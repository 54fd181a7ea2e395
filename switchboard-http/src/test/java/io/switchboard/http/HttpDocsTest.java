package io.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.core.ErrorCode;
import io.switchboard.spi.config.ConfigKey;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docs/http.md keeps up with the code: a row per configuration key exactly as declared (the
 * server's generated reference only sees front ends on its own class path), and every code of the
 * status table named under its status.
 */
class HttpDocsTest {
  static final Path DOC = Path.of("..", "docs", "http.md");

  @Test
  void shouldDocumentEveryKeyAsDeclared() throws Exception {
    String doc = Files.readString(DOC);
    for (ConfigKey<?> k : HttpConfig.ALL) {
      String row =
          "| `"
              + k.name()
              + "` | `"
              + k.envName()
              + "` | `"
              + k.defaultValue()
              + "` | "
              + k.doc()
              + " |";
      assertThat(doc).as("row of %s", k.name()).contains(row);
    }
  }

  @Test
  void shouldListEveryCodeUnderItsStatus() throws Exception {
    String doc = Files.readString(DOC);
    for (ErrorCode code : ErrorCode.values()) {
      String line =
          doc.lines()
              .filter(l -> l.startsWith("| " + HttpErrors.status(code) + " |"))
              .findFirst()
              .orElse("");
      assertThat(line).as("status row of %s", code).contains("`" + code.name() + "`");
    }
  }
}

package io.switchboard.services;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every example in docs/services.md is a region of {@link ServicesExamplesTest}, which compiles and
 * runs it: a guide edited without the test (or the other way round) fails here.
 */
class ServicesGuideTest {
  private static final Path GUIDE = Path.of("..", "docs", "services.md");
  private static final Path EXAMPLES =
      Path.of("src", "test", "java", "io", "switchboard", "services", "ServicesExamplesTest.java");
  private static final Pattern SNIPPET =
      Pattern.compile("<!-- snippet: ([\\w-]+) -->\\n```java\\n(.*?)```", Pattern.DOTALL);

  @Test
  void everySnippetOfTheGuideIsCompiledAndRun() throws IOException {
    String guide = Files.readString(GUIDE);
    String source = Files.readString(EXAMPLES);
    Matcher m = SNIPPET.matcher(guide);
    List<String> names = new ArrayList<>();
    while (m.find()) {
      names.add(m.group(1));
      assertThat(m.group(2)).as("snippet " + m.group(1)).isEqualTo(region(source, m.group(1)));
    }
    List<String> tags = new ArrayList<>();
    Matcher t = Pattern.compile("// tag::([\\w-]+)\\[]").matcher(source);
    while (t.find()) {
      tags.add(t.group(1));
    }
    assertThat(names).as("every example is in the guide").containsExactlyInAnyOrderElementsOf(tags);
  }

  /** The lines between {@code // tag::name[]} and {@code // end::name[]}, de-indented. */
  static String region(String source, String name) {
    int start = source.indexOf("// tag::" + name + "[]");
    int end = source.indexOf("// end::" + name + "[]");
    assertThat(start).as("tag " + name).isPositive();
    String body =
        source.substring(source.indexOf('\n', start) + 1, source.lastIndexOf('\n', end) + 1);
    int indent = Integer.MAX_VALUE;
    for (String line : body.split("\n")) {
      if (!line.isBlank()) {
        indent = Math.min(indent, line.length() - line.stripLeading().length());
      }
    }
    StringBuilder out = new StringBuilder();
    for (String line : body.split("\n")) {
      out.append(line.isBlank() ? "" : line.substring(indent)).append('\n');
    }
    return out.toString().stripTrailing() + "\n";
  }
}

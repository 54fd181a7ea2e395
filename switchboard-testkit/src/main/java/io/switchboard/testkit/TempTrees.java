package io.switchboard.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary directories for tests that cannot use JUnit's (jqwik properties). Stateless. */
public final class TempTrees {
  private TempTrees() {}

  /** A new directory under {@code java.io.tmpdir}, which is created first if it is missing. */
  public static Path create(String prefix) throws IOException {
    Path tmp = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir")));
    return Files.createTempDirectory(tmp, prefix);
  }

  /** Deletes {@code dir} and everything in it. */
  public static void delete(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}

package io.switchboard.bench.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Starting and running the processes of a run. */
final class Procs {
  private Procs() {}

  /** The java launcher this suite runs on (a JDK 25). */
  static String java() {
    return ProcessHandle.current()
        .info()
        .command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  /** Starts {@code command} in the background, stdout and stderr into {@code log}. */
  static Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    pb.environment().putAll(env);
    return pb.start();
  }

  /**
   * Runs {@code command} to its end and returns its output (stderr into {@code log} too).
   *
   * @throws IllegalStateException when it fails or outlives {@code timeout} (then it is killed by
   *     PID)
   */
  static String run(List<String> command, Map<String, String> env, Path log, Duration timeout)
      throws IOException, InterruptedException {
    Path out = log.resolveSibling(log.getFileName() + ".out");
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectOutput(out.toFile());
    pb.redirectError(log.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      Running.stop(p.toHandle());
      throw new IllegalStateException(command.get(0) + " ran past " + timeout + "; see " + log);
    }
    String output = Files.readString(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          "exit " + p.exitValue() + " from " + String.join(" ", command) + "; see " + log);
    }
    return output;
  }

  /** The first line a short command prints, or "unknown". */
  static String firstLine(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      p.waitFor(10, TimeUnit.SECONDS);
      return s.isEmpty() ? "unknown" : s.lines().findFirst().orElse("unknown");
    } catch (IOException | InterruptedException e) {
      return "unknown";
    }
  }

  /** A Debian package's installed version. */
  static String debianVersion(String pkg) {
    return firstLine("dpkg-query", "-W", "-f=${Version}", pkg);
  }
}

package io.switchboard.testkit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a class's {@code main} in a new JVM with the test's own JDK and class path, for tests that
 * kill a real process (stop it by its PID, never by name). Stateless.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /** Starts {@code main} with {@code args}; its stderr goes to the test's, stdout is piped. */
  public static Process start(Class<?> main, String... args) throws IOException {
    return new ProcessBuilder(command(main, args))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  /** As {@link #start}, with stderr merged into the piped stdout (for tests that read logs). */
  public static Process startMerged(Class<?> main, String... args) throws IOException {
    return new ProcessBuilder(command(main, args)).redirectErrorStream(true).start();
  }

  private static List<String> command(Class<?> main, String... args) {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>();
    command.add(java);
    command.add("--enable-native-access=ALL-UNNAMED");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(List.of(args));
    return command;
  }
}

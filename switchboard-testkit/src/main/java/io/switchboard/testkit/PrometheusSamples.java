package io.switchboard.testkit;

/** Reads samples out of a Prometheus text-format scrape (0.0.4), for tests of {@code /metrics}. */
public final class PrometheusSamples {
  private PrometheusSamples() {}

  /**
   * The value of the sample {@code name} whose labels include every {@code k="v"} given, or NaN
   * when there is none.
   */
  public static double value(String scrape, String name, String... labels) {
    for (String line : scrape.lines().toList()) {
      if (line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String metric = brace >= 0 ? line.substring(0, brace) : line.substring(0, space);
      if (!metric.equals(name)) {
        continue;
      }
      String labelText = brace >= 0 ? line.substring(brace, line.lastIndexOf('}') + 1) : "";
      boolean all = true;
      for (String l : labels) {
        all &= labelText.contains(l);
      }
      if (all) {
        return Double.parseDouble(line.substring(space + 1));
      }
    }
    return Double.NaN;
  }
}

package io.switchboard.broker.schema;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.io.NioStorageIO;
import io.switchboard.testkit.ChildJvm;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry killed with SIGKILL (by PID) at random moments while it registers schemas, 4 times
 * over the same directory: every registration it acknowledged is there after each restart, with the
 * same id and version.
 */
class SchemaRegistryCrashTest {
  static final int KILLS = 4;

  @TempDir Path dir;

  @Test
  void noAcknowledgedRegistrationIsLost() throws Exception {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Random random = new Random(seed);
    Map<String, String> acked = new HashMap<>(); // "subject/version" -> id
    int next = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      int killAfter = 1 + random.nextInt(40);
      Process child = ChildJvm.start(Registrar.class, dir.toString(), Integer.toString(next));
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        int acks = 0;
        while ((line = out.readLine()) != null) {
          if (line.startsWith("ACK ")) {
            String[] f = line.split(" ");
            acked.put(f[1] + "/" + f[2], f[3]);
            next = Math.max(next, Integer.parseInt(f[4]) + 1);
            if (++acks == killAfter) {
              ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly();
            }
          }
        }
      } finally {
        child.destroyForcibly();
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      next += 2; // past whatever was in flight at the kill
      try (SchemaRegistry r =
          SchemaRegistry.open(NioStorageIO.INSTANCE, dir, SchemaRegistryConfig.DEFAULTS)) {
        for (Map.Entry<String, String> e : acked.entrySet()) {
          String[] sv = e.getKey().split("/");
          assertThat(r.version(sv[0], sv[1], false).id())
              .as("seed %d kill %d: %s", seed, kill, e.getKey())
              .isEqualTo(Integer.parseInt(e.getValue()));
        }
      }
    }
    assertThat(acked.size()).isGreaterThan(KILLS);
  }

  /** The child: registers field after field until killed, printing each acknowledgement. */
  public static final class Registrar {
    public static void main(String[] args) {
      try (SchemaRegistry r =
          SchemaRegistry.open(
              NioStorageIO.INSTANCE, Path.of(args[0]), SchemaRegistryConfig.DEFAULTS)) {
        r.setLevel(null, CompatibilityLevel.NONE);
        for (int i = Integer.parseInt(args[1]); ; i++) {
          String schema =
              "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f"
                  + i
                  + "\",\"type\":\"int\"}]}";
          SchemaRegistry.Registered g = r.register("subject-" + (i % 3), SchemaType.AVRO, schema);
          System.out.println("ACK " + g.subject() + " " + g.version() + " " + g.id() + " " + i);
          System.out.flush();
        }
      }
    }
  }
}

package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.client.ClientOptions;
import io.switchboard.client.PublishBuilder;
import io.switchboard.client.SwitchboardClient;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with kcat (Debian's, on librdkafka 2.x: ApiVersions v3, Metadata v4, ListOffsets v2), run
 * as a process against a whole server and stopped by PID.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KcatInteropTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String broker;
  SwitchboardClient client;
  final List<Process> processes = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    broker = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    client =
        SwitchboardClient.connect(
            ClientOptions.of("127.0.0.1", server.addresses().get("native").getPort()));
  }

  @AfterEach
  void stop() {
    processes.forEach(Process::destroyForcibly);
    client.close();
    server.close();
  }

  /** Runs kcat to its end (at most 30 s) and returns its standard output. */
  String kcat(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("kcat", "-b", broker));
    command.addAll(List.of(args));
    Path out = Files.createTempFile("kcat", ".out");
    Path err = Files.createTempFile("kcat", ".err");
    Process p =
        new ProcessBuilder(command)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    processes.add(p);
    boolean ended = p.waitFor(30, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    String stdout = Files.readString(out);
    String stderr = Files.readString(err);
    Files.delete(out);
    Files.delete(err);
    assertThat(ended).as("kcat %s ended; stdout: %s; stderr: %s", args, stdout, stderr).isTrue();
    assertThat(p.exitValue()).as("kcat exit status; stderr: " + stderr).isZero();
    return stdout;
  }

  @Test
  void kcatListsTopicsConsumesAndQueriesOffsets() throws Exception {
    client.admin(
        io.switchboard.protocol.frame.Admin.Op.STREAM_CREATE,
        "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"],\"partitions\":2}");
    client.admin(
        io.switchboard.protocol.frame.Admin.Op.STREAM_CREATE,
        "{\"name\":\"ONE\",\"subjects\":[\"one.>\"]}");
    for (int i = 0; i < 20; i++) {
      client.publishAsync(PublishBuilder.to("one.x", "m" + i));
    }
    client.publishAsync(PublishBuilder.to("one.x", "m20")).get(10, TimeUnit.SECONDS);

    String metadata = kcat("-L");
    assertThat(metadata)
        .contains("1 brokers:")
        .contains("topic \"ORDERS\" with 2 partitions")
        .contains("topic \"ONE\" with 1 partitions");

    String consumed =
        kcat("-C", "-t", "ONE", "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %s\\n");
    List<String> lines = consumed.lines().toList();
    assertThat(lines).hasSize(21);
    for (int i = 0; i < 21; i++) {
      assertThat(lines.get(i)).isEqualTo(i + " m" + i);
    }

    // Offset queries (ListOffsets): the end of the partition.
    String end = kcat("-Q", "-t", "ONE:0:-1");
    assertThat(end).contains("ONE [0] offset 21");
  }

  @Test
  void kcatProducesCompressedAndIdempotentAndConsumesInAGroup() throws Exception {
    Path in = Files.createTempFile("kcat", ".in");
    Files.writeString(in, "a\nb\nc\n");
    // A topic made by Metadata auto-creation; snappy, then zstd from an idempotent producer.
    kcat("-P", "-t", "KT", "-z", "snappy", "-l", in.toString());
    kcat("-P", "-t", "KT", "-z", "zstd", "-X", "enable.idempotence=true", "-l", in.toString());
    String all = kcat("-C", "-t", "KT", "-o", "beginning", "-e", "-q", "-f", "%o %s\\n");
    assertThat(all.lines().toList()).containsExactly("0 a", "1 b", "2 c", "3 a", "4 b", "5 c");

    // A balanced consumer commits where it stopped; the next run of the group starts there.
    String first =
        kcat(
            "-G", "kgroup", "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%o %s\\n", "KT");
    assertThat(first.lines().toList()).hasSize(6);
    kcat("-P", "-t", "KT", "-l", in.toString());
    String second =
        kcat(
            "-G", "kgroup", "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%o %s\\n", "KT");
    assertThat(second.lines().toList()).containsExactly("6 a", "7 b", "8 c");
    Files.delete(in);
  }
}

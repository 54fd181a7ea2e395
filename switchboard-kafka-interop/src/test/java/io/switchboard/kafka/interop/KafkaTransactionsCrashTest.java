package io.switchboard.kafka.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consume-transform-produce loop with kafka-clients' transactional producer and a read_committed
 * consumer group, the server (a child JVM) SIGKILLed by PID while the loop commits: every input
 * reaches the output exactly once, every acknowledged commit's records and offsets are there after
 * the restart, and nothing of an aborted transaction is ever visible.
 *
 * <p>Ten kills in about a minute and a half: the killer interrupts the loop as soon as the server
 * is gone (rather than letting the clients time out) and starts the next server while the loop
 * winds down.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class KafkaTransactionsCrashTest {
  static final int INPUTS = 1000;
  static final int KILLS = 10;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS) // the servers' logs stay for a failure
  Path dir;

  @Test
  void consumeTransformProduceIsExactlyOnceAcrossKills() throws Exception {
    Path data = dir.resolve("data");
    SwitchboardProcess server = SwitchboardProcess.start(data);
    try {
      try (Admin admin = admin(server.bootstrap())) {
        admin
            .createTopics(
                List.of(new NewTopic("in", 2, (short) 1), new NewTopic("out", 3, (short) 1)))
            .all()
            .get();
      }
      try (KafkaProducer<String, String> p = plainProducer(server.bootstrap())) {
        for (int i = 0; i < INPUTS; i++) {
          String v = String.format("m%04d", i);
          p.send(new ProducerRecord<>("in", v, v));
        }
        p.flush();
      }
      Set<String> acknowledged = new HashSet<>();
      Map<TopicPartition, Long> ackedOffsets = new HashMap<>();
      int kills = 0;
      while (true) {
        AtomicBoolean killed = new AtomicBoolean();
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger commits = new AtomicInteger();
        // Set while the loop runs; the killer interrupts it only then (guarded by itself).
        AtomicBoolean copying = new AtomicBoolean(true);
        Thread loop = Thread.currentThread();
        CompletableFuture<SwitchboardProcess> killer = CompletableFuture.completedFuture(null);
        if (kills < KILLS) {
          SwitchboardProcess victim = server;
          int after = 1 + ThreadLocalRandom.current().nextInt(4);
          killer =
              CompletableFuture.supplyAsync(
                  () -> {
                    await()
                        .atMost(Duration.ofMinutes(2))
                        .pollInterval(Duration.ofMillis(1))
                        .until(() -> commits.get() >= after || done.get());
                    if (done.get()) {
                      return null;
                    }
                    try {
                      killed.set(true);
                      victim.kill(); // while the loop is in its next transaction
                      synchronized (copying) {
                        if (copying.get()) {
                          loop.interrupt(); // its clients stop waiting for the dead server
                        }
                      }
                      return SwitchboardProcess.start(data);
                    } catch (Exception e) {
                      throw new java.util.concurrent.CompletionException(e);
                    }
                  });
        }
        try {
          copy(server.bootstrap(), killed, copying, commits, acknowledged, ackedOffsets);
          done.set(true);
        } catch (KafkaException | IllegalStateException serverGone) {
          // the server was killed under the loop
        }
        SwitchboardProcess restarted = killer.get(3, TimeUnit.MINUTES);
        if (killed.get()) {
          kills++;
          server = restarted;
          // Every acknowledged commit's offsets are there after the restart.
          try (Admin admin = admin(server.bootstrap())) {
            Map<TopicPartition, OffsetAndMetadata> now =
                admin.listConsumerGroupOffsets("copy").partitionsToOffsetAndMetadata().get();
            ackedOffsets.forEach(
                (tp, o) -> assertThat(now.get(tp).offset()).as("%s", tp).isGreaterThanOrEqualTo(o));
          }
        }
        if (done.get()) {
          break;
        }
      }
      assertThat(kills).isEqualTo(KILLS);
      for (String isolation : List.of("read_committed", "read_uncommitted")) {
        List<String> out = readAll(server.bootstrap(), isolation);
        assertThat(out).doesNotContain("decoy");
        assertThat(out).containsAll(acknowledged);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) {
          expected.add(String.format("m%04d", i));
        }
        assertThat(out.stream().sorted().toList()).as(isolation).isEqualTo(expected);
      }
    } finally {
      server.close();
    }
  }

  /**
   * Copies {@code in} to {@code out} in transactions of at most 10 records, with an aborted decoy
   * transaction every few; returns once everything is copied, throws when the server dies.
   */
  private void copy(
      String bootstrap,
      AtomicBoolean killed,
      AtomicBoolean copying,
      AtomicInteger commits,
      Set<String> acknowledged,
      Map<TopicPartition, Long> ackedOffsets) {
    KafkaProducer<String, String> p = producer(bootstrap);
    KafkaConsumer<String, String> c = consumer(bootstrap);
    try {
      p.initTransactions();
      c.subscribe(List.of("in"));
      int round = 0;
      while (true) {
        if (killed.get()) {
          throw new IllegalStateException("the server was killed");
        }
        ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(200));
        if (records.isEmpty()) {
          if (c.assignment().size() == 2
              && c.assignment().stream().mapToLong(c::position).sum() == INPUTS) {
            return;
          }
          continue;
        }
        if (round++ % 3 == 0) {
          p.beginTransaction();
          p.send(new ProducerRecord<>("out", "decoy", "decoy"));
          p.abortTransaction();
        }
        p.beginTransaction();
        List<String> values = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
          p.send(new ProducerRecord<>("out", r.key(), r.value()));
          values.add(r.value());
          offsets.put(
              new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        p.sendOffsetsToTransaction(offsets, c.groupMetadata());
        p.commitTransaction();
        acknowledged.addAll(values);
        offsets.forEach((tp, o) -> ackedOffsets.merge(tp, o.offset(), Math::max));
        commits.incrementAndGet();
      }
    } finally {
      synchronized (copying) {
        copying.set(false);
        Thread.interrupted(); // the killer's interrupt, if any, is spent: the clients close
      }
      p.close(Duration.ofSeconds(1));
      c.close(CloseOptions.timeout(Duration.ofSeconds(1)));
    }
  }

  private List<String> readAll(String bootstrap, String isolation) {
    Properties props = consumerProps(bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
      List<TopicPartition> tps =
          List.of(
              new TopicPartition("out", 0),
              new TopicPartition("out", 1),
              new TopicPartition("out", 2));
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      List<String> out = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                c.poll(Duration.ofMillis(100)).forEach(r -> out.add(r.value()));
                return tps.stream().allMatch(tp -> c.position(tp) >= end.get(tp));
              });
      return out;
    }
  }

  private static Admin admin(String bootstrap) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return Admin.create(p);
  }

  private static KafkaProducer<String, String> plainProducer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  private static KafkaProducer<String, String> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "copier");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 4_000);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  private static Properties consumerProps(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return p;
  }

  private static KafkaConsumer<String, String> consumer(String bootstrap) {
    Properties p = consumerProps(bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "copy");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10);
    p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    return new KafkaConsumer<>(p);
  }
}

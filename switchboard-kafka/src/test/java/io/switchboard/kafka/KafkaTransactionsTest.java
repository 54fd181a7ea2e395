package io.switchboard.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeProducersResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
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
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kafka-clients 4.4's transactional producer and read_committed consumer, unmodified, against a
 * whole server on loopback (docs/kafka.md, "Transactions").
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaTransactionsTest {
  @TempDir Path dir;
  SwitchboardServer server;
  String bootstrap;

  @BeforeEach
  void start() throws Exception {
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    try (Admin admin = admin()) {
      admin
          .createTopics(List.of(new NewTopic("tx", 2, (short) 1), new NewTopic("in", 1, (short) 1)))
          .all()
          .get();
    }
  }

  @AfterEach
  void stop() {
    server.close();
  }

  Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return Admin.create(p);
  }

  KafkaProducer<String, String> producer(String transactionalId, int timeoutMs) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, timeoutMs);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  KafkaConsumer<String, String> consumer(String group, String isolation) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    if (group != null) {
      p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    }
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return new KafkaConsumer<>(p);
  }

  /** Every value on each partition of {@code topic}, read from the beginning to its end. */
  Map<Integer, List<String>> readAll(String topic, int partitions, String isolation) {
    try (KafkaConsumer<String, String> c = consumer(null, isolation)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < partitions; i++) {
        tps.add(new TopicPartition(topic, i));
      }
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      Map<Integer, List<String>> out = new java.util.TreeMap<>();
      tps.forEach(tp -> out.put(tp.partition(), new ArrayList<>()));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                  out.get(r.partition()).add(r.value());
                }
                return tps.stream().allMatch(tp -> c.position(tp) >= end.get(tp));
              });
      return out;
    }
  }

  @Test
  void committedTransactionsAreSeenWholeAbortedOnesNeverAcrossTwoPartitions() throws Exception {
    try (KafkaProducer<String, String> p = producer("tx-1", 60_000)) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, "k", "a1"));
      p.send(new ProducerRecord<>("tx", 1, "k", "b1"));
      p.commitTransaction();

      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, "k", "x1"));
      p.send(new ProducerRecord<>("tx", 1, "k", "y1"));
      p.flush(); // the server has them, and keeps them out of the partitions
      assertThat(readAll("tx", 2, "read_uncommitted"))
          .isEqualTo(Map.of(0, List.of("a1"), 1, List.of("b1")));
      p.abortTransaction();

      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, "k", "a2"));
      p.send(new ProducerRecord<>("tx", 0, "k", "a3"));
      p.send(new ProducerRecord<>("tx", 1, "k", "b2"));
      p.commitTransaction();
    }
    Map<Integer, List<String>> expected =
        Map.of(0, List.of("a1", "a2", "a3"), 1, List.of("b1", "b2"));
    assertThat(readAll("tx", 2, "read_committed")).isEqualTo(expected);
    // Aborted records never reached a partition: no isolation level and no protocol sees them.
    assertThat(readAll("tx", 2, "read_uncommitted")).isEqualTo(expected);
  }

  @Test
  void sendOffsetsToTransactionCommitsTheGroupsOffsetsOnlyWithTheTransaction() throws Exception {
    try (KafkaProducer<String, String> plain = producer("seed", 60_000)) {
      plain.initTransactions();
      plain.beginTransaction();
      for (int i = 0; i < 6; i++) {
        plain.send(new ProducerRecord<>("in", 0, null, "m" + i));
      }
      plain.commitTransaction();
    }
    TopicPartition in = new TopicPartition("in", 0);
    try (KafkaProducer<String, String> p = producer("ctp", 60_000);
        KafkaConsumer<String, String> c = consumer("copier", "read_committed");
        Admin admin = admin()) {
      p.initTransactions();
      c.subscribe(List.of("in"));
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                c.poll(Duration.ofMillis(100)).forEach(got::add);
                return got.size() >= 3;
              });
      // A transaction that aborts: neither its output nor its offsets count.
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, null, "copy-aborted"));
      p.sendOffsetsToTransaction(Map.of(in, new OffsetAndMetadata(3)), c.groupMetadata());
      p.abortTransaction();
      assertThat(admin.listConsumerGroupOffsets("copier").partitionsToOffsetAndMetadata().get())
          .doesNotContainKey(in);

      p.beginTransaction();
      for (int i = 0; i < 3; i++) {
        p.send(new ProducerRecord<>("tx", 0, null, "copy-" + got.get(i).value()));
      }
      p.sendOffsetsToTransaction(Map.of(in, new OffsetAndMetadata(3)), c.groupMetadata());
      p.commitTransaction();
      assertThat(
              admin
                  .listConsumerGroupOffsets("copier")
                  .partitionsToOffsetAndMetadata()
                  .get()
                  .get(in)
                  .offset())
          .isEqualTo(3);
    }
    assertThat(readAll("tx", 2, "read_committed").get(0))
        .containsExactly("copy-m0", "copy-m1", "copy-m2");
  }

  @Test
  void aSecondProducerWithTheSameTransactionalIdFencesTheFirst() throws Exception {
    try (KafkaProducer<String, String> zombie = producer("fenced", 60_000);
        KafkaProducer<String, String> next = producer("fenced", 60_000)) {
      zombie.initTransactions();
      zombie.beginTransaction();
      zombie.send(new ProducerRecord<>("tx", 0, null, "zombie")).get();

      next.initTransactions(); // aborts what the zombie left open, and fences it
      next.beginTransaction();
      next.send(new ProducerRecord<>("tx", 1, null, "next"));
      next.commitTransaction();

      assertThatThrownBy(zombie::commitTransaction).isInstanceOf(ProducerFencedException.class);
    }
    assertThat(readAll("tx", 2, "read_committed"))
        .isEqualTo(Map.of(0, List.of(), 1, List.of("next")));
  }

  @Test
  void aTransactionOpenPastItsTimeoutIsAbortedAndItsProducerFenced() throws Exception {
    try (KafkaProducer<String, String> p = producer("slow", 1_000)) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, null, "early")).get();
      // Sends are kept until the coordinator aborts the transaction at its timeout; the next
      // one after that is refused (the producer's epoch is fenced).
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                try {
                  p.send(new ProducerRecord<>("tx", 0, null, "late")).get();
                  return false;
                } catch (ExecutionException | KafkaException refused) {
                  return true;
                }
              });
      assertThatThrownBy(p::commitTransaction).isInstanceOf(KafkaException.class);
    }
    assertThat(readAll("tx", 2, "read_committed")).isEqualTo(Map.of(0, List.of(), 1, List.of()));
  }

  @Test
  void adminListsAndDescribesTransactions() throws Exception {
    try (KafkaProducer<String, String> p = producer("described", 60_000);
        Admin admin = admin()) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 1, null, "v")).get();
      TransactionDescription d =
          admin.describeTransactions(List.of("described")).all().get().get("described");
      assertThat(d.state()).isEqualTo(TransactionState.ONGOING);
      assertThat(d.transactionTimeoutMs()).isEqualTo(60_000);
      assertThat(d.topicPartitions()).containsExactly(new TopicPartition("tx", 1));
      assertThat(admin.listTransactions().all().get())
          .filteredOn(l -> l.transactionalId().equals("described"))
          .singleElement()
          .satisfies(l -> assertThat(l.state()).isEqualTo(TransactionState.ONGOING));
      p.commitTransaction();
      assertThat(
              admin.describeTransactions(List.of("described")).all().get().get("described").state())
          .isEqualTo(TransactionState.COMPLETE_COMMIT);
      assertThatThrownBy(() -> admin.describeTransactions(List.of("unknown")).all().get())
          .hasCauseInstanceOf(TransactionalIdNotFoundException.class);
    }
  }

  @Test
  void adminDescribesEachPartitionsProducersAcrossARestart() throws Exception {
    long before = System.currentTimeMillis();
    try (KafkaProducer<String, String> p = producer("producing", 60_000)) {
      p.initTransactions();
      p.beginTransaction();
      for (int i = 0; i < 3; i++) {
        p.send(new ProducerRecord<>("tx", 0, null, "t" + i));
      }
      p.commitTransaction();
    }
    Properties idempotent = new Properties();
    idempotent.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    idempotent.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    idempotent.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> p = new KafkaProducer<>(idempotent)) {
      p.send(new ProducerRecord<>("tx", 0, null, "i0")).get();
      p.send(new ProducerRecord<>("tx", 0, null, "i1")).get();
    }
    TopicPartition tp0 = new TopicPartition("tx", 0);
    TopicPartition tp1 = new TopicPartition("tx", 1);
    for (int round = 0; round < 2; round++) {
      if (round == 1) { // the producer state is rebuilt from the partitions
        server.close();
        server =
            SwitchboardServer.startOnFreePorts(
                Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
        bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
      }
      try (Admin admin = admin()) {
        TransactionDescription txn =
            admin.describeTransactions(List.of("producing")).all().get().get("producing");
        Map<TopicPartition, DescribeProducersResult.PartitionProducerState> states =
            admin.describeProducers(List.of(tp0, tp1)).all().get();
        List<ProducerState> active = states.get(tp0).activeProducers();
        assertThat(active).as("round %d: %s", round, active).hasSize(2);
        ProducerState transactional =
            active.stream()
                .filter(s -> s.producerId() == txn.producerId())
                .findFirst()
                .orElseThrow();
        assertThat(transactional.producerEpoch()).isEqualTo(txn.producerEpoch());
        assertThat(transactional.lastSequence()).isEqualTo(2);
        assertThat(transactional.lastTimestamp()).isGreaterThanOrEqualTo(before);
        assertThat(transactional.currentTransactionStartOffset()).isEmpty();
        ProducerState plain =
            active.stream()
                .filter(s -> s.producerId() != txn.producerId())
                .findFirst()
                .orElseThrow();
        assertThat(plain.lastSequence()).isEqualTo(1);
        assertThat(states.get(tp1).activeProducers()).isEmpty();
      }
    }
  }

  @Test
  void theTransactionLogSurvivesARestart() throws Exception {
    try (KafkaProducer<String, String> p = producer("durable", 60_000)) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, null, "before"));
      p.commitTransaction();
    }
    server.close();
    server =
        SwitchboardServer.startOnFreePorts(Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString()));
    bootstrap = "127.0.0.1:" + server.addresses().get("kafka").getPort();
    // The same transactional id goes on at a later epoch: its sequences start again and nothing
    // of the first commit is stored twice.
    try (KafkaProducer<String, String> p = producer("durable", 60_000)) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", 0, null, "after"));
      p.commitTransaction();
    }
    assertThat(readAll("tx", 2, "read_committed").get(0)).containsExactly("before", "after");
  }

  @SuppressWarnings("unused")
  private static int count(ConsumerRecords<String, String> rs) {
    return rs.count();
  }
}

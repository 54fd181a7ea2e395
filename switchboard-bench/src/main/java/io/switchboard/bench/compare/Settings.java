package io.switchboard.bench.compare;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What every run shares.
 *
 * @param root the Switchboard checkout (its launcher starts the server and {@code switchboard
 *     bench})
 * @param kafkaLibs Kafka's jars (server and kafka-tools)
 * @param work where brokers keep their data and logs
 */
record Settings(
    Path root, Path kafkaLibs, Path work, Duration warmup, Duration measure, String mqttClient) {
  /** With the MQTT workloads driven by Paho. */
  Settings(Path root, Path kafkaLibs, Path work, Duration warmup, Duration measure) {
    this(root, kafkaLibs, work, warmup, measure, "paho");
  }

  /** Unacknowledged publishes per producer, the same for every driver. */
  static final int WINDOW = 1000;

  Load load(Workload w) {
    return new Load(w, warmup, measure, WINDOW);
  }
}

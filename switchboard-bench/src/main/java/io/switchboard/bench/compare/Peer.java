package io.switchboard.bench.compare;

import java.nio.file.Path;
import java.util.List;

/**
 * A broker the suite measures: how to start it, what each durability means for it, and its drivers.
 */
interface Peer {
  /** The name in tables (e.g. "Kafka"). */
  String name();

  /** The version that ran, as the broker or its package reports it. */
  String version();

  /** In plain words, what {@code d} means for this broker, or why it cannot do it. */
  String durability(Durability d);

  /** Whether this broker can run with {@code d} at all. */
  boolean supports(Durability d);

  /** The workloads this broker takes part in. */
  List<Workload> workloads();

  /** Starts the broker on 127.0.0.1 with its data under {@code dir}. */
  Running start(Path dir, Durability d) throws Exception;

  /** Runs one workload against the running broker; one result per client that drove it. */
  List<Result> run(Running broker, Workload w, Durability d, Settings s) throws Exception;
}

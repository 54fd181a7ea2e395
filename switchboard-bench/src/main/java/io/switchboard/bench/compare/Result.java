package io.switchboard.bench.compare;

/**
 * One measured run: a broker, a workload, a durability, the client that drove it.
 *
 * @param msgPerSec the headline throughput (see {@link Workload.Headline})
 * @param p50Us latency percentiles in microseconds; NaN when the run measured none
 * @param note what else to know (drops, errors, settings), or empty
 */
record Result(
    String broker,
    String client,
    Workload workload,
    Durability durability,
    double msgPerSec,
    double mbPerSec,
    double p50Us,
    double p99Us,
    double p999Us,
    long messages,
    String note) {

  static Result failed(String broker, String client, Workload w, Durability d, String why) {
    return new Result(
        broker, client, w, d, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, why);
  }

  boolean ok() {
    return !Double.isNaN(msgPerSec);
  }
}

package io.switchboard.bench.compare;

/**
 * How durably a broker acknowledges, per run. What each broker does is in {@link Peer#durability}.
 */
enum Durability {
  /** The broker as it ships. */
  DEFAULT,
  /** Every acknowledged message is fsynced before the acknowledgement. */
  FSYNC
}

package io.switchboard.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.io.SimulatedDisk;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Power loss under a whole broker (see {@link BrokerPowerLossScenario}): not only partition logs,
 * but {@code streams.json}, consumer config and state files and delay buckets, all on the simulated
 * disk through {@link BrokerConfig#storage()}. And the test of that test: the harness must catch a
 * planted lying fsync in most seeds.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class BrokerPowerLossTest {
  static final int SEEDS = 50;
  static final long FIRST_SEED = Long.getLong("powerloss.seed", 1);

  @Test
  void theBrokerOpensAndHoldsWhatItAcknowledgedAfterPowerLossIn50Seeds() {
    List<String> problems = new ArrayList<>();
    int crashes = 0;
    int failed = 0;
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      BrokerPowerLossScenario.Outcome o = BrokerPowerLossScenario.run(seed, new SimulatedDisk());
      problems.addAll(o.problems());
      crashes += o.crashes();
      failed += o.failedOperations();
    }
    assertThat(problems).as("replay one with -Dpowerloss.seed=N").isEmpty();
    // The process must really die mid-work in many runs, or the check above proves little.
    assertThat(failed)
        .as("operations refused by a dying process over %d cuts", crashes)
        .isGreaterThan(crashes / 2);
  }

  @Test
  void theHarnessCatchesAnAcknowledgementBeforeFsync() {
    int caught = 0;
    for (long seed = 1; seed <= 10; seed++) {
      SimulatedDisk disk = new SimulatedDisk();
      disk.setLyingFsync(true);
      if (!BrokerPowerLossScenario.run(seed, disk).problems().isEmpty()) {
        caught++;
      }
    }
    assertThat(caught).as("seeds (of 10) where the lying fsync was seen").isGreaterThanOrEqualTo(8);
  }
}

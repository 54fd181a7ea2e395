package io.switchboard.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.switchboard.log.io.SimulatedDisk;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Power-loss simulation (see {@link PowerLossScenario}), and the test of that test: the same
 * harness must catch a deliberately planted durability bug in at least 19 of 20 seeds. The planted
 * bugs live only here, in the simulated disk: a lying fsync (the log acknowledges before anything
 * is durable) and a skipped directory fsync (new segment files vanish in a crash).
 */
class PowerLossTest {
  static final int ITERATIONS = 200;
  static final long FIRST_SEED = Long.getLong("powerloss.seed", 1);

  @Test
  void everyAcknowledgedRecordSurvivesPowerLossIn200Seeds() {
    List<String> problems = new ArrayList<>();
    int crashes = 0;
    int lossy = 0;
    for (long seed = FIRST_SEED; seed < FIRST_SEED + ITERATIONS; seed++) {
      PowerLossScenario.Outcome o = PowerLossScenario.run(seed, new SimulatedDisk());
      problems.addAll(o.problems());
      crashes += o.crashes();
      lossy += o.crashesThatLostWrites();
    }
    assertThat(problems).as("replay one with -Dpowerloss.seed=N").isEmpty();
    // The cuts must really destroy unforced writes, or the check above proves nothing.
    assertThat(lossy)
        .as("crashes (of %d) that lost unacknowledged writes", crashes)
        .isGreaterThan(crashes / 4);
  }

  @Test
  void theHarnessCatchesAnAcknowledgementBeforeFsync() {
    assertThat(seedsOf20ThatCatch(disk -> disk.setLyingFsync(true)))
        .as("seeds (of 20) where the lost acknowledged data was seen")
        .isGreaterThanOrEqualTo(19);
  }

  @Test
  void theHarnessCatchesASkippedDirectoryFsync() {
    assertThat(seedsOf20ThatCatch(disk -> disk.setSkipDirectoryForce(true)))
        .as("seeds (of 20) where the vanished segment was seen")
        .isGreaterThanOrEqualTo(19);
  }

  /** Runs seeds 1..20 on a disk with {@code bug} planted; counts the runs that report a loss. */
  private static int seedsOf20ThatCatch(Consumer<SimulatedDisk> bug) {
    int caught = 0;
    for (long seed = 1; seed <= 20; seed++) {
      SimulatedDisk disk = new SimulatedDisk();
      bug.accept(disk);
      if (!PowerLossScenario.run(seed, disk).problems().isEmpty()) {
        caught++;
      }
    }
    return caught;
  }
}

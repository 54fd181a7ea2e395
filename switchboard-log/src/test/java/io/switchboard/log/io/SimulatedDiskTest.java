package io.switchboard.log.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The simulated disk loses exactly what a real one may lose in a power cut, and no more. */
class SimulatedDiskTest {
  static final Path DIR = Path.of("/sim/dir");
  static final Path A = DIR.resolve("a");
  static final Path B = DIR.resolve("b");
  static final int SEEDS = 500;

  SimulatedDisk disk;

  @BeforeEach
  void setUp() {
    disk = fresh();
  }

  static SimulatedDisk fresh() {
    SimulatedDisk d = new SimulatedDisk();
    d.createDirectories(DIR);
    return d;
  }

  /**
   * A fresh {@code new Random(seed)} for consecutive small seeds makes nearly the same first draw
   * (nextInt(2) is 1 for every seed below 500), so a crash that draws first would never lose
   * everything; spreading the seed over all 48 bits gives independent-looking first draws.
   */
  static Random random(long seed) {
    return new Random(seed * 0x9E3779B97F4A7C15L);
  }

  static ByteBuffer ascii(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
  }

  static String ascii(byte[] b) {
    return new String(b, StandardCharsets.US_ASCII);
  }

  /** A file whose directory entry and content {@code durable} are both durable. */
  static StorageFile durableFile(SimulatedDisk d, Path path, String durable) throws IOException {
    StorageFile f = d.open(path, true);
    d.forceDirectory(path.getParent());
    f.write(ascii(durable), 0);
    f.force();
    return f;
  }

  @Test
  void unforcedWritesAreLostOrKeptButAlwaysAsAPrefixOfThePendingWrites() throws IOException {
    String durable = "durable|";
    String all = durable + "one,two,three";
    int lost = 0;
    int kept = 0;
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      try (StorageFile f = durableFile(d, A, durable)) {
        f.write(ascii("one,"), 8);
        f.write(ascii("two,"), 12);
        f.write(ascii("three"), 16);
      }
      d.crash(random(seed));
      String after = ascii(d.contentOf(A));
      assertThat(all).as("seed %d", seed).startsWith(after);
      assertThat(after).as("seed %d", seed).startsWith(durable);
      assertThat(d.durableContentOf(A)).isEqualTo(d.contentOf(A));
      lost += after.equals(durable) ? 1 : 0;
      kept += after.equals(all) ? 1 : 0;
    }
    assertThat(lost).as("seeds losing every unforced write").isPositive();
    assertThat(kept).as("seeds keeping every unforced write").isPositive();
  }

  @Test
  void aPendingTruncateEitherHappenedOrNotBeforeTheWritesAfterIt() throws IOException {
    Set<String> seen = new HashSet<>();
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      try (StorageFile f = durableFile(d, A, "0123456789")) {
        f.truncate(4);
        f.write(ascii("ab"), 4);
      }
      d.crash(random(seed));
      seen.add(ascii(d.contentOf(A)));
    }
    assertThat(seen).containsExactlyInAnyOrder("0123456789", "0123", "0123a", "0123ab");
  }

  @Test
  void forcedWritesAlwaysSurvive() throws IOException {
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      try (StorageFile f = durableFile(d, A, "forced")) {
        f.write(ascii("unforced"), 100);
      }
      d.crash(random(seed));
      assertThat(ascii(d.contentOf(A))).as("seed %d", seed).startsWith("forced");
    }
  }

  @Test
  void aCreatedFileVanishesInACrashUntilItsDirectoryIsForced() throws IOException {
    try (StorageFile f = disk.open(A, true)) {
      f.write(ascii("x"), 0);
      f.force();
    }
    assertThat(disk.list(DIR)).containsExactly(A);
    disk.crash(new Random(1));
    assertThat(disk.exists(A)).isFalse();
    assertThat(disk.list(DIR)).isEmpty();
    assertThatThrownBy(() -> disk.open(A, false)).isInstanceOf(NoSuchFileException.class);

    try (StorageFile f = disk.open(B, true)) {
      f.write(ascii("y"), 0);
      f.force();
    }
    disk.forceDirectory(DIR);
    disk.crash(new Random(1));
    assertThat(disk.list(DIR)).containsExactly(B);
    assertThat(disk.contentOf(B)).isEqualTo("y".getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void aRenameOrDeleteWithoutADirectoryForceIsUndoneByACrash() throws IOException {
    durableFile(disk, A, "content").close();
    disk.move(A, B);
    assertThat(disk.exists(A)).isFalse();
    assertThat(disk.exists(B)).isTrue();
    disk.crash(new Random(1));
    assertThat(disk.list(DIR)).containsExactly(A);
    assertThat(ascii(disk.contentOf(A))).isEqualTo("content");

    disk.move(A, B);
    disk.forceDirectory(DIR);
    disk.delete(B);
    disk.crash(new Random(1));
    assertThat(disk.list(DIR)).containsExactly(B);
    assertThat(ascii(disk.contentOf(B))).isEqualTo("content");

    disk.delete(B);
    disk.forceDirectory(DIR);
    disk.crash(new Random(1));
    assertThat(disk.list(DIR)).isEmpty();
  }

  @Test
  void aTornWriteKeepsOnlyAPrefixOfIt() throws IOException {
    String write = "0123456789".repeat(10);
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      try (StorageFile f = durableFile(d, A, "")) {
        f.write(ascii(write), 0);
      }
      d.crash(random(seed));
      String after = ascii(d.contentOf(A));
      assertThat(write).startsWith(after);
      if (!after.isEmpty() && after.length() < write.length()) {
        return; // a strictly partial write: torn
      }
    }
    throw new AssertionError("no seed below " + SEEDS + " tore the write");
  }

  @Test
  void failNextForceThrowsOnceForAMatchingFileAndMakesNothingDurable() throws IOException {
    disk.failNextForce(p -> p.equals(A));
    try (StorageFile a = disk.open(A, true);
        StorageFile b = disk.open(B, true)) {
      b.write(ascii("b"), 0);
      b.force();
      a.write(ascii("a"), 0);
      assertThatThrownBy(a::force).isInstanceOf(IOException.class);
      assertThat(disk.failedForceCount()).isEqualTo(1);
      assertThat(disk.durableContentOf(A)).isEmpty();
      assertThat(disk.contentOf(A)).hasSize(1);

      a.force();
      assertThat(disk.durableContentOf(A)).hasSize(1);
      assertThat(disk.failedForceCount()).isEqualTo(1);
      assertThat(disk.forceCount()).isEqualTo(2);
    }
  }

  @Test
  void aLyingFsyncLosesAcknowledgedDataInSomeCrash() throws IOException {
    int lost = 0;
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      d.setLyingFsync(true);
      try (StorageFile f = durableFile(d, A, "acknowledged")) {
        assertThat(d.forceCount()).isEqualTo(1);
        assertThat(d.durableContentOf(A)).isEmpty();
        assertThat(f.size()).isEqualTo(12);
      }
      d.crash(random(seed));
      lost += ascii(d.contentOf(A)).equals("acknowledged") ? 0 : 1;
    }
    assertThat(lost).isPositive();
  }

  @Test
  void aSkippedDirectoryForceLosesANewFile() throws IOException {
    disk.setSkipDirectoryForce(true);
    durableFile(disk, A, "data").close();
    disk.crash(new Random(1));
    assertThat(disk.exists(A)).isFalse();
  }

  @Test
  void handlesOpenedBeforeACrashAreDead() throws IOException {
    StorageFile f = durableFile(disk, A, "data");
    disk.crash(new Random(1));
    List<ThrowingCallable> calls =
        List.of(
            () -> f.write(ascii("x"), 0),
            () -> f.read(ByteBuffer.allocate(4), 0),
            f::size,
            () -> f.truncate(0),
            f::force,
            () -> f.transferTo(0, 4, Channels.newChannel(new ByteArrayOutputStream())));
    for (ThrowingCallable call : calls) {
      assertThatThrownBy(call).isInstanceOf(IOException.class).hasMessage("disk crashed");
    }
    assertThatCode(
            () -> {
              f.close();
              f.close();
            })
        .doesNotThrowAnyException();
    assertThat(disk.readAll(A)).isEqualTo(ascii("data"));
  }

  @Test
  void writeAtomicallyThenACrashKeepsTheOldOrTheNewContentNeverAMix() throws IOException {
    String old = "old content";
    String neu = "the new, longer content";
    Set<String> seen = new HashSet<>();
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      d.writeAtomically(A, ascii(old));
      int interruption = (int) (seed % 3);
      if (interruption == 1) {
        d.failNextForce(p -> p.getFileName().toString().endsWith(".tmp"));
        assertThatThrownBy(() -> d.writeAtomically(A, ascii(neu))).isInstanceOf(IOException.class);
      } else {
        d.setSkipDirectoryForce(interruption == 2);
        d.writeAtomically(A, ascii(neu));
      }
      d.crash(random(seed));
      String after = ascii(d.readAll(A).array());
      assertThat(after).as("seed %d", seed).isIn(old, neu);
      if (interruption == 0) {
        assertThat(after).as("seed %d", seed).isEqualTo(neu);
      }
      seen.add(after);
    }
    assertThat(seen).containsExactlyInAnyOrder(old, neu);
  }

  @Test
  void underALyingFsyncWriteAtomicallyCanLeaveAMix() throws IOException {
    for (long seed = 0; seed < SEEDS; seed++) {
      SimulatedDisk d = fresh();
      d.writeAtomically(A, ascii("old content"));
      d.setLyingFsync(true);
      d.writeAtomically(A, ascii("the new content"));
      d.crash(random(seed));
      if (!ascii(d.contentOf(A)).equals("old content")
          && !ascii(d.contentOf(A)).equals("the new content")) {
        return;
      }
    }
    throw new AssertionError("the planted bug never showed");
  }

  @Test
  void readsWritesTruncatesAndTransfersBehaveLikeAFileChannel() throws IOException {
    try (StorageFile f = disk.open(A, true)) {
      f.write(ascii("hello"), 0);
      f.write(ascii("xy"), 8);
      assertThat(f.size()).isEqualTo(10);
      assertThat(ascii(disk.contentOf(A))).isEqualTo("hello\0\0\0xy");

      ByteBuffer small = ByteBuffer.allocate(4);
      assertThat(f.read(small, 0)).isEqualTo(4);
      assertThat(ascii(small.array())).isEqualTo("hell");
      ByteBuffer large = ByteBuffer.allocate(20);
      assertThat(f.read(large, 7)).isEqualTo(3);
      assertThat(large.position()).isEqualTo(3);
      assertThat(f.read(ByteBuffer.allocate(4), 10)).isZero();
      assertThat(f.read(ByteBuffer.allocate(4), 50)).isZero();

      f.truncate(20);
      assertThat(f.size()).isEqualTo(10);
      f.truncate(3);
      // The gap must read as zeros, not as the truncated "lo".
      f.write(ascii("Z"), 5);
      assertThat(ascii(disk.contentOf(A))).isEqualTo("hel\0\0Z");
      f.write(ByteBuffer.allocate(0), 100);
      assertThat(f.size()).isEqualTo(6);

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      assertThat(f.transferTo(1, 100, Channels.newChannel(out))).isEqualTo(5);
      assertThat(ascii(out.toByteArray())).isEqualTo("el\0\0Z");
      assertThat(f.transferTo(6, 10, Channels.newChannel(out))).isZero();
      assertThat(f.path()).isEqualTo(A);
    }
    assertThatThrownBy(() -> disk.open(B, false)).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> disk.open(Path.of("/nowhere/x"), true))
        .isInstanceOf(NoSuchFileException.class);
    assertThat(disk.exists(DIR)).isTrue();
    disk.createDirectories(DIR.resolve("sub"));
    disk.open(DIR.resolve("sub/c"), true).close();
    assertThat(disk.list(DIR)).containsExactly(A);

    disk.writeAtomically(B, ascii("atomic"));
    assertThat(disk.readAll(B)).isEqualTo(ascii("atomic"));
  }

  @Test
  void aClosedHandleRefusesCallsAndClosesTwice() throws IOException {
    StorageFile f = disk.open(A, true);
    f.close();
    f.close();
    assertThatThrownBy(f::size).isInstanceOf(ClosedChannelException.class);
  }

  @Test
  void corruptFlipsBitsThatSurviveACrash() throws IOException {
    durableFile(disk, A, "abc").close();
    disk.corrupt(A, 1, (byte) 0x01);
    assertThat(ascii(disk.contentOf(A))).isEqualTo("acc");
    assertThat(ascii(disk.durableContentOf(A))).isEqualTo("acc");
    disk.crash(new Random(1));
    assertThat(ascii(disk.contentOf(A))).isEqualTo("acc");
  }

  @Test
  void concurrentWritesToDisjointRegionsAllLand() throws Exception {
    int threads = 4;
    int slots = 500;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try (StorageFile f = disk.open(A, true)) {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(
            pool.submit(
                () -> {
                  for (int slot = thread; slot < slots; slot += threads) {
                    f.write(ByteBuffer.allocate(4).putInt(0, slot), 4L * slot);
                  }
                  return null;
                }));
      }
      for (Future<?> future : done) {
        future.get();
      }
      ByteBuffer all = disk.readAll(A);
      for (int slot = 0; slot < slots; slot++) {
        assertThat(all.getInt(4 * slot)).isEqualTo(slot);
      }
    } finally {
      pool.shutdown();
    }
  }
}

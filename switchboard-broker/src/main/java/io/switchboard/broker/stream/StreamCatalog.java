package io.switchboard.broker.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.core.subject.SubjectTrie;
import io.switchboard.core.subject.Subjects;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stream definitions of a broker: create, update, delete, look up by name or by the subject a
 * stream captures. Two streams never capture overlapping subjects, so every subject belongs to at
 * most one stream.
 *
 * <p>Thread safety: thread-safe. Changes serialize on the catalog and are durable before they
 * return; lookups take no lock.
 *
 * <p>File {@code streams.json}: {@code {"version":1,"streams":[...]}}, replaced atomically
 * (temporary file, fsync, rename, directory fsync) on every change, so after a crash it holds the
 * catalog before or after the change, never a mix. A file that does not parse stops the broker with
 * {@link ErrorCode#INVALID_CONFIG} naming it: the catalog is never silently emptied.
 */
public final class StreamCatalog {
  static final String FILE = "streams.json";
  private static final int VERSION = 1;

  private static final ObjectMapper JSON =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  /** What {@code streams.json} holds. */
  record Snapshot(int version, List<StreamConfig> streams) {}

  private final Path dir;
  private final StorageIO io;
  private final Map<String, StreamConfig> byName = new ConcurrentHashMap<>();
  private volatile SubjectTrie<String> captures = new SubjectTrie<>();

  private StreamCatalog(Path dir, StorageIO io) {
    this.dir = dir;
    this.io = io;
  }

  /** Loads the catalog from {@code dir} (empty when it has none yet). */
  public static StreamCatalog open(Path dir, StorageIO io) {
    StreamCatalog catalog = new StreamCatalog(dir, io);
    Path file = dir.resolve(FILE);
    try {
      io.createDirectories(dir);
      if (io.exists(file)) {
        ByteBuffer bytes = io.readAll(file);
        Snapshot snapshot =
            JSON.readValue(
                bytes.array(),
                bytes.arrayOffset() + bytes.position(),
                bytes.remaining(),
                Snapshot.class);
        if (snapshot.version() != VERSION || snapshot.streams() == null) {
          throw SwitchboardException.of(
              ErrorCode.INVALID_CONFIG, file + ": unsupported version " + snapshot.version());
        }
        for (StreamConfig c : snapshot.streams()) {
          catalog.byName.put(c.name(), c);
        }
        catalog.rebuildCaptures();
      }
    } catch (JsonProcessingException e) {
      throw SwitchboardException.wrap(
          e, ErrorCode.INVALID_CONFIG, file + " does not parse: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, file, e.getMessage());
    }
    return catalog;
  }

  /**
   * Adds a stream.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_EXISTS}, {@link
   *     ErrorCode#STREAM_SUBJECTS_OVERLAP}
   */
  public synchronized StreamConfig create(StreamConfig config) {
    if (byName.containsKey(config.name())) {
      throw SwitchboardException.of(ErrorCode.STREAM_EXISTS, config.name());
    }
    checkNoOverlap(config);
    byName.put(config.name(), config);
    persistOrUndo(() -> byName.remove(config.name()));
    rebuildCaptures();
    return config;
  }

  /**
   * Changes a stream's settings. The partition count may only grow (keys would move otherwise) and
   * the retention kind is fixed.
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}, {@link
   *     ErrorCode#STREAM_UPDATE_NOT_ALLOWED}, {@link ErrorCode#STREAM_SUBJECTS_OVERLAP}
   */
  public synchronized StreamConfig update(StreamConfig config) {
    StreamConfig old = byName.get(config.name());
    if (old == null) {
      throw SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, config.name());
    }
    if (config.partitions() < old.partitions()) {
      throw SwitchboardException.of(
          ErrorCode.STREAM_UPDATE_NOT_ALLOWED,
          config.name(),
          "partitions ("
              + old.partitions()
              + " may grow, not shrink to "
              + config.partitions()
              + ")");
    }
    if (config.retention() != old.retention()) {
      throw SwitchboardException.of(
          ErrorCode.STREAM_UPDATE_NOT_ALLOWED,
          config.name(),
          "retention (" + old.retention() + ")");
    }
    checkNoOverlap(config);
    byName.put(config.name(), config);
    persistOrUndo(() -> byName.put(old.name(), old));
    rebuildCaptures();
    return config;
  }

  /**
   * Removes a stream's definition (its data is the stream manager's to delete).
   *
   * @throws SwitchboardException {@link ErrorCode#STREAM_NOT_FOUND}
   */
  public synchronized StreamConfig delete(String name) {
    StreamConfig old = byName.remove(name);
    if (old == null) {
      throw SwitchboardException.of(ErrorCode.STREAM_NOT_FOUND, name);
    }
    persistOrUndo(() -> byName.put(name, old));
    rebuildCaptures();
    return old;
  }

  public Optional<StreamConfig> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** Every stream, by name. */
  public List<StreamConfig> list() {
    List<StreamConfig> all = new ArrayList<>(byName.values());
    all.sort(Comparator.comparing(StreamConfig::name));
    return all;
  }

  /** The stream that captures a valid {@code subject}, if any. */
  public Optional<String> streamFor(String subject) {
    String[] found = {null};
    captures.match(subject, name -> found[0] = name);
    return Optional.ofNullable(found[0]);
  }

  private void checkNoOverlap(StreamConfig config) {
    for (StreamConfig other : byName.values()) {
      if (other.name().equals(config.name())) {
        continue;
      }
      for (String mine : config.subjects()) {
        for (String theirs : other.subjects()) {
          if (Subjects.overlaps(mine, theirs)) {
            throw SwitchboardException.of(
                ErrorCode.STREAM_SUBJECTS_OVERLAP, config.name(), mine, other.name(), theirs);
          }
        }
      }
    }
  }

  /** Caller holds the catalog's monitor. Readers switch to the new trie in one volatile write. */
  private void rebuildCaptures() {
    SubjectTrie<String> trie = new SubjectTrie<>();
    for (StreamConfig c : byName.values()) {
      for (String pattern : c.subjects()) {
        trie.add(pattern, c.name());
      }
    }
    captures = trie;
  }

  /** Caller holds the catalog's monitor; {@code undo} restores memory when the write fails. */
  private void persistOrUndo(Runnable undo) {
    try {
      byte[] json = JSON.writeValueAsBytes(new Snapshot(VERSION, list()));
      io.writeAtomically(dir.resolve(FILE), ByteBuffer.wrap(json));
    } catch (IOException e) {
      undo.run();
      throw SwitchboardException.wrap(e, ErrorCode.LOG_IO_ERROR, dir.resolve(FILE), e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "StreamCatalog" + list().stream().map(StreamConfig::name).toList();
  }
}

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

  /** Subjects one stream may list unless the broker says otherwise. */
  public static final int DEFAULT_MAX_SUBJECTS = 1000;

  private final Path dir;
  private final StorageIO io;
  private final int maxSubjects;
  private final Map<String, StreamConfig> byName = new ConcurrentHashMap<>();
  private volatile SubjectTrie<String> captures = new SubjectTrie<>();

  private StreamCatalog(Path dir, StorageIO io, int maxSubjects) {
    this.dir = dir;
    this.io = io;
    this.maxSubjects = maxSubjects;
  }

  /** Loads the catalog from {@code dir} (empty when it has none yet). */
  public static StreamCatalog open(Path dir, StorageIO io) {
    return open(dir, io, DEFAULT_MAX_SUBJECTS);
  }

  /**
   * Loads the catalog from {@code dir}; a stream created or updated later may list at most {@code
   * maxSubjects} subjects (streams stored with more, under an older limit, stay as they are).
   */
  public static StreamCatalog open(Path dir, StorageIO io, int maxSubjects) {
    StreamCatalog catalog = new StreamCatalog(dir, io, maxSubjects);
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
    checkSubjectCount(config);
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
    checkSubjectCount(config);
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

  private void checkSubjectCount(StreamConfig config) {
    if (config.subjects().size() > maxSubjects) {
      throw SwitchboardException.of(
          ErrorCode.TOO_MANY_STREAM_SUBJECTS, config.name(), config.subjects().size(), maxSubjects);
    }
  }

  /**
   * Caller holds the catalog's monitor. Each of the stream's patterns is looked up in the capture
   * trie, which walks only the branches the pattern reaches: the cost grows with this stream's
   * subjects (bounded), not with every pair of patterns in the catalog.
   */
  private void checkNoOverlap(StreamConfig config) {
    for (String mine : config.subjects()) {
      String other = captures.firstOverlapping(mine, name -> !name.equals(config.name()));
      if (other != null) {
        String theirs =
            byName.get(other).subjects().stream()
                .filter(t -> Subjects.overlaps(mine, t))
                .findFirst()
                .orElse("?");
        throw SwitchboardException.of(
            ErrorCode.STREAM_SUBJECTS_OVERLAP, config.name(), mine, other, theirs);
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

package io.switchboard.broker.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.Blocking;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The broker's schema registry: subjects, each with numbered versions, each naming a schema by a
 * global id (one id per distinct schema, shared across subjects), and compatibility levels, global
 * and per subject — the model of Confluent's Schema Registry. Thread-safe: changes and listings
 * take the registry's lock and may block on an fsync (call them off event loops); {@link
 * #parsed(int)} and {@link #isVersionOf(String, int)}, which the publish path uses, take no lock.
 *
 * <p>Every change is in {@link RegistryLog} (forced to disk) before the call returns: what a call
 * acknowledged survives a crash.
 */
public final class SchemaRegistry implements AutoCloseable {
  /** The registry's directory under the broker's data directory. */
  public static final String DIR = "schemas";

  /** Rewrite the log once it holds this many records and twice the live ones. */
  static final int REWRITE_MIN_RECORDS = 1_000;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A registered version. */
  public record Registered(
      String subject, int version, int id, SchemaType type, String schema, boolean deleted) {}

  /** A subject and version that use one schema id. */
  public record SubjectVersion(String subject, int version) {}

  /** A schema by id. */
  public record StoredSchema(int id, SchemaType type, String schema) {}

  /** One version of a subject; {@code deleted} = soft-deleted. */
  private record Version(int version, int id, boolean deleted) {}

  private final SchemaRegistryConfig limits;
  private final RegistryLog log;

  // Guarded by this, except the two concurrent maps, which the publish path reads without it.
  private final Map<Integer, StoredSchema> byId = new ConcurrentHashMap<>();
  private final Map<String, Set<Integer>> liveIdsBySubject = new ConcurrentHashMap<>();
  private final Map<String, Integer> idByContent = new java.util.HashMap<>();
  private final Map<String, TreeMap<Integer, Version>> subjects = new TreeMap<>();
  private final Map<String, CompatibilityLevel> subjectLevels = new java.util.HashMap<>();
  private final Map<Integer, ParsedSchema> parsedCache = new ConcurrentHashMap<>();
  private CompatibilityLevel globalLevel = CompatibilityLevel.DEFAULT;
  private int nextId = 1;

  private SchemaRegistry(SchemaRegistryConfig limits, StorageIO storage, Path dir)
      throws IOException {
    this.limits = limits;
    // A record holds one schema and a little JSON around it (escaping may double its size).
    this.log =
        RegistryLog.open(storage, dir, 2 * limits.maxSchemaBytes() + 4096, JSON, this::apply);
    for (String s : subjects.keySet()) {
      refreshLiveIds(s);
    }
  }

  /**
   * Opens the registry kept in {@code dir}, replaying its log. Blocks (disk).
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_STORE_ERROR} when the file cannot be read
   */
  public static SchemaRegistry open(StorageIO storage, Path dir, SchemaRegistryConfig limits) {
    try {
      return new SchemaRegistry(limits, storage, dir);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.SCHEMA_STORE_ERROR, e.getMessage());
    }
  }

  // ------------------------------------------------------------------ queries

  /** Subject names in order; with {@code deleted}, soft-deleted ones too. */
  public synchronized List<String> subjects(boolean deleted) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, TreeMap<Integer, Version>> e : subjects.entrySet()) {
      if (deleted || e.getValue().values().stream().anyMatch(v -> !v.deleted())) {
        out.add(e.getKey());
      }
    }
    return out;
  }

  /**
   * The version numbers of a subject, in order.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_SUBJECT_NOT_FOUND}
   */
  public synchronized List<Integer> versions(String subject, boolean deleted) {
    List<Integer> out = new ArrayList<>();
    for (Version v : subject(subject, deleted).values()) {
      if (deleted || !v.deleted()) {
        out.add(v.version());
      }
    }
    return out;
  }

  /**
   * One version: {@code version} is a number or {@code latest} (also {@code -1}).
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_SUBJECT_NOT_FOUND}, {@link
   *     ErrorCode#SCHEMA_VERSION_NOT_FOUND}, {@link ErrorCode#SCHEMA_VERSION_INVALID}
   */
  public synchronized Registered version(String subject, String version, boolean deleted) {
    TreeMap<Integer, Version> vs = subject(subject, deleted);
    Version v = find(subject, vs, version, deleted);
    return registered(subject, v);
  }

  /**
   * The version of {@code subject} whose schema is {@code schema}: Confluent's "is this schema
   * registered under this subject" look-up.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_SUBJECT_NOT_FOUND}, {@link
   *     ErrorCode#SCHEMA_NOT_FOUND}, {@link ErrorCode#SCHEMA_INVALID}
   */
  public synchronized Registered lookup(
      String subject, SchemaType type, String schema, boolean deleted) {
    TreeMap<Integer, Version> vs = subject(subject, deleted);
    ParsedSchema p = parse(type, schema);
    Integer id = idByContent.get(contentKey(p));
    if (id != null) {
      for (Version v : vs.descendingMap().values()) {
        if (v.id() == id && (deleted || !v.deleted())) {
          return registered(subject, v);
        }
      }
    }
    throw SwitchboardException.of(ErrorCode.SCHEMA_NOT_FOUND, "under subject \"" + subject + "\"");
  }

  /** The schema with {@code id}, or null. Takes no lock. */
  public StoredSchema schema(int id) {
    return byId.get(id);
  }

  /** Which subjects and versions use schema {@code id} (soft-deleted ones included). */
  public synchronized List<SubjectVersion> subjectVersions(int id) {
    if (!byId.containsKey(id)) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_NOT_FOUND, id);
    }
    List<SubjectVersion> out = new ArrayList<>();
    subjects.forEach(
        (s, vs) -> {
          for (Version v : vs.values()) {
            if (v.id() == id) {
              out.add(new SubjectVersion(s, v.version()));
            }
          }
        });
    return out;
  }

  /**
   * The parsed schema with {@code id}, from a bounded cache; null when no such id. Takes no lock:
   * the publish path calls it.
   */
  public ParsedSchema parsed(int id) {
    ParsedSchema p = parsedCache.get(id);
    if (p != null) {
      return p;
    }
    StoredSchema s = byId.get(id);
    if (s == null) {
      return null;
    }
    p = Schemas.parse(s.type(), s.schema());
    if (parsedCache.size() >= limits.parsedCacheEntries()) {
      // Evict one arbitrary entry: a bound without an LRU's lock on the publish path.
      Iterator<Integer> it = parsedCache.keySet().iterator();
      if (it.hasNext()) {
        parsedCache.remove(it.next());
      }
    }
    parsedCache.put(id, p);
    return p;
  }

  /**
   * Whether {@code id} is the schema of a live (not deleted) version of {@code subject}. No lock.
   */
  public boolean isVersionOf(String subject, int id) {
    Set<Integer> ids = liveIdsBySubject.get(subject);
    return ids != null && ids.contains(id);
  }

  /** The global compatibility level. */
  public synchronized CompatibilityLevel globalLevel() {
    return globalLevel;
  }

  /**
   * A subject's own level; the global one when it has none and {@code defaultToGlobal}.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_COMPATIBILITY_NOT_CONFIGURED}
   */
  public synchronized CompatibilityLevel subjectLevel(String subject, boolean defaultToGlobal) {
    CompatibilityLevel l = subjectLevels.get(subject);
    if (l != null) {
      return l;
    }
    if (defaultToGlobal) {
      return globalLevel;
    }
    throw SwitchboardException.of(ErrorCode.SCHEMA_COMPATIBILITY_NOT_CONFIGURED, subject);
  }

  /**
   * Why {@code schema} is not compatible, under the subject's level, with {@code version} ({@code
   * latest}: with what that level checks); empty when it is.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_SUBJECT_NOT_FOUND} and {@link
   *     ErrorCode#SCHEMA_VERSION_NOT_FOUND} for a numbered version, {@link
   *     ErrorCode#SCHEMA_VERSION_INVALID}, {@link ErrorCode#SCHEMA_INVALID}
   */
  public synchronized List<String> checkCompatibility(
      String subject, String version, SchemaType type, String schema) {
    ParsedSchema candidate = parse(type, schema);
    TreeMap<Integer, Version> vs = subjects.get(subject);
    boolean latest = isLatest(version);
    if (vs == null || vs.values().stream().allMatch(Version::deleted)) {
      if (latest) {
        return List.of(); // nothing to be compatible with
      }
      throw SwitchboardException.of(ErrorCode.SCHEMA_SUBJECT_NOT_FOUND, subject);
    }
    CompatibilityLevel level = subjectLevels.getOrDefault(subject, globalLevel);
    if (latest) {
      return incompatibilities(subject, candidate, level);
    }
    Version v = find(subject, vs, version, false);
    return check(candidate, List.of(parsed(v.id())), level);
  }

  // ------------------------------------------------------------------ changes

  /**
   * Registers {@code schema} under {@code subject}: returns the id of the version that already has
   * it, or adds a version after checking the subject's compatibility level. Blocks until the change
   * is on disk.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_INVALID}, {@link
   *     ErrorCode#SCHEMA_INCOMPATIBLE}, {@link ErrorCode#SCHEMA_REGISTRY_FULL}, {@link
   *     ErrorCode#INVALID_ARGUMENT} for a bad subject name, {@link ErrorCode#SCHEMA_STORE_ERROR}
   */
  public synchronized Registered register(String subject, SchemaType type, String schema) {
    Blocking.check("SchemaRegistry.register");
    checkSubjectName(subject);
    if (schema != null
        && schema.getBytes(StandardCharsets.UTF_8).length > limits.maxSchemaBytes()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_REGISTRY_FULL,
          "a schema may have " + limits.maxSchemaBytes() + " bytes at most");
    }
    ParsedSchema p = parse(type, schema);
    String key = contentKey(p);
    Integer existing = idByContent.get(key);
    TreeMap<Integer, Version> vs = subjects.get(subject);
    if (existing != null && vs != null) {
      for (Version v : vs.values()) {
        if (v.id() == existing && !v.deleted()) {
          return registered(subject, v);
        }
      }
    }
    if (vs == null && subjects.size() >= limits.maxSubjects()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_REGISTRY_FULL, limits.maxSubjects() + " subjects (the limit)");
    }
    if (vs != null && vs.size() >= limits.maxVersionsPerSubject()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_REGISTRY_FULL,
          "subject \"" + subject + "\" has " + vs.size() + " versions (the limit)");
    }
    if (existing == null && byId.size() >= limits.maxSchemas()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_REGISTRY_FULL, limits.maxSchemas() + " schemas (the limit)");
    }
    CompatibilityLevel level = subjectLevels.getOrDefault(subject, globalLevel);
    List<String> why = incompatibilities(subject, p, level);
    if (!why.isEmpty()) {
      throw SwitchboardException.of(
          ErrorCode.SCHEMA_INCOMPATIBLE, subject, level, String.join("; ", why));
    }
    int id = existing != null ? existing : nextId;
    int version = vs == null || vs.isEmpty() ? 1 : vs.lastKey() + 1;
    if (existing == null) {
      write(schemaRecord(new StoredSchema(id, type, p.canonical())));
    }
    write(versionRecord(subject, new Version(version, id, false)));
    maybeRewrite();
    return registered(subject, subjects.get(subject).get(version));
  }

  /**
   * Sets the global level (subject null) or a subject's. Blocks until it is on disk.
   *
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_STORE_ERROR}
   */
  public synchronized void setLevel(String subject, CompatibilityLevel level) {
    Blocking.check("SchemaRegistry.setLevel");
    if (subject != null) {
      checkSubjectName(subject);
      if (!subjectLevels.containsKey(subject) && subjectLevels.size() >= limits.maxSubjects()) {
        throw SwitchboardException.of(
            ErrorCode.SCHEMA_REGISTRY_FULL, limits.maxSubjects() + " subject levels (the limit)");
      }
    }
    write(configRecord(subject, level));
    maybeRewrite();
  }

  /**
   * Removes a subject's own level, which then follows the global one.
   *
   * @return the level it had
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_COMPATIBILITY_NOT_CONFIGURED}
   */
  public synchronized CompatibilityLevel deleteLevel(String subject) {
    Blocking.check("SchemaRegistry.deleteLevel");
    CompatibilityLevel old = subjectLevel(subject, false);
    write(configRecord(subject, null));
    maybeRewrite();
    return old;
  }

  /**
   * Deletes a subject: soft (its versions are hidden and no longer checked against, ids stay) or,
   * after that, {@code permanent} (gone, with its level).
   *
   * @return the versions deleted
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_SUBJECT_NOT_FOUND}, {@link
   *     ErrorCode#SCHEMA_SUBJECT_NOT_SOFT_DELETED}
   */
  public synchronized List<Integer> deleteSubject(String subject, boolean permanent) {
    Blocking.check("SchemaRegistry.deleteSubject");
    TreeMap<Integer, Version> vs = subject(subject, permanent);
    List<Integer> out = new ArrayList<>();
    if (permanent) {
      if (vs.values().stream().anyMatch(v -> !v.deleted())) {
        throw SwitchboardException.of(ErrorCode.SCHEMA_SUBJECT_NOT_SOFT_DELETED, subject);
      }
      for (Version v : List.copyOf(vs.values())) {
        write(dropRecord(subject, v.version()));
        out.add(v.version());
      }
      if (subjectLevels.containsKey(subject)) {
        write(configRecord(subject, null));
      }
    } else {
      for (Version v : List.copyOf(vs.values())) {
        if (!v.deleted()) {
          write(versionRecord(subject, new Version(v.version(), v.id(), true)));
          out.add(v.version());
        }
      }
    }
    maybeRewrite();
    return out;
  }

  /**
   * Deletes one version: soft, or after that {@code permanent}.
   *
   * @return the version deleted
   * @throws SwitchboardException {@link ErrorCode#SCHEMA_SUBJECT_NOT_FOUND}, {@link
   *     ErrorCode#SCHEMA_VERSION_NOT_FOUND}, {@link ErrorCode#SCHEMA_VERSION_INVALID}, {@link
   *     ErrorCode#SCHEMA_VERSION_NOT_SOFT_DELETED}
   */
  public synchronized int deleteVersion(String subject, String version, boolean permanent) {
    Blocking.check("SchemaRegistry.deleteVersion");
    TreeMap<Integer, Version> vs = subject(subject, permanent);
    Version v = find(subject, vs, version, permanent);
    if (permanent) {
      if (!v.deleted()) {
        throw SwitchboardException.of(
            ErrorCode.SCHEMA_VERSION_NOT_SOFT_DELETED, subject, v.version());
      }
      write(dropRecord(subject, v.version()));
    } else {
      write(versionRecord(subject, new Version(v.version(), v.id(), true)));
    }
    maybeRewrite();
    return v.version();
  }

  // ------------------------------------------------------------------ internals

  private static boolean isLatest(String version) {
    return "latest".equals(version) || "-1".equals(version);
  }

  private static void checkSubjectName(String subject) {
    if (subject == null || subject.isEmpty() || subject.length() > 255) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "a schema subject has 1 to 255 characters");
    }
    for (int i = 0; i < subject.length(); i++) {
      if (Character.isISOControl(subject.charAt(i))) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "a schema subject has no control characters");
      }
    }
  }

  /** Caller holds the lock. */
  private TreeMap<Integer, Version> subject(String subject, boolean deleted) {
    TreeMap<Integer, Version> vs = subjects.get(subject);
    if (vs == null || (!deleted && vs.values().stream().allMatch(Version::deleted))) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_SUBJECT_NOT_FOUND, subject);
    }
    return vs;
  }

  /** Caller holds the lock. */
  private static Version find(
      String subject, TreeMap<Integer, Version> vs, String version, boolean deleted) {
    if (isLatest(version)) {
      for (Version v : vs.descendingMap().values()) {
        if (deleted || !v.deleted()) {
          return v;
        }
      }
      throw SwitchboardException.of(ErrorCode.SCHEMA_VERSION_NOT_FOUND, subject, version);
    }
    int n;
    try {
      n = Integer.parseInt(version);
    } catch (NumberFormatException e) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_VERSION_INVALID, version);
    }
    if (n < 1) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_VERSION_INVALID, version);
    }
    Version v = vs.get(n);
    if (v == null || (v.deleted() && !deleted)) {
      throw SwitchboardException.of(ErrorCode.SCHEMA_VERSION_NOT_FOUND, subject, version);
    }
    return v;
  }

  private Registered registered(String subject, Version v) {
    StoredSchema s = byId.get(v.id());
    return new Registered(subject, v.version(), v.id(), s.type(), s.schema(), v.deleted());
  }

  private static ParsedSchema parse(SchemaType type, String schema) {
    return Schemas.parse(type, schema);
  }

  private static String contentKey(ParsedSchema p) {
    return p.type() + ":" + p.canonical();
  }

  /** What the live versions that {@code level} checks say against {@code candidate}. */
  private List<String> incompatibilities(
      String subject, ParsedSchema candidate, CompatibilityLevel level) {
    if (level == CompatibilityLevel.NONE) {
      return List.of();
    }
    TreeMap<Integer, Version> vs = subjects.get(subject);
    if (vs == null) {
      return List.of();
    }
    List<ParsedSchema> against = new ArrayList<>();
    for (Version v : vs.descendingMap().values()) {
      if (!v.deleted()) {
        against.add(parsed(v.id()));
        if (!level.transitive()) {
          break;
        }
      }
    }
    return check(candidate, against, level);
  }

  private static List<String> check(
      ParsedSchema candidate, List<ParsedSchema> against, CompatibilityLevel level) {
    List<String> why = new ArrayList<>();
    for (ParsedSchema old : against) {
      if (level.backward()) {
        for (String w : candidate.cannotRead(old)) {
          why.add("new schema cannot read data written with an earlier one: " + w);
        }
      }
      if (level.forward()) {
        for (String w : old.cannotRead(candidate)) {
          why.add("an earlier schema cannot read data written with the new one: " + w);
        }
      }
    }
    return why;
  }

  // Records: written, then applied through the same code as a replay.

  private static ObjectNode schemaRecord(StoredSchema s) {
    ObjectNode n = JSON.createObjectNode().put("op", "schema").put("id", s.id());
    return n.put("type", s.type().name()).put("schema", s.schema());
  }

  private static ObjectNode versionRecord(String subject, Version v) {
    return JSON.createObjectNode()
        .put("op", "version")
        .put("subject", subject)
        .put("version", v.version())
        .put("id", v.id())
        .put("deleted", v.deleted());
  }

  private static ObjectNode dropRecord(String subject, int version) {
    return JSON.createObjectNode()
        .put("op", "drop")
        .put("subject", subject)
        .put("version", version);
  }

  private static ObjectNode configRecord(String subject, CompatibilityLevel level) {
    ObjectNode n = JSON.createObjectNode().put("op", "config");
    n.put("subject", subject);
    n.put("level", level == null ? null : level.name());
    return n;
  }

  /** Makes the change durable, then applies it. Caller holds the lock. */
  private void write(ObjectNode change) {
    try {
      log.append(change);
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.SCHEMA_STORE_ERROR, e.getMessage());
    }
    apply(change);
  }

  /** Applies one change (from a call or from the log). Caller holds the lock (or constructs). */
  private void apply(JsonNode c) {
    switch (c.path("op").asText()) {
      case "schema" -> {
        StoredSchema s =
            new StoredSchema(
                c.path("id").asInt(),
                SchemaType.valueOf(c.path("type").asText()),
                c.path("schema").asText());
        byId.put(s.id(), s);
        idByContent.put(s.type() + ":" + s.schema(), s.id());
        nextId = Math.max(nextId, s.id() + 1);
      }
      case "version" -> {
        String subject = c.path("subject").asText();
        Version v =
            new Version(
                c.path("version").asInt(), c.path("id").asInt(), c.path("deleted").asBoolean());
        subjects.computeIfAbsent(subject, k -> new TreeMap<>()).put(v.version(), v);
        refreshLiveIds(subject);
      }
      case "drop" -> {
        String subject = c.path("subject").asText();
        TreeMap<Integer, Version> vs = subjects.get(subject);
        if (vs != null) {
          Version v = vs.remove(c.path("version").asInt());
          if (vs.isEmpty()) {
            subjects.remove(subject);
          }
          if (v != null && !referenced(v.id())) {
            StoredSchema s = byId.remove(v.id());
            parsedCache.remove(v.id());
            if (s != null) {
              idByContent.remove(s.type() + ":" + s.schema());
            }
          }
        }
        refreshLiveIds(subject);
      }
      case "config" -> {
        JsonNode subject = c.path("subject");
        JsonNode level = c.path("level");
        if (subject.isNull() || subject.isMissingNode()) {
          globalLevel =
              level.isTextual() ? CompatibilityLevel.valueOf(level.asText()) : globalLevel;
        } else if (level.isTextual()) {
          subjectLevels.put(subject.asText(), CompatibilityLevel.valueOf(level.asText()));
        } else {
          subjectLevels.remove(subject.asText());
        }
      }
      case "next-id" -> nextId = Math.max(nextId, c.path("next").asInt());
      default -> throw new IllegalStateException("unknown registry record " + c);
    }
  }

  private boolean referenced(int id) {
    for (TreeMap<Integer, Version> vs : subjects.values()) {
      for (Version v : vs.values()) {
        if (v.id() == id) {
          return true;
        }
      }
    }
    return false;
  }

  private void refreshLiveIds(String subject) {
    TreeMap<Integer, Version> vs = subjects.get(subject);
    if (vs == null) {
      liveIdsBySubject.remove(subject);
      return;
    }
    Set<Integer> ids = new java.util.HashSet<>();
    for (Version v : vs.values()) {
      if (!v.deleted()) {
        ids.add(v.id());
      }
    }
    liveIdsBySubject.put(subject, Set.copyOf(ids));
  }

  /** Rewrites the log to the live state when it has grown past twice that. Caller holds lock. */
  private void maybeRewrite() {
    long live = 2L + byId.size() + subjectLevels.size();
    for (TreeMap<Integer, Version> vs : subjects.values()) {
      live += vs.size();
    }
    if (log.records() < REWRITE_MIN_RECORDS || log.records() < 2 * live) {
      return;
    }
    try {
      log.rewrite(liveRecords());
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.SCHEMA_STORE_ERROR, e.getMessage());
    }
  }

  /** The records that rebuild the current state. Caller holds the lock. */
  List<JsonNode> liveRecords() {
    List<JsonNode> out = new ArrayList<>();
    out.add(JSON.createObjectNode().put("op", "next-id").put("next", nextId));
    out.add(configRecord(null, globalLevel));
    for (StoredSchema s : new TreeMap<>(byId).values()) {
      out.add(schemaRecord(s));
    }
    subjects.forEach(
        (s, vs) -> {
          for (Version v : vs.values()) {
            out.add(versionRecord(s, v));
          }
        });
    subjectLevels.forEach((s, l) -> out.add(configRecord(s, l)));
    return out;
  }

  /** Forces a rewrite now (tests). */
  synchronized void rewriteNow() throws IOException {
    log.rewrite(liveRecords());
  }

  @Override
  public synchronized void close() {
    try {
      log.close();
    } catch (IOException e) {
      throw SwitchboardException.wrap(e, ErrorCode.SCHEMA_STORE_ERROR, e.getMessage());
    }
  }
}

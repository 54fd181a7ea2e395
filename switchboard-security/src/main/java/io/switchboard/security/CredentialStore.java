package io.switchboard.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Users and their SCRAM credentials, in {@code <data>/security/users.json}. Thread-safe: readers
 * see an immutable snapshot (volatile); writers are serialized and write the whole file
 * crash-safely ({@link AtomicFiles}) before the new snapshot is published.
 *
 * <p>File format (JSON), never a password:
 *
 * <pre>
 * {"format": 1, "decoySecret": base64,
 *  "users": {"alice": {"scram-sha-256": {"salt": b64, "iterations": 4096,
 *                                       "storedKey": b64, "serverKey": b64},
 *                      "scram-sha-512": {...}}}}
 * </pre>
 *
 * {@code decoySecret} derives stable fake salts for unknown users. After a crash the file is the
 * old or the new one (atomic rename); a damaged file stops the server from starting (it is never
 * silently replaced, which would drop every user).
 */
final class CredentialStore {
  static final String FILE = "users.json";

  /** Longest user name, in characters. */
  static final int MAX_NAME_CHARS = 128;

  /** Most users one store holds: bounds memory and the file. */
  static final int MAX_USERS = 100_000;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One snapshot: user name → mechanism → credential. */
  record Snapshot(Map<String, Map<ScramMechanism, ScramCredential>> users, byte[] decoySecret) {}

  private final Path file;
  private final SecureRandom random;
  private volatile Snapshot snapshot;
  private long loadedStamp;

  CredentialStore(Path dir, SecureRandom random) throws IOException {
    this.file = dir.resolve(FILE);
    this.random = random;
    AtomicFiles.deleteLeftover(file);
    if (Files.exists(file)) {
      snapshot = read();
    } else {
      byte[] secret = new byte[32];
      random.nextBytes(secret);
      snapshot = new Snapshot(Map.of(), secret);
      write(snapshot);
    }
    loadedStamp = stamp();
  }

  Snapshot snapshot() {
    return snapshot;
  }

  /** The user's credential for {@code m}, or null. */
  ScramCredential credential(String user, ScramMechanism m) {
    Map<ScramMechanism, ScramCredential> c = snapshot.users().get(user);
    return c == null ? null : c.get(m);
  }

  boolean exists(String user) {
    return snapshot.users().containsKey(user);
  }

  List<String> users() {
    return List.copyOf(new TreeMap<>(snapshot.users()).keySet());
  }

  synchronized void put(String user, String password, boolean mustExist, boolean mustNotExist)
      throws IOException {
    checkName(user);
    if (password == null || password.isEmpty()) {
      throw SwitchboardException.of(ErrorCode.INVALID_ARGUMENT, "the password must not be empty");
    }
    Snapshot s = snapshot;
    boolean exists = s.users().containsKey(user);
    if (mustExist && !exists) {
      throw SwitchboardException.of(ErrorCode.USER_NOT_FOUND, user);
    }
    if (mustNotExist && exists) {
      throw SwitchboardException.of(ErrorCode.USER_EXISTS, user);
    }
    if (!exists && s.users().size() >= MAX_USERS) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "the store holds " + MAX_USERS + " users (the limit)");
    }
    Map<ScramMechanism, ScramCredential> creds = new EnumMap<>(ScramMechanism.class);
    for (ScramMechanism m : ScramMechanism.values()) {
      creds.put(m, m.newCredential(password, random));
    }
    Map<String, Map<ScramMechanism, ScramCredential>> users = new TreeMap<>(s.users());
    users.put(user, Map.copyOf(creds));
    publish(new Snapshot(Map.copyOf(users), s.decoySecret()));
  }

  synchronized void remove(String user) throws IOException {
    Snapshot s = snapshot;
    if (!s.users().containsKey(user)) {
      throw SwitchboardException.of(ErrorCode.USER_NOT_FOUND, user);
    }
    Map<String, Map<ScramMechanism, ScramCredential>> users = new TreeMap<>(s.users());
    users.remove(user);
    publish(new Snapshot(Map.copyOf(users), s.decoySecret()));
  }

  /**
   * Re-reads the file if another process (the command line) changed it since it was last read or
   * written here.
   *
   * @return whether it was re-read
   */
  synchronized boolean reloadIfChanged() throws IOException {
    long stamp = stamp();
    if (stamp == loadedStamp) {
      return false;
    }
    snapshot = read();
    loadedStamp = stamp;
    return true;
  }

  static void checkName(String user) {
    if (user == null || user.isBlank() || user.length() > MAX_NAME_CHARS) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_ARGUMENT, "a user name is 1-" + MAX_NAME_CHARS + " characters");
    }
    for (int i = 0; i < user.length(); i++) {
      char c = user.charAt(i);
      if (c < ' ' || c == 0x7f || Character.isWhitespace(c)) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "a user name has no spaces or control characters");
      }
    }
  }

  private void publish(Snapshot s) throws IOException {
    write(s);
    snapshot = s;
    loadedStamp = stamp();
  }

  private long stamp() throws IOException {
    if (!Files.exists(file)) {
      return -1;
    }
    return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
  }

  private void write(Snapshot s) throws IOException {
    Base64.Encoder b64 = Base64.getEncoder();
    ObjectNode root = JSON.createObjectNode();
    root.put("format", 1);
    root.put("decoySecret", b64.encodeToString(s.decoySecret()));
    ObjectNode users = root.putObject("users");
    for (var u : new TreeMap<>(s.users()).entrySet()) {
      ObjectNode user = users.putObject(u.getKey());
      for (var c : new EnumMap<>(u.getValue()).entrySet()) {
        ObjectNode cred = user.putObject(c.getKey().fileName());
        cred.put("salt", b64.encodeToString(c.getValue().salt()));
        cred.put("iterations", c.getValue().iterations());
        cred.put("storedKey", b64.encodeToString(c.getValue().storedKey()));
        cred.put("serverKey", b64.encodeToString(c.getValue().serverKey()));
      }
    }
    AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
  }

  private Snapshot read() throws IOException {
    try {
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      if (root == null || root.path("format").asInt() != 1) {
        throw new IllegalArgumentException("unknown format");
      }
      Base64.Decoder b64 = Base64.getDecoder();
      byte[] secret = b64.decode(root.path("decoySecret").asText());
      if (secret.length < 16) {
        throw new IllegalArgumentException("decoySecret too short");
      }
      Map<String, Map<ScramMechanism, ScramCredential>> users = new TreeMap<>();
      for (var u : root.path("users").properties()) {
        Map<ScramMechanism, ScramCredential> creds = new EnumMap<>(ScramMechanism.class);
        for (ScramMechanism m : ScramMechanism.values()) {
          JsonNode c = u.getValue().path(m.fileName());
          if (c.isMissingNode()) {
            continue;
          }
          creds.put(
              m,
              new ScramCredential(
                  m,
                  b64.decode(c.path("salt").asText()),
                  c.path("iterations").asInt(),
                  b64.decode(c.path("storedKey").asText()),
                  b64.decode(c.path("serverKey").asText())));
        }
        users.put(u.getKey(), Map.copyOf(creds));
      }
      return new Snapshot(Map.copyOf(users), secret);
    } catch (IOException | RuntimeException e) {
      throw SwitchboardException.wrap(
          e, ErrorCode.INVALID_CONFIG, file + " is not a valid user file: " + e.getMessage());
    }
  }
}

package io.switchboard.broker.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.log.io.StorageFile;
import io.switchboard.log.io.StorageIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schema registry's file: an append-only log of changes, each forced to disk before the change
 * is acknowledged, rewritten whole (atomically) to the live state when it has grown past twice
 * that. Confined to the registry's lock.
 *
 * <p>File format ({@code <dataDir>/schemas/registry.log}), a sequence of records:
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     length (bytes of JSON)                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       CRC32C of the JSON                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 JSON object (UTF-8), one change               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>After a crash: records are trusted up to the first one that is cut short, longer than the
 * limit or fails its CRC; the file is truncated there. Only a record whose append had not returned
 * can be lost that way, and such a change was never acknowledged. A rewrite goes through {@link
 * StorageIO#writeAtomically}, so a crash leaves the old file or the new one.
 */
final class RegistryLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryLog.class);

  static final String FILE = "registry.log";

  /** 8 bytes: length and CRC. */
  static final int HEADER_BYTES = 8;

  private final StorageIO storage;
  private final Path path;
  private final int maxRecordBytes;
  private final ObjectMapper json;
  private StorageFile file;
  private long size;
  private int records;

  private RegistryLog(StorageIO storage, Path path, int maxRecordBytes, ObjectMapper json) {
    this.storage = storage;
    this.path = path;
    this.maxRecordBytes = maxRecordBytes;
    this.json = json;
  }

  /**
   * Opens (or creates) the log in {@code dir} and reads every intact record.
   *
   * @param maxRecordBytes a longer length field is damage, not a record
   * @param recovered receives each record in order
   */
  static RegistryLog open(
      StorageIO storage,
      Path dir,
      int maxRecordBytes,
      ObjectMapper json,
      java.util.function.Consumer<JsonNode> recovered)
      throws IOException {
    storage.createDirectories(dir);
    RegistryLog log = new RegistryLog(storage, dir.resolve(FILE), maxRecordBytes, json);
    log.file = storage.open(log.path, true);
    long fileSize = log.file.size();
    long at = 0;
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    while (at + HEADER_BYTES <= fileSize) {
      header.clear();
      log.file.read(header, at);
      int length = header.getInt(0);
      int crc = header.getInt(4);
      if (length <= 0 || length > maxRecordBytes || at + HEADER_BYTES + length > fileSize) {
        break;
      }
      ByteBuffer body = ByteBuffer.allocate(length);
      log.file.read(body, at + HEADER_BYTES);
      CRC32C check = new CRC32C();
      check.update(body.array(), 0, length);
      if ((int) check.getValue() != crc) {
        break;
      }
      JsonNode change;
      try {
        change = json.readTree(body.array());
      } catch (IOException e) {
        break; // a CRC-valid record that is not JSON: treat like damage
      }
      recovered.accept(change);
      log.records++;
      at += HEADER_BYTES + length;
    }
    if (at < fileSize) {
      LOG.warn(
          "SB-SCHEMA-001 {}: {} damaged or unfinished bytes after offset {} dropped (never"
              + " acknowledged)",
          log.path,
          fileSize - at,
          at);
      log.file.truncate(at);
      log.file.force();
    }
    log.size = at;
    return log;
  }

  /** Appends one change and forces it to disk; returns after it is durable. */
  void append(JsonNode change) throws IOException {
    ByteBuffer record = encode(change);
    int length = record.remaining();
    try {
      file.write(record, size);
      file.force();
    } catch (IOException e) {
      // Whatever was written is past the size we trust; it is cut at the next open or append.
      file.truncate(size);
      throw e;
    }
    size += length;
    records++;
  }

  /** Replaces the whole file with {@code changes} (the live state), atomically. */
  void rewrite(List<JsonNode> changes) throws IOException {
    List<ByteBuffer> encoded = new ArrayList<>(changes.size());
    int total = 0;
    for (JsonNode c : changes) {
      ByteBuffer b = encode(c);
      total += b.remaining();
      encoded.add(b);
    }
    ByteBuffer all = ByteBuffer.allocate(total);
    for (ByteBuffer b : encoded) {
      all.put(b);
    }
    file.close();
    storage.writeAtomically(path, all.flip());
    file = storage.open(path, true);
    size = total;
    records = changes.size();
  }

  /** Records in the file now. */
  int records() {
    return records;
  }

  private ByteBuffer encode(JsonNode change) throws IOException {
    byte[] body = json.writeValueAsBytes(change);
    if (body.length > maxRecordBytes) {
      throw new IOException(
          "a registry record of " + body.length + " bytes exceeds " + maxRecordBytes);
    }
    CRC32C crc = new CRC32C();
    crc.update(body);
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + body.length);
    b.putInt(body.length).putInt((int) crc.getValue()).put(body);
    return b.flip();
  }

  @Override
  public void close() throws IOException {
    file.close();
  }
}

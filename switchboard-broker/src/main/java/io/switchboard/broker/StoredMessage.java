package io.switchboard.broker;

import io.switchboard.broker.stream.PartitionAgent;
import io.switchboard.core.Header;
import io.switchboard.core.Message;
import io.switchboard.log.format.Record;
import io.switchboard.log.format.RecordBatchDescriptor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A message as stored in a stream, with its position. Immutable.
 *
 * @param stream the stream
 * @param partition the partition
 * @param offset its offset there
 * @param message the message as published (system headers removed)
 */
public record StoredMessage(String stream, int partition, long offset, Message message) {

  /** Rebuilds the published message from a stored record. */
  public static StoredMessage of(String stream, int partition, Record r) {
    String subject = null;
    String replyTo = null;
    List<Header> headers = new ArrayList<>(r.headers().size());
    for (Header h : r.headers()) {
      switch (h.key()) {
        case RecordBatchDescriptor.SUBJECT_HEADER ->
            subject = new String(h.value(), StandardCharsets.UTF_8);
        case PartitionAgent.REPLY_TO_HEADER ->
            replyTo = new String(h.value(), StandardCharsets.UTF_8);
        case PartitionAgent.MESSAGE_ID_HEADER -> {
          // Kept out of the user's headers: de-duplication is the broker's business.
        }
        default -> headers.add(h);
      }
    }
    byte[] payload = r.valueBytes();
    Message m =
        new Message(
            subject == null ? "" : subject,
            r.keyBytes(),
            headers,
            payload == null ? new byte[0] : payload,
            r.timestamp(),
            replyTo);
    return new StoredMessage(stream, partition, r.offset(), m);
  }
}

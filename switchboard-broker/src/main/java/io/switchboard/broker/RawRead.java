package io.switchboard.broker;

import java.nio.ByteBuffer;

/**
 * What one {@link Broker#tailRaw} read returns: whole stored record batches (Kafka's RecordBatch
 * v2, byte for byte, see docs/architecture.md "Record batches"), starting with the batch that holds
 * the offset asked for — so the first batch may begin before it, as a Kafka fetch does — and ending
 * before the readable end. The buffer is the caller's (a copy of the log's bytes).
 *
 * @param batches the batches; empty when there was nothing to read before the deadline
 * @param logStartOffset the partition's first readable offset when read
 * @param highWatermark the end of what readers may see when read (the next offset to be readable)
 */
public record RawRead(ByteBuffer batches, long logStartOffset, long highWatermark) {}

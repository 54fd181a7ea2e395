package io.switchboard.protocol.frame;

import io.switchboard.protocol.FrameType;

/**
 * One frame of the native protocol ({@code docs/protocol.md}). Every implementation is an immutable
 * record, safe to hand between threads.
 *
 * <p>Byte arrays (payloads, keys, header values, admin bodies) are owned by the frame once built:
 * the decoder copies them out of the network buffer, so a frame holds no reference-counted memory
 * and needs no release. Callers must not modify the arrays. Record {@code equals} compares arrays
 * by identity, as records do; compare frames field by field (tests use AssertJ's recursive
 * comparison).
 */
public sealed interface Frame
    permits Hello,
        Welcome,
        Ping,
        Pong,
        Goodbye,
        ErrorFrame,
        Ok,
        AuthChallenge,
        AuthResponse,
        Publish,
        PublishBatch,
        PubAck,
        PubAckBatch,
        Subscribe,
        Unsubscribe,
        LiveMessage,
        Dropped,
        Request,
        Reply,
        Fetch,
        Deliveries,
        Consume,
        Credit,
        DeliveryPush,
        Acks,
        Acked,
        Read,
        ReadSubject,
        Last,
        Messages,
        Admin,
        AdminReply {

  /** This frame's type. */
  FrameType type();
}

/**
 * The native Switchboard wire protocol, shared by the server and the Java client: frame types,
 * layout constants ({@link io.switchboard.protocol.FrameDescriptor}) and decode limits ({@link
 * io.switchboard.protocol.ProtocolLimits}). The spec is {@code docs/protocol.md}; frames are in
 * {@code io.switchboard.protocol.frame}, the Netty codec in {@code io.switchboard.protocol.codec}.
 */
package io.switchboard.protocol;

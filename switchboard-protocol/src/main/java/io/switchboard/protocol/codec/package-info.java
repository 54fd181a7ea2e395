/**
 * The Netty codec of the native protocol: a per-connection {@link
 * io.switchboard.protocol.codec.NativeFrameDecoder}, the shared {@link
 * io.switchboard.protocol.codec.NativeFrameEncoder}, and {@link
 * io.switchboard.protocol.codec.FrameCodec} for whole frames outside a pipeline.
 */
package io.switchboard.protocol.codec;

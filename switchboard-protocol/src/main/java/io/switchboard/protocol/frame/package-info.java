/**
 * The frames of the native protocol: immutable records, one per frame type, holding only plain Java
 * values (no network buffers), so they can cross threads freely.
 */
package io.switchboard.protocol.frame;

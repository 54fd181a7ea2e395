package io.switchboard.core.subject;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;

/**
 * Bounds on subjects and patterns. Immutable.
 *
 * @param maxTokens most dot-separated tokens in a subject or pattern
 * @param maxBytes most UTF-8 bytes in a subject or pattern
 */
public record SubjectLimits(int maxTokens, int maxBytes) {

  /** 128 tokens: deeper than any real hierarchy, and it bounds the matcher's work per message. */
  public static final int DEFAULT_MAX_TOKENS = 128;

  /** 1 KiB: subjects travel in every message and index entry; this caps their cost. */
  public static final int DEFAULT_MAX_BYTES = 1024;

  public static final SubjectLimits DEFAULTS =
      new SubjectLimits(DEFAULT_MAX_TOKENS, DEFAULT_MAX_BYTES);

  public SubjectLimits {
    if (maxTokens < 1 || maxBytes < 1) {
      throw SwitchboardException.of(
          ErrorCode.INVALID_CONFIG,
          "subject limits must be >= 1 (maxTokens=" + maxTokens + ", maxBytes=" + maxBytes + ")");
    }
  }
}

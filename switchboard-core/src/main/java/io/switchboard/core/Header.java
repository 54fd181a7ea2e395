package io.switchboard.core;

import java.util.Arrays;
import java.util.Objects;

/**
 * A record header: a UTF-8 key and an optional byte value. Immutable once built; the value array
 * must not be modified after construction.
 *
 * @param key the header name
 * @param value the header value, or {@code null}
 */
public record Header(String key, byte[] value) {
  public Header {
    Objects.requireNonNull(key, "key");
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Header h && key.equals(h.key) && Arrays.equals(value, h.value);
  }

  @Override
  public int hashCode() {
    return 31 * key.hashCode() + Arrays.hashCode(value);
  }

  @Override
  public String toString() {
    return key + "=" + (value == null ? "null" : value.length + "B");
  }
}

package io.switchboard.spi.security;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How much one principal may use. Immutable. Rates are per second and shared by all of the
 * principal's connections; counts are open at once. {@code 0} is unlimited. In a stored quota
 * ({@link SecurityAdmin#setQuota}) a field of {@link #INHERIT} takes the server's default ({@code
 * quota.*} settings) for that field.
 *
 * @param publishBytes payload bytes published per second (publish and reply)
 * @param publishMessages messages published per second
 * @param consumeBytes payload bytes delivered per second (subscriptions, consumers, reads)
 * @param requests requests per second (request/reply and HTTP requests)
 * @param connections connections open at once
 * @param consumers subscriptions and consumers open at once, over all its connections
 */
public record QuotaLimits(
    long publishBytes,
    long publishMessages,
    long consumeBytes,
    long requests,
    long connections,
    long consumers) {

  /** A stored quota's field that takes the server's default. */
  public static final long INHERIT = -1;

  /** No limit on anything. */
  public static final QuotaLimits UNLIMITED = new QuotaLimits(0, 0, 0, 0, 0, 0);

  /** Every field inherited: a stored quota that changes nothing. */
  public static final QuotaLimits INHERIT_ALL =
      new QuotaLimits(INHERIT, INHERIT, INHERIT, INHERIT, INHERIT, INHERIT);

  /** The field names, as configuration, JSON and the command line spell them. */
  public static final java.util.List<String> FIELDS =
      java.util.List.of(
          "publish-bytes",
          "publish-messages",
          "consume-bytes",
          "requests",
          "connections",
          "consumers");

  /**
   * @throws SwitchboardException {@code INVALID_ARGUMENT} for a value below {@link #INHERIT}
   */
  public QuotaLimits {
    long[] all = {publishBytes, publishMessages, consumeBytes, requests, connections, consumers};
    for (int i = 0; i < all.length; i++) {
      if (all[i] < INHERIT) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "quota " + FIELDS.get(i) + " is " + all[i] + "; it must be 0 (unlimited) or more");
      }
    }
  }

  /** The value of field {@code i} (an index into {@link #FIELDS}). */
  public long get(int i) {
    return switch (i) {
      case 0 -> publishBytes;
      case 1 -> publishMessages;
      case 2 -> consumeBytes;
      case 3 -> requests;
      case 4 -> connections;
      case 5 -> consumers;
      default -> throw new IndexOutOfBoundsException(i);
    };
  }

  /** This quota with {@link #INHERIT} fields taken from {@code defaults}. */
  public QuotaLimits over(QuotaLimits defaults) {
    long[] v = new long[6];
    for (int i = 0; i < 6; i++) {
      v[i] = get(i) == INHERIT ? defaults.get(i) : get(i);
    }
    return of(v);
  }

  /** Fields by name ({@link #FIELDS}), in order. */
  public Map<String, Long> asMap() {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < 6; i++) {
      m.put(FIELDS.get(i), get(i));
    }
    return m;
  }

  /**
   * A quota from named fields; absent ones are {@link #INHERIT}.
   *
   * @throws SwitchboardException {@code INVALID_ARGUMENT} for an unknown name or a bad value
   */
  public static QuotaLimits fromMap(Map<String, Long> fields) {
    long[] v = {INHERIT, INHERIT, INHERIT, INHERIT, INHERIT, INHERIT};
    for (Map.Entry<String, Long> e : fields.entrySet()) {
      int i = FIELDS.indexOf(e.getKey().toLowerCase(Locale.ROOT));
      if (i < 0) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT,
            "unknown quota \"" + e.getKey() + "\"; known: " + String.join(", ", FIELDS));
      }
      if (e.getValue() == null) {
        throw SwitchboardException.of(
            ErrorCode.INVALID_ARGUMENT, "quota " + e.getKey() + " needs a number");
      }
      v[i] = e.getValue();
    }
    return of(v);
  }

  private static QuotaLimits of(long[] v) {
    return new QuotaLimits(v[0], v[1], v[2], v[3], v[4], v[5]);
  }
}

package io.switchboard.spi.security;

import java.util.Locale;

/**
 * What a principal may do, and what each permission's target is. Immutable.
 *
 * <p>Targets are checked against a rule's resource pattern with the subject wildcards ({@code *}
 * one token, {@code >} the rest):
 *
 * <ul>
 *   <li>{@link #PUBLISH}, {@link #SUBSCRIBE}, {@link #REQUEST}, {@link #REPLY}: a subject (a
 *       pattern for a subscription);
 *   <li>{@link #CONSUME}: {@code <stream>.<consumer>}, and {@code <stream>.$read} for reads without
 *       a consumer (stream names have no dots, so a rule {@code orders.>} covers every consumer of
 *       stream {@code orders});
 *   <li>{@link #ADMIN}: {@code <stream>} to create, change, inspect or delete a stream, {@code
 *       <stream>.<consumer>} for its consumers, {@code <stream>.$consumers} to list them, {@code
 *       $streams} to list streams, {@code $security} for users and rules.
 * </ul>
 */
public enum Permission {
  PUBLISH,
  SUBSCRIBE,
  CONSUME,
  REQUEST,
  REPLY,
  ADMIN;

  /** The target of security administration (users and rules). */
  public static final String SECURITY_TARGET = "$security";

  /** The {@link #ADMIN} target of listing streams. */
  public static final String STREAMS_TARGET = "$streams";

  /** The consumer token of listing a stream's consumers ({@code <stream>.$consumers}). */
  public static final String CONSUMERS_TOKEN = "$consumers";

  /** The consumer token of a read without a consumer ({@code <stream>.$read}). */
  public static final String READ_TOKEN = "$read";

  /** The lower-case name used in rules, files and the API: {@code publish}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The permission named {@code text} (case-insensitive).
   *
   * @throws IllegalArgumentException naming the valid ones
   */
  public static Permission parse(String text) {
    for (Permission p : values()) {
      if (p.wireName().equalsIgnoreCase(text.trim())) {
        return p;
      }
    }
    throw new IllegalArgumentException(
        "unknown permission \""
            + text
            + "\"; one of publish, subscribe, consume, request, reply, admin");
  }

  /** The {@link #CONSUME} target of a consumer: {@code <stream>.<consumer>}. */
  public static String consumerTarget(String stream, String consumer) {
    return stream + "." + consumer;
  }
}

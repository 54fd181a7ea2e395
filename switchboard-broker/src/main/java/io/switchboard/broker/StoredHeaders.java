package io.switchboard.broker;

/**
 * Names of the headers the broker itself reads on a publish or writes into a stored record, for
 * front ends that map their protocol's fields onto them (or keep clients from setting them). Values
 * are UTF-8 text.
 */
public final class StoredHeaders {
  private StoredHeaders() {}

  /** A message id for de-duplication; the broker keeps it out of the stored message's headers. */
  public static final String MESSAGE_ID = "sb-msg-id";

  /** A request's reply subject. */
  public static final String REPLY_TO = "sb-reply-to";

  /** The time a delayed message is due, in epoch milliseconds (decimal ASCII). */
  public static final String DELIVER_AT = "sb-deliver-at";

  /** A delay in milliseconds from the publish (decimal ASCII). */
  public static final String DELAY = "sb-delay-ms";
}

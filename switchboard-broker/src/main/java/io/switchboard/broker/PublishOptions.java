package io.switchboard.broker;

/**
 * Conditions on a publish. Immutable.
 *
 * @param expectedStream the stream that must capture the subject, or {@code null}
 * @param messageId id for de-duplication within the stream's window, or {@code null}
 */
public record PublishOptions(String expectedStream, String messageId) {
  public static final PublishOptions NONE = new PublishOptions(null, null);

  public static PublishOptions messageId(String id) {
    return new PublishOptions(null, id);
  }
}

package io.switchboard.broker;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.Message;
import io.switchboard.core.SwitchboardException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A durable binding, declared rather than programmed (see {@link Broker#bindDurable}): every
 * message published on a subject matching {@code pattern} is copied into stream {@code stream},
 * inside the publish, unless one of the skip rules says otherwise. Stored in the data directory and
 * restored when the broker opens, so nothing has to register it again.
 *
 * <p>The copy's subject is derived by one rule: {@code subjectPrefix} puts a prefix in front of the
 * original subject ({@code prefix + "." + subject}), or {@code fixedSubject} replaces it and keeps
 * the original subject in header {@link #ORIGINAL_SUBJECT_HEADER}. The copy keeps the original's
 * headers, plus {@code headers}.
 *
 * <p>An AMQP topic binding is one of these: {@code owner} "amqp", the exchange's routing key
 * pattern translated to a subject pattern ({@code *}→{@code *}, {@code #}→{@code >}), the queue's
 * stream as {@code stream}, and its binding arguments in {@code arguments}. As in AMQP, a message
 * that several bindings outside a group would copy to the same stream under the same subject is
 * copied there once.
 *
 * @param owner who made it (a front end: "mqtt", "amqp"), 1 to 64 characters; lists and removals
 *     are by owner
 * @param name unique within the owner, 1 to 512 characters; binding the same name again replaces it
 * @param pattern the subject pattern whose messages are copied
 * @param stream the stream the copies go to; it must exist when binding
 * @param subjectPrefix the copy's subject is this, a dot, and the original subject; or null
 * @param fixedSubject the copy's subject is this (and the original subject goes in a header); or
 *     null. Exactly one of the two is set
 * @param group null, or a group whose members (bindings with the same pattern and group, across
 *     owners) take the messages of their pattern in turn: one copy per message for the group
 * @param skipSubjectPrefixes a message whose subject starts with one of these is not copied
 * @param skipHeaders a message with one of these headers at exactly this value is not copied
 * @param headers added to every copy
 * @param arguments the owner's, stored and given back as they are (AMQP binding arguments, MQTT
 *     subscription options); the broker does not read them
 */
public record BindingSpec(
    String owner,
    String name,
    String pattern,
    String stream,
    String subjectPrefix,
    String fixedSubject,
    String group,
    List<String> skipSubjectPrefixes,
    Map<String, byte[]> skipHeaders,
    Map<String, byte[]> headers,
    Map<String, String> arguments) {

  /** Header holding the original subject in a copy made under a {@code fixedSubject}. */
  public static final String ORIGINAL_SUBJECT_HEADER = "sb-bound-subject";

  /** Entries a binding's lists and maps may hold, each. */
  public static final int MAX_ENTRIES = 32;

  /** Characters (or bytes, for header values) of one entry, at most. */
  public static final int MAX_ENTRY_LENGTH = 1024;

  public BindingSpec {
    skipSubjectPrefixes =
        skipSubjectPrefixes == null ? List.of() : List.copyOf(skipSubjectPrefixes);
    skipHeaders = skipHeaders == null ? Map.of() : Map.copyOf(skipHeaders);
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    arguments = arguments == null ? Map.of() : Map.copyOf(arguments);
    String what = name == null ? "(no name)" : name;
    check(owner != null && !owner.isEmpty() && owner.length() <= 64, what, "owner: 1 to 64 chars");
    check(name != null && !name.isEmpty() && name.length() <= 512, what, "name: 1 to 512 chars");
    check(pattern != null && !pattern.isEmpty(), what, "a subject pattern is required");
    check(stream != null && !stream.isEmpty(), what, "a target stream is required");
    check(
        (subjectPrefix == null) != (fixedSubject == null),
        what,
        "exactly one of subjectPrefix and fixedSubject");
    check(
        group == null || (!group.isEmpty() && group.length() <= 256),
        what,
        "a group name has 1 to 256 characters");
    check(
        skipSubjectPrefixes.size() <= MAX_ENTRIES
            && skipHeaders.size() <= MAX_ENTRIES
            && headers.size() <= MAX_ENTRIES
            && arguments.size() <= MAX_ENTRIES,
        what,
        "at most " + MAX_ENTRIES + " skip rules, headers and arguments each");
    for (String p : skipSubjectPrefixes) {
      check(!p.isEmpty() && p.length() <= MAX_ENTRY_LENGTH, what, "skip prefix length");
    }
    for (Map<String, byte[]> m : List.of(skipHeaders, headers)) {
      m.forEach(
          (k, v) ->
              check(
                  !k.isEmpty() && k.length() <= MAX_ENTRY_LENGTH && v.length <= MAX_ENTRY_LENGTH,
                  what,
                  "header \""
                      + k
                      + "\": 1 to "
                      + MAX_ENTRY_LENGTH
                      + " chars, value at most as long"));
    }
    arguments.forEach(
        (k, v) ->
            check(
                k.length() <= MAX_ENTRY_LENGTH && v.length() <= MAX_ENTRY_LENGTH,
                what,
                "argument \"" + k + "\" longer than " + MAX_ENTRY_LENGTH));
  }

  private static void check(boolean ok, String name, String problem) {
    if (!ok) {
      throw SwitchboardException.of(ErrorCode.INVALID_BINDING, name, problem);
    }
  }

  /** The copy of {@code m} this binding makes, or null when a skip rule applies. */
  Message copyOf(Message m) {
    for (String p : skipSubjectPrefixes) {
      if (m.subject().startsWith(p)) {
        return null;
      }
    }
    for (Map.Entry<String, byte[]> e : skipHeaders.entrySet()) {
      byte[] v = m.header(e.getKey());
      if (v != null && Arrays.equals(v, e.getValue())) {
        return null;
      }
    }
    Message copy;
    if (fixedSubject != null) {
      copy =
          m.withSubject(fixedSubject)
              .withHeader(
                  ORIGINAL_SUBJECT_HEADER,
                  m.subject().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } else {
      copy = m.withSubject(subjectPrefix + "." + m.subject());
    }
    for (Map.Entry<String, byte[]> e : headers.entrySet()) {
      copy = copy.withHeader(e.getKey(), e.getValue());
    }
    return copy;
  }

  // Records compare arrays by identity: these compare header values by content.
  @Override
  public boolean equals(Object o) {
    return o instanceof BindingSpec b
        && owner.equals(b.owner)
        && name.equals(b.name)
        && pattern.equals(b.pattern)
        && stream.equals(b.stream)
        && java.util.Objects.equals(subjectPrefix, b.subjectPrefix)
        && java.util.Objects.equals(fixedSubject, b.fixedSubject)
        && java.util.Objects.equals(group, b.group)
        && skipSubjectPrefixes.equals(b.skipSubjectPrefixes)
        && sameBytes(skipHeaders, b.skipHeaders)
        && sameBytes(headers, b.headers)
        && arguments.equals(b.arguments);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(owner, name, pattern, stream);
  }

  private static boolean sameBytes(Map<String, byte[]> a, Map<String, byte[]> b) {
    if (!a.keySet().equals(b.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : a.entrySet()) {
      if (!Arrays.equals(e.getValue(), b.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  public static Builder builder(String owner, String name, String pattern, String stream) {
    return new Builder(owner, name, pattern, stream);
  }

  /** Builds a {@link BindingSpec}; {@link #build} checks it. */
  public static final class Builder {
    private final String owner;
    private final String name;
    private final String pattern;
    private final String stream;
    private String subjectPrefix;
    private String fixedSubject;
    private String group;
    private final List<String> skipSubjectPrefixes = new ArrayList<>();
    private final Map<String, byte[]> skipHeaders = new LinkedHashMap<>();
    private final Map<String, byte[]> headers = new LinkedHashMap<>();
    private final Map<String, String> arguments = new LinkedHashMap<>();

    private Builder(String owner, String name, String pattern, String stream) {
      this.owner = owner;
      this.name = name;
      this.pattern = pattern;
      this.stream = stream;
    }

    /** The copy's subject is {@code prefix + "." + original subject}. */
    public Builder subjectPrefix(String prefix) {
      this.subjectPrefix = prefix;
      return this;
    }

    /** The copy's subject is {@code subject}; the original goes in a header. */
    public Builder fixedSubject(String subject) {
      this.fixedSubject = subject;
      return this;
    }

    public Builder group(String group) {
      this.group = group;
      return this;
    }

    public Builder skipSubjectPrefix(String prefix) {
      skipSubjectPrefixes.add(prefix);
      return this;
    }

    public Builder skipHeader(String header, byte[] value) {
      skipHeaders.put(header, value.clone());
      return this;
    }

    public Builder header(String header, byte[] value) {
      headers.put(header, value.clone());
      return this;
    }

    public Builder argument(String key, String value) {
      arguments.put(key, value);
      return this;
    }

    public BindingSpec build() {
      return new BindingSpec(
          owner,
          name,
          pattern,
          stream,
          subjectPrefix,
          fixedSubject,
          group,
          skipSubjectPrefixes,
          skipHeaders,
          headers,
          arguments);
    }
  }
}

package io.switchboard.spi.security;

import java.util.Objects;

/**
 * Who a connection acts as, once authenticated. Immutable.
 *
 * <p>Rules name a principal by its {@link #id()}: {@code user:alice}, {@code token:svc-billing},
 * {@code cert:CN=gateway,O=Acme}, or {@code anonymous}.
 *
 * @param kind how the identity was established
 * @param name the user name, the token's subject ({@code sub}), or the certificate's subject DN;
 *     empty for {@link Kind#ANONYMOUS}
 */
public record Principal(Kind kind, String name) {

  /** How an identity was established. */
  public enum Kind {
    /** A user with a stored SCRAM credential (PLAIN or a SCRAM exchange). */
    USER("user"),
    /** The subject of a verified bearer token (JWT). */
    TOKEN("token"),
    /** The subject of a verified client certificate (mutual TLS). */
    CERTIFICATE("cert"),
    /** Nobody: no credential was given and none was required. */
    ANONYMOUS("anonymous");

    private final String prefix;

    Kind(String prefix) {
      this.prefix = prefix;
    }

    /** The prefix of {@link Principal#id()}: {@code user}, {@code token}, {@code cert}. */
    public String prefix() {
      return prefix;
    }
  }

  /** The one anonymous principal. */
  public static final Principal ANONYMOUS = new Principal(Kind.ANONYMOUS, "");

  public Principal {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    if (kind != Kind.ANONYMOUS && name.isEmpty()) {
      throw new IllegalArgumentException(kind + " principal needs a name");
    }
  }

  public static Principal user(String name) {
    return new Principal(Kind.USER, name);
  }

  public static Principal token(String subject) {
    return new Principal(Kind.TOKEN, subject);
  }

  public static Principal certificate(String subjectDn) {
    return new Principal(Kind.CERTIFICATE, subjectDn);
  }

  /** The name rules use: {@code kind:name}, or {@code anonymous}. */
  public String id() {
    return kind == Kind.ANONYMOUS ? "anonymous" : kind.prefix + ":" + name;
  }

  @Override
  public String toString() {
    return id();
  }
}

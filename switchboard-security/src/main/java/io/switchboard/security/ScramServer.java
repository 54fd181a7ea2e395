package io.switchboard.security;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.Principal;
import io.switchboard.spi.security.ScramExchange.Step;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The server side of one SCRAM exchange (RFC 5802 §5, §7; RFC 7677), synchronous: {@link #first}
 * answers the client-first message, {@link #last} checks the client's proof and answers
 * server-final. Confined to one connection.
 *
 * <p>Channel binding is not offered: a client-first message with {@code p=} is refused; {@code n}
 * and {@code y} are accepted. An unknown user gets a salt derived from the user name (stable, so
 * repeated attempts cannot tell unknown from known users) and fails at the proof like a wrong
 * password.
 *
 * <pre>
 * C: n,,n=user,r=cnonce
 * S: r=cnonce+snonce,s=base64(salt),i=iterations
 * C: c=base64(gs2-header),r=cnonce+snonce,p=base64(ClientKey XOR HMAC(StoredKey, AuthMessage))
 * S: v=base64(HMAC(ServerKey, AuthMessage))
 * </pre>
 */
public final class ScramServer {
  /** Longest message accepted: names and nonces are short; bounds pre-auth work. */
  public static final int MAX_MESSAGE_BYTES = 4096;

  private enum State {
    FIRST,
    FINAL,
    DONE
  }

  private final ScramMechanism mechanism;
  private final Function<String, ScramCredential> credentials;
  private final Function<String, ScramCredential> decoy;
  private final Supplier<String> serverNonce;
  private State state = State.FIRST;
  private String user;
  private ScramCredential credential;
  private boolean known;
  private String gs2Header;
  private String clientFirstBare;
  private String serverFirst;
  private String nonce;

  /**
   * @param credentials the stored credential of a user for this mechanism, or null
   * @param decoy a credential for a user that does not exist (stable salt, unusable keys)
   * @param serverNonce fresh printable nonce text, without commas
   */
  public ScramServer(
      ScramMechanism mechanism,
      Function<String, ScramCredential> credentials,
      Function<String, ScramCredential> decoy,
      Supplier<String> serverNonce) {
    this.mechanism = mechanism;
    this.credentials = credentials;
    this.decoy = decoy;
    this.serverNonce = serverNonce;
  }

  /** The user named in the client-first message (null before it). */
  public String user() {
    return user;
  }

  /**
   * Answers the next client message.
   *
   * @throws SwitchboardException {@code AUTHENTICATION_FAILED}
   */
  public Step next(byte[] message) {
    if (message.length > MAX_MESSAGE_BYTES) {
      throw fail("SCRAM message too long");
    }
    String text = new String(message, StandardCharsets.UTF_8);
    return switch (state) {
      case FIRST -> new Step(first(text).getBytes(StandardCharsets.UTF_8), null);
      case FINAL -> new Step(last(text).getBytes(StandardCharsets.UTF_8), Principal.user(user));
      case DONE -> throw fail("the SCRAM exchange is over");
    };
  }

  /** Answers client-first with server-first. */
  String first(String clientFirst) {
    state = State.DONE; // until it succeeds
    // gs2-header = gs2-cbind-flag "," [authzid] ","
    int c1 = clientFirst.indexOf(',');
    int c2 = c1 < 0 ? -1 : clientFirst.indexOf(',', c1 + 1);
    if (c2 < 0) {
      throw fail("malformed client-first message");
    }
    String flag = clientFirst.substring(0, c1);
    if (!flag.equals("n") && !flag.equals("y")) {
      throw fail("channel binding is not supported");
    }
    String authzid = clientFirst.substring(c1 + 1, c2);
    gs2Header = clientFirst.substring(0, c2 + 1);
    clientFirstBare = clientFirst.substring(c2 + 1);
    String[] attrs = clientFirstBare.split(",", -1);
    if (attrs.length < 2 || !attrs[0].startsWith("n=") || !attrs[1].startsWith("r=")) {
      throw fail("malformed client-first message");
    }
    user = unescape(attrs[0].substring(2));
    String clientNonce = attrs[1].substring(2);
    if (user.isEmpty() || clientNonce.isEmpty()) {
      throw fail("malformed client-first message");
    }
    if (!authzid.isEmpty()
        && !unescape(authzid.substring(authzid.startsWith("a=") ? 2 : 0)).equals(user)) {
      throw fail("authorization identity differs from the user");
    }
    credential = credentials.apply(user);
    known = credential != null;
    if (!known) {
      credential = decoy.apply(user);
    }
    nonce = clientNonce + serverNonce.get();
    serverFirst =
        "r="
            + nonce
            + ",s="
            + Base64.getEncoder().encodeToString(credential.salt())
            + ",i="
            + credential.iterations();
    state = State.FINAL;
    return serverFirst;
  }

  /** Checks client-final and answers server-final. */
  String last(String clientFinal) {
    state = State.DONE;
    int p = clientFinal.lastIndexOf(",p=");
    if (p < 0) {
      throw fail("malformed client-final message");
    }
    String withoutProof = clientFinal.substring(0, p);
    String[] attrs = withoutProof.split(",", -1);
    if (attrs.length < 2 || !attrs[0].startsWith("c=") || !attrs[1].startsWith("r=")) {
      throw fail("malformed client-final message");
    }
    byte[] binding = decode(attrs[0].substring(2));
    if (!MessageDigest.isEqual(binding, gs2Header.getBytes(StandardCharsets.UTF_8))) {
      throw fail("channel binding does not match");
    }
    if (!attrs[1].substring(2).equals(nonce)) {
      throw fail("nonce does not match");
    }
    byte[] proof = decode(clientFinal.substring(p + 3));
    byte[] authMessage =
        (clientFirstBare + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);
    byte[] signature = mechanism.hmac(credential.storedKey(), authMessage);
    if (proof.length != signature.length) {
      throw fail("invalid proof");
    }
    byte[] clientKey = new byte[proof.length];
    for (int i = 0; i < proof.length; i++) {
      clientKey[i] = (byte) (proof[i] ^ signature[i]);
    }
    boolean valid = MessageDigest.isEqual(mechanism.hash(clientKey), credential.storedKey());
    if (!valid || !known) {
      throw fail("invalid proof");
    }
    byte[] serverSignature = mechanism.hmac(credential.serverKey(), authMessage);
    return "v=" + Base64.getEncoder().encodeToString(serverSignature);
  }

  private static byte[] decode(String b64) {
    try {
      return Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw fail("malformed base64");
    }
  }

  /** saslname: "=2C" is ',', "=3D" is '=' (RFC 5802 §5.1); any other '=' is malformed. */
  static String unescape(String name) {
    StringBuilder out = new StringBuilder(name.length());
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c != '=') {
        out.append(c);
      } else if (name.startsWith("=2C", i)) {
        out.append(',');
        i += 2;
      } else if (name.startsWith("=3D", i)) {
        out.append('=');
        i += 2;
      } else {
        throw fail("malformed user name");
      }
    }
    return out.toString();
  }

  private static SwitchboardException fail(String why) {
    return SwitchboardException.of(ErrorCode.AUTHENTICATION_FAILED, why);
  }
}

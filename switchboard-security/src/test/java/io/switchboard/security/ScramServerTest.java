package io.switchboard.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import io.switchboard.spi.security.ScramExchange.Step;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ScramServerTest {
  // RFC 7677 §3: user "user", password "pencil".
  static final String CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
  static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  static final String SERVER_FIRST =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  static final String CLIENT_FINAL =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
          + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

  static ScramCredential rfcCredential() {
    return ScramMechanism.SCRAM_SHA_256.credential(
        "pencil", Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  }

  static ScramServer server(ScramCredential cred) {
    return new ScramServer(
        ScramMechanism.SCRAM_SHA_256,
        u -> u.equals("user") ? cred : null,
        u ->
            new ScramCredential(
                ScramMechanism.SCRAM_SHA_256, new byte[16], 4096, new byte[32], new byte[32]),
        () -> SERVER_NONCE);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void shouldAnswerRfc7677ExampleExactly() {
    ScramServer s = server(rfcCredential());
    Step first = s.next(utf8(CLIENT_FIRST));
    assertThat(new String(first.serverMessage(), StandardCharsets.UTF_8)).isEqualTo(SERVER_FIRST);
    assertThat(first.complete()).isFalse();
    Step last = s.next(utf8(CLIENT_FINAL));
    assertThat(new String(last.serverMessage(), StandardCharsets.UTF_8)).isEqualTo(SERVER_FINAL);
    assertThat(last.principal().id()).isEqualTo("user:user");
  }

  @Test
  void shouldRefuseAWrongPasswordAndAnUnknownUserAlike() {
    ScramCredential other =
        ScramMechanism.SCRAM_SHA_256.credential(
            "not-pencil", Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    ScramServer wrong = server(other);
    wrong.next(utf8(CLIENT_FIRST));
    assertThatThrownBy(() -> wrong.next(utf8(CLIENT_FINAL)))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.AUTHENTICATION_FAILED);
              assertThat(e.getMessage()).endsWith(": invalid proof");
            });
    ScramServer unknown = server(rfcCredential());
    Step first = unknown.next(utf8("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO"));
    assertThat(new String(first.serverMessage(), StandardCharsets.UTF_8)).contains(",i=4096");
    assertThatThrownBy(
            () ->
                unknown.next(
                    utf8(
                        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")))
        .isInstanceOfSatisfying(
            SwitchboardException.class,
            e -> assertThat(e.getMessage()).endsWith(": invalid proof"));
  }

  @Test
  void shouldRefuseATamperedNonceChannelBindingAndMalformedMessages() {
    ScramServer nonce = server(rfcCredential());
    nonce.next(utf8(CLIENT_FIRST));
    assertThatThrownBy(() -> nonce.next(utf8(CLIENT_FINAL.replace("k0,p=", "k1,p="))))
        .hasMessageContaining("nonce does not match");
    ScramServer binding = server(rfcCredential());
    binding.next(utf8(CLIENT_FIRST));
    assertThatThrownBy(() -> binding.next(utf8(CLIENT_FINAL.replace("c=biws", "c=eSws"))))
        .hasMessageContaining("channel binding");
    assertThatThrownBy(() -> server(rfcCredential()).next(utf8("p=tls-unique,,n=user,r=x")))
        .hasMessageContaining("channel binding is not supported");
    assertThatThrownBy(() -> server(rfcCredential()).next(utf8("garbage")))
        .hasMessageContaining("malformed");
    assertThatThrownBy(() -> server(rfcCredential()).next(new byte[5000]))
        .hasMessageContaining("too long");
    ScramServer done = server(rfcCredential());
    done.next(utf8(CLIENT_FIRST));
    done.next(utf8(CLIENT_FINAL));
    assertThatThrownBy(() -> done.next(utf8(CLIENT_FINAL))).hasMessageContaining("over");
  }

  @Test
  void shouldUnescapeSaslNames() {
    assertThat(ScramServer.unescape("a=2Cb=3Dc")).isEqualTo("a,b=c");
    assertThatThrownBy(() -> ScramServer.unescape("a=b"))
        .hasMessageContaining("malformed user name");
  }

  @Test
  void shouldVerifyPlainPasswordsAgainstBothMechanisms() {
    SecureRandom random = new SecureRandom();
    for (ScramMechanism m : ScramMechanism.values()) {
      ScramCredential c = m.newCredential("s3cret", random);
      assertThat(c.matches("s3cret")).isTrue();
      assertThat(c.matches("s3cret ")).isFalse();
      assertThat(c.storedKey()).hasSize(m.hashBytes());
    }
    assertThat(rfcCredential().matches("pencil")).isTrue();
  }
}

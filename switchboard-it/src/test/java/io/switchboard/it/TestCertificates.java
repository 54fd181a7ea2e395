package io.switchboard.it;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made in the test: a self-signed server certificate for {@code localhost} and {@code
 * 127.0.0.1} (it is its own CA), written as PEM files the server reads.
 */
final class TestCertificates {
  private TestCertificates() {}

  /** PEM files of one certificate and its key. */
  record Pem(
      Path cert, Path key, X509Certificate certificate, java.security.PrivateKey privateKey) {}

  /** Writes {@code <name>.crt} and {@code <name>.key} into {@code dir}. */
  static Pem selfSigned(Path dir, String name, String cn) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    KeyPair kp = g.generateKeyPair();
    long now = System.currentTimeMillis();
    X500Name subject = new X500Name("CN=" + cn);
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            subject,
            BigInteger.valueOf(now).shiftLeft(8).add(BigInteger.valueOf(name.hashCode() & 0xff)),
            new Date(now - 60_000),
            new Date(now + 86_400_000L),
            subject,
            kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.dNSName, "localhost"),
              new GeneralName(GeneralName.iPAddress, "127.0.0.1")
            }));
    X509Certificate cert =
        new JcaX509CertificateConverter()
            .getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
    Path certFile = dir.resolve(name + ".crt");
    Path keyFile = dir.resolve(name + ".key");
    Files.writeString(certFile, pem(cert));
    Files.writeString(
        keyFile, pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(kp.getPrivate(), null)));
    return new Pem(certFile, keyFile, cert, kp.getPrivate());
  }

  private static String pem(Object o) throws Exception {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(o);
    }
    return out.toString();
  }
}

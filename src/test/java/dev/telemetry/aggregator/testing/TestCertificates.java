package dev.telemetry.aggregator.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Throw-away self-signed certificates made with the JDK's {@code keytool} (two runs; the rest with
 * the JDK's {@link KeyStore}): the broker's for 127.0.0.1 and a client's for mutual TLS, each in a
 * PKCS12 key store; trust stores holding the other side's certificate (PKCS12 and PEM); and the
 * client's key and certificate as PEM. Each side trusts exactly the other's certificate.
 */
public final class TestCertificates {
    /** The subject of the client certificate; the broker names its principal {@code User:<it>}. */
    public static final String CLIENT_SUBJECT = "CN=telemetry-aggregator-mtls,O=telemetry-test";

    private static final Duration KEYTOOL_TIMEOUT = Duration.ofMinutes(1);

    private final Path dir;
    private final String storePassword = "store-" + UUID.randomUUID();
    private final String truststorePassword = "trust-" + UUID.randomUUID();

    private TestCertificates(Path dir) {
        this.dir = dir;
    }

    /** Makes the broker's and the client's certificates and the stores in {@code dir}. */
    public static TestCertificates create(Path dir) {
        TestCertificates certificates = new TestCertificates(dir);
        certificates.generate();
        return certificates;
    }

    /** The broker's key store (PKCS12, password {@link #storePassword()}). */
    public Path brokerKeystore() {
        return dir.resolve("broker.p12");
    }

    /** The broker's trust store: the client's certificate (PKCS12, {@link #storePassword()}). */
    public Path brokerTruststore() {
        return dir.resolve("broker-truststore.p12");
    }

    /** The client's key store (PKCS12, password {@link #storePassword()}). */
    public Path clientKeystore() {
        return dir.resolve("client.p12");
    }

    /** The client's private key (unencrypted PKCS#8) and certificate in one PEM file. */
    public Path clientPem() {
        return dir.resolve("client.pem");
    }

    /**
     * The client's trust store: the broker's certificate (PKCS12, {@link #truststorePassword()}).
     */
    public Path truststore() {
        return dir.resolve("truststore.p12");
    }

    /** The broker's certificate as PEM: a PEM trust store for clients. */
    public Path truststorePem() {
        return dir.resolve("truststore.pem");
    }

    public String storePassword() {
        return storePassword;
    }

    public String truststorePassword() {
        return truststorePassword;
    }

    /** The base64 body of the client's PEM private key, a secret that must never leak. */
    public String clientPemKeyBody() {
        try {
            String pem = Files.readString(clientPem());
            return pem.substring(
                            pem.indexOf("-----BEGIN PRIVATE KEY-----")
                                    + "-----BEGIN PRIVATE KEY-----".length(),
                            pem.indexOf("-----END PRIVATE KEY-----"))
                    .trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void generate() {
        keytool("broker", "CN=127.0.0.1,O=telemetry-test", "SAN=ip:127.0.0.1", brokerKeystore());
        keytool("client", CLIENT_SUBJECT, null, clientKeystore());
        try {
            KeyStore broker = load(brokerKeystore());
            KeyStore client = load(clientKeystore());
            Certificate brokerCertificate = broker.getCertificate("broker");
            Certificate clientCertificate = client.getCertificate("client");
            store(trusting("client", clientCertificate), brokerTruststore(), storePassword);
            store(trusting("broker", brokerCertificate), truststore(), truststorePassword);
            Files.writeString(
                    truststorePem(),
                    pemBlock("CERTIFICATE", brokerCertificate.getEncoded()),
                    StandardCharsets.US_ASCII);
            Files.writeString(
                    clientPem(),
                    pemBlock(
                                    "PRIVATE KEY",
                                    client.getKey("client", storePassword.toCharArray())
                                            .getEncoded())
                            + pemBlock("CERTIFICATE", clientCertificate.getEncoded()),
                    StandardCharsets.US_ASCII);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("Cannot write the test trust and key stores", e);
        }
    }

    private KeyStore load(Path path) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(path)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, storePassword.toCharArray());
            return store;
        }
    }

    private static KeyStore trusting(String alias, Certificate certificate)
            throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry(alias, certificate);
        return store;
    }

    private static void store(KeyStore store, Path path, String password)
            throws IOException, GeneralSecurityException {
        try (OutputStream out = Files.newOutputStream(path)) {
            store.store(out, password.toCharArray());
        }
    }

    private static String pemBlock(String type, byte[] der) {
        return "-----BEGIN "
                + type
                + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END "
                + type
                + "-----\n";
    }

    /** A self-signed key pair in a PKCS12 key store. */
    private void keytool(String alias, String subject, String extension, Path keystore) {
        List<String> command =
                new ArrayList<>(
                        List.of(
                                Paths.get(System.getProperty("java.home"), "bin", "keytool")
                                        .toString(),
                                "-genkeypair",
                                "-alias",
                                alias,
                                "-dname",
                                subject,
                                "-keyalg",
                                "RSA",
                                "-keysize",
                                "2048",
                                "-validity",
                                "2",
                                "-keystore",
                                keystore.toString(),
                                "-storetype",
                                "PKCS12",
                                "-storepass",
                                storePassword));
        if (extension != null) {
            command.addAll(List.of("-ext", extension));
        }
        ExternalTools.Result result = ExternalTools.run(KEYTOOL_TIMEOUT, dir, null, command);
        if (!result.succeeded()) {
            throw new IllegalStateException("keytool failed: " + result);
        }
    }
}

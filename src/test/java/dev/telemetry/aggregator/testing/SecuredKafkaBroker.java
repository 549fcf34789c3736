package dev.telemetry.aggregator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;

/**
 * A real broker (its own process, 127.0.0.1 only) secured as in production: a SASL_SSL listener
 * with SCRAM-SHA-512, an SSL listener that requires client certificates (mutual TLS), KRaft's
 * {@code StandardAuthorizer} with {@code allow.everyone.if.no.acl.found=false}, so a principal can
 * do only what its ACLs allow. A PLAINTEXT listener, whose anonymous principal is the super user,
 * serves the test itself ({@link #adminBootstrapServers()}) and the broker's own traffic.
 */
public final class SecuredKafkaBroker implements AutoCloseable {
    /** The SCRAM user the service logs in as. */
    public static final String SCRAM_USER = "telemetry-aggregator";

    private final Path dir;
    private final TestCertificates certificates;
    private final String scramPassword = "scram-" + UUID.randomUUID();
    private final KafkaBrokerProcess broker;
    private final String adminBootstrap;
    private final String saslSslBootstrap;
    private final String sslBootstrap;
    private final Admin admin;

    private SecuredKafkaBroker(Path dir) throws IOException {
        this.dir = dir;
        long started = System.nanoTime();
        this.certificates = TestCertificates.create(Files.createDirectories(dir.resolve("tls")));
        int adminPort = KafkaBrokerProcess.freePort();
        int controllerPort = KafkaBrokerProcess.freePort();
        int saslPort = KafkaBrokerProcess.freePort();
        int sslPort = KafkaBrokerProcess.freePort();
        adminBootstrap = "127.0.0.1:" + adminPort;
        saslSslBootstrap = "127.0.0.1:" + saslPort;
        sslBootstrap = "127.0.0.1:" + sslPort;

        Properties config = KafkaBrokerProcess.baseConfig(dir, controllerPort);
        config.put(
                "listeners",
                "PLAINTEXT://"
                        + adminBootstrap
                        + ",CONTROLLER://127.0.0.1:"
                        + controllerPort
                        + ",SASL_SSL://"
                        + saslSslBootstrap
                        + ",SSL://"
                        + sslBootstrap);
        config.put(
                "advertised.listeners",
                "PLAINTEXT://"
                        + adminBootstrap
                        + ",SASL_SSL://"
                        + saslSslBootstrap
                        + ",SSL://"
                        + sslBootstrap);
        config.put(
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL");
        config.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
        config.put(
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        config.put("ssl.keystore.location", certificates.brokerKeystore().toString());
        config.put("ssl.keystore.type", "PKCS12");
        config.put("ssl.keystore.password", certificates.storePassword());
        config.put("ssl.key.password", certificates.storePassword());
        config.put("ssl.truststore.location", certificates.brokerTruststore().toString());
        config.put("ssl.truststore.type", "PKCS12");
        config.put("ssl.truststore.password", certificates.storePassword());
        config.put("listener.name.ssl.ssl.client.auth", "required");
        config.put(
                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        config.put("allow.everyone.if.no.acl.found", "false");
        // The test's own clients, the broker's inter-broker and controller traffic.
        config.put("super.users", "User:ANONYMOUS");
        broker =
                KafkaBrokerProcess.start(
                        dir,
                        config,
                        adminBootstrap,
                        List.of(
                                "--add-scram",
                                "SCRAM-SHA-512=[name="
                                        + SCRAM_USER
                                        + ",password="
                                        + scramPassword
                                        + "]"));
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, adminBootstrap);
        admin = Admin.create(properties);
        System.out.printf(
                "Secured test broker ready (SASL_SSL %s, mutual TLS %s) in %d ms (log: %s)%n",
                saslSslBootstrap,
                sslBootstrap,
                (System.nanoTime() - started) / 1_000_000,
                dir.resolve("broker-1.log"));
    }

    /** Makes certificates and starts the broker in a new directory under {@code target}. */
    public static SecuredKafkaBroker start() {
        try {
            return new SecuredKafkaBroker(
                    Files.createTempDirectory(
                            Paths.get("target").toAbsolutePath(), "kafka-secured-broker-"));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the secured test broker", e);
        }
    }

    /** The super user's listener (PLAINTEXT, anonymous): for the test's own clients only. */
    public String adminBootstrapServers() {
        return adminBootstrap;
    }

    /** SASL_SSL with SCRAM-SHA-512 ({@link #SCRAM_USER}, {@link #scramPassword()}). */
    public String saslSslBootstrapServers() {
        return saslSslBootstrap;
    }

    /** SSL with required client certificates. */
    public String sslBootstrapServers() {
        return sslBootstrap;
    }

    public String scramPassword() {
        return scramPassword;
    }

    public TestCertificates certificates() {
        return certificates;
    }

    public Path directory() {
        return dir;
    }

    public void grant(Collection<AclBinding> acls) {
        try {
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException
                | ExecutionException
                | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Cannot create ACLs " + acls, e);
        }
    }

    public void revoke(AclBindingFilter filter) {
        try {
            admin.deleteAcls(List.of(filter)).all().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException
                | ExecutionException
                | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Cannot delete ACLs " + filter, e);
        }
    }

    @Override
    public void close() {
        admin.close();
        broker.close();
    }
}

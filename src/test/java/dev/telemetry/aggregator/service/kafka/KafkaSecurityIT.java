package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SecuredKafkaBroker;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import dev.telemetry.aggregator.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged service, configured by environment variables only, against a broker that enforces
 * authentication and ACLs ({@code allow.everyone.if.no.acl.found=false}), with nothing granted but
 * the ACLs the README lists: SASL_SSL with SCRAM-SHA-512, and mutual TLS with a PEM key. Each run
 * gives exactly the expected aggregates; without the transactional-id ACL start-up fails saying
 * which ACL to grant; no secret appears in the logs, {@code /q/health} or {@code /q/metrics}.
 */
class KafkaSecurityIT {
    private static final long START = 1_763_712_000_000L;
    private static final int PARTITIONS = 2;
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private static SecuredKafkaBroker broker;
    private static KafkaTestClient kafka;

    @BeforeAll
    static void startBroker() {
        broker = SecuredKafkaBroker.start();
        kafka = new KafkaTestClient(broker.adminBootstrapServers());
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void saslSslWithScramSha512AndOnlyTheDocumentedAcls() throws Exception {
        // The SASL password from a file (a mounted Kubernetes secret), the trust store's from an
        // environment variable: both ways secrets come in.
        Path passwordFile = broker.directory().resolve("secrets").resolve("sasl-password");
        Files.createDirectories(passwordFile.getParent());
        Files.writeString(passwordFile, broker.scramPassword() + "\n");
        TestCertificates tls = broker.certificates();
        Map<String, String> security =
                Map.of(
                        "KAFKA_SECURITY_PROTOCOL",
                        "SASL_SSL",
                        "KAFKA_SASL_MECHANISM",
                        "SCRAM-SHA-512",
                        "KAFKA_SASL_USERNAME",
                        SecuredKafkaBroker.SCRAM_USER,
                        "KAFKA_SASL_PASSWORD_FILE",
                        passwordFile.toString(),
                        "KAFKA_SSL_TRUSTSTORE_LOCATION",
                        tls.truststore().toString(),
                        "KAFKA_SSL_TRUSTSTORE_PASSWORD",
                        tls.truststorePassword());
        runWithLeastPrivilege(
                "sasl",
                broker.saslSslBootstrapServers(),
                security,
                "User:" + SecuredKafkaBroker.SCRAM_USER,
                List.of(broker.scramPassword(), tls.truststorePassword()));
    }

    @Test
    void mutualTlsWithAPemKeyAndOnlyTheDocumentedAcls() throws Exception {
        TestCertificates tls = broker.certificates();
        // The trust store through the generic pass-through (KAFKA_PROPERTIES_<NAME>), the key
        // store through the first-class settings.
        Map<String, String> security =
                Map.of(
                        "KAFKA_SECURITY_PROTOCOL",
                        "SSL",
                        "KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION",
                        tls.truststore().toString(),
                        "KAFKA_PROPERTIES_SSL_TRUSTSTORE_TYPE",
                        "PKCS12",
                        "KAFKA_PROPERTIES_SSL_TRUSTSTORE_PASSWORD",
                        tls.truststorePassword(),
                        "KAFKA_SSL_KEYSTORE_LOCATION",
                        tls.clientPem().toString(),
                        "KAFKA_SSL_KEYSTORE_TYPE",
                        "PEM");
        runWithLeastPrivilege(
                "mtls",
                broker.sslBootstrapServers(),
                security,
                "User:" + TestCertificates.CLIENT_SUBJECT,
                List.of(tls.clientPemKeyBody(), tls.truststorePassword(), tls.storePassword()));
    }

    private void runWithLeastPrivilege(
            String name,
            String bootstrapServers,
            Map<String, String> security,
            String principal,
            List<String> secrets)
            throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        Path workDir = Paths.get("target", "security-it", name + "-" + topics.input());
        Map<String, String> environment =
                ServiceProcess.environment(
                        bootstrapServers,
                        topics.input(),
                        topics.output(),
                        topics.deadLetters(),
                        workDir.resolve("checkpoints"));
        environment.putAll(security);
        environment.put("TELEMETRY_SOURCE_START", "earliest");
        environment.put("TELEMETRY_WINDOW_SIZE", "2s");
        environment.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        environment.put("TELEMETRY_WATERMARK_IDLENESS", "3s");
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
        // The clients' own logs too, where a secret would most likely slip out.
        environment.put("QUARKUS_LOG_CATEGORY__ORG_APACHE_KAFKA__LEVEL", "INFO");
        environment.put("QUARKUS_LOG_CATEGORY__ORG_APACHE_FLINK__LEVEL", "INFO");
        String group = environment.get("TELEMETRY_SOURCE_GROUP_ID");
        String prefix = environment.get("TELEMETRY_TRANSACTIONAL_ID_PREFIX");
        broker.grant(documentedAcls(principal, topics, group, prefix));

        List<Event> events = TelemetryFixtures.events("sensor-", 3, 2, 12, START, 500, 300, 11);
        Map<AggregateKey, Aggregate> expected = TelemetryFixtures.expectedAggregates(events, 2_000);
        List<String> exposed = new ArrayList<>();
        try (ServiceProcess service = new ServiceProcess(environment, workDir)) {
            service.start();
            service.awaitReady(TIMEOUT);
            kafka.send(events.stream().map(e -> e.toRecord(topics.input(), PARTITIONS)).toList());
            kafka.awaitCheckpointed(group, topics.input(), TIMEOUT);
            kafka.send(
                    TelemetryFixtures.watermarkFlush(
                            topics.input(), PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    topics.output(),
                    TIMEOUT,
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            exposed.add(service.get("/q/health", "application/json"));
            exposed.add(service.get("/q/metrics", "text/plain"));
            assertThat(service.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();

            broker.revoke(
                    new AclBindingFilter(
                            new ResourcePatternFilter(
                                    ResourceType.TRANSACTIONAL_ID,
                                    prefix + "-",
                                    PatternType.PREFIXED),
                            AccessControlEntryFilter.ANY));
            service.start();
            assertThat(service.awaitExit(TIMEOUT))
                    .as("exit code without the transactional-id ACL")
                    .isNotIn(0, -1);
            assertThat(service.lastLog())
                    .contains(
                            "Kafka denied Write on transactional-id prefix '"
                                    + prefix
                                    + "-' for this service's principal "
                                    + principal)
                    .contains(
                            "kafka-acls.sh --bootstrap-server "
                                    + bootstrapServers
                                    + " --add --allow-principal '"
                                    + principal
                                    + "' --operation Write --transactional-id '"
                                    + prefix
                                    + "-' --resource-pattern-type prefixed");
            exposed.addAll(service.logsOfEachStart());
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                expected);
        for (String secret : secrets) {
            assertThat(exposed)
                    .as("logs, /q/health and /q/metrics never show a secret")
                    .noneMatch(text -> text.contains(secret));
        }
    }

    /** The README's ACL list (Kafka security), for one deployment. */
    static List<AclBinding> documentedAcls(
            String principal, KafkaTestClient.TestTopics topics, String group, String prefix) {
        List<AclBinding> acls = new ArrayList<>();
        acls.add(allow(principal, ResourceType.TOPIC, topics.input(), AclOperation.READ));
        for (String topic : List.of(topics.output(), topics.deadLetters())) {
            acls.add(allow(principal, ResourceType.TOPIC, topic, AclOperation.WRITE));
            acls.add(allow(principal, ResourceType.TOPIC, topic, AclOperation.READ));
        }
        acls.add(allow(principal, ResourceType.GROUP, group, AclOperation.READ));
        acls.add(
                new AclBinding(
                        new ResourcePattern(
                                ResourceType.TRANSACTIONAL_ID, prefix + "-", PatternType.PREFIXED),
                        new AccessControlEntry(
                                principal, "*", AclOperation.WRITE, AclPermissionType.ALLOW)));
        acls.add(
                allow(
                        principal,
                        ResourceType.CLUSTER,
                        "kafka-cluster",
                        AclOperation.DESCRIBE_CONFIGS));
        return acls;
    }

    private static AclBinding allow(
            String principal, ResourceType type, String name, AclOperation operation) {
        return new AclBinding(
                new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
    }
}

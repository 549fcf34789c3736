package dev.telemetry.aggregator.job.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first-class Kafka security settings: the client properties they stand for (the JAAS line
 * included), secrets from files, and errors that name the setting and its environment variable but
 * never the secret.
 */
class KafkaSecurityTest {
    private static final String PASSWORD = "pa\"ss\\word-0123";

    @TempDir Path dir;

    @Test
    void scramWithAPasswordFileBuildsTheJaasLine() throws Exception {
        Path file = dir.resolve("password");
        Files.writeString(file, PASSWORD + "\n");
        Path truststore = Files.writeString(dir.resolve("ca.crt"), "pem");

        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                KafkaSecurity.SECURITY_PROTOCOL.key(),
                                "sasl_ssl",
                                KafkaSecurity.SASL_USERNAME.key(),
                                "svc",
                                KafkaSecurity.SASL_PASSWORD_FILE.key(),
                                file.toString(),
                                KafkaSecurity.TRUSTSTORE_LOCATION.key(),
                                truststore.toString()));

        assertThat(options.kafkaProperties())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry(
                        "sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required"
                                + " username=\"svc\" password=\"pa\\\"ss\\\\word-0123\";")
                .containsEntry("ssl.truststore.location", truststore.toString())
                .containsEntry("ssl.truststore.type", "PEM")
                .doesNotContainKey("ssl.truststore.password");
        assertThat(options.toString()).doesNotContain("word-0123").contains("[hidden]");
    }

    @Test
    void plainAndAPkcs12KeyStoreForMutualTls() throws Exception {
        Path keystore = Files.writeString(dir.resolve("client.p12"), "p12");

        Map<String, String> properties =
                JobOptions.fromSettings(
                                settings(
                                        KafkaSecurity.SECURITY_PROTOCOL.key(), "SASL_PLAINTEXT",
                                        KafkaSecurity.SASL_MECHANISM.key(), "plain",
                                        KafkaSecurity.SASL_USERNAME.key(), "svc",
                                        KafkaSecurity.SASL_PASSWORD.key(), PASSWORD,
                                        KafkaSecurity.KEYSTORE_LOCATION.key(), keystore.toString(),
                                        KafkaSecurity.KEYSTORE_PASSWORD.key(), "ks-secret"))
                        .kafkaProperties();

        assertThat(properties.get("sasl.jaas.config"))
                .startsWith("org.apache.kafka.common.security.plain.PlainLoginModule required");
        assertThat(properties)
                .containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("ssl.keystore.type", "PKCS12")
                .containsEntry("ssl.keystore.password", "ks-secret");
    }

    @Test
    void thePassThroughStillWorksAndTheSettingsWin() {
        Map<String, String> properties =
                JobOptions.fromSettings(
                                settings(
                                        "kafka.properties.security.protocol",
                                        "PLAINTEXT",
                                        "kafka.properties.client.rack",
                                        "eu1a",
                                        KafkaSecurity.SECURITY_PROTOCOL.key(),
                                        "SSL"))
                        .kafkaProperties();

        assertThat(properties)
                .containsEntry("security.protocol", "SSL")
                .containsEntry("client.rack", "eu1a");
    }

    @Test
    void errorsNameTheSettingAndItsVariableButNeverTheSecret() throws Exception {
        Path keystore = Files.writeString(dir.resolve("client.p12"), "p12");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                KafkaSecurity.SECURITY_PROTOCOL.key(),
                                                "SASL_SSL",
                                                KafkaSecurity.SASL_PASSWORD.key(),
                                                PASSWORD)))
                .hasMessageContaining(
                        "kafka.sasl.username (environment variable KAFKA_SASL_USERNAME)")
                .hasMessageNotContaining("word-0123");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                KafkaSecurity.SECURITY_PROTOCOL.key(), "SASL_SSL",
                                                KafkaSecurity.SASL_USERNAME.key(), "svc",
                                                KafkaSecurity.SASL_PASSWORD.key(), PASSWORD,
                                                KafkaSecurity.SASL_PASSWORD_FILE.key(), "/x")))
                .hasMessageContaining("KAFKA_SASL_PASSWORD_FILE")
                .hasMessageContaining("not both")
                .hasMessageNotContaining("word-0123");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                KafkaSecurity.SECURITY_PROTOCOL.key(),
                                                "SSL",
                                                KafkaSecurity.KEYSTORE_LOCATION.key(),
                                                dir.resolve("missing.p12").toString())))
                .hasMessageContaining("KAFKA_SSL_KEYSTORE_LOCATION")
                .hasMessageContaining("does not exist");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                KafkaSecurity.SECURITY_PROTOCOL.key(),
                                                "SSL",
                                                KafkaSecurity.KEYSTORE_LOCATION.key(),
                                                keystore.toString())))
                .hasMessageContaining("KAFKA_SSL_KEYSTORE_PASSWORD")
                .hasMessageContaining("KAFKA_SSL_KEYSTORE_PASSWORD_FILE");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                KafkaSecurity.SECURITY_PROTOCOL.key(), "PLAINTEXT",
                                                KafkaSecurity.SASL_USERNAME.key(), "svc")))
                .hasMessageContaining("KAFKA_SECURITY_PROTOCOL");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(KafkaSecurity.SECURITY_PROTOCOL.key(), "TLS")))
                .hasMessageContaining(
                        "'TLS' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    }

    @Test
    void secretPropertiesAreMasked() {
        assertThat(
                        KafkaSecurity.masked(
                                Map.of(
                                        "sasl.jaas.config", "x password=\"p\";",
                                        "ssl.keystore.password", "p",
                                        "ssl.keystore.key", "-----BEGIN PRIVATE KEY-----",
                                        "ssl.keystore.location", "/etc/k.p12")))
                .containsEntry("sasl.jaas.config", "[hidden]")
                .containsEntry("ssl.keystore.password", "[hidden]")
                .containsEntry("ssl.keystore.key", "[hidden]")
                .containsEntry("ssl.keystore.location", "/etc/k.p12");
    }

    private static Settings settings(String... pairs) {
        Map<String, String> values = new HashMap<>();
        values.put(Settings.BOOTSTRAP_SERVERS.key(), "broker-1:9093");
        for (int i = 0; i < pairs.length; i += 2) {
            values.put(pairs[i], pairs[i + 1]);
        }
        return new Settings(values);
    }
}

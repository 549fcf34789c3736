package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.config.KafkaSecurity;
import dev.telemetry.aggregator.job.config.Settings;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Kafka connection settings shared by the source, the sinks and the admin client.
 *
 * <p>Values are kept as text and parsed by {@link Settings}, so a bad value fails start-up with a
 * message that names both the property and its environment variable.
 */
@ConfigMapping(prefix = "kafka")
public interface KafkaConfiguration {

    /** {@code KAFKA_BOOTSTRAP_SERVERS}: comma-separated host:port list. */
    String bootstrapServers();

    /**
     * Any other Kafka client property, passed unchanged to every client (security settings
     * included), e.g. {@code kafka.properties."security.protocol": SASL_SSL}; by environment
     * variable {@code KAFKA_PROPERTIES_SECURITY_PROTOCOL=SASL_SSL}.
     */
    Map<String, String> properties();

    /** How long start-up waits for the broker to answer admin requests. */
    @WithDefault("60s")
    String startupTimeout();

    /**
     * {@code KAFKA_SECURITY_PROTOCOL}: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (see
     * docs/security.md).
     */
    Optional<String> securityProtocol();

    Sasl sasl();

    Ssl ssl();

    /** SASL with SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN: the JAAS line is built from these. */
    interface Sasl {
        Optional<String> mechanism();

        Optional<String> username();

        Optional<String> password();

        /** A file holding the password, e.g. a mounted Kubernetes secret. */
        Optional<String> passwordFile();
    }

    /** TLS: the trust store (broker CA) and, for mutual TLS, the key store. */
    interface Ssl {
        Store truststore();

        Store keystore();

        Optional<String> keyPassword();

        Optional<String> keyPasswordFile();
    }

    /** A PKCS12, JKS or PEM file, and its password (or a file holding it). */
    interface Store {
        Optional<String> location();

        Optional<String> type();

        Optional<String> password();

        Optional<String> passwordFile();
    }

    /** The settings in the form the job reads them. */
    default Map<String, String> toSettings() {
        Map<String, String> settings = new HashMap<>();
        settings.put(Settings.BOOTSTRAP_SERVERS, bootstrapServers());
        properties()
                .forEach(
                        (name, value) ->
                                settings.put(Settings.KAFKA_PROPERTIES_PREFIX + name, value));
        securityProtocol().ifPresent(v -> settings.put(KafkaSecurity.SECURITY_PROTOCOL, v));
        sasl().mechanism().ifPresent(v -> settings.put(KafkaSecurity.SASL_MECHANISM, v));
        sasl().username().ifPresent(v -> settings.put(KafkaSecurity.SASL_USERNAME, v));
        sasl().password().ifPresent(v -> settings.put(KafkaSecurity.SASL_PASSWORD, v));
        sasl().passwordFile().ifPresent(v -> settings.put(KafkaSecurity.SASL_PASSWORD_FILE, v));
        putStore(settings, ssl().truststore(), "kafka.ssl.truststore.");
        putStore(settings, ssl().keystore(), "kafka.ssl.keystore.");
        ssl().keyPassword().ifPresent(v -> settings.put(KafkaSecurity.KEY_PASSWORD, v));
        ssl().keyPasswordFile().ifPresent(v -> settings.put(KafkaSecurity.KEY_PASSWORD_FILE, v));
        return settings;
    }

    private static void putStore(Map<String, String> settings, Store store, String prefix) {
        store.location().ifPresent(v -> settings.put(prefix + "location", v));
        store.type().ifPresent(v -> settings.put(prefix + "type", v));
        store.password().ifPresent(v -> settings.put(prefix + "password", v));
        store.passwordFile().ifPresent(v -> settings.put(prefix + "password-file", v));
    }
}

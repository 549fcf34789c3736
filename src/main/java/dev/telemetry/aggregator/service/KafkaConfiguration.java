package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.Settings;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.HashMap;
import java.util.Map;

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

    /** The settings in the form the job reads them. */
    default Map<String, String> toSettings() {
        Map<String, String> settings = new HashMap<>();
        settings.put(Settings.BOOTSTRAP_SERVERS, bootstrapServers());
        properties()
                .forEach(
                        (name, value) ->
                                settings.put(Settings.KAFKA_PROPERTIES_PREFIX + name, value));
        return settings;
    }
}

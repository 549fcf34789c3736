package dev.telemetry.aggregator.service.config;

import io.smallrye.config.ConfigMapping;
import java.util.Map;

/**
 * The two open-ended settings, whose names are not known in advance: Kafka client properties for
 * every client and Flink configuration for the embedded cluster. SmallRye's mapping of a {@code
 * Map} finds them in every source, environment variables included ({@code
 * KAFKA_PROPERTIES_MAX_POLL_RECORDS}), and unquotes keys that contain dots. Every other setting is
 * declared once as a {@link dev.telemetry.aggregator.job.config.Setting}.
 */
public final class PassThroughProperties {
    private PassThroughProperties() {}

    /** {@code kafka.properties."<client property>"}, passed unchanged to every Kafka client. */
    @ConfigMapping(prefix = "kafka")
    public interface Kafka {
        Map<String, String> properties();
    }

    /** {@code telemetry.flink."<Flink key>"}, added to the embedded cluster's configuration. */
    @ConfigMapping(prefix = "telemetry")
    public interface Flink {
        Map<String, String> flink();
    }
}

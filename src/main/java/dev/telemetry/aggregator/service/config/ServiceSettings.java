package dev.telemetry.aggregator.service.config;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.KafkaSecurity;
import dev.telemetry.aggregator.job.config.Setting;
import dev.telemetry.aggregator.job.config.Settings;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.Config;
import org.jboss.logging.Logger;

/**
 * Reads every declared setting from MicroProfile Config (environment variables, system properties,
 * {@code application.yaml}) and validates them once, into the {@link ServiceOptions} bean the rest
 * of the service injects.
 */
@ApplicationScoped
public class ServiceSettings {
    private static final Logger LOG = Logger.getLogger(ServiceSettings.class);

    /** Every setting the service reads, in the order of {@code docs/configuration.md}. */
    public static final List<Setting<?>> ALL = all();

    @Produces
    @Singleton
    ServiceOptions serviceOptions(
            Config config, PassThroughProperties.Kafka kafka, PassThroughProperties.Flink flink) {
        try {
            return ServiceOptions.from(read(config, kafka.properties()), flink.flink());
        } catch (IllegalArgumentException e) {
            // Quarkus reports this as "Failed to start quarkus" followed by its own stack frames;
            // one line with what to change comes first, where an operator looks.
            LOG.errorf("Cannot start: %s", e.getMessage());
            throw e;
        }
    }

    /**
     * The declared settings that have a value, and the Kafka client properties.
     *
     * @throws InvalidSettingException for a property under {@code kafka.} or {@code telemetry.}
     *     that is not declared (a typo would otherwise be ignored silently)
     */
    static Settings read(Config config, Map<String, String> kafkaProperties) {
        Set<String> declared = new HashSet<>();
        ALL.forEach(setting -> declared.add(setting.key()));
        for (String name : config.getPropertyNames()) {
            boolean ours = name.startsWith("kafka.") || name.startsWith("telemetry.");
            if (!ours
                    || declared.contains(name)
                    || name.startsWith(Settings.KAFKA_PROPERTIES_PREFIX)
                    || name.startsWith(ServiceOptions.FLINK_PREFIX)) {
                continue;
            }
            String source = String.valueOf(config.getConfigValue(name).getSourceName());
            // An environment variable's name is listed as a guess with dots for every '_'
            // (KAFKA_SASL_PASSWORD_FILE as kafka.sasl.password.file): a declared setting's
            // variable is found by looking the setting up, and any other variable may belong to
            // something else in the container.
            if (!source.contains("EnvConfigSource")) {
                throw new InvalidSettingException(
                        name,
                        "no such setting (in "
                                + source
                                + "); docs/configuration.md lists them all");
            }
        }
        Map<String, String> values = new HashMap<>();
        for (Setting<?> setting : ALL) {
            config.getOptionalValue(setting.key(), String.class)
                    .ifPresent(value -> values.put(setting.key(), value));
        }
        kafkaProperties.forEach(
                (name, value) -> values.put(Settings.KAFKA_PROPERTIES_PREFIX + name, value));
        return new Settings(values);
    }

    private static List<Setting<?>> all() {
        List<Setting<?>> all = new ArrayList<>();
        all.addAll(Settings.ALL);
        all.addAll(KafkaSecurity.ALL);
        all.addAll(ServiceOptions.ALL);
        return Collections.unmodifiableList(all);
    }
}

package dev.telemetry.aggregator.service.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.Settings;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the service reads the declared settings from MicroProfile Config. */
class ServiceSettingsTest {

    private static SmallRyeConfig config(Map<String, String> properties, Map<String, String> env) {
        return new SmallRyeConfigBuilder()
                .withSources(new PropertiesConfigSource(properties, "test.properties", 250))
                .withSources(new EnvConfigSource(env, 300))
                .build();
    }

    @Test
    void anEnvironmentVariableOverridesThePropertyAndDefaultsFillTheRest() {
        Settings settings =
                ServiceSettings.read(
                        config(
                                Map.of("telemetry.window-size", "10s"),
                                Map.of("TELEMETRY_WINDOW_SIZE", "20s")),
                        Map.of("max.poll.records", "10"));

        assertThat(settings.get(Settings.WINDOW_SIZE)).isEqualTo(Duration.ofSeconds(20));
        assertThat(settings.get(Settings.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.get(ServiceOptions.CHECKPOINT_RETAINED)).isEqualTo(3);
        assertThat(settings.withPrefix(Settings.KAFKA_PROPERTIES_PREFIX))
                .containsEntry("max.poll.records", "10");
    }

    @Test
    void anUndeclaredPropertyStopsStartUpNamingIt() {
        assertThatThrownBy(
                        () ->
                                ServiceSettings.read(
                                        config(Map.of("telemetry.window-sise", "10s"), Map.of()),
                                        Map.of()))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("telemetry.window-sise")
                .hasMessageContaining("TELEMETRY_WINDOW_SISE")
                .hasMessageContaining("no such setting");
    }

    @Test
    void passThroughPropertiesAreNotMistakenForTypos() {
        Settings settings =
                ServiceSettings.read(
                        config(
                                Map.of(
                                        "kafka.properties.max.poll.records", "10",
                                        "telemetry.flink.state.backend.rocksdb.localdir", "/x"),
                                Map.of()),
                        Map.of());

        assertThat(settings.get(Settings.WINDOW_SIZE)).isEqualTo(Duration.ofMinutes(1));
    }
}

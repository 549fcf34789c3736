package dev.telemetry.aggregator.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.Settings;
import io.smallrye.config.source.yaml.YamlConfigSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/**
 * The job's own defaults (used by its {@code main} on a Flink cluster) are the service's defaults
 * in {@code application.yaml}, so a job behaves the same with the same settings wherever it runs.
 */
class DefaultsInStepTest {
    private static final Path APPLICATION_YAML = Paths.get("src/main/resources/application.yaml");

    @Test
    void everyJobDefaultIsTheServiceDefault() throws Exception {
        YamlConfigSource yaml =
                new YamlConfigSource("application.yaml", Files.readString(APPLICATION_YAML));
        String applicationName = yaml.getValue("quarkus.application.name");
        SoftAssertions softly = new SoftAssertions();
        Settings.DEFAULTS.forEach(
                (name, jobDefault) -> {
                    String serviceDefault = yaml.getValue(name);
                    softly.assertThat(serviceDefault)
                            .as("%s in application.yaml", name)
                            .isNotNull();
                    if (serviceDefault != null) {
                        softly.assertThat(
                                        serviceDefault.replace(
                                                "${quarkus.application.name}", applicationName))
                                .as("%s: application.yaml vs Settings.DEFAULTS", name)
                                .isEqualTo(jobDefault);
                    }
                });
        softly.assertAll();
        assertThat(Settings.DEFAULTS).isNotEmpty();
    }
}

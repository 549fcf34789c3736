package dev.telemetry.aggregator.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.telemetry.aggregator.testing.ExternalTools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The dashboards type-check against Grafana's published schema (npm {@code @grafana/schema}, pinned
 * in grafana/check/package-lock.json) and refer to the data source the provisioning files create.
 */
class GrafanaDashboardSchemaIT {
    private static final Path CHECK_DIR = Paths.get("grafana", "check");

    @Test
    void dashboardsTypeCheckAgainstGrafanaSchema() {
        Path node = ExternalTools.require("node");
        Path npm = ExternalTools.require("npm");
        ExternalTools.Result install =
                ExternalTools.run(
                        Duration.ofMinutes(3),
                        CHECK_DIR,
                        null,
                        List.of(npm.toString(), "ci", "--no-audit", "--no-fund"));
        assertThat(install.exitCode()).as("npm ci:\n" + install.output()).isZero();
        ExternalTools.Result generate =
                ExternalTools.run(
                        Duration.ofSeconds(60),
                        CHECK_DIR,
                        null,
                        List.of(node.toString(), "generate.js"));
        assertThat(generate.exitCode()).as(generate.output()).isZero();
        ExternalTools.Result tsc =
                ExternalTools.run(
                        Duration.ofMinutes(2),
                        CHECK_DIR,
                        null,
                        List.of(
                                node.toString(),
                                "node_modules/typescript/bin/tsc",
                                "--noEmit",
                                "-p",
                                "."));
        assertThat(tsc.exitCode()).as("tsc:\n" + tsc.output()).isZero();
    }

    @Test
    void panelsUseTheProvisionedDataSource() throws Exception {
        Map<String, Object> provisioning =
                new Yaml()
                        .load(
                                Files.readString(
                                        Paths.get(
                                                "grafana",
                                                "provisioning",
                                                "datasources",
                                                "prometheus.yaml")));
        @SuppressWarnings("unchecked")
        Map<String, Object> datasource =
                ((List<Map<String, Object>>) provisioning.get("datasources")).get(0);
        assertThat(datasource).containsEntry("type", "prometheus");
        for (Path file : ObservabilityFiles.dashboards()) {
            JsonNode dashboard = ObservabilityFiles.readJson(file);
            List<String> names = new ArrayList<>();
            JsonNode defaultSource = null;
            for (JsonNode variable : dashboard.path("templating").path("list")) {
                names.add(variable.path("name").asText());
                if (variable.path("type").asText().equals("datasource")) {
                    defaultSource = variable.path("current").path("value");
                }
            }
            assertThat(names).as(file.toString()).contains("datasource", "job", "instance");
            assertThat(defaultSource).as("default data source of " + file).isNotNull();
            assertThat(defaultSource.asText()).isEqualTo(datasource.get("uid"));
            List<String> others = new ArrayList<>();
            collectDataSources(dashboard.path("panels"), others);
            assertThat(others).as("panels not on ${datasource} in " + file).isEmpty();
        }
    }

    private static void collectDataSources(JsonNode panels, List<String> wrong) {
        for (JsonNode panel : panels) {
            List<JsonNode> refs = new ArrayList<>();
            if (panel.has("datasource")) {
                refs.add(panel.get("datasource"));
            }
            panel.path("targets").forEach(t -> refs.add(t.path("datasource")));
            for (JsonNode ref : refs) {
                if (!ref.path("uid").asText().equals("${datasource}")) {
                    wrong.add(panel.path("title").asText() + ": " + ref);
                }
            }
            collectDataSources(panel.path("panels"), wrong);
        }
    }
}

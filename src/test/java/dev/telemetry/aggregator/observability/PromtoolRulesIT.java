package dev.telemetry.aggregator.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.observability.ObservabilityFiles.AlertRule;
import dev.telemetry.aggregator.testing.ExternalTools;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The alert rules pass promtool's checks and their unit tests, and tell the on-call what to do. */
class PromtoolRulesIT {
    private static final Path RULES_DIR = Paths.get("prometheus");

    @Test
    void rulesAreValid() {
        ExternalTools.Result result = promtool("check", "rules", "alerts.yaml");
        assertThat(result.exitCode()).as(result.output()).isZero();
    }

    @Test
    void alertUnitTestsPass() {
        ExternalTools.Result result = promtool("test", "rules", "alerts.test.yaml");
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).contains("SUCCESS");
    }

    @Test
    void everyAlertHasASeverityAndARunbook() {
        List<AlertRule> rules = ObservabilityFiles.alertRules();
        assertThat(rules).extracting(AlertRule::name).hasSizeGreaterThanOrEqualTo(7);
        for (AlertRule rule : rules) {
            Map<?, ?> labels = (Map<?, ?>) rule.rule().get("labels");
            Map<?, ?> annotations = (Map<?, ?>) rule.rule().get("annotations");
            assertThat(labels).as(rule.name()).isNotNull();
            assertThat(labels.get("severity")).as(rule.name()).isIn("critical", "warning");
            assertThat(annotations).as(rule.name()).isNotNull();
            assertThat(String.valueOf(annotations.get("runbook")))
                    .as(rule.name() + " runbook")
                    .hasSizeGreaterThan(40);
        }
        // The one alert that must page before output is lost.
        assertThat(rules)
                .filteredOn(r -> r.name().equals("TelemetryTransactionHeadroomLow"))
                .singleElement()
                .satisfies(
                        r ->
                                assertThat(((Map<?, ?>) r.rule().get("labels")).get("severity"))
                                        .isEqualTo("critical"));
    }

    private static ExternalTools.Result promtool(String... arguments) {
        Path promtool = ExternalTools.require("promtool");
        List<String> command = new java.util.ArrayList<>(List.of(promtool.toString()));
        command.addAll(List.of(arguments));
        return ExternalTools.run(Duration.ofSeconds(60), RULES_DIR, null, command);
    }
}

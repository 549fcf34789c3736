package dev.telemetry.aggregator.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The Kubernetes {@code PrometheusRule} ({@code k8s/prometheusrule.yaml}) carries exactly the rules
 * of {@code prometheus/alerts.yaml}, the file promtool tests ({@code PromtoolRulesIT}) and whose
 * queries run against a real Prometheus ({@code PrometheusQueriesIT}): Kubernetes users deploy the
 * alerts that are tested. The Kubernetes file is generated from the rule file; when this test
 * fails, regenerate it with {@code ./mvnw test -Dtest=KubernetesAlertRulesTest
 * -Dalerts.regenerate=true} and commit both.
 */
class KubernetesAlertRulesTest {
    static final Path KUBERNETES_RULES = Path.of("k8s", "prometheusrule.yaml");

    private static final String HEADER =
            """
            # GENERATED from prometheus/alerts.yaml by KubernetesAlertRulesTest: edit that file (and
            # its promtool tests in prometheus/alerts.test.yaml), then regenerate this one with
            #   ./mvnw test -Dtest=KubernetesAlertRulesTest -Dalerts.regenerate=true
            # The rules, their comments and runbooks are those of prometheus/alerts.yaml.
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: telemetry-aggregator
              labels:
                app.kubernetes.io/name: telemetry-aggregator
                app.kubernetes.io/instance: telemetry-aggregator
            spec:
            """;

    @Test
    void kubernetesRuleIsGeneratedFromTheTestedRuleFile() throws IOException {
        String expected = generate(Files.readString(ObservabilityFiles.ALERTS));
        if (Boolean.getBoolean("alerts.regenerate")) {
            Files.writeString(KUBERNETES_RULES, expected, StandardCharsets.UTF_8);
        }

        assertThat(Files.readString(KUBERNETES_RULES))
                .as(
                        "%s is stale: regenerate it with ./mvnw test"
                                + " -Dtest=KubernetesAlertRulesTest -Dalerts.regenerate=true",
                        KUBERNETES_RULES)
                .isEqualTo(expected);
    }

    @Test
    void kubernetesRuleHasTheSameGroupsAsTheRuleFile() throws IOException {
        Map<String, Object> rules = load(ObservabilityFiles.ALERTS);
        Map<String, Object> resource = load(KUBERNETES_RULES);

        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) resource.get("spec");
        assertThat(spec.get("groups")).isEqualTo(rules.get("groups"));
        assertThat((List<?>) rules.get("groups")).isNotEmpty();
    }

    /** The PrometheusRule: fixed metadata, then the rule file's groups as its spec. */
    static String generate(String ruleFile) {
        StringBuilder out = new StringBuilder(HEADER);
        boolean inRules = false;
        for (String line : ruleFile.split("\n", -1)) {
            // The rule file's own header comment is about running promtool; leave it out.
            inRules |= line.startsWith("groups:");
            if (inRules) {
                out.append(line.isEmpty() ? "" : "  " + line).append('\n');
            }
        }
        return out.toString().stripTrailing() + "\n";
    }

    private static Map<String, Object> load(Path file) throws IOException {
        return new Yaml().load(Files.readString(file));
    }
}

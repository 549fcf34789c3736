package dev.telemetry.aggregator.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.telemetry.aggregator.observability.ObservabilityFiles.AlertRule;
import dev.telemetry.aggregator.observability.ObservabilityFiles.Query;
import dev.telemetry.aggregator.testing.ExternalTools;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PrometheusServer;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.TelemetryFeed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus scrapes the packaged service while telemetry flows through a real broker, and
 * every PromQL expression of the shipped dashboards and alert rules must return series from it.
 */
class PrometheusQueriesIT {
    /** The scrape job name the alert rules expect (see prometheus/alerts.yaml). */
    private static final String SCRAPE_JOB = "telemetry-aggregator";

    /**
     * Lint findings accepted on metrics the service does not name itself: Flink's metric names
     * (camelCase, no help text) and Kafka clients' (cumulative "-total" and "-count" gauges, "ns"
     * in names) are kept as their documentation spells them, so users can look them up, and
     * Micrometer's binders (jvm_, http_, ...) register some meters without help text. Anything else
     * (e.g. an invalid name or type) and any finding on telemetry_* fails.
     */
    private static final Set<String> ACCEPTED_LINT_ON_BRIDGED_METRICS =
            Set.of(
                    "no help text",
                    "metric names should be written in 'snake_case' not 'camelCase'",
                    "non-counter metrics should not have \"_total\" suffix",
                    "metric names should not contain abbreviated units",
                    "non-histogram and non-summary metrics should not have \"_count\" suffix");

    private static final Pattern LINT_LINE = Pattern.compile("^(\\S+) (.+)$");

    private static KafkaTestClient kafka;
    private static ServiceProcess service;
    private static TelemetryFeed feed;
    private static PrometheusServer prometheus;
    private static Path dir;

    @BeforeAll
    static void startEverything() throws Exception {
        kafka = KafkaTestClient.forSharedBroker();
        String input = KafkaTestClient.uniqueTopic("telemetry");
        dir = Paths.get("target", "prometheus-it", input).toAbsolutePath();
        // Two partitions, so per-partition series are really per partition.
        kafka.createTopic(input, 2);
        Map<String, String> environment =
                ServiceProcess.environment(
                        kafka.bootstrapServers(),
                        input,
                        input + "-aggregates",
                        input + "-dlq",
                        dir.resolve("checkpoints"));
        environment.put("TELEMETRY_WINDOW_SIZE", "1s");
        environment.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        environment.put("TELEMETRY_WATERMARK_IDLENESS", "3s");
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
        service = new ServiceProcess(environment, dir);
        service.start();
        service.awaitReady(Duration.ofMinutes(2));
        feed = new TelemetryFeed(kafka.bootstrapServers(), input, Duration.ofMinutes(4));
        prometheus =
                PrometheusServer.start(
                        dir.resolve("prometheus"),
                        SCRAPE_JOB,
                        "127.0.0.1:" + service.httpPort(),
                        "/q/metrics");
        Awaitility.await("Prometheus scrapes the service")
                .atMost(Duration.ofMinutes(1))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> prometheus.query("up == 1").size() == 1);
    }

    @AfterAll
    static void stopEverything() throws Exception {
        if (prometheus != null) {
            prometheus.close();
        }
        if (feed != null) {
            feed.close();
        }
        if (service != null) {
            service.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void everyDashboardAndAlertExpressionReturnsSeries() {
        // What Grafana substitutes: the dashboard's own variables, and intervals that cover a
        // few 1s scrapes.
        Map<String, String> variables =
                Map.of(
                        "job", SCRAPE_JOB,
                        "instance", "127.0.0.1:" + service.httpPort(),
                        "__rate_interval", "1m",
                        "__interval", "15s",
                        "__range", "1m");
        List<Query> queries = new ArrayList<>();
        for (Path dashboard : ObservabilityFiles.dashboards()) {
            queries.addAll(ObservabilityFiles.dashboardQueries(dashboard, variables));
        }
        List<AlertRule> rules = ObservabilityFiles.alertRules();
        for (AlertRule rule : rules) {
            // The whole condition must parse and evaluate, even though it is empty while healthy.
            prometheus.query(rule.expr());
            assertThat(rule.measurements())
                    .as("measurements of alert %s", rule.name())
                    .isNotEmpty();
            for (String measurement : rule.measurements()) {
                queries.add(new Query("alert " + rule.name(), measurement, null));
            }
        }
        assertThat(queries).hasSizeGreaterThan(30);
        // Syntax first, so a typo fails at once instead of after the wait for data.
        List<String> rejected = new ArrayList<>();
        for (Query query : queries) {
            try {
                prometheus.query(query.expr());
            } catch (IllegalArgumentException e) {
                rejected.add(query.where() + ": " + e.getMessage());
            }
        }
        assertThat(rejected).as("expressions Prometheus rejects").isEmpty();

        // Rates need two samples and consumer lag a refresh after the first checkpoint: wait.
        Awaitility.await("every expression returns series")
                .atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofSeconds(2))
                .untilAsserted(
                        () -> assertThat(emptyQueries(queries)).as("empty queries").isEmpty());
        assertThat(feed.sent()).isPositive();
        System.out.printf("%d dashboard and alert expressions returned series%n", queries.size());
    }

    private static List<String> emptyQueries(List<Query> queries) {
        List<String> empty = new ArrayList<>();
        for (Query query : queries) {
            JsonNode result = prometheus.query(query.expr());
            boolean ok =
                    !result.isEmpty()
                            && (query.label() == null
                                    || result.get(0).path("metric").hasNonNull(query.label()));
            if (!ok) {
                empty.add(query.where() + ": " + query.expr());
            }
        }
        return empty;
    }

    @Test
    void scrapePassesPromtoolCheckMetrics() throws Exception {
        Path promtool = ExternalTools.require("promtool");
        // The Flink metrics appear once the job runs; wait until they are there.
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .pollInterval(Duration.ofSeconds(1))
                .until(
                        () ->
                                service.get("/q/metrics", "text/plain")
                                        .contains("flink_taskmanager_job_task_operator_"));
        Path scrape = dir.resolve("scrape.txt");
        Files.writeString(scrape, service.get("/q/metrics", "text/plain"));
        ExternalTools.Result result =
                ExternalTools.run(
                        Duration.ofSeconds(60),
                        dir,
                        scrape,
                        List.of(promtool.toString(), "check", "metrics"));
        // 0: clean; 3: lint findings only (1 would be a parse error).
        assertThat(result.exitCode()).as(result.output()).isIn(0, 3);
        List<String> unaccepted = new ArrayList<>();
        int accepted = 0;
        for (String line : result.output().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            Matcher finding = LINT_LINE.matcher(line.strip());
            boolean ok =
                    finding.matches()
                            && !finding.group(1).startsWith("telemetry_")
                            && ACCEPTED_LINT_ON_BRIDGED_METRICS.contains(finding.group(2));
            if (ok) {
                accepted++;
            } else {
                unaccepted.add(line);
            }
        }
        assertThat(unaccepted).as("promtool check metrics findings").isEmpty();
        System.out.printf("promtool check metrics: %d accepted lint findings%n", accepted);
    }
}

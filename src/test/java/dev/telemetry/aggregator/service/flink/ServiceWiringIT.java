package dev.telemetry.aggregator.service.flink;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;

import dev.telemetry.aggregator.service.checkpoint.FixedJobId;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTestResource;
import dev.telemetry.aggregator.testing.SharedKafkaBroker;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Quarkus service against a real broker: config, health, metrics, topics and exact output. */
@QuarkusTest
@WithTestResource(SharedBrokerTestResource.class)
class ServiceWiringIT {
    private static final long START = 1_763_683_200_000L;
    // Start-up includes the MiniCluster and the first checkpoint on 2 cores shared with a broker.
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final String READY_DATA = "checks.find { it.name == 'flink-job-ready' }.data";
    private static final String LIVE_DATA = "checks.find { it.name == 'flink-job-live' }.data";

    private static KafkaTestClient kafka;

    @Inject EmbeddedFlinkJob job;
    @Inject ServiceOptions configured;
    @Inject Config config;

    @BeforeAll
    static void connect() {
        // Same JVM, other class loader: the system property leads to the broker the resource used.
        kafka = KafkaTestClient.forSharedBroker();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void configurationReachesTheJob() {
        ServiceOptions options = job.options().orElseThrow();
        assertThat(options.job().bootstrapServers())
                .isEqualTo(System.getProperty(SharedKafkaBroker.BOOTSTRAP_PROPERTY));
        assertThat(options.job().windowSize())
                .isEqualTo(Duration.ofMillis(SharedBrokerTestResource.WINDOW_MILLIS));
        assertThat(options.job().checkpointInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(options.job().transactionalIdPrefix()).startsWith("wiring-tx-");
        assertThat(options.job().inputTopics())
                .containsExactly(config.getValue("telemetry.input-topics", String.class));
        assertThat(options.job().outputTopic())
                .isEqualTo(config.getValue("telemetry.output-topic", String.class));
        assertThat(options.job().groupId())
                .isEqualTo(config.getValue("telemetry.source.group-id", String.class));
        assertThat(options.job().deliveryGuarantee()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(options.checkpointDir())
                .isEqualTo(
                        Paths.get(config.getValue("telemetry.checkpoint.dir", String.class))
                                .toAbsolutePath()
                                .normalize());
        assertThat(options.topicPartitions()).contains(SharedBrokerTestResource.PARTITIONS);
        // The injected bean is the validated configuration the job started with.
        assertThat(configured.job().windowSize()).isEqualTo(options.job().windowSize());
        assertThat(configured.checkpointDir()).isEqualTo(options.checkpointDir());
    }

    @Test
    void livenessAndReadinessReportTheRunningJob() {
        String jobId = FixedJobId.JOB_ID.toHexString();
        await().atMost(READY_TIMEOUT)
                .pollInterval(Duration.ofMillis(500))
                .untilAsserted(
                        () ->
                                given().when()
                                        .get("/q/health/ready")
                                        .then()
                                        .statusCode(200)
                                        .body("status", equalTo("UP"))
                                        .body(READY_DATA + ".state", equalTo("RUNNING"))
                                        .body(
                                                READY_DATA + ".tasksRunning",
                                                matchesPattern("([1-9][0-9]*) of \\1"))
                                        .body(READY_DATA + ".jobId", equalTo(jobId)));
        given().when()
                .get("/q/health/live")
                .then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body(LIVE_DATA + ".state", equalTo("RUNNING"))
                .body(LIVE_DATA + ".jobId", equalTo(jobId));
    }

    @Test
    void metricsAreServedInPrometheusTextFormat() {
        // Without an Accept header Quarkus answers in OpenMetrics; text/plain asks for the
        // classic Prometheus text format that scrapers without OpenMetrics support request.
        Response response = given().accept("text/plain").when().get("/q/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.contentType()).startsWith("text/plain; version=0.0.4");
        assertThat(response.asString()).contains("# TYPE ").contains("jvm_memory_used_bytes");

        Response negotiated = given().when().get("/q/metrics");
        assertThat(negotiated.statusCode()).isEqualTo(200);
        assertThat(negotiated.contentType()).startsWith("application/openmetrics-text");
        assertThat(negotiated.asString()).contains("# TYPE ").endsWith("# EOF\n");
    }

    @Test
    void topicsAreCreatedAtStartUp() {
        assertThat(kafka.topicExists(configured.job().inputTopics().get(0))).isTrue();
        assertThat(kafka.topicExists(configured.job().outputTopic())).isTrue();
        assertThat(kafka.topicExists(configured.job().deadLetterTopic())).isTrue();
    }

    @Test
    void producedEventsComeOutAsExactAggregatesForReadCommittedReaders() {
        String input = configured.job().inputTopics().get(0);
        String output = configured.job().outputTopic();
        int partitions = SharedBrokerTestResource.PARTITIONS;
        long windowMillis = SharedBrokerTestResource.WINDOW_MILLIS;
        // 3 devices x 2 metrics over 8s of event time: 4 windows of 2s each per key.
        List<Event> events = TelemetryFixtures.events("sensor-", 3, 2, 16, START, 500, 400, 7);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, windowMillis);

        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        events.forEach(event -> records.add(event.toRecord(input, partitions)));
        kafka.send(records);
        kafka.awaitCheckpointed(configured.job().groupId(), input, READY_TIMEOUT);
        // Moves every partition's watermark an hour ahead, so all the windows above close.
        kafka.send(TelemetryFixtures.watermarkFlush(input, partitions, START + 3_600_000));

        List<Aggregate> firstRead =
                TelemetryFixtures.parseAggregates(
                        kafka.readCommitted(
                                output,
                                READY_TIMEOUT,
                                read ->
                                        TelemetryFixtures.parseAggregates(read).size()
                                                >= expected.size()));
        assertThat(firstRead)
                .as("aggregates committed within %s", READY_TIMEOUT)
                .hasSize(expected.size());

        // Read again to the last stable offset: a duplicate committed after the first read
        // would show up here.
        List<Aggregate> committed =
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30)));
        Map<AggregateKey, Long> occurrences =
                committed.stream()
                        .collect(Collectors.groupingBy(Aggregate::key, Collectors.counting()));
        assertThat(occurrences.values())
                .as("no (deviceId, metric, windowStart) is output twice")
                .allMatch(count -> count == 1L);
        Map<AggregateKey, Aggregate> actual =
                committed.stream().collect(Collectors.toMap(Aggregate::key, Function.identity()));
        assertThat(actual).containsExactlyInAnyOrderEntriesOf(expected);
    }
}

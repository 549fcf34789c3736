package dev.telemetry.aggregator.service.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.testing.KafkaBrokerProcess;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The broker goes away ({@code kill -9}) for half a minute while input flows and comes back on the
 * same port and log directory. The packaged service, left alone, reports not ready meanwhile, never
 * exits, is ready again once the broker is back, and a {@code read_committed} reader then sees
 * exactly the expected aggregates and dead letters. Runs on its own broker: killing the shared one
 * would break the tests that share it.
 */
class BrokerOutageIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_701_200_000L;
    private static final Duration OUTAGE = Duration.ofSeconds(30);

    @Test
    void brokerKilledForHalfAMinuteWhileInputFlowsOutputIsExactlyOnce() throws Exception {
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start();
                KafkaTestClient kafka = new KafkaTestClient(broker.bootstrapServers())) {
            KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
            String input = topics.input();
            // 20 devices x 2 metrics, an event every 250 ms of event time each: 30 s of event time.
            List<Event> events = TelemetryFixtures.events("sensor-", 20, 2, 120, START, 250, 0, 5);
            Map<AggregateKey, Aggregate> expected =
                    TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
            int corrupt = 10;
            PacedInput paced = new PacedInput(input, PARTITIONS, events, corrupt, 2);
            Path dir = Paths.get("target", "broker-outage-it", input);
            Path checkpoints = dir.resolve("checkpoints");
            Map<String, String> environment =
                    PacedInput.serviceEnvironment(
                            kafka, input, topics.output(), topics.deadLetters(), checkpoints);
            // The fault leaves every input partition quiet for longer than the idleness timeout;
            // with idleness on, the partition whose part of the next burst is read first would
            // move the watermark past the other's events, which are then (rightly) dead-lettered
            // as late. The test checks exactness, so the watermark waits for every partition.
            environment.put("TELEMETRY_WATERMARK_IDLENESS", "0s");

            try (ServiceProcess service = new ServiceProcess(environment, dir)) {
                service.start();
                service.awaitReady(Duration.ofMinutes(2));

                // The first half flows; the broker dies under it once a checkpoint of this run has
                // completed. The test's producer keeps its unacknowledged records and delivers
                // them when the broker is back (idempotent, within delivery.timeout.ms), as an
                // upstream application would.
                Thread producer = paced.sendInBackground(kafka, 0);
                long before = checkpointId(service);
                awaitCondition(
                        "a checkpoint completes while input flows",
                        Duration.ofMinutes(1),
                        service,
                        () -> checkpointId(service) > before);
                Thread.sleep(1_000);
                assertThat(producer.isAlive()).as("input still flowing at the kill").isTrue();

                long killedAt = System.nanoTime();
                assertThat(broker.kill())
                        .as("the broker died of SIGKILL")
                        .isEqualTo(KafkaBrokerProcess.SIGKILL_EXIT_CODE);
                awaitCondition(
                        "readiness turns DOWN",
                        OUTAGE,
                        service,
                        () -> service.health("ready") == 503);
                long downAfter = System.nanoTime() - killedAt;
                JsonNode down = readiness(service);
                assertThat(down.path("status").asText()).isEqualTo("DOWN");
                int downProbes = 0;
                while (System.nanoTime() - killedAt < OUTAGE.toNanos()) {
                    assertThat(service.isAlive()).as("the service outlives the outage").isTrue();
                    if (service.health("ready") == 503) {
                        downProbes++;
                    }
                    Thread.sleep(250);
                }
                JsonNode late = readiness(service);
                assertThat(late.path("status").asText()).isEqualTo("DOWN");
                assertThat(late.path("data").path("kafkaReachable").asBoolean()).isFalse();

                broker.restart();
                long backAt = System.nanoTime();
                awaitCondition(
                        "readiness is UP again",
                        Duration.ofMinutes(2),
                        service,
                        () -> service.health("ready") == 200);
                long upAfter = System.nanoTime() - backAt;
                producer.join(Duration.ofMinutes(2).toMillis());
                assertThat(producer.isAlive()).as("the first half was delivered").isFalse();

                kafka.send(paced.chunk(1));
                kafka.awaitCheckpointed(
                        environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
                kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
                kafka.readCommitted(
                        topics.output(),
                        Duration.ofMinutes(2),
                        read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
                long caughtUpAfter = System.nanoTime() - backAt;
                kafka.readCommitted(
                        topics.deadLetters(),
                        Duration.ofMinutes(1),
                        read -> read.size() >= corrupt);

                String restarts =
                        metric(service, "flink_jobmanager_job_numRestarts").orElse("(not scraped)");
                System.out.printf(
                        "Broker outage of %d s: readiness DOWN %d ms after the kill; UP %d ms after"
                                + " the broker was back; output caught up %d ms after it was back;"
                                + " job restarts inside the process: %s%n",
                        OUTAGE.toSeconds(),
                        downAfter / 1_000_000,
                        upAfter / 1_000_000,
                        caughtUpAfter / 1_000_000,
                        restarts);
                assertThat(service.logsOfEachStart()).as("one start: never exited").hasSize(1);
                // Each change of readiness is logged once, with its reasons, however often the
                // probes ask: not a line per DOWN probe.
                List<String> log = service.logsOfEachStart().get(0).lines().toList();
                List<String> notReady =
                        log.stream().filter(l -> l.contains("Not ready: ")).toList();
                assertThat(notReady)
                        .as(
                                "readiness DOWN logged per change, not per probe (%d probes)",
                                downProbes)
                        .hasSizeBetween(1, 3);
                assertThat(downProbes).as("DOWN probes during the outage").isGreaterThan(20);
                assertThat(String.join("\n", notReady))
                        .containsAnyOf("Kafka unreachable", "tasks running", "checkpoint");
                assertThat(log.stream().filter(l -> l.contains("Ready again: ")))
                        .as("each DOWN followed by UP")
                        .hasSameSizeAs(notReady);
                assertThat(log).noneMatch(l -> l.contains("SRHCK01001"));
                assertThat(service.stop(Duration.ofSeconds(60)))
                        .as("exit code after SIGTERM")
                        .isZero();
            }

            TelemetryFixtures.assertExactlyOnce(
                    TelemetryFixtures.parseAggregates(
                            kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                    expected);
            List<ConsumerRecord<byte[], byte[]>> dlq =
                    kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(30));
            Map<String, Long> deadLetterCounts =
                    dlq.stream()
                            .collect(
                                    Collectors.groupingBy(
                                            r -> new String(r.value(), StandardCharsets.UTF_8),
                                            Collectors.counting()));
            assertThat(deadLetterCounts).hasSize(corrupt);
            assertThat(deadLetterCounts.values()).allMatch(count -> count == 1L);
        }
    }

    /** Polls until the condition holds; fails if the service exits or the timeout passes. */
    private static void awaitCondition(
            String what, Duration timeout, ServiceProcess service, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (!service.isAlive()) {
                throw new AssertionError(
                        "The service exited while waiting until "
                                + what
                                + ":\n"
                                + service.lastLog());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Not within " + timeout + ": " + what);
            }
            Thread.sleep(250);
        }
    }

    private static long checkpointId(ServiceProcess service) {
        try {
            return readiness(service).path("data").path("lastCompletedCheckpoint").asLong(-1);
        } catch (Exception e) {
            return -1;
        }
    }

    private static JsonNode readiness(ServiceProcess service) throws Exception {
        JsonNode body = JSON.readTree(service.get("/q/health/ready", "application/json"));
        return body.path("checks").get(0);
    }

    private static java.util.Optional<String> metric(ServiceProcess service, String name) {
        return service.get("/q/metrics", "text/plain")
                .lines()
                .filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
                .map(line -> line.substring(line.lastIndexOf(' ') + 1))
                .findFirst();
    }
}

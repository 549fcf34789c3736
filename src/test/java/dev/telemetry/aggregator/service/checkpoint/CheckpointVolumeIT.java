package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import dev.telemetry.aggregator.testing.TmpfsVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Checkpoint volume faults with a real file system (a small {@code tmpfs}): a read-only or full
 * volume stops start-up with the operating system's reason and the setting to change; a volume that
 * fills up at runtime turns readiness DOWN with Flink's checkpoint failure as the reason, without
 * failing the job within the tolerance, and once space is free again the service is ready and the
 * output is exactly the expected aggregates.
 */
class CheckpointVolumeIT extends SharedBrokerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 2;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_704_800_000L;

    @Test
    void readOnlyOrFullVolumeStopsStartUpNamingTheDirectoryAndTheReason() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        Path dir = Paths.get("target", "checkpoint-volume-it", input).toAbsolutePath();
        try (TmpfsVolume volume = TmpfsVolume.mount(dir.resolve("volume"), 4)) {
            Path checkpoints = volume.path().resolve("checkpoints");
            Files.createDirectories(checkpoints);
            Map<String, String> environment =
                    ServiceProcess.environment(
                            kafka.bootstrapServers(),
                            input,
                            input + "-aggregates",
                            input + "-dlq",
                            checkpoints);

            volume.remountReadOnly();
            String readOnly = startUpFailure(environment, dir.resolve("read-only"));
            assertThat(readOnly)
                    .contains("The checkpoint directory " + checkpoints)
                    .contains("telemetry.checkpoint.dir")
                    .contains("TELEMETRY_CHECKPOINT_DIR")
                    .contains("Read-only file system");

            volume.remountReadWrite();
            volume.fill();
            String full = startUpFailure(environment, dir.resolve("full"));
            assertThat(full)
                    .contains("The checkpoint directory " + checkpoints)
                    .contains("TELEMETRY_CHECKPOINT_DIR")
                    .contains("No space left on device");
        }
    }

    @Test
    void volumeFillingUpAtRuntimeTurnsReadinessDownWithTheCauseUntilSpaceIsFree() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        List<Event> events = TelemetryFixtures.events("sensor-", 10, 2, 80, START, 250, 0, 3);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        PacedInput paced = new PacedInput(input, PARTITIONS, events, 0, 2);
        Path dir = Paths.get("target", "checkpoint-volume-it", input).toAbsolutePath();

        try (TmpfsVolume volume = TmpfsVolume.mount(dir.resolve("volume"), 16)) {
            Path checkpoints = volume.path().resolve("checkpoints");
            Map<String, String> environment =
                    PacedInput.serviceEnvironment(
                            kafka, input, topics.output(), topics.deadLetters(), checkpoints);
            // Ride out ~30 s of failed checkpoints (one a second) without restarting, within the
            // transaction timeout: (30 + 1) x (1s + 5s) + 2m = 306s < 10m.
            // The fault leaves every input partition quiet for longer than the idleness timeout;
            // with idleness on, the partition whose part of the next burst is read first would
            // move the watermark past the other's events, which are then (rightly) dead-lettered
            // as late. The test checks exactness, so the watermark waits for every partition.
            environment.put("TELEMETRY_WATERMARK_IDLENESS", "0s");
            environment.put("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES", "30");
            environment.put("TELEMETRY_CHECKPOINT_TIMEOUT", "5s");
            try (ServiceProcess service = new ServiceProcess(environment, dir)) {
                service.start();
                service.awaitReady(Duration.ofMinutes(2));
                Thread producer = paced.sendInBackground(kafka, 0);
                long before = lastCompleted(service);
                Awaitility.await("a checkpoint completes while input flows")
                        .atMost(Duration.ofMinutes(1))
                        .pollInterval(Duration.ofMillis(250))
                        .until(() -> lastCompleted(service) > before);

                long filledAt = System.nanoTime();
                volume.fill();
                Awaitility.await("readiness turns DOWN")
                        .atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(250))
                        .until(() -> service.health("ready") == 503);
                long downAfter = System.nanoTime() - filledAt;
                // A failed checkpoint deletes what it had written: with unaligned checkpoints
                // (the default) that can be more than the probe's 8 KB, and a probe that then
                // finds room says "writable". A volume filled by someone else stays full, so the
                // test keeps it full.
                Awaitility.await("readiness says the volume is full")
                        .atMost(Duration.ofSeconds(20))
                        .pollInterval(Duration.ofMillis(250))
                        .until(
                                () -> {
                                    volume.fill();
                                    return readiness(service)
                                            .path("data")
                                            .path("checkpointVolume")
                                            .asText()
                                            .contains("No space left on device");
                                });
                JsonNode down = readiness(service);
                System.out.println("Readiness with a full checkpoint volume: " + down);
                assertThat(down.path("status").asText()).isEqualTo("DOWN");
                assertThat(down.path("data").path("checkpointsFailing").asBoolean()).isTrue();
                assertThat(down.path("data").path("lastCheckpointFailure").asText()).isNotBlank();
                // Within the tolerance the job keeps running: it is the checkpoints that fail.
                assertThat(down.path("data").path("state").asText()).isEqualTo("RUNNING");
                producer.join(Duration.ofMinutes(1).toMillis());
                assertThat(metric(service, "flink_jobmanager_job_numRestarts")).isEqualTo(0.0);

                volume.free();
                long freedAt = System.nanoTime();
                Awaitility.await("readiness is UP again")
                        .atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(250))
                        .until(() -> service.health("ready") == 200);
                long upAfter = System.nanoTime() - freedAt;
                assertThat(readiness(service).path("data").path("checkpointsFailing").asBoolean())
                        .isFalse();
                assertThat(service.lastLog())
                        .as("the log says once why readiness went DOWN, and that it came back")
                        .containsPattern("Not ready: .*checkpoint \\d+ failed")
                        .contains("Ready again: ");

                kafka.send(paced.chunk(1));
                kafka.awaitCheckpointed(
                        environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
                kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
                kafka.readCommitted(
                        topics.output(),
                        Duration.ofMinutes(2),
                        read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
                System.out.printf(
                        "Full checkpoint volume: readiness DOWN %d ms after it filled, UP %d ms"
                                + " after space was freed%n",
                        downAfter / 1_000_000, upAfter / 1_000_000);
                assertThat(metric(service, "flink_jobmanager_job_numRestarts")).isEqualTo(0.0);
                assertThat(service.stop(Duration.ofSeconds(60)))
                        .as("exit code after SIGTERM")
                        .isZero();
            }
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                expected);
    }

    /** Starts the service, expects it to exit non-zero before it is ready; returns its log. */
    private static String startUpFailure(Map<String, String> environment, Path logDir)
            throws Exception {
        try (ServiceProcess service = new ServiceProcess(environment, logDir)) {
            service.start();
            Awaitility.await("the service exits")
                    .atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> !service.isAlive());
            assertThat(service.exitCode()).as("exit code; log:\n%s", service.lastLog()).isNotZero();
            return service.lastLog();
        }
    }

    private static long lastCompleted(ServiceProcess service) throws Exception {
        return readiness(service).path("data").path("lastCompletedCheckpoint").asLong(-1);
    }

    private static JsonNode readiness(ServiceProcess service) throws Exception {
        JsonNode body = JSON.readTree(service.get("/q/health/ready", "application/json"));
        return body.path("checks").get(0);
    }

    private static double metric(ServiceProcess service, String name) {
        return service.get("/q/metrics", "text/plain")
                .lines()
                .filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElseThrow(() -> new AssertionError(name + " is not scraped"));
    }
}

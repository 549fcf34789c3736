package dev.telemetry.aggregator.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFeed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * When checkpoints stop completing while the job keeps running, the checkpoint-lag gauge grows and
 * readiness turns DOWN; when they complete again, both recover.
 */
class CheckpointStallIT extends SharedBrokerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LAG =
            Pattern.compile("(?m)^telemetry_checkpoint_lag_seconds(?:\\{[^}]*})? (\\S+)$");

    @Test
    void checkpointLagGrowsAndReadinessTurnsDownUntilCheckpointsComplete() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        Path dir = Paths.get("target", "checkpoint-stall-it", input).toAbsolutePath();
        Path checkpoints = dir.resolve("checkpoints");
        Path away = dir.resolve("checkpoints.away");
        Files.createDirectories(dir);
        kafka.createTopic(input, 1);
        Map<String, String> environment =
                ServiceProcess.environment(
                        kafka.bootstrapServers(),
                        input,
                        input + "-aggregates",
                        input + "-dlq",
                        checkpoints);
        // Tolerate failed checkpoints, so the job stays RUNNING through the stall; a short
        // checkpoint timeout keeps that within the transaction timeout start-up checks:
        // (100 + 1) x (500ms + 2s) + 2m = 372.5s < 10m.
        environment.put("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES", "100");
        environment.put("TELEMETRY_CHECKPOINT_TIMEOUT", "2s");
        environment.put("TELEMETRY_WINDOW_SIZE", "1s");
        environment.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        // Readiness allows 6 intervals: 3s without a completed checkpoint.
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "500ms");
        environment.put("TELEMETRY_HEALTH_MAX_CHECKPOINT_LAG_INTERVALS", "6");
        try (ServiceProcess service = new ServiceProcess(environment, dir);
                TelemetryFeed feed =
                        new TelemetryFeed(kafka.bootstrapServers(), input, Duration.ofMinutes(3))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            Awaitility.await("a first checkpoint completes")
                    .atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> readiness(service).path("data").has("lastCompletedCheckpoint"));

            // A plain file where the checkpoint directory was: every checkpoint now fails to
            // create its directory (root ignores permissions, so chmod would not do). The
            // retained checkpoints are kept aside, untouched.
            Files.move(checkpoints, away);
            Files.writeString(checkpoints, "not a directory");
            double lagAtStall = checkpointLag(service);

            Awaitility.await("readiness turns DOWN on checkpoint lag")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> service.health("ready") == 503);
            Awaitility.await("the checkpoint lag keeps growing")
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> checkpointLag(service) >= lagAtStall + 8);
            JsonNode down = readiness(service);
            assertThat(down.path("status").asText()).isEqualTo("DOWN");
            // Still RUNNING: it is the stale checkpoint, not a failed job, that made it DOWN.
            assertThat(down.path("data").path("state").asText()).isEqualTo("RUNNING");
            assertThat(down.path("data").path("checkpointLagSeconds").asDouble())
                    .isGreaterThan(down.path("data").path("maxCheckpointLagSeconds").asDouble());
            assertThat(service.get("/q/metrics", "text/plain"))
                    .containsPattern("(?m)^telemetry_job_running(\\{[^}]*})? 1\\.0$");

            Files.delete(checkpoints);
            Files.move(away, checkpoints);

            Awaitility.await("readiness is UP again")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> service.health("ready") == 200);
            Awaitility.await("the checkpoint lag is small again")
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> checkpointLag(service) < 3);
            assertThat(feed.sent()).isPositive();
        }
    }

    private static JsonNode readiness(ServiceProcess service) throws Exception {
        JsonNode body = JSON.readTree(service.get("/q/health/ready", "application/json"));
        return body.path("checks").get(0);
    }

    private static double checkpointLag(ServiceProcess service) {
        Matcher matcher = LAG.matcher(service.get("/q/metrics", "text/plain"));
        assertThat(matcher.find()).as("telemetry_checkpoint_lag_seconds is scraped").isTrue();
        return Double.parseDouble(matcher.group(1));
    }
}

package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Output and offsets are first committed by the first checkpoint. It comes as soon as every task
 * runs, at start-up and after a {@code kill -9}, not at a random point of the checkpoint interval
 * (Flink's own first periodic checkpoint, which is declined while tasks still deploy).
 */
class FirstCheckpointIT extends SharedBrokerTest {
    /**
     * Long enough that Flink's first periodic checkpoint would rarely fall within {@link #SOON};
     * the service refuses a longer one with the default transaction timeout.
     */
    private static final String INTERVAL = "5m";

    private static final Duration SOON = Duration.ofSeconds(30);

    @Test
    void theFirstCheckpointFollowsStartUpAndEachRestartWithoutWaitingForTheInterval()
            throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(2);
        Path base = Paths.get("target", "first-checkpoint-it", topics.input()).toAbsolutePath();
        Path checkpoints = base.resolve("checkpoints");
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, topics.input(), topics.output(), topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", INTERVAL);
        environment.put("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES", "0");

        try (ServiceProcess service = new ServiceProcess(environment, base)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            await().atMost(SOON)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> ServiceProcess.newestCheckpointId(checkpoints) >= 1);

            service.kill();
            long beforeRestart = ServiceProcess.newestCheckpointId(checkpoints);
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog()).contains("restored from");
            await().atMost(SOON)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> ServiceProcess.newestCheckpointId(checkpoints) > beforeRestart);
        }
    }
}

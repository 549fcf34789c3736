package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Two packaged services on one checkpoint directory: the second refuses to start, naming the
 * directory and its setting, while the first keeps running; once the first is killed with {@code
 * kill -9} (no shutdown hook runs) the operating system releases its lock and a new one starts.
 */
class ServiceVolumeLockIT extends SharedBrokerTest {

    @Test
    void aSecondProcessOnTheSameVolumeRefusesToStartUntilTheFirstIsGone() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(1);
        Path dir = Paths.get("target", "volume-lock-it", topics.input()).toAbsolutePath();
        Path checkpoints = dir.resolve("checkpoints");
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, topics.input(), topics.output(), topics.deadLetters(), checkpoints);

        try (ServiceProcess first = new ServiceProcess(environment, dir.resolve("first"));
                ServiceProcess second = new ServiceProcess(environment, dir.resolve("second"));
                ServiceProcess third = new ServiceProcess(environment, dir.resolve("third"))) {
            first.start();
            first.awaitReady(Duration.ofMinutes(2));

            second.start();
            Awaitility.await("the second process exits")
                    .atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> !second.isAlive());
            assertThat(second.exitCode()).as("exit code; log:\n%s", second.lastLog()).isNotZero();
            assertThat(second.lastLog())
                    .contains("The checkpoint directory " + checkpoints)
                    .contains("TELEMETRY_CHECKPOINT_DIR")
                    .contains("another instance of the service holds its lock")
                    .contains("(pid " + first.pid() + ")");
            assertThat(first.isAlive()).isTrue();
            assertThat(first.health("ready")).isEqualTo(200);

            first.kill();
            third.start();
            third.awaitReady(Duration.ofMinutes(2));
            assertThat(third.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
        }
    }
}

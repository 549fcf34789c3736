package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * When the job fails for good (every restart fails again until the restart strategy gives up), the
 * packaged service reports not ready and exits non-zero, so a container runtime restarts it.
 */
class ServiceFailureIT extends SharedBrokerTest {

    @Test
    void exitsNonZeroWhenRestartsAreExhausted() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        Path dir = Paths.get("target", "failure-it", input).toAbsolutePath();
        Path checkpoints = dir.resolve("checkpoints");
        Map<String, String> environment =
                ServiceProcess.environment(
                        kafka.bootstrapServers(),
                        input,
                        input + "-aggregates",
                        input + "-dlq",
                        checkpoints);
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "500ms");
        environment.put("TELEMETRY_RESTART_MAX_ATTEMPTS", "2");
        environment.put("TELEMETRY_RESTART_INITIAL_BACKOFF", "200ms");
        environment.put("TELEMETRY_RESTART_MAX_BACKOFF", "1s");
        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));

            // A file where the checkpoint directory was: every checkpoint now fails, and with it
            // every restart of the job (root ignores permissions, so chmod would not do). The
            // running service writes into the directory (checkpoints, its heartbeat) and may
            // create it again at any moment, so move it away and put the file in its place until
            // the file wins.
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(50))
                    .until(
                            () -> {
                                if (Files.isDirectory(checkpoints)) {
                                    Files.move(
                                            checkpoints,
                                            dir.resolve("checkpoints-gone-" + System.nanoTime()));
                                }
                                try {
                                    Files.writeString(checkpoints, "not a directory");
                                } catch (FileSystemException e) {
                                    // Created again as a directory meanwhile: move it again.
                                }
                                return Files.isRegularFile(checkpoints);
                            });

            Awaitility.await()
                    .atMost(Duration.ofMinutes(2))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> !service.isAlive());
            assertThat(service.exitCode()).isEqualTo(1);
            assertThat(service.lastLog())
                    .contains("exiting with status 1 so the service is restarted");
        }
    }
}

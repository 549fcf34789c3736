package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Output and offsets are first committed by the first checkpoint. It comes as soon as every task
 * runs and the source has read its first records (or found none), at start-up and after a {@code
 * kill -9}, not at a random point of the checkpoint interval (Flink's own first periodic
 * checkpoint, which is declined while tasks still deploy); and if the source had found none,
 * another follows its first records.
 */
class FirstCheckpointIT extends SharedBrokerTest {
    /**
     * Long enough that Flink's first periodic checkpoint would rarely fall within {@link #SOON};
     * the service refuses a longer one with the default transaction timeout.
     */
    private static final String INTERVAL = "5m";

    private static final Duration SOON = Duration.ofSeconds(30);

    private static final int PARTITIONS = 2;

    /**
     * The run's first checkpoint follows start-up and the restart after a {@code kill -9}, before
     * any input. Input sent after it is committed at once (processing again: the group's offsets
     * move), not at Flink's next periodic checkpoint, a random part of the interval away: without
     * the checkpoint on the first records, the offsets stayed where they were for up to the 5
     * minutes of the interval.
     */
    @Test
    void theFirstCommitsFollowStartUpEachRestartAndTheFirstRecordsWithoutWaitingForTheInterval()
            throws Exception {
        Instance instance = new Instance(kafka.createTestTopics(PARTITIONS));
        Path checkpoints = instance.checkpoints;

        try (ServiceProcess service = new ServiceProcess(instance.environment, instance.base)) {
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
            long firstOfTheRun = ServiceProcess.newestCheckpointId(checkpoints);
            assertThat(instance.committedOffsets()).isZero();

            instance.send("first-");
            await().atMost(SOON)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> instance.committedOffsets() > 0);
            assertThat(ServiceProcess.newestCheckpointId(checkpoints)).isGreaterThan(firstOfTheRun);
        }
    }

    /**
     * After a {@code kill -9} with input waiting, the run's first checkpoint commits the first
     * records read: it waits for them rather than being taken as soon as every task runs. One taken
     * before the source's first fetch returned would commit nothing, and the checkpoint that does
     * would wait for it to complete.
     */
    @Test
    void aRestartWithInputWaitingCommitsItWithTheRunsFirstCheckpoint() throws Exception {
        Instance instance = new Instance(kafka.createTestTopics(PARTITIONS));
        Path checkpoints = instance.checkpoints;

        try (ServiceProcess service = new ServiceProcess(instance.environment, instance.base)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            instance.send("before-");
            await().atMost(SOON)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> instance.committedOffsets() > 0);

            service.kill();
            long committedBefore = instance.committedOffsets();
            long beforeRestart = ServiceProcess.newestCheckpointId(checkpoints);
            instance.send("waiting-");
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            await().atMost(SOON)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> instance.committedOffsets() > committedBefore);
            assertThat(ServiceProcess.newestCheckpointId(checkpoints))
                    .as("checkpoints of the run until its first commit")
                    .isEqualTo(beforeRestart + 1);
        }
    }

    /** A service instance of the test's own: topics, checkpoint volume, a 5-minute interval. */
    private static final class Instance {
        final KafkaTestClient.TestTopics topics;
        final Path base;
        final Path checkpoints;
        final Map<String, String> environment;
        final String group;

        Instance(KafkaTestClient.TestTopics topics) {
            this.topics = topics;
            this.base = Paths.get("target", "first-checkpoint-it", topics.input()).toAbsolutePath();
            this.checkpoints = base.resolve("checkpoints");
            this.environment =
                    PacedInput.serviceEnvironment(
                            kafka,
                            topics.input(),
                            topics.output(),
                            topics.deadLetters(),
                            checkpoints);
            environment.put("TELEMETRY_CHECKPOINT_INTERVAL", INTERVAL);
            environment.put("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES", "0");
            this.group = environment.get("TELEMETRY_SOURCE_GROUP_ID");
        }

        void send(String devicePrefix) {
            List<TelemetryFixtures.Event> events =
                    TelemetryFixtures.events(devicePrefix, 2, 2, 5, 1_000_000L, 100, 0, 7);
            kafka.send(events.stream().map(e -> e.toRecord(topics.input(), PARTITIONS)).toList());
        }

        long committedOffsets() {
            return kafka.committedOffsetSum(group, topics.input());
        }
    }
}

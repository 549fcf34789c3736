package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A graceful stop (SIGTERM) while input flows: the service stops the job with a savepoint, exits 0,
 * and the next start resumes from that savepoint; the committed output is exactly the expected
 * aggregates.
 */
class ServiceStopIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long START = 1_763_701_200_000L;

    @Test
    void sigtermStopsWithASavepointAndTheNextStartResumesFromIt() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String output = topics.output();
        String deadLetters = topics.deadLetters();
        List<Event> events = TelemetryFixtures.events("sensor-", 10, 2, 120, START, 250, 0, 5);
        Map<AggregateKey, Aggregate> expected = TelemetryFixtures.expectedAggregates(events, 2_000);
        Path checkpoints = Paths.get("target", "stop-it", input, "checkpoints");
        PacedInput paced = new PacedInput(input, PARTITIONS, events, 4, 2);

        Map<String, String> environment =
                PacedInput.serviceEnvironment(kafka, input, output, deadLetters, checkpoints);
        try (ServiceProcess service =
                new ServiceProcess(environment, Paths.get("target", "stop-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            Thread producer = paced.sendInBackground(kafka, 0);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() -> ServiceProcess.newestCheckpointId(checkpoints) > 0);
            Thread.sleep(500);

            assertThat(producer.isAlive()).as("input still flowing at SIGTERM").isTrue();
            assertThat(service.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
            assertThat(service.lastLog()).contains("Stopped with savepoint");
            producer.join(Duration.ofMinutes(1).toMillis());

            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog())
                    .containsPattern("restored from \\S*savepoints/savepoint-");
            kafka.send(paced.chunk(1));
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    output,
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            assertThat(service.stop(Duration.ofSeconds(40))).isZero();
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30))),
                expected);
        assertThat(kafka.readCommittedToEnd(deadLetters, Duration.ofSeconds(30))).hasSize(4);
    }
}

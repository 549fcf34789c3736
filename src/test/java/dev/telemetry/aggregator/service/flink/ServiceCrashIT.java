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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The packaged service against a broker in another process, killed with {@code kill -9} three times
 * while input flows and restarted each time on the same checkpoint directory: afterwards a {@code
 * read_committed} reader sees exactly the expected aggregates and dead letters, nothing missing and
 * nothing twice.
 */
class ServiceCrashIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_697_600_000L;
    private static final int KILLS = 3;

    @Test
    void killedThreeTimesWhileInputFlowsOutputIsExactlyOnce() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String output = topics.output();
        String deadLetters = topics.deadLetters();

        // 20 devices x 2 metrics, an event every 250 ms of event time each: 30 s of event time.
        List<Event> events = TelemetryFixtures.events("sensor-", 20, 2, 120, START, 250, 0, 7);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        int corrupt = 12;
        Path checkpoints = Paths.get("target", "crash-it", input, "checkpoints");
        PacedInput paced = new PacedInput(input, PARTITIONS, events, corrupt, KILLS + 1);

        Map<String, String> environment =
                PacedInput.serviceEnvironment(kafka, input, output, deadLetters, checkpoints);
        try (ServiceProcess service =
                new ServiceProcess(environment, Paths.get("target", "crash-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));

            paced.sendKillingEachRun(kafka, service, checkpoints, KILLS, 11);
            kafka.send(paced.chunk(KILLS));
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));

            kafka.readCommitted(
                    output,
                    Duration.ofMinutes(3),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            kafka.readCommitted(deadLetters, Duration.ofMinutes(1), read -> read.size() >= corrupt);
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();

            List<String> logs = service.logsOfEachStart();
            assertThat(logs).hasSize(KILLS + 1);
            for (String restartLog : logs.subList(1, logs.size())) {
                assertThat(restartLog).contains("restored from");
            }
        }

        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30))),
                expected);
        List<ConsumerRecord<byte[], byte[]>> dlq =
                kafka.readCommittedToEnd(deadLetters, Duration.ofSeconds(30));
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

package dev.telemetry.aggregator.service.checkpoint;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Late events replayed after a {@code kill -9} are late again. The packaged service closes a window
 * and commits its aggregate; after a restart, late events of that window arrive and are routed to
 * the dead-letter topic in a transaction that the next checkpoint would commit; the process is
 * killed before that checkpoint, and the next run reads the same events again. Flink does not
 * checkpoint watermarks: before the event time reached was kept in operator state, the restarted
 * job took those events into a fresh window and wrote a second aggregate of it, and no dead letter.
 * A run without failures writes one aggregate per window and one {@code late} dead letter per late
 * event, and so must this one.
 */
class LateEventsAfterRestoreIT extends SharedBrokerTest {
    private static final int PARTITIONS = 2;

    /** A window boundary (2 s windows): window A is [START, START + 2 s). */
    private static final long START = 1_763_697_600_000L;

    @Test
    void lateEventsReplayedAfterKillAreDeadLetteredOnceAndNoWindowIsWrittenTwice()
            throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        Path base = Path.of("target", "late-after-restore-it", topics.input()).toAbsolutePath();
        Path checkpoints = base.resolve("checkpoints");
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, topics.input(), topics.output(), topics.deadLetters(), checkpoints);
        // Event time moves only with the input here; no partition may go idle meanwhile.
        environment.put("TELEMETRY_WATERMARK_IDLENESS", "0s");
        String group = environment.get("TELEMETRY_SOURCE_GROUP_ID");

        // Window A on both partitions, then an event 4 s later on each: A closes and is written.
        List<Event> onTime = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            onTime.add(new Event("device-" + p, "temperature", 20.0 + p, START + 100));
            onTime.add(new Event("device-" + p, "temperature", 22.0 + p, START + 900));
            onTime.add(new Event("device-" + p, "temperature", 30.0, START + 4_000));
        }
        List<Event> late = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            for (int i = 0; i < 3; i++) {
                late.add(new Event("device-" + p, "temperature", 100.0 + i, START + 1_000 + i));
            }
        }

        try (ServiceProcess service = new ServiceProcess(environment, base)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            TelemetryFixtures.awaitReadingEveryPartition(
                    kafka, topics.input(), PARTITIONS, START, group);
            send(topics.input(), onTime);
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(1),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= PARTITIONS);
            // The checkpoint that committed window A's aggregates was taken after A fired.
            service.kill();

            // A run whose only checkpoint is its first one, at start-up.
            environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "5m");
            environment.put("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES", "0");
            long before = ServiceProcess.newestCheckpointId(checkpoints);
            try (ServiceProcess quiet = new ServiceProcess(environment, base.resolve("quiet"))) {
                quiet.start();
                quiet.awaitReady(Duration.ofMinutes(2));
                Awaitility.await()
                        .atMost(Duration.ofMinutes(1))
                        .until(() -> ServiceProcess.newestCheckpointId(checkpoints) > before);
                send(topics.input(), late);
                // Processed (dead-lettered in an open transaction) but not committed.
                List<ConsumerRecord<byte[], byte[]>> written =
                        kafka.readUncommitted(
                                topics.deadLetters(),
                                Duration.ofSeconds(30),
                                read -> read.size() >= late.size());
                assertThat(written)
                        .as("late events dead-lettered (uncommitted) after the restart")
                        .hasSize(late.size());
                quiet.kill();
            }

            environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
            environment.remove("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES");
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog()).contains("restored from");
            kafka.awaitCheckpointed(group, topics.input(), Duration.ofMinutes(1));
            kafka.send(
                    TelemetryFixtures.watermarkFlush(
                            topics.input(), PARTITIONS, START + 3_600_000));
            Map<AggregateKey, Aggregate> expected =
                    TelemetryFixtures.expectedAggregates(onTime, 2_000);
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(1),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();

            TelemetryFixtures.assertExactlyOnce(
                    TelemetryFixtures.parseAggregates(
                            kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                    expected);
            List<ConsumerRecord<byte[], byte[]>> deadLetters =
                    kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(30));
            assertThat(deadLetters)
                    .extracting(record -> TelemetryFixtures.header(record, "dlq.reason"))
                    .as("every dead letter is a late event")
                    .containsOnly("late");
            assertThat(deadLetters)
                    .extracting(record -> new String(record.value(), StandardCharsets.UTF_8))
                    .as("each late event dead-lettered exactly once, as its original bytes")
                    .containsExactlyInAnyOrderElementsOf(late.stream().map(Event::json).toList());
        }
    }

    /** Sends each event to the partition its device is numbered after: device-0 to 0. */
    private static void send(String topic, List<Event> events) {
        kafka.send(
                events.stream()
                        .map(
                                event ->
                                        new ProducerRecord<>(
                                                topic,
                                                Integer.parseInt(
                                                        event.deviceId()
                                                                .substring("device-".length())),
                                                event.deviceId().getBytes(StandardCharsets.UTF_8),
                                                event.json().getBytes(StandardCharsets.UTF_8)))
                        .toList());
    }
}

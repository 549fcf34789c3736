package dev.telemetry.aggregator.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged service against a broker in another process, killed with {@code kill -9} three times
 * while input flows and restarted each time on the same checkpoint directory: afterwards a {@code
 * read_committed} reader sees exactly the expected aggregates and dead letters, nothing missing and
 * nothing twice.
 */
class ServiceCrashIT {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_697_600_000L;
    private static final int KILLS = 3;

    private static KafkaTestClient kafka;

    @BeforeAll
    static void connect() {
        kafka = KafkaTestClient.forSharedBroker();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void killedThreeTimesWhileInputFlowsOutputIsExactlyOnce() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        String output = KafkaTestClient.uniqueTopic("aggregates");
        String deadLetters = KafkaTestClient.uniqueTopic("dlq");
        String group = "crash-it-" + input;
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, 2);
        kafka.createTopic(deadLetters, 1);

        // 20 devices x 2 metrics, an event every 250 ms of event time each: 30 s of event time.
        List<Event> events = TelemetryFixtures.events("sensor-", 20, 2, 120, START, 250, 0, 7);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        int corrupt = 12;

        Map<String, String> environment =
                Map.ofEntries(
                        Map.entry("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers()),
                        Map.entry("TELEMETRY_INPUT_TOPICS", input),
                        Map.entry("TELEMETRY_OUTPUT_TOPIC", output),
                        Map.entry("TELEMETRY_DEAD_LETTER_TOPIC", deadLetters),
                        Map.entry("TELEMETRY_SOURCE_GROUP_ID", group),
                        Map.entry("TELEMETRY_TRANSACTIONAL_ID_PREFIX", group),
                        Map.entry("TELEMETRY_SOURCE_START", "earliest"),
                        Map.entry("TELEMETRY_WINDOW_SIZE", WINDOW_MILLIS + "ms"),
                        Map.entry("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s"),
                        Map.entry("TELEMETRY_WATERMARK_IDLENESS", "3s"),
                        Map.entry("TELEMETRY_CHECKPOINT_INTERVAL", "1s"),
                        Map.entry("TELEMETRY_PARALLELISM", "2"),
                        Map.entry(
                                "TELEMETRY_CHECKPOINT_DIR",
                                Paths.get("target", "crash-it", input, "checkpoints")
                                        .toAbsolutePath()
                                        .toString()));

        Path checkpoints = Paths.get(environment.get("TELEMETRY_CHECKPOINT_DIR"));
        List<List<ProducerRecord<byte[], byte[]>>> chunks =
                chunks(input, events, corrupt, KILLS + 1);
        try (ServiceProcess service =
                new ServiceProcess(environment, Paths.get("target", "crash-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));

            Random random = new Random(11);
            for (int kill = 1; kill <= KILLS; kill++) {
                Thread producer = produceInBackground(chunks.get(kill - 1));
                // Kill only once this run has completed a checkpoint of its own, so every run
                // makes progress, and while this chunk is still flowing.
                long newestBefore = newestCheckpointId(checkpoints);
                Awaitility.await()
                        .atMost(Duration.ofMinutes(1))
                        .until(() -> newestCheckpointId(checkpoints) > newestBefore);
                Thread.sleep(200 + random.nextInt(800));
                service.kill();
                producer.join(Duration.ofMinutes(1).toMillis());
                assertThat(producer.isAlive()).as("producer of chunk %d finished", kill).isFalse();
                service.start();
                service.awaitReady(Duration.ofMinutes(2));
            }
            kafka.send(chunks.get(KILLS));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));

            kafka.readCommitted(
                    output,
                    Duration.ofMinutes(3),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            kafka.readCommitted(deadLetters, Duration.ofMinutes(1), read -> read.size() >= corrupt);
            // 143 = 128 + SIGTERM: the JVM's exit code after running its shutdown hooks.
            assertThat(service.stop(Duration.ofSeconds(60)))
                    .as("exit code after SIGTERM")
                    .isIn(0, 143);
            assertThat(service.lastLog()).contains("Cancelling job").contains("stopped in");

            List<String> logs = service.logsOfEachStart();
            assertThat(logs).hasSize(KILLS + 1);
            for (String restartLog : logs.subList(1, logs.size())) {
                assertThat(restartLog).contains("restored from");
            }
        }

        List<Aggregate> committed =
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30)));
        TelemetryFixtures.assertExactlyOnce(committed, expected);

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

    /**
     * The input in {@code count} chunks, in time order, with numbered corrupt records spread over
     * it.
     */
    private static List<List<ProducerRecord<byte[], byte[]>>> chunks(
            String input, List<Event> events, int corrupt, int count) {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        int corruptEvery = events.size() / corrupt;
        int corruptSent = 0;
        for (int i = 0; i < events.size(); i++) {
            records.add(events.get(i).toRecord(input, PARTITIONS));
            if (i % corruptEvery == corruptEvery - 1 && corruptSent < corrupt) {
                records.add(
                        new ProducerRecord<>(
                                input,
                                corruptSent % PARTITIONS,
                                null,
                                ("corrupt record #" + corruptSent++)
                                        .getBytes(StandardCharsets.UTF_8)));
            }
        }
        List<List<ProducerRecord<byte[], byte[]>>> chunks = new ArrayList<>();
        int size = (records.size() + count - 1) / count;
        for (int from = 0; from < records.size(); from += size) {
            chunks.add(records.subList(from, Math.min(records.size(), from + size)));
        }
        return chunks;
    }

    /** Sends a chunk at about 300 records/s (input flowing, not one burst), bounded in time. */
    private static Thread produceInBackground(List<ProducerRecord<byte[], byte[]>> chunk) {
        Thread producer =
                new Thread(
                        () -> {
                            try {
                                for (int from = 0; from < chunk.size(); from += 40) {
                                    kafka.send(
                                            chunk.subList(from, Math.min(chunk.size(), from + 40)));
                                    Thread.sleep(130);
                                }
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "crash-it-producer");
        producer.start();
        return producer;
    }

    private static long newestCheckpointId(Path checkpoints) throws java.io.IOException {
        return new CheckpointLocator(checkpoints)
                .newestCompleted()
                .map(CheckpointLocator.Snapshot::checkpointId)
                .orElse(0L);
    }
}

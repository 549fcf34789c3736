package dev.telemetry.aggregator.job;

import static dev.telemetry.aggregator.testing.TelemetryFixtures.header;
import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.codec.DeadLetterSerializationSchema;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole topology on a Flink MiniCluster against a real broker: a known input produces exactly
 * the expected aggregates for a {@code read_committed} reader, and every bad or late record lands
 * in the dead-letter topic with its reason and original bytes.
 */
class TelemetryPipelineIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 10_000;
    private static final long START = 1_763_683_200_000L;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    @Test
    void exactlyOnceOutputEqualsExpectedAggregatesAndBadRecordsAreDeadLettered() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String output = topics.output();
        String deadLetters = topics.deadLetters();

        List<Event> events = TelemetryFixtures.events("sensor-", 6, 2, 40, START, 1_000, 2_000, 42);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        Map<String, String> badValues = new HashMap<>();
        badValues.put("not json at all", "invalid-json");
        badValues.put("[1,2,3]", "not-an-object");
        badValues.put(
                "{\"metric\":\"temperature\",\"value\":1,\"timestamp\":" + START + "}",
                "missing-field");
        badValues.put(
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":\"high\",\"timestamp\":"
                        + START
                        + "}",
                "invalid-field");
        badValues.put(
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e400,\"timestamp\":" + START + "}",
                "non-finite-value");
        badValues.put(
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"yesterday\"}",
                "invalid-timestamp");

        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        events.forEach(event -> records.add(event.toRecord(input, PARTITIONS)));
        int position = 0;
        for (String bad : badValues.keySet()) {
            position += records.size() / (badValues.size() + 1);
            records.add(
                    position,
                    new ProducerRecord<>(
                            input,
                            position % PARTITIONS,
                            "bad-key".getBytes(StandardCharsets.UTF_8),
                            bad.getBytes(StandardCharsets.UTF_8)));
        }
        records.add(
                new ProducerRecord<>(input, 0, "tombstone".getBytes(StandardCharsets.UTF_8), null));
        kafka.send(records);
        String group = "pipeline-it-" + input;

        JobOptions options =
                options(
                        kafka,
                        Map.of(
                                Settings.INPUT_TOPICS.key(), input,
                                Settings.OUTPUT_TOPIC.key(), output,
                                Settings.DEAD_LETTER_TOPIC.key(), deadLetters,
                                Settings.TRANSACTIONAL_ID_PREFIX.key(), "pipeline-it-" + input,
                                Settings.GROUP_ID.key(), group));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TelemetryAggregationJob.configure(env, options);
        TelemetryAggregationJob.withKafka(options).build(env);
        JobClient job = env.executeAsync("pipeline-it");
        try {
            kafka.awaitCheckpointed(group, input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            List<ConsumerRecord<byte[], byte[]>> out =
                    kafka.readCommitted(
                            output,
                            Duration.ofMinutes(2),
                            read ->
                                    TelemetryFixtures.parseAggregates(read).size()
                                            >= expected.size());
            assertThat(TelemetryFixtures.parseAggregates(out)).hasSize(expected.size());

            // An event for a window that already closed (the flush moved every partition's
            // watermark an hour ahead) must be routed as late, not dropped.
            Event late = new Event("sensor-0", "metric-0", 1.0, START + 5_000);
            kafka.send(List.of(late.toRecord(input, PARTITIONS)));

            int expectedDeadLetters = badValues.size() + 2;
            List<ConsumerRecord<byte[], byte[]>> dlq =
                    kafka.readCommitted(
                            deadLetters,
                            Duration.ofMinutes(1),
                            read -> read.size() >= expectedDeadLetters);
            Map<String, ConsumerRecord<byte[], byte[]>> byValue =
                    dlq.stream()
                            .filter(r -> r.value() != null)
                            .collect(
                                    Collectors.toMap(
                                            r -> new String(r.value(), StandardCharsets.UTF_8),
                                            Function.identity(),
                                            (a, b) -> a));
            badValues.forEach(
                    (value, reason) -> {
                        ConsumerRecord<byte[], byte[]> record = byValue.get(value);
                        assertThat(record).as("dead letter for %s", value).isNotNull();
                        assertThat(header(record, DeadLetterSerializationSchema.REASON_HEADER))
                                .isEqualTo(reason);
                        assertThat(new String(record.key(), StandardCharsets.UTF_8))
                                .isEqualTo("bad-key");
                        assertThat(
                                        header(
                                                record,
                                                DeadLetterSerializationSchema.SOURCE_TOPIC_HEADER))
                                .isEqualTo(input);
                        assertThat(
                                        header(
                                                record,
                                                DeadLetterSerializationSchema.SOURCE_OFFSET_HEADER))
                                .isNotBlank();
                    });
            assertThat(dlq)
                    .filteredOn(r -> r.value() == null)
                    .singleElement()
                    .satisfies(
                            r ->
                                    assertThat(
                                                    header(
                                                            r,
                                                            DeadLetterSerializationSchema
                                                                    .REASON_HEADER))
                                            .isEqualTo("null-value"));
            assertThat(dlq)
                    .filteredOn(
                            r ->
                                    "late"
                                            .equals(
                                                    header(
                                                            r,
                                                            DeadLetterSerializationSchema
                                                                    .REASON_HEADER)))
                    .singleElement()
                    .satisfies(
                            r -> {
                                assertThat(new String(r.value(), StandardCharsets.UTF_8))
                                        .contains("\"deviceId\":\"sensor-0\"")
                                        .contains("\"timestamp\":" + late.timestamp());
                                assertThat(
                                                header(
                                                        r,
                                                        DeadLetterSerializationSchema
                                                                .SOURCE_TOPIC_HEADER))
                                        .isEqualTo(input);
                            });
        } finally {
            job.cancel().get();
        }

        // After the job is gone, everything committed is final: exactly the expected set.
        List<Aggregate> committed =
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30)));
        TelemetryFixtures.assertExactlyOnce(committed, expected);
    }

    /** Options for a test job: the defaults, with test-sized windows and checkpoints. */
    static JobOptions options(KafkaTestClient kafka, Map<String, String> overrides) {
        Map<String, String> values = new HashMap<>();
        values.put(Settings.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
        values.put(Settings.START.key(), "earliest");
        values.put(Settings.WINDOW_SIZE.key(), WINDOW_MILLIS + "ms");
        values.put(Settings.MAX_OUT_OF_ORDERNESS.key(), "3s");
        values.put(Settings.IDLENESS.key(), "1s");
        values.put(Settings.CHECKPOINT_INTERVAL.key(), "500ms");
        values.put(Settings.PARALLELISM.key(), "2");
        values.putAll(overrides);
        return JobOptions.fromSettings(new Settings(values));
    }
}

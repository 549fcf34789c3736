package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.codec.DeadLetterSerializationSchema;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.testing.KafkaTestClient;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * One record of every hostile kind, sent to the packaged service between valid events: the job
 * stays RUNNING without a single restart, the valid events aggregate exactly, and the dead-letter
 * topic holds each hostile record with the right reason (read_committed), counted per reason in
 * {@code /q/metrics}. The dead-letter topic accepts far less than the input topic, so the largest
 * hostile record is written truncated, with its original size.
 */
class HostileRecordsIT extends SharedBrokerTest {
    private static final long START = 1_763_683_200_000L;
    private static final long WINDOW_MILLIS = 2_000;
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /** The dead-letter topic's limit: far below the input topic's default of about 1 MB. */
    private static final int DEAD_LETTER_MAX_MESSAGE_BYTES = 64 * 1024;

    /** Near the input topic's (and the producer's) default limit of 1 MiB. */
    private static final int HUGE_BYTES = 1_000_000;

    private static final Pattern DEAD_LETTER_COUNT =
            Pattern.compile(
                    "(?m)^flink_taskmanager_job_task_operator_reason_deadLetteredRecords_total\\{"
                            + "[^}]*reason=\"([a-z0-9-]+)\"[^}]*} ([0-9.E]+)$");
    private static final Pattern RESTARTS =
            Pattern.compile("(?m)^flink_jobmanager_job_numRestarts\\{[^}]*} ([0-9.E]+)$");
    private static final Pattern TRUNCATED =
            Pattern.compile(
                    "(?m)^flink_taskmanager_job_task_operator_\\w*truncatedDeadLetters_total\\{[^}]*}"
                        + " ([0-9.E]+)$");

    /** A hostile record, named by its key, and the reason it must be dead-lettered with. */
    private record Hostile(String key, byte[] value, RejectReason reason) {}

    private static List<Hostile> hostileRecords() {
        String ok = "\"metric\":\"m\",\"value\":1,\"timestamp\":" + START;
        byte[] huge = new byte[HUGE_BYTES];
        Arrays.fill(huge, (byte) ' ');
        byte[] hugeStart = utf8("{\"deviceId\":\"d\"," + ok + ",\"pad\":\"");
        System.arraycopy(hugeStart, 0, huge, 0, hugeStart.length);
        huge[HUGE_BYTES - 2] = '"';
        huge[HUGE_BYTES - 1] = '}';
        return List.of(
                new Hostile("tombstone", null, RejectReason.NULL_VALUE),
                new Hostile(
                        "latin-1",
                        ("{\"deviceId\":\"K\u00fcche\"," + ok + "}")
                                .getBytes(StandardCharsets.ISO_8859_1),
                        RejectReason.INVALID_UTF8),
                new Hostile("not-json", utf8("temperature=21.5"), RejectReason.INVALID_JSON),
                new Hostile(
                        "array",
                        utf8("[{\"deviceId\":\"d\"," + ok + "}]"),
                        RejectReason.NOT_AN_OBJECT),
                new Hostile(
                        "deep",
                        utf8("{\"deviceId\":\"d\"," + ok + ",\"x\":" + "[".repeat(50_000) + "}"),
                        RejectReason.LIMIT_EXCEEDED),
                new Hostile("huge", huge, RejectReason.LIMIT_EXCEEDED),
                new Hostile(
                        "duplicate",
                        utf8("{\"deviceId\":\"d\",\"deviceId\":\"e\"," + ok + "}"),
                        RejectReason.DUPLICATE_FIELD),
                new Hostile(
                        "wrong-type",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":\"high\",\"timestamp\":"
                                        + START
                                        + "}"),
                        RejectReason.INVALID_FIELD),
                new Hostile(
                        "non-finite",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e400,\"timestamp\":"
                                        + START
                                        + "}"),
                        RejectReason.NON_FINITE_VALUE),
                new Hostile(
                        "sum-would-overflow",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1.7e308,\"timestamp\":"
                                        + START
                                        + "}"),
                        RejectReason.VALUE_OUT_OF_RANGE),
                new Hostile("no-device", utf8("{" + ok + "}"), RejectReason.MISSING_FIELD),
                new Hostile(
                        "empty-metric",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"\",\"value\":1,\"timestamp\":"
                                        + START
                                        + "}"),
                        RejectReason.MISSING_FIELD),
                new Hostile(
                        "bad-timestamp",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"yesterday\"}"),
                        RejectReason.INVALID_TIMESTAMP),
                new Hostile(
                        "before-2000",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"1999-12-31T23:59:59Z\"}"),
                        RejectReason.TIMESTAMP_OUT_OF_RANGE),
                new Hostile(
                        "too-many-tags",
                        utf8(
                                "{\"deviceId\":\"d\","
                                        + ok
                                        + ",\"tags\":{"
                                        + java.util.stream.IntStream.range(0, 17)
                                                .mapToObj(i -> "\"t" + i + "\":\"v\"")
                                                .collect(java.util.stream.Collectors.joining(","))
                                        + "}}"),
                        RejectReason.TAGS_LIMIT_EXCEEDED),
                new Hostile(
                        "far-future",
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"2100-01-01T00:00:00Z\"}"),
                        RejectReason.TIMESTAMP_OUT_OF_RANGE));
    }

    @Test
    void everyHostileRecordIsDeadLetteredWithItsReasonWithoutARestart() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        String output = KafkaTestClient.uniqueTopic("aggregates");
        String deadLetters = KafkaTestClient.uniqueTopic("dlq");
        // One partition: the hostile records sit exactly between the valid events.
        kafka.createTopic(input, 1);
        kafka.createTopic(output, 1);
        kafka.createTopic(
                deadLetters,
                1,
                Map.of("max.message.bytes", Integer.toString(DEAD_LETTER_MAX_MESSAGE_BYTES)));
        Path dir = Paths.get("target", "hostile-it", input).toAbsolutePath();
        Map<String, String> environment =
                ServiceProcess.environment(
                        kafka.bootstrapServers(),
                        input,
                        output,
                        deadLetters,
                        dir.resolve("checkpoints"));
        environment.put("TELEMETRY_SOURCE_START", "earliest");
        environment.put("TELEMETRY_WINDOW_SIZE", WINDOW_MILLIS + "ms");
        environment.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");

        List<Event> valid = TelemetryFixtures.events("sensor-", 3, 2, 10, START, 500, 0, 11);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(valid, WINDOW_MILLIS);
        List<Hostile> hostile = hostileRecords();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        int between = valid.size() / (hostile.size() + 1);
        for (int i = 0; i < valid.size(); i++) {
            records.add(valid.get(i).toRecord(input, 1));
            if ((i + 1) % between == 0 && (i + 1) / between <= hostile.size()) {
                Hostile h = hostile.get((i + 1) / between - 1);
                records.add(new ProducerRecord<>(input, 0, utf8(h.key()), h.value()));
            }
        }
        assertThat(records).hasSize(valid.size() + hostile.size());

        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(TIMEOUT);
            kafka.send(records);
            kafka.awaitCheckpointed("it-" + input, input, TIMEOUT);
            kafka.send(TelemetryFixtures.watermarkFlush(input, 1, START + 3_600_000));

            kafka.readCommitted(
                    output,
                    TIMEOUT,
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            TelemetryFixtures.assertExactlyOnce(
                    TelemetryFixtures.parseAggregates(
                            kafka.readCommittedToEnd(output, Duration.ofSeconds(30))),
                    expected);

            kafka.readCommitted(deadLetters, TIMEOUT, read -> read.size() >= hostile.size());
            List<ConsumerRecord<byte[], byte[]>> dead =
                    kafka.readCommittedToEnd(deadLetters, Duration.ofSeconds(30));
            Map<String, String> reasonByKey = new LinkedHashMap<>();
            Map<String, ConsumerRecord<byte[], byte[]>> byKey = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> record : dead) {
                String key = new String(record.key(), StandardCharsets.UTF_8);
                reasonByKey.put(
                        key,
                        TelemetryFixtures.header(
                                record, DeadLetterSerializationSchema.REASON_HEADER));
                byKey.put(key, record);
            }
            Map<String, String> expectedReasons = new LinkedHashMap<>();
            hostile.forEach(h -> expectedReasons.put(h.key(), h.reason().code()));
            assertThat(reasonByKey)
                    .as("dead letters by key")
                    .containsExactlyInAnyOrderEntriesOf(expectedReasons);

            for (Hostile h : hostile) {
                ConsumerRecord<byte[], byte[]> letter = byKey.get(h.key());
                if (h.key().equals("huge")) {
                    assertThat(
                                    TelemetryFixtures.header(
                                            letter, DeadLetterSerializationSchema.TRUNCATED_HEADER))
                            .isEqualTo("true");
                    assertThat(
                                    TelemetryFixtures.header(
                                            letter,
                                            DeadLetterSerializationSchema.ORIGINAL_SIZE_HEADER))
                            .isEqualTo(Integer.toString(HUGE_BYTES));
                    assertThat(letter.value().length)
                            .isLessThan(DEAD_LETTER_MAX_MESSAGE_BYTES)
                            .isGreaterThan(DEAD_LETTER_MAX_MESSAGE_BYTES / 2);
                    assertThat(Arrays.copyOf(h.value(), letter.value().length))
                            .as("the truncated value is a prefix of the original")
                            .isEqualTo(letter.value());
                } else {
                    assertThat(letter.value()).as(h.key()).isEqualTo(h.value());
                    assertThat(
                                    TelemetryFixtures.header(
                                            letter, DeadLetterSerializationSchema.TRUNCATED_HEADER))
                            .isNull();
                }
            }

            String metrics = service.get("/q/metrics", "text/plain");
            Map<String, Double> counted = new HashMap<>();
            Matcher count = DEAD_LETTER_COUNT.matcher(metrics);
            while (count.find()) {
                counted.merge(count.group(1), Double.parseDouble(count.group(2)), Double::sum);
            }
            Map<String, Double> expectedCounts = new HashMap<>();
            for (RejectReason reason : RejectReason.values()) {
                expectedCounts.put(reason.code(), 0.0);
            }
            hostile.forEach(h -> expectedCounts.merge(h.reason().code(), 1.0, Double::sum));
            assertThat(counted).as("deadLetteredRecords by reason").isEqualTo(expectedCounts);
            Matcher truncated = TRUNCATED.matcher(metrics);
            assertThat(truncated.find()).as("truncatedDeadLetters in\n%s", metrics).isTrue();
            assertThat(Double.parseDouble(truncated.group(1))).isEqualTo(1.0);

            Matcher restarts = RESTARTS.matcher(metrics);
            assertThat(restarts.find()).as("numRestarts in /q/metrics").isTrue();
            assertThat(Double.parseDouble(restarts.group(1))).as("job restarts").isZero();
            assertThat(service.health("ready")).as("ready: the job is RUNNING").isEqualTo(200);
            assertThat(service.isAlive()).isTrue();
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}

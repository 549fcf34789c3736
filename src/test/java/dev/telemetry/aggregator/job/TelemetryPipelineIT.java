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

    /**
     * Sent once [20 s, 30 s) has closed (the watermark past 30 s, with a 10 s lateness): an event
     * within the lateness of its window, and one past the lateness of [0, 10 s).
     */
    private static final Event WITHIN_LATENESS =
            new Event("sensor-0", "metric-0", 1_000.0, START + 25_000);

    private static final Event LATE = new Event("sensor-0", "metric-0", -1_000.0, START + 5_000);

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

        JobOptions options = options(kafka, input, output, deadLetters, group, Map.of());
        JobClient job = start(options, "pipeline-it");
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

    /**
     * Two rollup levels (30 s, 1 min) over 10 s windows with percentiles and 10 s of allowed
     * lateness: each level's committed records are exactly those computed from the events each
     * window covers, percentiles within the accuracy; a 10 s window that fires again (an event
     * within the lateness) is counted once, at its last firing; a late event is in no level.
     */
    @Test
    void everyRollupLevelEqualsItsEventsAndALateEventIsInNone() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        List<String> outputs =
                List.of(
                        topics.output(),
                        KafkaTestClient.uniqueTopic("aggregates-30s"),
                        KafkaTestClient.uniqueTopic("aggregates-1m"));
        outputs.subList(1, 3).forEach(topic -> kafka.createTopic(topic, 2));
        List<Long> sizes = List.of(WINDOW_MILLIS, 30_000L, 60_000L);
        double[] quantiles = {0.5, 0.99};

        // 40 s of event time (one event per second and key, disorder within 2 s): afterwards the
        // watermark is at most 38 s, so [20 s, 30 s) still takes events (until 39.999 s) and the
        // 30 s window [0, 30 s) has not fired.
        List<Event> events = TelemetryFixtures.events("sensor-", 6, 2, 40, START, 1_000, 2_000, 7);
        kafka.send(events.stream().map(event -> event.toRecord(input, PARTITIONS)).toList());
        String group = "pipeline-rollups-it-" + input;
        JobOptions options =
                options(
                        kafka,
                        input,
                        outputs.get(0),
                        topics.deadLetters(),
                        group,
                        Map.of(
                                Settings.ALLOWED_LATENESS.key(),
                                "10s",
                                Settings.PERCENTILES.key(),
                                "0.5,0.99",
                                Settings.ROLLUPS.key(),
                                "30s=" + outputs.get(1) + ",1m=" + outputs.get(2)));
        JobClient job = start(options, "pipeline-rollups-it");
        List<Event> counted = new ArrayList<>(events);
        try {
            // Once [20 s, 30 s) is out, the watermark is past 30 s: [0, 10 s) is past its
            // lateness, [20 s, 30 s) is not.
            int before = TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS).size();
            kafka.readCommitted(
                    outputs.get(0),
                    Duration.ofMinutes(2),
                    read ->
                            TelemetryFixtures.parseAggregates(read).stream()
                                            .filter(a -> a.windowStart() == START + 20_000)
                                            .count()
                                    == 12);
            kafka.send(
                    List.of(
                            WITHIN_LATENESS.toRecord(input, PARTITIONS),
                            LATE.toRecord(input, PARTITIONS)));
            counted.add(WITHIN_LATENESS);
            kafka.readCommitted(
                    topics.deadLetters(), Duration.ofMinutes(1), read -> read.size() >= 1);
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            for (int level = 1; level < outputs.size(); level++) {
                TelemetryFixtures.awaitAggregates(
                        kafka,
                        outputs.get(level),
                        counted,
                        sizes.get(level),
                        Duration.ofMinutes(2));
            }
            kafka.readCommitted(
                    outputs.get(0),
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.withoutFlush(read).size() >= before + 1);
        } finally {
            job.cancel().get();
        }

        for (int level = 1; level < outputs.size(); level++) {
            List<ConsumerRecord<byte[], byte[]>> committed =
                    TelemetryFixtures.withoutFlush(
                            kafka.readCommittedToEnd(outputs.get(level), Duration.ofSeconds(30)));
            TelemetryFixtures.assertExactlyOnce(
                    TelemetryFixtures.parseAggregates(committed),
                    TelemetryFixtures.expectedAggregates(counted, sizes.get(level)));
            TelemetryFixtures.assertPercentiles(
                    counted, sizes.get(level), committed, quantiles, 0.01);
        }
        // The 10 s level: the refired window twice (first without, then with the event within
        // the lateness), every other window once; the last firing of each is what counts.
        List<ConsumerRecord<byte[], byte[]>> windows =
                TelemetryFixtures.withoutFlush(
                        kafka.readCommittedToEnd(outputs.get(0), Duration.ofSeconds(30)));
        Map<AggregateKey, Aggregate> last =
                TelemetryFixtures.parseAggregates(windows).stream()
                        .collect(
                                Collectors.toMap(Aggregate::key, Function.identity(), (a, b) -> b));
        assertThat(last).isEqualTo(TelemetryFixtures.expectedAggregates(counted, WINDOW_MILLIS));
        assertThat(windows)
                .hasSize(TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS).size() + 1);
        assertOneLateDeadLetter(topics.deadLetters());
    }

    /**
     * Upsert mode on the input of {@link #everyRollupLevelEqualsItsEventsAndALateEventIsInNone},
     * with early results, a 30 s rollup level and a grouping by metric: on every output every
     * window's revisions are 1 to n exactly once, the last alone final and equal to what final
     * mode's last firing gives (the event within the lateness included, in the 10 s window and the
     * 30 s window that contain it, as corrections after they were written at their end); an open
     * window is written early; the late event is a dead letter.
     */
    @Test
    void inUpsertModeTheLastRevisionIsTheFinalResultWithLateCorrections() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String thirty = KafkaTestClient.uniqueTopic("aggregates-30s");
        String byMetric = KafkaTestClient.uniqueTopic("by-metric");
        kafka.createTopic(thirty, 2);
        kafka.createTopic(byMetric, 2);
        kafka.createTopic(byMetric + "-30s", 2);
        List<Event> events = TelemetryFixtures.events("sensor-", 6, 2, 40, START, 1_000, 2_000, 7);
        kafka.send(events.stream().map(event -> event.toRecord(input, PARTITIONS)).toList());
        String group = "pipeline-upsert-it-" + input;
        JobOptions options =
                options(
                        kafka,
                        input,
                        topics.output(),
                        topics.deadLetters(),
                        group,
                        Map.of(
                                Settings.OUTPUT_MODE.key(),
                                "upsert",
                                Settings.EARLY_RESULTS_INTERVAL.key(),
                                "200ms",
                                Settings.ALLOWED_LATENESS.key(),
                                "10s",
                                Settings.ROLLUPS.key(),
                                "30s=" + thirty,
                                Settings.GROUPINGS.key(),
                                "metric=" + byMetric));
        JobClient job = start(options, "pipeline-upsert-it");
        List<Event> counted = new ArrayList<>(events);
        long lastWindow = START + 30_000;
        try {
            // [10 s, 20 s) final: the watermark passed 30 s, so [0, 10 s) is past its lateness
            // and [20 s, 30 s) is not. [30 s, 40 s) is still open (the watermark is at most 38 s):
            // what was written of it is early.
            List<ConsumerRecord<byte[], byte[]>> before =
                    kafka.readCommitted(
                            topics.output(),
                            Duration.ofMinutes(2),
                            read -> {
                                List<TelemetryFixtures.Revision> revisions =
                                        TelemetryFixtures.parseRevisions(read, true, null);
                                return revisions.stream()
                                                        .filter(
                                                                r ->
                                                                        r.aggregate().windowStart()
                                                                                        == START
                                                                                                + 10_000
                                                                                && r.isFinal())
                                                        .count()
                                                == 12
                                        && revisions.stream()
                                                .anyMatch(
                                                        r ->
                                                                r.aggregate().windowStart()
                                                                        == lastWindow);
                            });
            assertThat(
                            TelemetryFixtures.parseRevisions(before, true, null).stream()
                                    .filter(r -> r.aggregate().windowStart() == lastWindow))
                    .as("written before the window closed: early")
                    .noneMatch(TelemetryFixtures.Revision::isFinal);
            kafka.send(
                    List.of(
                            WITHIN_LATENESS.toRecord(input, PARTITIONS),
                            LATE.toRecord(input, PARTITIONS)));
            counted.add(WITHIN_LATENESS);
            kafka.readCommitted(
                    topics.deadLetters(), Duration.ofMinutes(1), read -> read.size() >= 1);
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            for (String topic : List.of(topics.output(), thirty)) {
                long size = topic.equals(thirty) ? 30_000 : WINDOW_MILLIS;
                int windows = TelemetryFixtures.expectedAggregates(counted, size).size();
                kafka.readCommitted(
                        topic,
                        Duration.ofMinutes(2),
                        read ->
                                TelemetryFixtures.parseRevisions(read, true, null).stream()
                                                .filter(TelemetryFixtures.Revision::isFinal)
                                                .count()
                                        >= windows);
            }
            for (String topic : List.of(byMetric, byMetric + "-30s")) {
                long size = topic.equals(byMetric) ? WINDOW_MILLIS : 30_000;
                int windows =
                        TelemetryFixtures.expectedAggregates(
                                        TelemetryFixtures.asSeries(counted, null), size)
                                .size();
                kafka.readCommitted(
                        topic,
                        Duration.ofMinutes(2),
                        read ->
                                TelemetryFixtures.parseRevisions(read, false, null).stream()
                                                .filter(TelemetryFixtures.Revision::isFinal)
                                                .count()
                                        >= windows);
            }
        } finally {
            job.cancel().get();
        }

        Map<String, Long> sizes =
                Map.of(
                        topics.output(),
                        WINDOW_MILLIS,
                        thirty,
                        30_000L,
                        byMetric,
                        WINDOW_MILLIS,
                        byMetric + "-30s",
                        30_000L);
        for (Map.Entry<String, Long> output : sizes.entrySet()) {
            boolean perDevice =
                    output.getKey().equals(topics.output()) || output.getKey().equals(thirty);
            List<Event> series = perDevice ? counted : TelemetryFixtures.asSeries(counted, null);
            Map<AggregateKey, List<TelemetryFixtures.Revision>> windows =
                    TelemetryFixtures.assertRevisionsExactlyOnce(
                            TelemetryFixtures.parseRevisions(
                                    kafka.readCommittedToEnd(
                                            output.getKey(), Duration.ofSeconds(30)),
                                    perDevice,
                                    null),
                            TelemetryFixtures.expectedAggregates(series, output.getValue()));
            // The window that took the event within the lateness, on this level: written at its
            // end without it, then corrected with it.
            long start = START + 25_000 - Math.floorMod(25_000, output.getValue());
            List<Long> counts =
                    windows
                            .get(new AggregateKey(perDevice ? "sensor-0" : "", "metric-0", start))
                            .stream()
                            .map(r -> r.aggregate().count())
                            .toList();
            long total =
                    TelemetryFixtures.expectedAggregates(series, output.getValue())
                            .get(new AggregateKey(perDevice ? "sensor-0" : "", "metric-0", start))
                            .count();
            assertThat(counts).as("%s", output.getKey()).contains(total - 1, total);
            assertThat(counts.indexOf(total - 1)).isLessThan(counts.indexOf(total));
        }
        assertOneLateDeadLetter(topics.deadLetters());
    }

    /**
     * Two more groupings (by metric and region, by metric) beside the per-device output, with a 30
     * s rollup level and percentiles: every grouping's records on every level are exactly those
     * computed from the events each covers (an event without the region tag counts under the empty
     * region), keyed by their dimensions; the per-device output is as without groupings; a late
     * event is one dead letter, not one per grouping.
     */
    @Test
    void everyGroupingOnEveryLevelEqualsItsEvents() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String byRegion = KafkaTestClient.uniqueTopic("by-region");
        String byMetric = KafkaTestClient.uniqueTopic("by-metric");
        // Output, grouping and level topics, with the tag each grouping is by (null: metric only).
        Map<String, String> tagOf = new HashMap<>();
        tagOf.put(byRegion, "region");
        tagOf.put(byRegion + "-30s", "region");
        tagOf.put(byMetric, null);
        tagOf.put(byMetric + "-30s", null);
        String perDevice30s = KafkaTestClient.uniqueTopic("aggregates-30s");
        for (String topic : List.of(byRegion, byMetric, perDevice30s)) {
            kafka.createTopic(topic, 2);
            if (!topic.equals(perDevice30s)) {
                kafka.createTopic(topic + "-30s", 2);
            }
        }
        double[] quantiles = {0.5, 0.99};
        List<Event> events =
                TelemetryFixtures.events("sensor-", 6, 2, 40, START, 1_000, 2_000, 11).stream()
                        .map(
                                e -> {
                                    int device =
                                            Integer.parseInt(
                                                    e.deviceId().substring("sensor-".length()));
                                    return device == 5
                                            ? e
                                            : e.withTags(
                                                    Map.of(
                                                            "region", "eu-" + device % 2,
                                                            "service", "s" + device));
                                })
                        .toList();
        kafka.send(events.stream().map(event -> event.toRecord(input, PARTITIONS)).toList());
        String group = "pipeline-groupings-it-" + input;
        JobOptions options =
                options(
                        kafka,
                        input,
                        topics.output(),
                        topics.deadLetters(),
                        group,
                        Map.of(
                                Settings.PERCENTILES.key(),
                                "0.5,0.99",
                                Settings.ROLLUPS.key(),
                                "30s=" + perDevice30s,
                                Settings.GROUPINGS.key(),
                                "metric,tags.region=" + byRegion + "; metric=" + byMetric));
        JobClient job = start(options, "pipeline-groupings-it");
        Event late = new Event("sensor-0", "metric-0", -1.0, START + 5_000);
        try {
            kafka.awaitCheckpointed(group, input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            for (Map.Entry<String, String> output : tagOf.entrySet()) {
                long size = output.getKey().endsWith("-30s") ? 30_000 : WINDOW_MILLIS;
                int expected =
                        TelemetryFixtures.expectedAggregates(
                                        TelemetryFixtures.asSeries(events, output.getValue()), size)
                                .size();
                kafka.readCommitted(
                        output.getKey(),
                        Duration.ofMinutes(2),
                        read ->
                                TelemetryFixtures.parseGrouped(read, output.getValue()).size()
                                        >= expected);
            }
            kafka.send(List.of(late.toRecord(input, PARTITIONS)));
            kafka.readCommitted(
                    topics.deadLetters(), Duration.ofMinutes(1), read -> read.size() >= 1);
        } finally {
            job.cancel().get();
        }

        for (Map.Entry<String, String> output : tagOf.entrySet()) {
            long size = output.getKey().endsWith("-30s") ? 30_000 : WINDOW_MILLIS;
            List<Event> series = TelemetryFixtures.asSeries(events, output.getValue());
            List<ConsumerRecord<byte[], byte[]>> committed =
                    kafka.readCommittedToEnd(output.getKey(), Duration.ofSeconds(30)).stream()
                            .filter(
                                    r ->
                                            !TelemetryFixtures.parseGrouped(r, output.getValue())
                                                    .metric()
                                                    .equals("flush"))
                            .toList();
            TelemetryFixtures.assertExactlyOnce(
                    TelemetryFixtures.parseGrouped(committed, output.getValue()),
                    TelemetryFixtures.expectedAggregates(series, size));
            TelemetryFixtures.assertPercentiles(
                    series,
                    size,
                    committed,
                    r -> TelemetryFixtures.parseGrouped(r, output.getValue()),
                    quantiles,
                    0.01);
        }
        assertThat(
                        TelemetryFixtures.parseGrouped(
                                        kafka.readCommittedToEnd(byRegion, Duration.ofSeconds(5)),
                                        "region")
                                .stream()
                                .map(TelemetryFixtures.Aggregate::deviceId)
                                .distinct())
                .containsExactlyInAnyOrder("eu-0", "eu-1", "");
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS));
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(perDevice30s, Duration.ofSeconds(30))),
                TelemetryFixtures.expectedAggregates(events, 30_000));
        assertOneLateDeadLetter(topics.deadLetters());
    }

    /**
     * With {@code telemetry.watermark.idle-advance}, the last windows close when input stops: no
     * event after them, no flush, yet every window of the input is committed, exactly.
     */
    @Test
    void theLastWindowsCloseWhenInputStopsWithIdleAdvance() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        long windowMillis = 2_000;
        // Six seconds of recent events, the newest a second old.
        long start = System.currentTimeMillis() - 7_000;
        List<Event> events = TelemetryFixtures.events("sensor-", 6, 2, 40, start, 150, 0, 3);
        kafka.send(events.stream().map(event -> event.toRecord(input, PARTITIONS)).toList());
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, windowMillis);
        String group = "pipeline-idle-advance-it-" + input;
        JobOptions options =
                options(
                        kafka,
                        input,
                        topics.output(),
                        topics.deadLetters(),
                        group,
                        Map.of(
                                Settings.WINDOW_SIZE.key(),
                                windowMillis + "ms",
                                Settings.MAX_OUT_OF_ORDERNESS.key(),
                                "1s",
                                Settings.IDLE_ADVANCE.key(),
                                "3s"));
        JobClient job = start(options, "pipeline-idle-advance-it");
        try {
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(1),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
        } finally {
            job.cancel().get();
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                expected);
        assertThat(kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(5))).isEmpty();
    }

    /** The late event's dead letter, the only one. */
    private void assertOneLateDeadLetter(String deadLetters) {
        assertThat(
                        kafka.readCommittedToEnd(deadLetters, Duration.ofSeconds(10)).stream()
                                .map(r -> header(r, DeadLetterSerializationSchema.REASON_HEADER)))
                .containsExactly("late");
    }

    /**
     * Options for a test job reading {@code input}, writing {@code output} and {@code deadLetters},
     * with {@code group} as its consumer group and transactional-id prefix.
     */
    private static JobOptions options(
            KafkaTestClient kafka,
            String input,
            String output,
            String deadLetters,
            String group,
            Map<String, String> overrides) {
        Map<String, String> values = new HashMap<>(overrides);
        values.put(Settings.INPUT_TOPICS.key(), input);
        values.put(Settings.OUTPUT_TOPIC.key(), output);
        values.put(Settings.DEAD_LETTER_TOPIC.key(), deadLetters);
        values.put(Settings.TRANSACTIONAL_ID_PREFIX.key(), group);
        values.put(Settings.GROUP_ID.key(), group);
        return options(kafka, values);
    }

    /** The job with its Kafka source and sinks, submitted to the MiniCluster. */
    private static JobClient start(JobOptions options, String name) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TelemetryAggregationJob.configure(env, options);
        TelemetryAggregationJob.withKafka(options).build(env);
        return env.executeAsync(name);
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

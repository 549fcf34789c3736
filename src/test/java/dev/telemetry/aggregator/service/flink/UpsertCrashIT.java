package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.codec.DeadLetterSerializationSchema;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Upsert mode is state like the rest: the packaged service with {@code
 * TELEMETRY_OUTPUT_MODE=upsert}, early results, allowed lateness, two rollup levels and two more
 * groupings (by metric and region, by metric), killed with {@code kill -9} three times while input
 * with late events flows. On every level of every grouping, each window's committed revisions
 * ({@code read_committed}) are 1 to n, none written twice and none missing, the last alone final
 * and equal to the window's events, the events that came late within the lateness included; each
 * event later than that is one {@code late} dead letter.
 *
 * <p>The aggregate topics are created here, not compacted, so that every revision written can be
 * checked: the service would create them compacted, and the records' timestamps (event time, long
 * past here) make the broker roll a segment at nearly every append, so the cleaner drops superseded
 * revisions within seconds. ({@code PackagedServiceConfigIT} checks the topics the service
 * creates.)
 */
class UpsertCrashIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long[] LEVEL_MILLIS = {6_000, 12_000};
    private static final long START = 1_763_712_000_000L;
    private static final int KILLS = 3;

    @Test
    void killedThreeTimesEveryWindowsRevisionsAreExactlyOnceAndTheLastIsItsEvents()
            throws Exception {
        killThreeTimes(true);
    }

    /**
     * The idempotent sink: with {@code at-least-once} a replay after a crash writes revisions
     * again, but on every level of every grouping each window's latest record (by offset, what
     * compaction keeps) is final and equal to its events, and each event past the lateness is a
     * dead letter (perhaps more than once).
     */
    @Test
    void atLeastOnceTheLatestRecordOfEveryWindowIsItsEvents() throws Exception {
        killThreeTimes(false);
    }

    private void killThreeTimes(boolean exactlyOnce) throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String output = KafkaTestClient.uniqueTopic("upsert");
        String byRegion = KafkaTestClient.uniqueTopic("upsert-by-region");
        String byMetric = KafkaTestClient.uniqueTopic("upsert-by-metric");
        List<Long> sizes = List.of(WINDOW_MILLIS, LEVEL_MILLIS[0], LEVEL_MILLIS[1]);
        for (String topic : List.of(output, byRegion, byMetric)) {
            for (int level = 0; level < sizes.size(); level++) {
                kafka.createTopic(levelTopic(topic, level), 2, Map.of("cleanup.policy", "delete"));
            }
        }

        // 10 devices x 2 metrics, an event every 100 ms of event time each (25 s), tagged but for
        // one device. Every 50th event is followed by one 4 s older (its window closed, within the
        // 6 s lateness: a correction) and, once every partition has been read for a while, every
        // 500th by one an hour older (a dead letter).
        List<Event> events = new ArrayList<>();
        List<Event> counted = new ArrayList<>();
        List<Event> late = new ArrayList<>();
        List<Event> base = TelemetryFixtures.events("sensor-", 10, 2, 250, START, 100, 0, 17);
        for (int i = 0; i < base.size(); i++) {
            Event event = tagged(base.get(i));
            events.add(event);
            counted.add(event);
            if (i % 50 == 49) {
                Event corrected =
                        new Event(
                                event.deviceId(),
                                event.metric(),
                                0.25 * (i % 7),
                                event.timestamp() - 4_000,
                                event.tags());
                events.add(corrected);
                counted.add(corrected);
            }
            if (i % 500 == 499 && i > 1_000) {
                Event tooLate =
                        new Event(
                                event.deviceId(),
                                event.metric(),
                                1.0,
                                event.timestamp() - 3_600_000,
                                event.tags());
                events.add(tooLate);
                late.add(tooLate);
            }
        }
        Path checkpoints = Paths.get("target", "upsert-crash-it", input, "checkpoints");
        PacedInput paced = new PacedInput(input, PARTITIONS, events, 0, KILLS + 1);

        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, input, output, topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_OUTPUT_MODE", "upsert");
        environment.put(
                "TELEMETRY_DELIVERY_GUARANTEE", exactlyOnce ? "exactly-once" : "at-least-once");
        environment.put("TELEMETRY_EARLY_RESULTS_INTERVAL", "300ms");
        environment.put("TELEMETRY_ALLOWED_LATENESS", "6s");
        environment.put("TELEMETRY_ROLLUPS", "6s=" + output + "-6s,12s=" + output + "-12s");
        environment.put(
                "TELEMETRY_GROUPINGS", "metric,tags.region=" + byRegion + ";metric=" + byMetric);
        try (ServiceProcess service =
                new ServiceProcess(environment, Paths.get("target", "upsert-crash-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            // Event time reaches the input's start on every partition, and a checkpoint holds it,
            // before the input flows: every snapshot a run restores is then past the dead letters'
            // windows, so they are late in every run. (A snapshot taken before that would have the
            // restarted job replay its backlog behind a watermark still at its beginning, where
            // an hour-old event is in time, as it would be for a job started on that backlog.)
            TelemetryFixtures.awaitReadingEveryPartition(
                    kafka, input, PARTITIONS, START, environment.get("TELEMETRY_SOURCE_GROUP_ID"));
            long covered = ServiceProcess.newestCheckpointId(checkpoints);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() -> ServiceProcess.newestCheckpointId(checkpoints) > covered);
            paced.sendKillingEachRun(kafka, service, checkpoints, KILLS, 7);
            kafka.send(paced.chunk(KILLS));
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            for (String topic : List.of(output, byRegion, byMetric)) {
                for (int level = 0; level < sizes.size(); level++) {
                    int windows =
                            TelemetryFixtures.expectedAggregates(
                                            seriesOf(topic, output, byRegion, counted),
                                            sizes.get(level))
                                    .size();
                    boolean perDevice = topic.equals(output);
                    String tag = topic.equals(byRegion) ? "region" : null;
                    kafka.readCommitted(
                            levelTopic(topic, level),
                            Duration.ofMinutes(3),
                            read ->
                                    TelemetryFixtures.parseRevisions(read, perDevice, tag).stream()
                                                    .filter(TelemetryFixtures.Revision::isFinal)
                                                    .map(TelemetryFixtures.Revision::key)
                                                    .distinct()
                                                    .count()
                                            >= windows);
                }
            }
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
        }

        for (String topic : List.of(output, byRegion, byMetric)) {
            boolean perDevice = topic.equals(output);
            String tag = topic.equals(byRegion) ? "region" : null;
            for (int level = 0; level < sizes.size(); level++) {
                List<TelemetryFixtures.Revision> revisions =
                        TelemetryFixtures.parseRevisions(
                                kafka.readCommittedToEnd(
                                        levelTopic(topic, level), Duration.ofSeconds(30)),
                                perDevice,
                                tag);
                Map<AggregateKey, Aggregate> expected =
                        TelemetryFixtures.expectedAggregates(
                                seriesOf(topic, output, byRegion, counted), sizes.get(level));
                if (!exactlyOnce) {
                    assertLatestRecords(revisions, expected);
                    continue;
                }
                var windows = TelemetryFixtures.assertRevisionsExactlyOnce(revisions, expected);
                // A window whose count went down would be a revision written from older state.
                windows.values()
                        .forEach(
                                written -> {
                                    for (int i = 1; i < written.size(); i++) {
                                        assertThat(written.get(i).aggregate().count())
                                                .as("%s", written)
                                                .isGreaterThanOrEqualTo(
                                                        written.get(i - 1).aggregate().count());
                                    }
                                });
            }
        }

        List<ConsumerRecord<byte[], byte[]>> deadLetters =
                kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(30));
        List<String> deadLetterValues =
                deadLetters.stream()
                        .map(r -> new String(r.value(), StandardCharsets.UTF_8))
                        .toList();
        List<String> lateValues = late.stream().map(Event::json).toList();
        if (exactlyOnce) {
            assertThat(deadLetterValues)
                    .as("each event later than the lateness is one dead letter")
                    .containsExactlyInAnyOrderElementsOf(lateValues);
        } else {
            assertThat(deadLetterValues.stream().distinct().toList())
                    .as("each event later than the lateness is a dead letter")
                    .containsExactlyInAnyOrderElementsOf(lateValues);
        }
        assertThat(
                        deadLetters.stream()
                                .map(
                                        r ->
                                                TelemetryFixtures.header(
                                                        r,
                                                        DeadLetterSerializationSchema
                                                                .REASON_HEADER)))
                .containsOnly("late");
    }

    /**
     * What a consumer that keeps the latest record per key (what compaction keeps) ends with: every
     * expected window, its last record in the partition final and equal to its events. Revision
     * numbers are no guide here: a replay numbers its records from the restored state, so the
     * killed run's records since the last checkpoint can carry the same or higher revisions than
     * the replay's (early results are paced by processing time, and a replay runs faster).
     */
    private static void assertLatestRecords(
            List<TelemetryFixtures.Revision> revisions, Map<AggregateKey, Aggregate> expected) {
        Map<AggregateKey, List<TelemetryFixtures.Revision>> byWindow =
                revisions.stream().collect(Collectors.groupingBy(TelemetryFixtures.Revision::key));
        assertThat(byWindow.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        byWindow.forEach(
                (window, written) -> {
                    TelemetryFixtures.Revision latest = written.get(written.size() - 1);
                    assertThat(latest.isFinal())
                            .as("the latest record of %s in %s is final", window, written)
                            .isTrue();
                    assertThat(latest.aggregate())
                            .as("the latest record of %s in %s", window, written)
                            .isEqualTo(expected.get(window));
                });
    }

    /** Tags every device but sensor-9 with one of three regions. */
    private static Event tagged(Event event) {
        return event.deviceId().equals("sensor-9")
                ? event
                : event.withTags(
                        Map.of("region", "eu-" + Math.floorMod(event.deviceId().hashCode(), 3)));
    }

    /** The events as the series of {@code topic}'s grouping see them. */
    private static List<Event> seriesOf(
            String topic, String output, String byRegion, List<Event> events) {
        if (topic.equals(output)) {
            return events;
        }
        return TelemetryFixtures.asSeries(events, topic.equals(byRegion) ? "region" : null);
    }

    /** A grouping's topic for {@code level} (0: its windows, then each rollup level's). */
    private static String levelTopic(String topic, int level) {
        return level == 0 ? topic : topic + "-" + LEVEL_MILLIS[level - 1] / 1000 + "s";
    }
}

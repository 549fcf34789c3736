package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Revision;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The output mode switched across a savepoint both ways, as docs/operations.md describes, each mode
 * on its own topics: the packaged service runs in final mode, is stopped with SIGTERM and started
 * in upsert mode with early results, then stopped and started in final mode again; every window, of
 * the 10 s windows and of a 20 s rollup level, counts every event once whichever runs it spans. A
 * window open at a switch is written by the next mode only: in upsert mode from revision 1, and
 * back in final mode once, after the early revisions upsert mode wrote of it.
 */
class OutputModeSwitchIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 10_000;
    private static final long LEVEL_MILLIS = 20_000;
    private static final long START = 1_763_712_000_000L;

    @Test
    void switchedToUpsertAndBackEveryWindowCountsEveryEventOnce() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String upsert = KafkaTestClient.uniqueTopic("upsert");
        String finalAgain = KafkaTestClient.uniqueTopic("final-again");
        // Not compacted, so every revision can be checked.
        kafka.createTopic(upsert, 2, Map.of("cleanup.policy", "delete"));
        kafka.createTopic(upsert + "-20s", 2, Map.of("cleanup.policy", "delete"));
        // Each run's events: [0, 14 s), [14 s, 34 s), [34 s, 60 s); at each stop the 10 s window
        // and the 20 s window then in progress are open.
        List<Event> first = TelemetryFixtures.events("sensor-", 6, 2, 28, START, 500, 0, 5);
        List<Event> second =
                TelemetryFixtures.events("sensor-", 6, 2, 40, START + 14_000, 500, 0, 6);
        List<Event> third =
                TelemetryFixtures.events("sensor-", 6, 2, 52, START + 34_000, 500, 0, 7);
        List<Event> all = Stream.of(first, second, third).flatMap(List::stream).toList();
        Path dir = Paths.get("target", "output-mode-switch-it", input);
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka,
                        input,
                        topics.output(),
                        topics.deadLetters(),
                        dir.resolve("checkpoints"));
        environment.put("TELEMETRY_WINDOW_SIZE", "10s");
        environment.put("TELEMETRY_ROLLUPS", "20s=" + topics.output() + "-20s");

        // Final mode: [0, 10 s) is written.
        run(
                environment,
                dir,
                first,
                () ->
                        TelemetryFixtures.awaitAggregates(
                                kafka,
                                topics.output(),
                                before(first, START + 10_000),
                                WINDOW_MILLIS,
                                Duration.ofMinutes(2)));

        // Upsert mode: [10 s, 30 s) and [0, 20 s) are final; [30 s, 40 s) and [20 s, 40 s) have
        // early revisions only.
        environment.put("TELEMETRY_OUTPUT_MODE", "upsert");
        environment.put("TELEMETRY_EARLY_RESULTS_INTERVAL", "500ms");
        environment.put("TELEMETRY_OUTPUT_TOPIC", upsert);
        environment.put("TELEMETRY_ROLLUPS", "20s=" + upsert + "-20s");
        run(
                environment,
                dir,
                second,
                () ->
                        kafka.readCommitted(
                                upsert,
                                Duration.ofMinutes(2),
                                read -> {
                                    List<Revision> revisions =
                                            TelemetryFixtures.parseRevisions(read, true, null);
                                    return revisions.stream().filter(Revision::isFinal).count()
                                                    >= 24
                                            && revisions.stream()
                                                    .anyMatch(
                                                            r ->
                                                                    r.aggregate().windowStart()
                                                                            == START + 30_000);
                                }));

        // Final mode again, on a topic of its own.
        environment.remove("TELEMETRY_OUTPUT_MODE");
        environment.remove("TELEMETRY_EARLY_RESULTS_INTERVAL");
        environment.put("TELEMETRY_OUTPUT_TOPIC", finalAgain);
        environment.put("TELEMETRY_ROLLUPS", "20s=" + finalAgain + "-20s");
        run(
                environment,
                dir,
                third,
                () -> {
                    kafka.awaitCheckpointed(
                            environment.get("TELEMETRY_SOURCE_GROUP_ID"),
                            input,
                            Duration.ofMinutes(2));
                    kafka.send(
                            TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
                    TelemetryFixtures.awaitAggregates(
                            kafka,
                            finalAgain,
                            since(all, START + 30_000),
                            WINDOW_MILLIS,
                            Duration.ofMinutes(2));
                    TelemetryFixtures.awaitAggregates(
                            kafka,
                            finalAgain + "-20s",
                            since(all, START + 20_000),
                            LEVEL_MILLIS,
                            Duration.ofMinutes(2));
                });

        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(read(topics.output())),
                TelemetryFixtures.expectedAggregates(before(first, START + 10_000), WINDOW_MILLIS));
        assertThat(read(topics.output() + "-20s"))
                .as("no 20 s window closed in final mode")
                .isEmpty();
        assertUpsertRun(upsert, WINDOW_MILLIS, START + 30_000, all);
        assertUpsertRun(upsert + "-20s", LEVEL_MILLIS, START + 20_000, all);
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(TelemetryFixtures.withoutFlush(read(finalAgain))),
                TelemetryFixtures.expectedAggregates(since(all, START + 30_000), WINDOW_MILLIS));
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        TelemetryFixtures.withoutFlush(read(finalAgain + "-20s"))),
                TelemetryFixtures.expectedAggregates(since(all, START + 20_000), LEVEL_MILLIS));
    }

    /**
     * The upsert run's output of one level: the windows that closed in it (from the switch window
     * to {@code openFrom}) have revisions 1 to n, the last final and equal to all their events, the
     * first run's included; the window still open at the next switch has early revisions only.
     */
    private void assertUpsertRun(String topic, long size, long openFrom, List<Event> all) {
        List<Revision> revisions = TelemetryFixtures.parseRevisions(read(topic), true, null);
        TelemetryFixtures.assertRevisionsExactlyOnce(
                revisions.stream().filter(r -> r.aggregate().windowStart() < openFrom).toList(),
                TelemetryFixtures.expectedAggregates(
                        all.stream()
                                .filter(e -> e.timestamp() >= firstWindowOfUpsert(size))
                                .filter(e -> e.timestamp() < openFrom)
                                .toList(),
                        size));
        Map<AggregateKey, List<Revision>> open =
                revisions.stream()
                        .filter(r -> r.aggregate().windowStart() >= openFrom)
                        .collect(Collectors.groupingBy(Revision::key));
        assertThat(open).as("windows open at the switch back to final mode").isNotEmpty();
        open.forEach(
                (window, early) -> {
                    assertThat(early).noneMatch(Revision::isFinal);
                    assertThat(early.stream().map(Revision::revision).toList())
                            .as("%s", window)
                            .isEqualTo(Stream.iterate(1, i -> i + 1).limit(early.size()).toList());
                });
    }

    /** The first window the upsert run wrote on a level: the one open at the first switch. */
    private static long firstWindowOfUpsert(long size) {
        return START + 10_000 - Math.floorMod(10_000, size);
    }

    /** Starts the service, sends {@code events}, waits for {@code until}, stops it (SIGTERM). */
    private void run(Map<String, String> environment, Path dir, List<Event> events, Check until)
            throws Exception {
        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            kafka.send(
                    events.stream()
                            .map(
                                    e ->
                                            e.toRecord(
                                                    environment.get("TELEMETRY_INPUT_TOPICS"),
                                                    PARTITIONS))
                            .toList());
            until.run();
            assertThat(service.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
            assertThat(service.lastLog()).contains("Stopped with savepoint");
        }
    }

    private List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> read(
            String topic) {
        return new ArrayList<>(kafka.readCommittedToEnd(topic, Duration.ofSeconds(30)));
    }

    private static List<Event> before(List<Event> events, long time) {
        return events.stream().filter(e -> e.timestamp() < time).toList();
    }

    private static List<Event> since(List<Event> events, long time) {
        return events.stream().filter(e -> e.timestamp() >= time).toList();
    }

    @FunctionalInterface
    private interface Check {
        void run() throws Exception;
    }
}

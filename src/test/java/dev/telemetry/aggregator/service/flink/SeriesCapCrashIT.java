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
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The series cap's admitted series are state: the packaged service with {@code
 * TELEMETRY_MAX_SERIES} far below the keys of each window, killed with {@code kill -9} three times
 * while input flows, commits what a run without failures could: per window at most the cap's
 * series, each exactly its events' aggregate (a series admitted before a crash stays admitted after
 * it, so none is split between itself and the overflow), and per metric one overflow record that is
 * exactly the aggregate of every other series' events; nothing twice, nothing lost.
 */
class SeriesCapCrashIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_712_000_000L;
    private static final int MAX_SERIES = 20;
    private static final int KILLS = 3;

    @Test
    void killedThreeTimesEveryWindowHoldsWholeSeriesAndOneExactOverflowPerMetric()
            throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        // 30 devices x 2 metrics = 60 keys per 2 s window, an event every 100 ms each: 25 s.
        List<Event> events = TelemetryFixtures.events("sensor-", 30, 2, 250, START, 100, 0, 17);
        Path checkpoints = Paths.get("target", "series-cap-crash-it", input, "checkpoints");
        PacedInput paced = new PacedInput(input, PARTITIONS, events, 0, KILLS + 1);
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, input, topics.output(), topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_MAX_SERIES", Integer.toString(MAX_SERIES));
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        long windows = expected.keySet().stream().map(AggregateKey::windowStart).distinct().count();
        try (ServiceProcess service =
                new ServiceProcess(
                        environment, Paths.get("target", "series-cap-crash-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            paced.sendKillingEachRun(kafka, service, checkpoints, KILLS, 7);
            kafka.send(paced.chunk(KILLS));
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(3),
                    read ->
                            TelemetryFixtures.parseAggregates(read).stream()
                                            .mapToLong(Aggregate::count)
                                            .sum()
                                    >= events.size());
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
        }

        List<Aggregate> committed =
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30)));
        assertThat(
                        committed.stream()
                                .collect(
                                        Collectors.groupingBy(
                                                Aggregate::key, Collectors.counting())))
                .as("no (series, metric, window) twice")
                .allSatisfy((key, count) -> assertThat(count).as("%s", key).isEqualTo(1));
        Map<Long, List<Aggregate>> byWindow =
                committed.stream().collect(Collectors.groupingBy(Aggregate::windowStart));
        assertThat(byWindow).hasSize((int) windows);
        byWindow.forEach(
                (windowStart, aggregates) -> {
                    List<Aggregate> series =
                            aggregates.stream()
                                    .filter(a -> !a.deviceId().equals("__overflow__"))
                                    .toList();
                    assertThat(series)
                            .as("series of window %d", windowStart)
                            .hasSizeLessThanOrEqualTo(MAX_SERIES);
                    series.forEach(
                            a ->
                                    assertThat(a)
                                            .as("a whole series")
                                            .isEqualTo(expected.get(a.key())));
                    for (String metric : List.of("metric-0", "metric-1")) {
                        List<Double> rest =
                                events.stream()
                                        .filter(e -> e.metric().equals(metric))
                                        .filter(
                                                e ->
                                                        Math.floorDiv(e.timestamp(), WINDOW_MILLIS)
                                                                        * WINDOW_MILLIS
                                                                == windowStart)
                                        .filter(
                                                e ->
                                                        !expected.containsKey(
                                                                        new AggregateKey(
                                                                                e.deviceId(),
                                                                                metric,
                                                                                windowStart))
                                                                || !series.contains(
                                                                        expected.get(
                                                                                new AggregateKey(
                                                                                        e
                                                                                                .deviceId(),
                                                                                        metric,
                                                                                        windowStart))))
                                        .map(Event::value)
                                        .toList();
                        Aggregate overflow =
                                aggregates.stream()
                                        .filter(a -> a.deviceId().equals("__overflow__"))
                                        .filter(a -> a.metric().equals(metric))
                                        .findFirst()
                                        .orElse(null);
                        if (rest.isEmpty()) {
                            assertThat(overflow).isNull();
                            continue;
                        }
                        Map<AggregateKey, Aggregate> exact =
                                TelemetryFixtures.expectedAggregates(
                                        rest.stream()
                                                .map(
                                                        value ->
                                                                new Event(
                                                                        "__overflow__",
                                                                        metric,
                                                                        value,
                                                                        windowStart))
                                                .toList(),
                                        WINDOW_MILLIS);
                        assertThat(overflow)
                                .as("overflow of %s in window %d", metric, windowStart)
                                .isEqualTo(exact.values().iterator().next());
                    }
                });
        assertThat(committed.stream().mapToLong(Aggregate::count).sum()).isEqualTo(events.size());
        assertThat(committed).anyMatch(a -> a.deviceId().equals("__overflow__"));
    }
}

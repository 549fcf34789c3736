package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Groupings changed across a savepoint (SIGTERM, then a start with other settings), as
 * docs/operations.md describes: the packaged service first writes per device to the output topic
 * and by region to a second topic; it is restarted with the output topic grouped by region and a
 * new grouping by metric. The region grouping keeps its state (its window open at the switch is
 * complete, now on the output topic), the per-device window open at the switch is not written, and
 * the new grouping starts with the events read after the restart.
 */
class GroupingsSwitchIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 10_000;
    private static final long START = 1_763_712_000_000L;

    @Test
    void groupingsChangedAcrossASavepointKeepTheirStateAndTheGoneOnesAreNotWritten()
            throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String byRegion = KafkaTestClient.uniqueTopic("by-region");
        String byMetric = KafkaTestClient.uniqueTopic("by-metric");
        // Before the switch: [0, 14 s) (the window [10 s, 20 s) is open at the stop); after it:
        // [14 s, 40 s).
        List<Event> before =
                tagged(TelemetryFixtures.events("sensor-", 6, 2, 28, START, 500, 0, 5));
        List<Event> after =
                tagged(TelemetryFixtures.events("sensor-", 6, 2, 52, START + 14_000, 500, 0, 6));
        Path dir = Paths.get("target", "groupings-switch-it", input);
        Path checkpoints = dir.resolve("checkpoints");
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, input, topics.output(), topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_WINDOW_SIZE", "10s");
        environment.put("TELEMETRY_GROUPINGS", "metric,tags.region=" + byRegion);
        List<Event> closedBefore =
                before.stream().filter(e -> e.timestamp() < START + WINDOW_MILLIS).toList();
        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            kafka.send(before.stream().map(e -> e.toRecord(input, PARTITIONS)).toList());
            TelemetryFixtures.awaitAggregates(
                    kafka, topics.output(), closedBefore, WINDOW_MILLIS, Duration.ofMinutes(2));
            assertThat(service.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
            assertThat(service.lastLog()).contains("Stopped with savepoint");
        }

        environment.put("TELEMETRY_GROUP_BY", "metric,tags.region");
        environment.put("TELEMETRY_GROUPINGS", "metric=" + byMetric);
        List<Event> sinceTheSwitchWindow =
                Stream.concat(before.stream(), after.stream())
                        .filter(e -> e.timestamp() >= START + WINDOW_MILLIS)
                        .toList();
        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog())
                    .containsPattern("restored from \\S*savepoints/savepoint-");
            kafka.send(after.stream().map(e -> e.toRecord(input, PARTITIONS)).toList());
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            int expected =
                    TelemetryFixtures.expectedAggregates(
                                    TelemetryFixtures.asSeries(after, null), WINDOW_MILLIS)
                            .size();
            kafka.readCommitted(
                    byMetric,
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.parseGrouped(read, null).size() >= expected);
            int regions =
                    TelemetryFixtures.expectedAggregates(
                                    TelemetryFixtures.asSeries(sinceTheSwitchWindow, "region"),
                                    WINDOW_MILLIS)
                            .size();
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(2),
                    read ->
                            read.stream()
                                            .filter(
                                                    r ->
                                                            !new String(
                                                                            r.value(),
                                                                            StandardCharsets.UTF_8)
                                                                    .contains("\"deviceId\""))
                                            .map(r -> TelemetryFixtures.parseGrouped(r, "region"))
                                            .filter(a -> !a.metric().equals("flush"))
                                            .count()
                                    >= regions);
            assertThat(service.stop(Duration.ofSeconds(40))).isZero();
        }

        List<ConsumerRecord<byte[], byte[]>> output =
                kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30));
        List<ConsumerRecord<byte[], byte[]>> perDevice = new ArrayList<>();
        List<ConsumerRecord<byte[], byte[]>> perRegion = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : output) {
            (new String(record.value(), StandardCharsets.UTF_8).contains("\"deviceId\"")
                            ? perDevice
                            : perRegion)
                    .add(record);
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(perDevice),
                TelemetryFixtures.expectedAggregates(closedBefore, WINDOW_MILLIS));
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseGrouped(
                        kafka.readCommittedToEnd(byRegion, Duration.ofSeconds(30)), "region"),
                TelemetryFixtures.expectedAggregates(
                        TelemetryFixtures.asSeries(closedBefore, "region"), WINDOW_MILLIS));
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseGrouped(perRegion, "region"),
                TelemetryFixtures.expectedAggregates(
                        TelemetryFixtures.asSeries(sinceTheSwitchWindow, "region"), WINDOW_MILLIS));
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseGrouped(
                        kafka.readCommittedToEnd(byMetric, Duration.ofSeconds(30)), null),
                TelemetryFixtures.expectedAggregates(
                        TelemetryFixtures.asSeries(after, null), WINDOW_MILLIS));
    }

    /** Every device but sensor-5 in region eu-0 or eu-1. */
    private static List<Event> tagged(List<Event> events) {
        return events.stream()
                .map(
                        e -> {
                            int device =
                                    Integer.parseInt(e.deviceId().substring("sensor-".length()));
                            return device == 5
                                    ? e
                                    : e.withTags(Map.of("region", "eu-" + device % 2));
                        })
                .toList();
    }
}

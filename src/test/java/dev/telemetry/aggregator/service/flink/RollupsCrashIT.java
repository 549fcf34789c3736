package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Percentiles, sketches, rollup levels and groupings are state like the rest: the packaged service
 * with {@code TELEMETRY_PERCENTILES}, {@code TELEMETRY_OUTPUT_SKETCH}, two rollup levels ({@code
 * TELEMETRY_ROLLUPS}) and two more groupings ({@code TELEMETRY_GROUPINGS}: by metric and region, by
 * metric), killed with {@code kill -9} three times while tagged input flows, commits on every level
 * of every grouping exactly the records of a run without failures: count, sum, min and max those of
 * the events each window covers, each percentile within the accuracy of the exact one (and equal to
 * that of a sketch of the window's events: merging loses nothing), the sketch included.
 */
class RollupsCrashIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;

    /** The rollup levels: 6 s windows of three 2 s ones, 12 s windows of two 6 s ones. */
    private static final long[] LEVEL_MILLIS = {6_000, 12_000};

    /** A multiple of every level's size: the first window of each starts here. */
    private static final long START = 1_763_712_000_000L;

    private static final int KILLS = 3;
    private static final double ACCURACY = 0.01;
    private static final double[] QUANTILES = {0.5, 0.9, 0.99};
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void killedThreeTimesWhileInputFlowsEveryLevelIsExactlyOnce() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        // Created by the service at start-up, as a user's would be.
        List<String> levelTopics =
                List.of(
                        KafkaTestClient.uniqueTopic("aggregates-6s"),
                        KafkaTestClient.uniqueTopic("aggregates-12s"));
        List<String> outputs = new ArrayList<>(List.of(topics.output()));
        outputs.addAll(levelTopics);
        List<Long> sizes = List.of(WINDOW_MILLIS, LEVEL_MILLIS[0], LEVEL_MILLIS[1]);

        // 10 devices x 2 metrics, an event every 100 ms of event time each: 20 per 2 s window,
        // 25 s of event time.
        List<Event> events =
                TelemetryFixtures.events("sensor-", 10, 2, 250, START, 100, 0, 13).stream()
                        .map(
                                e ->
                                        e.deviceId().equals("sensor-9")
                                                ? e
                                                : e.withTags(
                                                        Map.of(
                                                                "region",
                                                                "eu-"
                                                                        + Math.floorMod(
                                                                                e.deviceId()
                                                                                        .hashCode(),
                                                                                3))))
                        .toList();
        String byRegion = KafkaTestClient.uniqueTopic("by-region");
        String byMetric = KafkaTestClient.uniqueTopic("by-metric");
        Path checkpoints = Paths.get("target", "rollups-crash-it", input, "checkpoints");
        PacedInput paced = new PacedInput(input, PARTITIONS, events, 0, KILLS + 1);

        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, input, topics.output(), topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_PERCENTILES", "0.99,0.5,0.9");
        environment.put("TELEMETRY_OUTPUT_SKETCH", "true");
        environment.put(
                "TELEMETRY_ROLLUPS", "6s=" + levelTopics.get(0) + ",12s=" + levelTopics.get(1));
        environment.put(
                "TELEMETRY_GROUPINGS", "metric,tags.region=" + byRegion + ";metric=" + byMetric);
        try (ServiceProcess service =
                new ServiceProcess(environment, Paths.get("target", "rollups-crash-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            paced.sendKillingEachRun(kafka, service, checkpoints, KILLS, 5);
            kafka.send(paced.chunk(KILLS));
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            for (int level = 0; level < outputs.size(); level++) {
                TelemetryFixtures.awaitAggregates(
                        kafka, outputs.get(level), events, sizes.get(level), Duration.ofMinutes(3));
            }
            for (String topic : List.of(byRegion, byMetric)) {
                String tag = topic.equals(byRegion) ? "region" : null;
                for (int level = 0; level < sizes.size(); level++) {
                    int expected =
                            TelemetryFixtures.expectedAggregates(
                                            TelemetryFixtures.asSeries(events, tag),
                                            sizes.get(level))
                                    .size();
                    kafka.readCommitted(
                            groupingTopic(topic, level),
                            Duration.ofMinutes(2),
                            read -> TelemetryFixtures.parseGrouped(read, tag).size() >= expected);
                }
            }
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
        }

        for (int level = 0; level < outputs.size(); level++) {
            assertLevel(
                    events,
                    sizes.get(level),
                    TelemetryFixtures.withoutFlush(
                            kafka.readCommittedToEnd(outputs.get(level), Duration.ofSeconds(30))),
                    TelemetryFixtures::parseAggregate);
        }
        for (String topic : List.of(byRegion, byMetric)) {
            String tag = topic.equals(byRegion) ? "region" : null;
            List<Event> series = TelemetryFixtures.asSeries(events, tag);
            for (int level = 0; level < sizes.size(); level++) {
                assertLevel(
                        series,
                        sizes.get(level),
                        kafka
                                .readCommittedToEnd(
                                        groupingTopic(topic, level), Duration.ofSeconds(30))
                                .stream()
                                .filter(
                                        r ->
                                                !TelemetryFixtures.parseGrouped(r, tag)
                                                        .metric()
                                                        .equals("flush"))
                                .toList(),
                        r -> TelemetryFixtures.parseGrouped(r, tag));
            }
        }
    }

    /** A grouping's topic for {@code level} (0: its windows, then each rollup level's). */
    private static String groupingTopic(String topic, int level) {
        return level == 0 ? topic : topic + "-" + LEVEL_MILLIS[level - 1] / 1000 + "s";
    }

    /** One level's committed records are exactly those its window size gives, percentiles too. */
    private static void assertLevel(
            List<Event> events,
            long windowMillis,
            List<ConsumerRecord<byte[], byte[]>> committed,
            Function<ConsumerRecord<byte[], byte[]>, TelemetryFixtures.Aggregate> parser)
            throws Exception {
        TelemetryFixtures.assertExactlyOnce(
                committed.stream().map(parser).toList(),
                TelemetryFixtures.expectedAggregates(events, windowMillis));
        TelemetryFixtures.assertPercentiles(
                events, windowMillis, committed, parser, QUANTILES, ACCURACY);
        for (ConsumerRecord<byte[], byte[]> record : committed) {
            JsonNode json = JSON.readTree(record.value());
            assertThat(Base64.getDecoder().decode(json.get("sketch").asText()))
                    .as("%d ms window %s sketch", windowMillis, parser.apply(record).key())
                    .isNotEmpty();
        }
    }
}

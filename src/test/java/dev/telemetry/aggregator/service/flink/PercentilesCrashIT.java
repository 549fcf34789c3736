package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.job.records.ValueSketch;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Percentiles and sketches are window state like the rest: the packaged service with {@code
 * TELEMETRY_PERCENTILES} and {@code TELEMETRY_OUTPUT_SKETCH}, killed with {@code kill -9} twice
 * while input flows, commits exactly the records of a run without failures, percentiles and
 * sketches included, each percentile within the accuracy of the exact one.
 */
class PercentilesCrashIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_712_000_000L;
    private static final int KILLS = 2;
    private static final double ACCURACY = 0.01;
    private static final double[] QUANTILES = {0.5, 0.9, 0.99};
    private static final String[] NAMES = {"0.5", "0.9", "0.99"};
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void killedTwiceWhileInputFlowsPercentilesAreExactlyOnce() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String output = topics.output();

        // 10 devices x 2 metrics, an event every 100 ms of event time each: 20 per window.
        List<Event> events = TelemetryFixtures.events("sensor-", 10, 2, 200, START, 100, 0, 13);
        Map<AggregateKey, TelemetryFixtures.Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        Map<AggregateKey, List<Double>> values = valuesByWindow(events);
        Path checkpoints = Paths.get("target", "percentiles-crash-it", input, "checkpoints");
        PacedInput paced = new PacedInput(input, PARTITIONS, events, 0, KILLS + 1);

        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, input, output, topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_PERCENTILES", "0.99,0.5,0.9");
        environment.put("TELEMETRY_OUTPUT_SKETCH", "true");
        try (ServiceProcess service =
                new ServiceProcess(
                        environment, Paths.get("target", "percentiles-crash-it", input))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            paced.sendKillingEachRun(kafka, service, checkpoints, KILLS, 5);
            kafka.send(paced.chunk(KILLS));
            kafka.awaitCheckpointed(
                    environment.get("TELEMETRY_SOURCE_GROUP_ID"), input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    output,
                    Duration.ofMinutes(3),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
        }

        List<ConsumerRecord<byte[], byte[]>> committed =
                kafka.readCommittedToEnd(output, Duration.ofSeconds(30)).stream()
                        .filter(
                                r ->
                                        !new String(r.key(), StandardCharsets.UTF_8)
                                                .startsWith("flush-"))
                        .toList();
        TelemetryFixtures.assertExactlyOnce(TelemetryFixtures.parseAggregates(committed), expected);
        for (ConsumerRecord<byte[], byte[]> record : committed) {
            JsonNode json = JSON.readTree(record.value());
            AggregateKey key =
                    new AggregateKey(
                            json.get("deviceId").asText(),
                            json.get("metric").asText(),
                            json.get("windowStart").asLong());
            List<Double> windowValues = values.get(key);
            ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
            windowValues.forEach(sketch::add);
            double[] sorted =
                    windowValues.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            for (int i = 0; i < QUANTILES.length; i++) {
                double reported = json.get("percentiles").get(NAMES[i]).asDouble();
                double exact = sorted[(int) Math.floor(QUANTILES[i] * (sorted.length - 1))];
                assertThat(reported)
                        .as("%s p%s", key, NAMES[i])
                        .isEqualTo(sketch.valueAtQuantile(QUANTILES[i]))
                        .isCloseTo(
                                exact,
                                org.assertj.core.data.Offset.offset(
                                        ACCURACY * Math.abs(exact) * (1 + 1e-9)));
            }
            assertThat(Base64.getDecoder().decode(json.get("sketch").asText()))
                    .as("%s sketch", key)
                    .isNotEmpty();
        }
    }

    private static Map<AggregateKey, List<Double>> valuesByWindow(List<Event> events) {
        Map<AggregateKey, List<Double>> values = new HashMap<>();
        for (Event event : events) {
            long windowStart = Math.floorDiv(event.timestamp(), WINDOW_MILLIS) * WINDOW_MILLIS;
            values.computeIfAbsent(
                            new AggregateKey(event.deviceId(), event.metric(), windowStart),
                            key -> new ArrayList<>())
                    .add(event.value());
        }
        return values;
    }
}

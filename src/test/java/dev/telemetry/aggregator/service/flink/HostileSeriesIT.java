package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * A hostile feed of a million distinct device ids, each with a distinct tag value too, into the
 * packaged service (heap 384 MB) with the default series cap (100 000 per grouping and window) and
 * a grouping by that tag: without the cap its window state would hold two million keys and exhaust
 * the heap. The job keeps running without a restart, each grouping's window has at most 100 000
 * series plus its overflow series, nothing is lost (the counts add up to a million per grouping),
 * and the overflowed events are counted in {@code /q/metrics}.
 */
class HostileSeriesIT extends SharedBrokerTest {
    private static final int EVENTS = 1_000_000;
    private static final int MAX_SERIES = 100_000;
    private static final int PARTITIONS = 2;

    /** A minute boundary; every event falls into the minute window that starts here. */
    private static final long START = 1_763_683_200_000L;

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern OVERFLOWED =
            Pattern.compile(
                    "(?m)^flink_taskmanager_job_task_operator_grouping_seriesOverflowedEvents_total\\{[^}]*grouping=\"([^\"]+)\"[^}]*}"
                        + " ([0-9.E]+)$");
    private static final Pattern RESTARTS =
            Pattern.compile("(?m)^flink_jobmanager_job_numRestarts\\{[^}]*} ([0-9.E]+)$");

    @Test
    void aMillionDistinctIdsOverflowIntoOneSeriesWithoutExhaustingTheHeap() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        String bySession = KafkaTestClient.uniqueTopic("by-session");
        Path dir = Paths.get("target", "hostile-series-it", input).toAbsolutePath();
        Map<String, String> environment =
                ServiceProcess.environment(
                        kafka.bootstrapServers(),
                        input,
                        topics.output(),
                        topics.deadLetters(),
                        dir.resolve("checkpoints"));
        environment.put("TELEMETRY_SOURCE_START", "earliest");
        environment.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "2s");
        environment.put("TELEMETRY_GROUPINGS", "metric,tags.session=" + bySession);

        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(TIMEOUT);
            for (int from = 0; from < EVENTS; from += 50_000) {
                List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>();
                for (int i = from; i < from + 50_000; i++) {
                    String device = "intruder-" + i;
                    String json =
                            "{\"deviceId\":\""
                                    + device
                                    + "\",\"metric\":\"m\",\"value\":1,\"timestamp\":"
                                    + (START + i % 50_000)
                                    + ",\"tags\":{\"session\":\"s-"
                                    + i
                                    + "\"}}";
                    batch.add(
                            new ProducerRecord<>(
                                    input,
                                    i % PARTITIONS,
                                    device.getBytes(StandardCharsets.UTF_8),
                                    json.getBytes(StandardCharsets.UTF_8)));
                }
                kafka.send(batch);
            }
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));

            for (String topic : List.of(topics.output(), bySession)) {
                kafka.readCommitted(
                        topic,
                        TIMEOUT,
                        read ->
                                read.stream()
                                                .mapToLong(
                                                        r ->
                                                                count(
                                                                        r,
                                                                        "intruder-",
                                                                        "s-",
                                                                        "__overflow__"))
                                                .sum()
                                        >= EVENTS);
                List<ConsumerRecord<byte[], byte[]>> committed =
                        kafka.readCommittedToEnd(topic, Duration.ofSeconds(30));
                long series = 0;
                long overflow = 0;
                long total = 0;
                for (ConsumerRecord<byte[], byte[]> record : committed) {
                    long count = count(record, "intruder-", "s-", "__overflow__");
                    if (count == 0) {
                        continue;
                    }
                    total += count;
                    if (new String(record.value(), StandardCharsets.UTF_8)
                            .contains("__overflow__")) {
                        overflow++;
                    } else {
                        series++;
                    }
                }
                assertThat(total)
                        .as("%s: events counted, in series or overflow", topic)
                        .isEqualTo(EVENTS);
                assertThat(series)
                        .as("%s: series admitted", topic)
                        .isBetween(1L, (long) MAX_SERIES);
                assertThat(overflow).as("%s: overflow series", topic).isEqualTo(1);
            }

            String metrics = service.get("/q/metrics", "text/plain");
            Map<String, Double> overflowed = new HashMap<>();
            Matcher matcher = OVERFLOWED.matcher(metrics);
            while (matcher.find()) {
                overflowed.merge(
                        matcher.group(1), Double.parseDouble(matcher.group(2)), Double::sum);
            }
            assertThat(overflowed.keySet())
                    .containsExactlyInAnyOrder("deviceId,metric", "metric,tags.session");
            assertThat(overflowed.values())
                    .allSatisfy(
                            count ->
                                    assertThat(count)
                                            .isBetween(
                                                    (double) EVENTS - MAX_SERIES, (double) EVENTS));
            Matcher restarts = RESTARTS.matcher(metrics);
            assertThat(restarts.find()).as("numRestarts in /q/metrics").isTrue();
            assertThat(Double.parseDouble(restarts.group(1))).as("job restarts").isZero();
            assertThat(service.isAlive()).isTrue();
        }
    }

    /**
     * The count of an aggregate of the intruders (its device id or session tag starting with one of
     * {@code prefixes}, or the overflow), 0 for the watermark flush.
     */
    private static long count(ConsumerRecord<byte[], byte[]> record, String... prefixes) {
        try {
            JsonNode json = JSON.readTree(record.value());
            String dimension =
                    json.has("deviceId")
                            ? json.get("deviceId").asText()
                            : json.get("tags").get("session").asText();
            for (String prefix : prefixes) {
                if (dimension.startsWith(prefix)) {
                    return json.get("count").asLong();
                }
            }
            return 0;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

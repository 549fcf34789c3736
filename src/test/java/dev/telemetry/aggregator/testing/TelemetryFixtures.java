package dev.telemetry.aggregator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.telemetry.aggregator.job.records.ValueSketch;
import dev.telemetry.aggregator.loadgen.TelemetryLoad;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.assertj.core.data.Offset;

/**
 * Deterministic telemetry for tests and the oracle that says what the pipeline must output for it.
 * Values are multiples of 0.25, so sums are exact whatever order the pipeline adds them in.
 */
public final class TelemetryFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TelemetryFixtures() {}

    /** One input event, with tags when {@code tags} is not empty. */
    public record Event(
            String deviceId,
            String metric,
            double value,
            long timestamp,
            Map<String, String> tags) {
        public Event(String deviceId, String metric, double value, long timestamp) {
            this(deviceId, metric, value, timestamp, Map.of());
        }

        public Event withTags(Map<String, String> tags) {
            return new Event(deviceId, metric, value, timestamp, tags);
        }

        public String json() {
            String plain =
                    String.format(
                            Locale.ROOT,
                            "{\"deviceId\":\"%s\",\"metric\":\"%s\",\"value\":%s,\"timestamp\":%d",
                            deviceId,
                            metric,
                            value,
                            timestamp);
            if (tags.isEmpty()) {
                return plain + "}";
            }
            try {
                return plain + ",\"tags\":" + JSON.writeValueAsString(tags) + "}";
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public ProducerRecord<byte[], byte[]> toRecord(String topic, int partitions) {
            int partition = Math.floorMod(deviceId.hashCode(), partitions);
            return new ProducerRecord<>(
                    topic,
                    partition,
                    deviceId.getBytes(StandardCharsets.UTF_8),
                    json().getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Identity of an output record: what an upserting consumer keys on. */
    public record AggregateKey(String deviceId, String metric, long windowStart) {}

    /** An output record as read back from the output topic. */
    public record Aggregate(
            String deviceId,
            String metric,
            long windowStart,
            long windowEnd,
            long count,
            double sum,
            double min,
            double max,
            double avg) {
        public AggregateKey key() {
            return new AggregateKey(deviceId, metric, windowStart);
        }
    }

    /**
     * {@code eventsPerKey} events for each of {@code devices} x {@code metrics}, in time order from
     * {@code start} with {@code stepMillis} between a key's events, shuffled within a bounded
     * disorder of {@code maxDisorderMillis}: the backlog of the load generator ({@link
     * TelemetryLoad}) with these settings.
     */
    public static List<Event> events(
            String devicePrefix,
            int devices,
            int metrics,
            int eventsPerKey,
            long start,
            long stepMillis,
            long maxDisorderMillis,
            long seed) {
        TelemetryLoad load =
                new TelemetryLoad(
                        devices,
                        TelemetryLoad.metricNames(metrics),
                        stepMillis,
                        maxDisorderMillis,
                        0,
                        start,
                        seed);
        List<Event> events = new ArrayList<>();
        for (long i = 0; i < load.keys() * eventsPerKey; i++) {
            events.add(
                    new Event(
                            load.deviceId(i).replace("sensor-", devicePrefix),
                            load.metric(i),
                            load.value(i),
                            load.backlogTimestamp(i)));
        }
        return events;
    }

    /** What the pipeline must output: one aggregate per (device, metric, tumbling window). */
    public static Map<AggregateKey, Aggregate> expectedAggregates(
            List<Event> events, long windowSizeMillis) {
        Map<AggregateKey, List<Double>> values = new HashMap<>();
        for (Event event : events) {
            long windowStart =
                    Math.floorDiv(event.timestamp(), windowSizeMillis) * windowSizeMillis;
            values.computeIfAbsent(
                            new AggregateKey(event.deviceId(), event.metric(), windowStart),
                            key -> new ArrayList<>())
                    .add(event.value());
        }
        Map<AggregateKey, Aggregate> expected = new HashMap<>();
        values.forEach(
                (key, list) -> {
                    double sum = list.stream().mapToDouble(Double::doubleValue).sum();
                    expected.put(
                            key,
                            new Aggregate(
                                    key.deviceId(),
                                    key.metric(),
                                    key.windowStart(),
                                    key.windowStart() + windowSizeMillis,
                                    list.size(),
                                    sum,
                                    list.stream()
                                            .mapToDouble(Double::doubleValue)
                                            .min()
                                            .orElseThrow(),
                                    list.stream()
                                            .mapToDouble(Double::doubleValue)
                                            .max()
                                            .orElseThrow(),
                                    sum / list.size()));
                });
        return expected;
    }

    /** One event per partition far ahead in event time, so every window before it closes. */
    public static List<ProducerRecord<byte[], byte[]>> watermarkFlush(
            String topic, int partitions, long timestamp) {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            Event flush = new Event("flush-" + p, "flush", 0, timestamp);
            records.add(
                    new ProducerRecord<>(
                            topic,
                            p,
                            flush.deviceId().getBytes(StandardCharsets.UTF_8),
                            flush.json().getBytes(StandardCharsets.UTF_8)));
        }
        return records;
    }

    /**
     * Sends one event per partition, older than any test input (its aggregates are left out by
     * {@link #parseAggregates}), and waits until a checkpoint of {@code group} covers it. At a
     * fresh start a source reader whose partitions are not assigned yet, or idle since the job
     * started, does not hold back the watermark, so input on the other partitions could close
     * windows before this reader's first events arrive (and route them as late); once every
     * partition has been read, input can flow.
     */
    public static void awaitReadingEveryPartition(
            KafkaTestClient kafka, String topic, int partitions, long before, String group) {
        kafka.send(watermarkFlush(topic, partitions, before - 60_000));
        kafka.awaitCheckpointed(group, topic, Duration.ofMinutes(1));
    }

    public static Aggregate parseAggregate(ConsumerRecord<byte[], byte[]> record) {
        try {
            JsonNode json = JSON.readTree(record.value());
            Aggregate aggregate = aggregateOf(json, json.get("deviceId").asText());
            String key = new String(record.key(), StandardCharsets.UTF_8);
            if (!key.equals(aggregate.deviceId())) {
                throw new AssertionError(
                        "record key " + key + " is not the deviceId of " + aggregate);
            }
            return aggregate;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A record of an output grouped by metric and {@code tag} (none: by metric alone) read back as
     * an aggregate whose deviceId is the tag's value (empty without a tag), so {@link
     * #expectedAggregates} of the events with that as their deviceId ({@link #asSeries}) is what it
     * must equal. Checks that the key is the record's dimensions.
     */
    public static Aggregate parseGrouped(ConsumerRecord<byte[], byte[]> record, String tag) {
        try {
            JsonNode json = JSON.readTree(record.value());
            assertThat(json.has("deviceId")).as("%s", json).isFalse();
            ObjectNode dimensions = JSON.createObjectNode();
            dimensions.set("metric", json.get("metric"));
            if (tag != null) {
                assertThat(json.get("tags").size()).as("%s", json).isEqualTo(1);
                dimensions.set("tags", json.get("tags"));
            } else {
                assertThat(json.has("tags")).as("%s", json).isFalse();
            }
            assertThat(JSON.readTree(record.key())).as("the key").isEqualTo(dimensions);
            return aggregateOf(json, tag == null ? "" : json.get("tags").get(tag).asText());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Grouped aggregates read from an output ({@link #parseGrouped}), leaving out the flush. */
    public static List<Aggregate> parseGrouped(
            List<ConsumerRecord<byte[], byte[]>> records, String tag) {
        return records.stream()
                .map(record -> parseGrouped(record, tag))
                .filter(a -> !a.metric().equals("flush"))
                .toList();
    }

    /**
     * The events as the series of a grouping by metric and {@code tag} sees them: each one's
     * deviceId replaced by its value of the tag (empty if it has none, or without a tag).
     */
    public static List<Event> asSeries(List<Event> events, String tag) {
        return events.stream()
                .map(
                        e ->
                                new Event(
                                        tag == null ? "" : e.tags().getOrDefault(tag, ""),
                                        e.metric(),
                                        e.value(),
                                        e.timestamp()))
                .toList();
    }

    /** An output record's statistics, with {@code series} as its deviceId. */
    private static Aggregate aggregateOf(JsonNode json, String series) {
        return new Aggregate(
                series,
                json.get("metric").asText(),
                json.get("windowStart").asLong(),
                json.get("windowEnd").asLong(),
                json.get("count").asLong(),
                json.get("sum").asDouble(),
                json.get("min").asDouble(),
                json.get("max").asDouble(),
                json.get("avg").asDouble());
    }

    /** An upsert-mode record read back: its aggregate, revision and whether it is final. */
    public record Revision(Aggregate aggregate, int revision, boolean isFinal) {
        public AggregateKey key() {
            return aggregate.key();
        }
    }

    /**
     * A record of upsert mode read back as {@link #parseAggregate} ({@code perDevice}) or {@link
     * #parseGrouped} (by metric and {@code tag}) would read it in final mode. Checks that the key
     * is the window's identity: the record's dimensions, always named, then its bounds.
     */
    public static Revision parseRevision(
            ConsumerRecord<byte[], byte[]> record, boolean perDevice, String tag) {
        try {
            JsonNode json = JSON.readTree(record.value());
            ObjectNode key = JSON.createObjectNode();
            String series;
            if (perDevice) {
                key.set("deviceId", json.get("deviceId"));
                series = json.get("deviceId").asText();
            } else {
                assertThat(json.has("deviceId")).as("%s", json).isFalse();
                series = tag == null ? "" : json.get("tags").get(tag).asText();
            }
            key.set("metric", json.get("metric"));
            if (!perDevice && tag != null) {
                assertThat(json.get("tags").size()).as("%s", json).isEqualTo(1);
                key.set("tags", json.get("tags"));
            }
            key.set("windowStart", json.get("windowStart"));
            key.set("windowEnd", json.get("windowEnd"));
            assertThat(JSON.readTree(record.key())).as("the key of %s", json).isEqualTo(key);
            assertThat(json.get("revision").isInt()).as("%s", json).isTrue();
            assertThat(json.get("final").isBoolean()).as("%s", json).isTrue();
            return new Revision(
                    aggregateOf(json, series),
                    json.get("revision").asInt(),
                    json.get("final").asBoolean());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Upsert-mode records read from an output ({@link #parseRevision}), leaving out the flush. */
    public static List<Revision> parseRevisions(
            List<ConsumerRecord<byte[], byte[]>> records, boolean perDevice, String tag) {
        return records.stream()
                .map(record -> parseRevision(record, perDevice, tag))
                .filter(
                        r ->
                                !r.aggregate().metric().equals("flush")
                                        && !r.aggregate().deviceId().startsWith("flush-"))
                .toList();
    }

    /**
     * What a reader of an upsert-mode output must see, exactly once: every expected window, each
     * with revisions 1, 2, ... n in the order written (none twice, none missing), the last one
     * alone final and equal to the expected aggregate. Returns each window's revisions.
     */
    public static Map<AggregateKey, List<Revision>> assertRevisionsExactlyOnce(
            List<Revision> committed, Map<AggregateKey, Aggregate> expected) {
        Map<AggregateKey, List<Revision>> byWindow =
                committed.stream()
                        .collect(
                                Collectors.groupingBy(
                                        Revision::key,
                                        java.util.LinkedHashMap::new,
                                        Collectors.toList()));
        assertThat(byWindow.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        byWindow.forEach(
                (window, revisions) -> {
                    for (int i = 0; i < revisions.size(); i++) {
                        Revision revision = revisions.get(i);
                        assertThat(revision.revision())
                                .as("revision %d of %s in %s", i + 1, window, revisions)
                                .isEqualTo(i + 1);
                        assertThat(revision.isFinal())
                                .as("final: revision %d of %s in %s", i + 1, window, revisions)
                                .isEqualTo(i == revisions.size() - 1);
                    }
                    assertThat(revisions.get(revisions.size() - 1).aggregate())
                            .as("the final revision of %s", window)
                            .isEqualTo(expected.get(window));
                });
        return byWindow;
    }

    /** Aggregates read from the output, leaving out the flush devices. */
    public static List<Aggregate> parseAggregates(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream()
                .map(TelemetryFixtures::parseAggregate)
                .filter(a -> !a.deviceId().startsWith("flush-"))
                .toList();
    }

    public static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        var header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    /**
     * What an exactly-once reader must see: every expected aggregate, with the expected values, and
     * no (deviceId, metric, windowStart) twice.
     */
    public static void assertExactlyOnce(
            List<Aggregate> committed, Map<AggregateKey, Aggregate> expected) {
        Map<AggregateKey, Long> occurrences =
                committed.stream()
                        .collect(Collectors.groupingBy(Aggregate::key, Collectors.counting()));
        assertThat(occurrences.entrySet())
                .as("no (deviceId, metric, windowStart) is output twice")
                .allSatisfy(
                        entry ->
                                assertThat(entry.getValue())
                                        .as("%s", entry.getKey())
                                        .isEqualTo(1L));
        Map<AggregateKey, Aggregate> actual =
                committed.stream().collect(Collectors.toMap(Aggregate::key, Function.identity()));
        assertThat(actual.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        expected.forEach((key, aggregate) -> assertThat(actual.get(key)).isEqualTo(aggregate));
    }

    /** The records without those of the watermark flush ({@link #watermarkFlush}). */
    public static List<ConsumerRecord<byte[], byte[]>> withoutFlush(
            List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream()
                .filter(r -> !new String(r.key(), StandardCharsets.UTF_8).startsWith("flush-"))
                .toList();
    }

    /**
     * Each record's percentiles are those of a sketch of its window's events (merging sketches, in
     * the combiner, the window or a rollup level, loses nothing) and within the relative accuracy
     * of the exact value at rank floor(q x (n - 1)).
     */
    public static void assertPercentiles(
            List<Event> events,
            long windowMillis,
            List<ConsumerRecord<byte[], byte[]>> records,
            double[] quantiles,
            double accuracy)
            throws IOException {
        assertPercentiles(
                events,
                windowMillis,
                records,
                TelemetryFixtures::parseAggregate,
                quantiles,
                accuracy);
    }

    /** As above, each record read by {@code parser} (e.g. {@link #parseGrouped}). */
    public static void assertPercentiles(
            List<Event> events,
            long windowMillis,
            List<ConsumerRecord<byte[], byte[]>> records,
            Function<ConsumerRecord<byte[], byte[]>, Aggregate> parser,
            double[] quantiles,
            double accuracy)
            throws IOException {
        Map<AggregateKey, List<Double>> values = new HashMap<>();
        for (Event event : events) {
            long windowStart = Math.floorDiv(event.timestamp(), windowMillis) * windowMillis;
            values.computeIfAbsent(
                            new AggregateKey(event.deviceId(), event.metric(), windowStart),
                            key -> new ArrayList<>())
                    .add(event.value());
        }
        for (ConsumerRecord<byte[], byte[]> record : records) {
            JsonNode json = JSON.readTree(record.value());
            AggregateKey key = parser.apply(record).key();
            List<Double> windowValues = values.get(key);
            assertThat(windowValues).as("events of %d ms window %s", windowMillis, key).isNotNull();
            ValueSketch sketch = ValueSketch.withRelativeAccuracy(accuracy);
            windowValues.forEach(sketch::add);
            double[] sorted =
                    windowValues.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            for (double quantile : quantiles) {
                String name = Double.toString(quantile);
                double reported = json.get("percentiles").get(name).asDouble();
                double exact = sorted[(int) Math.floor(quantile * (sorted.length - 1))];
                assertThat(reported)
                        .as("%d ms window %s p%s", windowMillis, key, name)
                        .isEqualTo(sketch.valueAtQuantile(quantile))
                        .isCloseTo(exact, Offset.offset(accuracy * Math.abs(exact) * (1 + 1e-9)));
            }
        }
    }

    /**
     * Waits until {@code topic} holds, committed, as many aggregates (watermark flush aside) as
     * {@code events} give with {@code windowMillis} windows.
     */
    public static void awaitAggregates(
            KafkaTestClient kafka,
            String topic,
            List<Event> events,
            long windowMillis,
            Duration timeout) {
        int expected = expectedAggregates(events, windowMillis).size();
        kafka.readCommitted(topic, timeout, read -> withoutFlush(read).size() >= expected);
    }
}

package dev.telemetry.aggregator.job.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.job.config.Grouping;
import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.ValueSketch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Covers the output record of the data contract: its topic, key and JSON value. */
class AggregateSerializationSchemaTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final AggregateSerializationSchema schema =
            new AggregateSerializationSchema("telemetry-aggregates");

    @Test
    void keyIsTheDeviceIdInUtf8() {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(aggregate("capteur-é-17", 1.0, 2.0), null, 1L);

        assertThat(record.topic()).isEqualTo("telemetry-aggregates");
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("capteur-é-17");
    }

    @Test
    void valueHasExactlyTheContractFieldsInContractOrder() throws Exception {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(aggregate("sensor-17", 20.9, 22.0, 21.625), null, 1L);

        JsonNode json = MAPPER.readTree(record.value());
        assertThat(fieldNames(json)).containsExactlyElementsOf(CONTRACT_FIELDS);
        assertThat(json.get("deviceId").asText()).isEqualTo("sensor-17");
        assertThat(json.get("metric").asText()).isEqualTo("temperature");
        assertThat(json.get("windowStart").isIntegralNumber()).isTrue();
        assertThat(json.get("windowStart").asLong()).isEqualTo(1763683200000L);
        assertThat(json.get("windowEnd").asLong()).isEqualTo(1763683260000L);
        assertThat(json.get("count").isIntegralNumber()).isTrue();
        assertThat(json.get("count").asLong()).isEqualTo(3);
        assertThat(json.get("sum").asDouble()).isEqualTo(20.9 + 22.0 + 21.625);
        assertThat(json.get("min").asDouble()).isEqualTo(20.9);
        assertThat(json.get("max").asDouble()).isEqualTo(22.0);
        assertThat(json.get("avg").asDouble()).isEqualTo((20.9 + 22.0 + 21.625) / 3);
    }

    @Test
    void aWindowSumBeyondTheDoubleRangeIsStillANumber() throws Exception {
        // A window restored from state written before values were bounded at parse time (or any
        // future path to an infinite sum): the output must not carry "Infinity".
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(aggregate("d", 1.7e308, 1.7e308), null, 1L);

        JsonNode json = MAPPER.readTree(record.value());
        for (String field : List.of("count", "sum", "min", "max", "avg")) {
            assertThat(json.get(field).isNumber())
                    .as("%s in %s", field, new String(record.value(), StandardCharsets.UTF_8))
                    .isTrue();
            assertThat(Double.isFinite(json.get(field).asDouble())).as(field).isTrue();
        }
        assertThat(json.get("sum").asDouble()).isEqualTo(Double.MAX_VALUE);
        assertThat(json.get("max").asDouble()).isEqualTo(1.7e308);
    }

    @Test
    void valueIsUtf8JsonEvenForNonAsciiIdentifiers() throws Exception {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(aggregate("Gerät-\"42\"", 1.0, 2.0), null, 1L);

        JsonNode json = MAPPER.readTree(new String(record.value(), StandardCharsets.UTF_8));
        assertThat(json.get("deviceId").asText()).isEqualTo("Gerät-\"42\"");
    }

    @Test
    void keepsTheTimestampFlinkAssignsToTheRecord() {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(aggregate("d", 1.0), null, 1763683259999L);

        assertThat(record.timestamp()).isEqualTo(1763683259999L);
    }

    @Test
    void declaresItsTargetTopicForTransactionCleanUp() {
        // The POOLING transaction naming strategy finds leftover transactions via this topic.
        assertThat(schema.getKafkaDatasetFacet())
                .hasValueSatisfying(
                        facet ->
                                assertThat(facet.getTopicIdentifier().getTopics())
                                        .containsExactly("telemetry-aggregates"));
    }

    @Test
    void percentilesAndTheSketchFollowTheContractFieldsWhenAskedFor() throws Exception {
        double[] quantiles = {0.5, 0.9, 0.99};
        AggregateSerializationSchema withPercentiles =
                new AggregateSerializationSchema("telemetry-aggregates", quantiles, List.of());
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        accumulator.sketch = ValueSketch.withRelativeAccuracy(0.01);
        for (int value = 1; value <= 100; value++) {
            accumulator.add(value);
        }
        TelemetryAggregate aggregate =
                TelemetryAggregate.of(
                        "sensor-1", "latency", 0L, 60_000L, accumulator, quantiles, true);

        JsonNode json = MAPPER.readTree(withPercentiles.serialize(aggregate, null, 1L).value());

        List<String> expectedFields = new ArrayList<>(CONTRACT_FIELDS);
        expectedFields.addAll(List.of("percentiles", "sketch"));
        assertThat(fieldNames(json)).containsExactlyElementsOf(expectedFields);
        List<String> names = new ArrayList<>();
        json.get("percentiles").fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("0.5", "0.9", "0.99");
        // Ranks floor(q x 99) of 1..100: 50, 90 and 99, each within 1%.
        assertThat(json.get("percentiles").get("0.5").asDouble()).isCloseTo(50, within(0.5));
        assertThat(json.get("percentiles").get("0.9").asDouble()).isCloseTo(90, within(0.9));
        assertThat(json.get("percentiles").get("0.99").asDouble()).isCloseTo(99, within(0.99));
        assertThat(Base64.getDecoder().decode(json.get("sketch").asText()))
                .isEqualTo(accumulator.sketch.toProtobuf());
    }

    @Test
    void aWindowWhoseSketchMissesValuesHasNoPercentiles() throws Exception {
        double[] quantiles = {0.5};
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        accumulator.add(1);
        accumulator.sketch = ValueSketch.withRelativeAccuracy(0.01);
        accumulator.add(2);
        TelemetryAggregate aggregate =
                TelemetryAggregate.of(
                        "sensor-1", "latency", 0L, 60_000L, accumulator, quantiles, true);

        JsonNode json =
                MAPPER.readTree(
                        new AggregateSerializationSchema("t", quantiles, List.of())
                                .serialize(aggregate, null, 1L)
                                .value());

        assertThat(json.has("percentiles")).isFalse();
        assertThat(json.has("sketch")).isFalse();
        assertThat(json.get("count").asLong()).isEqualTo(2);
    }

    private static TelemetryAggregate aggregate(String deviceId, double... values) {
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        for (double value : values) {
            accumulator.add(value);
        }
        return TelemetryAggregate.of(
                deviceId, "temperature", 1763683200000L, 1763683260000L, accumulator);
    }

    @Test
    void aGroupedRecordNamesItsDimensionsInKeyAndValue() {
        Grouping byRegion =
                new Grouping(
                        true,
                        List.of("region", "service"),
                        "by-region",
                        List.of(new RollupLevel(Duration.ofHours(1), "by-region-1h")));
        AggregateSerializationSchema grouped =
                new AggregateSerializationSchema(
                        List.of(new Grouping(false, List.of("zone"), "out", List.of()), byRegion),
                        new double[0]);
        TelemetryAggregate aggregate =
                aggregate(byRegion.seriesPrefix() + "sensor-1\0eu-1\0checkout", 1.0, 2.0);

        ProducerRecord<byte[], byte[]> record = grouped.serialize(aggregate, null, 1L);

        assertThat(record.topic()).isEqualTo("by-region");
        assertThat(new String(record.key(), StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"deviceId\":\"sensor-1\",\"metric\":\"temperature\","
                                + "\"tags\":{\"region\":\"eu-1\",\"service\":\"checkout\"}}");
        assertThat(new String(record.value(), StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"deviceId\":\"sensor-1\",\"metric\":\"temperature\","
                                + "\"tags\":{\"region\":\"eu-1\",\"service\":\"checkout\"},"
                                + "\"windowStart\":1763683200000,\"windowEnd\":1763683260000,"
                                + "\"count\":2,\"sum\":3.0,\"min\":1.0,\"max\":2.0,\"avg\":1.5}");

        aggregate.windowEnd = aggregate.windowStart + 3_600_000;
        assertThat(grouped.serialize(aggregate, null, 1L).topic()).isEqualTo("by-region-1h");
    }

    /**
     * Upsert mode: the key is the window's identity (dimensions, always named, and bounds); the
     * value carries the revision and whether it is final, after the bounds.
     */
    @Test
    void anUpsertRecordIsKeyedByItsWindowAndCarriesItsRevision() {
        Grouping byRegion =
                new Grouping(
                        false,
                        List.of("region"),
                        "by-region",
                        List.of(new RollupLevel(Duration.ofHours(1), "by-region-1h")));
        AggregateSerializationSchema upsert =
                new AggregateSerializationSchema(
                        List.of(new Grouping(true, List.of(), "out", List.of()), byRegion),
                        new double[0],
                        true);
        TelemetryAggregate perDevice = aggregate("sensor-1", 1.0, 2.0);
        perDevice.revision = 3;

        ProducerRecord<byte[], byte[]> record = upsert.serialize(perDevice, null, 1L);

        assertThat(record.topic()).isEqualTo("out");
        assertThat(new String(record.key(), StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"deviceId\":\"sensor-1\",\"metric\":\"temperature\","
                                + "\"windowStart\":1763683200000,\"windowEnd\":1763683260000}");
        assertThat(new String(record.value(), StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"deviceId\":\"sensor-1\",\"metric\":\"temperature\","
                                + "\"windowStart\":1763683200000,\"windowEnd\":1763683260000,"
                                + "\"revision\":3,\"final\":false,"
                                + "\"count\":2,\"sum\":3.0,\"min\":1.0,\"max\":2.0,\"avg\":1.5}");

        TelemetryAggregate hourly =
                aggregate(
                        byRegion.seriesOf(
                                "sensor-1",
                                new String[] {"region", "eu-1"},
                                byRegion.seriesPrefix()),
                        4.0);
        hourly.windowEnd = hourly.windowStart + 3_600_000;
        hourly.revision = 1;
        hourly.isFinal = true;
        record = upsert.serialize(hourly, null, 1L);

        assertThat(record.topic()).isEqualTo("by-region-1h");
        assertThat(new String(record.key(), StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"metric\":\"temperature\",\"tags\":{\"region\":\"eu-1\"},"
                                + "\"windowStart\":1763683200000,\"windowEnd\":1763686800000}");
        assertThat(new String(record.value(), StandardCharsets.UTF_8))
                .contains("\"windowEnd\":1763686800000,\"revision\":1,\"final\":true,");
    }

    @Test
    void anAggregateOfAGroupingNoLongerConfiguredIsSkipped() {
        AggregateSerializationSchema byZone =
                new AggregateSerializationSchema(
                        List.of(new Grouping(false, List.of("zone"), "out", List.of())),
                        new double[0]);

        assertThat(byZone.serialize(aggregate("sensor-1", 1.0), null, 1L))
                .as("per device (the grouping before the change)")
                .isNull();
        assertThat(byZone.serialize(aggregate("\0metric\0\0", 1.0), null, 1L)).isNull();
    }

    /** Each level's records go to its topic, told apart by window size; the rest to the output. */
    @Test
    void rollupLevelsGoToTheirOwnTopics() {
        AggregateSerializationSchema levels =
                new AggregateSerializationSchema(
                        "out",
                        new double[0],
                        List.of(
                                new RollupLevel(Duration.ofMinutes(1), "out-1m"),
                                new RollupLevel(Duration.ofHours(1), "out-1h")));
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        accumulator.add(1.0);
        assertThat(
                        List.of(10_000L, 60_000L, 3_600_000L).stream()
                                .map(
                                        size ->
                                                levels.serialize(
                                                                TelemetryAggregate.of(
                                                                        "d",
                                                                        "m",
                                                                        0L,
                                                                        size,
                                                                        accumulator),
                                                                null,
                                                                size - 1)
                                                        .topic()))
                .containsExactly("out", "out-1m", "out-1h");
    }

    /** The fields of every output record, in the data contract's order. */
    private static final List<String> CONTRACT_FIELDS =
            List.of(
                    "deviceId",
                    "metric",
                    "windowStart",
                    "windowEnd",
                    "count",
                    "sum",
                    "min",
                    "max",
                    "avg");

    private static List<String> fieldNames(JsonNode json) {
        List<String> fields = new ArrayList<>();
        json.fieldNames().forEachRemaining(fields::add);
        return fields;
    }
}

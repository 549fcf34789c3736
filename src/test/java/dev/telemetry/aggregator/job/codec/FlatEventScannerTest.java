package dev.telemetry.aggregator.job.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The parser's fast path: it reads the usual plain events itself, leaves everything else to
 * Jackson, and either way the parser's result (event, or reason and message) is what Jackson's path
 * alone gives. The fuzz test holds it to the same on arbitrary bytes.
 */
class FlatEventScannerTest {
    private static final long KAFKA_TIMESTAMP = 1_763_683_201_000L;
    private static final Clock NOW =
            Clock.fixed(Instant.parse("2025-11-22T00:00:00Z"), ZoneOffset.UTC);

    /** Plain events: read by the fast path. */
    static Stream<String> plain() {
        return Stream.of(
                "{\"deviceId\":\"sensor-2\",\"metric\":\"metric-1\",\"value\":7.0,\"timestamp\":1763683204595}",
                "{\"deviceId\":\"sensor-1\",\"metric\":\"temperature\",\"value\":21.5,\"timestamp\":\"2025-11-21T00:00:00Z\"}",
                "{\"deviceId\":\"sensor-1\",\"metric\":\"temperature\",\"value\":21.5,\"timestamp\":\"1763683200000\"}",
                " \t\r\n"
                        + "{ \"timestamp\" : 1763683200000 , \"value\" : -0.25 ,\n"
                        + " \"metric\":\"m\", \"deviceId\":\"d\" }\n"
                        + " ",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-0,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-0.0,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":0.1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":123456789012345678,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":9007199254740993.5,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":0.30000000000000004,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-1e292,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":4.9E-324,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e-400,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":12.5e+2,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":0.0000000000000000000001,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"capteur-é\",\"metric\":\"température\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"site\":\"x\",\"rack\":7,\"pad\":\"yy\"}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1}",
                "{\"tags\":{\"region\":\"eu\"},\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,"
                        + " \"tags\" : { \"zone\" : \"z-é\" , \"b\":\"2\",\"a\":\"\" } }",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":-1}");
    }

    /** Everything else: left to Jackson, which accepts some and rejects the others. */
    static Stream<String> leftToJackson() {
        return Stream.of(
                "{\"deviceId\":\"d\\u0031\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"device\\u0049d\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"ok\":true}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\"a\":1}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":[1,{\"a\":1,\"a\":2}]}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":\"eu\"}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":null}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\"a\":\"1\",\"a\":\"2\"}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\"\":\"1\"}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\"a\":\"x\\u0000\"}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\"a\":\"1\",}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\"a\":\"1\"},\"tags\":{}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{\""
                        + "n".repeat(65)
                        + "\":\"1\"}}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"tags\":{"
                        + java.util.stream.IntStream.range(0, 17)
                                .mapToObj(i -> "\"t" + i + "\":\"v\"")
                                .collect(java.util.stream.Collectors.joining(","))
                        + "}}",
                "\uFEFF{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":01,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1.,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":.5,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":+1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e400,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1.7976931348623157e308,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-1.000000000000001e292,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1234567890123456789012,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":\"1\",\"timestamp\":1763683200000}",
                "{\"deviceId\":1,\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":null,\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"deviceId\":\"e\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,\"x\":1,\"x\":1}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000.5}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":17636832000001234567}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"yesterday\"}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"timestamp\":1763683200000}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}x",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000,}",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000",
                "{\"deviceId\":\"d\" \"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{\"deviceId\":\"a\tb\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}",
                "{}",
                "[]",
                "",
                "   ");
    }

    @ParameterizedTest
    @MethodSource("plain")
    void readsPlainEventsItselfAsJacksonWould(String json) throws Exception {
        for (EventTimeSource source : EventTimeSource.values()) {
            byte[] value = json.getBytes(StandardCharsets.UTF_8);
            assertThat(new FlatEventScanner(source).scan(value, KAFKA_TIMESTAMP))
                    .as("%s, event time from %s", json, source)
                    .isNotNull();
            assertSameOutcome(value, source);
        }
    }

    @ParameterizedTest
    @MethodSource("leftToJackson")
    void leavesEverythingElseToJackson(String json) throws Exception {
        byte[] value = json.getBytes(StandardCharsets.UTF_8);
        assertThat(new FlatEventScanner(EventTimeSource.PAYLOAD).scan(value, KAFKA_TIMESTAMP))
                .as(json)
                .isNull();
        for (EventTimeSource source : EventTimeSource.values()) {
            assertSameOutcome(value, source);
        }
    }

    @ParameterizedTest
    @EnumSource(EventTimeSource.class)
    void aKafkaRecordWithoutTimestampIsLeftToJacksonWhenEventTimeComesFromKafka(
            EventTimeSource source) {
        byte[] value =
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}"
                        .getBytes(StandardCharsets.UTF_8);
        TelemetryEvent event = new FlatEventScanner(source).scan(value, -1);
        assertThat(event == null).isEqualTo(source == EventTimeSource.KAFKA);
        assertSameOutcome(value, source, -1);
    }

    @Test
    void oneStringInstancePerDeviceAndMetric() {
        FlatEventScanner scanner = new FlatEventScanner(EventTimeSource.PAYLOAD);
        TelemetryEvent first = scanner.scan(event("sensor-7", "temperature"), 0);
        TelemetryEvent again = scanner.scan(event("sensor-7", "temperature"), 0);
        TelemetryEvent other = scanner.scan(event("sensor-8", "temperature"), 0);

        assertThat(again.deviceId).isSameAs(first.deviceId);
        assertThat(again.metric).isSameAs(first.metric);
        assertThat(other.metric).isSameAs(first.metric);
        assertThat(other.deviceId).isEqualTo("sensor-8");
    }

    private static byte[] event(String deviceId, String metric) {
        return ("{\"deviceId\":\""
                        + deviceId
                        + "\",\"metric\":\""
                        + metric
                        + "\",\"value\":1.5,\"timestamp\":1763683200000}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static void assertSameOutcome(byte[] value, EventTimeSource source) {
        assertSameOutcome(value, source, KAFKA_TIMESTAMP);
    }

    /** The parser's result with its fast path equals Jackson's path alone: event or rejection. */
    static void assertSameOutcome(byte[] value, EventTimeSource source, long recordTimestamp) {
        assertThat(
                        outcome(
                                new TelemetryEventParser(source, EventTimeBounds.DEFAULT, NOW),
                                value,
                                recordTimestamp))
                .as("%s, event time from %s", new String(value, StandardCharsets.UTF_8), source)
                .isEqualTo(
                        outcome(
                                TelemetryEventParser.withoutFastPath(
                                        source, EventTimeBounds.DEFAULT, NOW),
                                value,
                                recordTimestamp));
    }

    /** The event's fields (value by its bits, so -0.0 differs from 0.0), or the rejection. */
    private static String outcome(TelemetryEventParser parser, byte[] value, long timestamp) {
        try {
            TelemetryEvent event = parser.parse(value, timestamp);
            return String.join(
                    " | ",
                    event.deviceId,
                    event.metric,
                    Long.toHexString(Double.doubleToRawLongBits(event.value)),
                    Long.toString(event.timestamp),
                    Arrays.toString(event.tags));
        } catch (InvalidEventException e) {
            return "rejected " + e.reason() + ": " + Objects.toString(e.getMessage());
        }
    }
}

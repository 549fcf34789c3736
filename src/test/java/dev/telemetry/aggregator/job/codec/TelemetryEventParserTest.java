package dev.telemetry.aggregator.job.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.config.TagLimits;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Covers what the parser accepts from the data contract and the reason code of every rejection. */
class TelemetryEventParserTest {
    /** 2025-11-21T00:00:00Z, the instant of the contract's example. */
    private static final long CONTRACT_MILLIS = 1763683200000L;

    private static final long KAFKA_TIMESTAMP = 1_700_000_000_123L;

    /** The processing clock: a day after the contract's example. */
    private static final Clock NOW =
            Clock.fixed(Instant.ofEpochMilli(CONTRACT_MILLIS + 86_400_000L), ZoneOffset.UTC);

    private final TelemetryEventParser payloadTime =
            new TelemetryEventParser(EventTimeSource.PAYLOAD, EventTimeBounds.DEFAULT, NOW);
    private final TelemetryEventParser kafkaTime =
            new TelemetryEventParser(EventTimeSource.KAFKA, EventTimeBounds.DEFAULT, NOW);

    @Test
    void parsesTheContractExampleWithEpochMillis() throws Exception {
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"sensor-17\",\"metric\":\"temperature\","
                                        + "\"value\":21.5,\"timestamp\":1763683200000}"),
                        KAFKA_TIMESTAMP);

        assertThat(event.deviceId).isEqualTo("sensor-17");
        assertThat(event.metric).isEqualTo("temperature");
        assertThat(event.value).isEqualTo(21.5);
        assertThat(event.timestamp).isEqualTo(CONTRACT_MILLIS);
    }

    static Stream<Arguments> acceptedTimestamps() {
        return Stream.of(
                Arguments.of("epoch millis", "1763683200000", CONTRACT_MILLIS),
                Arguments.of("ISO-8601 instant", "\"2025-11-21T00:00:00Z\"", CONTRACT_MILLIS),
                Arguments.of(
                        "ISO-8601 instant with millis",
                        "\"2025-11-21T00:00:00.250Z\"",
                        CONTRACT_MILLIS + 250),
                // JDK 12+ Instant.parse accepts an offset; 01:00+01:00 is midnight UTC.
                Arguments.of(
                        "ISO-8601 with offset", "\"2025-11-21T01:00:00+01:00\"", CONTRACT_MILLIS),
                Arguments.of(
                        "epoch millis as a string of digits",
                        "\"1763683200000\"",
                        CONTRACT_MILLIS));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("acceptedTimestamps")
    void acceptsEveryContractTimestampForm(String form, String json, long expectedMillis)
            throws Exception {
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1.0,\"timestamp\":"
                                        + json
                                        + "}"),
                        KAFKA_TIMESTAMP);

        assertThat(event.timestamp).isEqualTo(expectedMillis);
    }

    @Test
    void ignoresUnknownFieldsIncludingNestedObjectsAndArrays() throws Exception {
        // The unknown fields sit before and between known ones, and nest the known field names, so
        // a
        // parser that does not skip children properly would pick up the wrong values.
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"firmware\":\"1.2.3\","
                                        + "\"location\":{\"deviceId\":\"wrong\",\"value\":99,"
                                        + "\"inner\":{\"metric\":\"wrong\"}},"
                                        + "\"deviceId\":\"sensor-17\","
                                        + "\"labels\":[\"a\",{\"value\":-1},[1,2,[3]]],"
                                        + "\"metric\":\"humidity\",\"value\":40.25,"
                                        + "\"ok\":true,\"nothing\":null,"
                                        + "\"timestamp\":1763683200000,\"trailing\":{}}"),
                        KAFKA_TIMESTAMP);

        assertThat(event)
                .isEqualTo(new TelemetryEvent("sensor-17", "humidity", 40.25, CONTRACT_MILLIS));
    }

    @Test
    void acceptsAnIntegerValueAsADouble() throws Exception {
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-42,"
                                        + "\"timestamp\":1763683200000}"),
                        KAFKA_TIMESTAMP);

        assertThat(event.value).isEqualTo(-42.0);
    }

    @Test
    void acceptsTrailingWhitespaceAfterTheObject() throws Exception {
        // Console producers and scripts often append a newline; that is not trailing garbage.
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                        + "\"timestamp\":1763683200000} \n"),
                        KAFKA_TIMESTAMP);

        assertThat(event.timestamp).isEqualTo(CONTRACT_MILLIS);
    }

    static Stream<Arguments> payloadTimestampsIgnoredInKafkaMode() {
        return Stream.of(
                Arguments.of("absent", ""),
                Arguments.of("valid but different", ",\"timestamp\":1763683200000"),
                Arguments.of("unparseable text", ",\"timestamp\":\"yesterday\""),
                Arguments.of("a float", ",\"timestamp\":1.5"),
                Arguments.of("a boolean", ",\"timestamp\":true"),
                Arguments.of("an object", ",\"timestamp\":{\"seconds\":1}"),
                Arguments.of("null", ",\"timestamp\":null"));
    }

    @ParameterizedTest(name = "payload timestamp {0}")
    @MethodSource("payloadTimestampsIgnoredInKafkaMode")
    void kafkaEventTimeUsesTheRecordTimestampWhateverThePayloadSays(String why, String timestamp)
            throws Exception {
        TelemetryEvent event =
                kafkaTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":3.5"
                                        + timestamp
                                        + "}"),
                        KAFKA_TIMESTAMP);

        assertThat(event).isEqualTo(new TelemetryEvent("d", "m", 3.5, KAFKA_TIMESTAMP));
    }

    @Test
    void rejectsANullValueAsTombstone() {
        assertRejected(payloadTime, null, RejectReason.NULL_VALUE);
        assertRejected(kafkaTime, null, RejectReason.NULL_VALUE);
    }

    static Stream<Arguments> badInputs() {
        String ok = "\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1.0,\"timestamp\":1763683200000";
        return Stream.of(
                bad("empty bytes", new byte[0], RejectReason.INVALID_JSON),
                bad("only whitespace", "  \n", RejectReason.INVALID_JSON),
                bad("not JSON", "temperature=21.5", RejectReason.INVALID_JSON),
                bad(
                        "truncated JSON",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"val",
                        RejectReason.INVALID_JSON),
                bad("truncated after a complete field", "{" + ok, RejectReason.INVALID_JSON),
                bad("trailing garbage", "{" + ok + "}garbage", RejectReason.INVALID_JSON),
                bad("a second object", "{" + ok + "}{" + ok + "}", RejectReason.INVALID_JSON),
                bad(
                        "invalid UTF-8 in a known field",
                        concat(
                                utf8("{\"deviceId\":\""),
                                new byte[] {(byte) 0xC3, (byte) 0x28},
                                utf8("\",\"metric\":\"m\",\"value\":1,\"timestamp\":1}")),
                        RejectReason.INVALID_UTF8),
                bad(
                        "invalid UTF-8 in an unknown field",
                        concat(
                                utf8("{" + ok + ",\"note\":\""),
                                new byte[] {(byte) 0xFF},
                                utf8("\"}")),
                        RejectReason.INVALID_UTF8),
                bad(
                        "an overlong UTF-8 encoding (Jackson would accept it)",
                        concat(
                                utf8("{" + ok + ",\"note\":\""),
                                new byte[] {(byte) 0xC0, (byte) 0xAF},
                                utf8("\"}")),
                        RejectReason.INVALID_UTF8),
                bad(
                        "Latin-1 text",
                        ("{" + ok + ",\"room\":\"K\u00fcche\"}")
                                .getBytes(StandardCharsets.ISO_8859_1),
                        RejectReason.INVALID_UTF8),
                bad(
                        "UTF-16 with a byte-order mark",
                        ("\uFEFF{" + ok + "}").getBytes(StandardCharsets.UTF_16BE),
                        RejectReason.INVALID_UTF8),
                bad(
                        "UTF-16 without a byte-order mark (zero bytes)",
                        ("{" + ok + "}").getBytes(StandardCharsets.UTF_16BE),
                        RejectReason.INVALID_JSON),
                bad(
                        "a raw NUL byte inside a string",
                        concat(utf8("{" + ok + ",\"note\":\""), new byte[] {0}, utf8("\"}")),
                        RejectReason.INVALID_JSON),
                bad(
                        "nesting deeper than the limit, in an unknown field",
                        "{" + ok + ",\"x\":" + "[".repeat(40) + "]".repeat(40) + "}",
                        RejectReason.LIMIT_EXCEEDED),
                bad(
                        "60 000 open brackets (no stack overflow)",
                        "{\"x\":" + "[".repeat(60_000),
                        RejectReason.LIMIT_EXCEEDED),
                bad(
                        "a value larger than the document limit",
                        "{" + ok + ",\"pad\":\"" + "x".repeat(70_000) + "\"}",
                        RejectReason.LIMIT_EXCEEDED),
                bad(
                        "a deviceId longer than the string limit",
                        "{\"deviceId\":\""
                                + "d".repeat(9_000)
                                + "\",\"metric\":\"m\","
                                + "\"value\":1,\"timestamp\":1763683200000}",
                        RejectReason.LIMIT_EXCEEDED),
                bad(
                        "a number longer than the number limit",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":"
                                + "9".repeat(200)
                                + ",\"timestamp\":1763683200000}",
                        RejectReason.LIMIT_EXCEEDED),
                bad(
                        "a field name longer than the name limit",
                        "{" + ok + ",\"" + "n".repeat(2_000) + "\":1}",
                        RejectReason.LIMIT_EXCEEDED),
                bad(
                        "NaN as a bare token",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":NaN,\"timestamp\":1}",
                        RejectReason.INVALID_JSON),
                bad(
                        "timestamp before 2000",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1}",
                        RejectReason.TIMESTAMP_OUT_OF_RANGE),
                bad(
                        "timestamp negative",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":-5}",
                        RejectReason.TIMESTAMP_OUT_OF_RANGE),
                bad(
                        "timestamp more than a day ahead of the clock",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                + "\"timestamp\":\"2025-11-23T00:00:00.001Z\"}",
                        RejectReason.TIMESTAMP_OUT_OF_RANGE),
                bad(
                        "timestamp Long.MAX_VALUE",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                + "\"timestamp\":9223372036854775807}",
                        RejectReason.TIMESTAMP_OUT_OF_RANGE),
                bad("a JSON array", "[{" + ok + "}]", RejectReason.NOT_AN_OBJECT),
                bad("a JSON string", "\"hello\"", RejectReason.NOT_AN_OBJECT),
                bad("a JSON number", "42", RejectReason.NOT_AN_OBJECT),
                bad("JSON null", "null", RejectReason.NOT_AN_OBJECT),
                bad(
                        "missing deviceId",
                        "{\"metric\":\"m\",\"value\":1,\"timestamp\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "empty deviceId",
                        "{\"deviceId\":\"\",\"metric\":\"m\",\"value\":1,\"timestamp\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "null deviceId",
                        "{\"deviceId\":null,\"metric\":\"m\",\"value\":1,\"timestamp\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "deviceId as a number",
                        "{\"deviceId\":17,\"metric\":\"m\",\"value\":1,\"timestamp\":1}",
                        RejectReason.INVALID_FIELD),
                bad(
                        "missing metric",
                        "{\"deviceId\":\"d\",\"value\":1,\"timestamp\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "missing value",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"timestamp\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "null value",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":null,\"timestamp\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "value as a string",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":\"21.5\",\"timestamp\":1}",
                        RejectReason.INVALID_FIELD),
                bad(
                        "value as an object",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":{\"v\":1},\"timestamp\":1}",
                        RejectReason.INVALID_FIELD),
                bad(
                        "value 1e400 overflows a double",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e400,\"timestamp\":1}",
                        RejectReason.NON_FINITE_VALUE),
                bad(
                        "value -1e400 overflows a double",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":-1e400,\"timestamp\":1}",
                        RejectReason.NON_FINITE_VALUE),
                bad(
                        "missing timestamp",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "null timestamp",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":null}",
                        RejectReason.MISSING_FIELD),
                bad(
                        "timestamp 'yesterday'",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"yesterday\"}",
                        RejectReason.INVALID_TIMESTAMP),
                bad(
                        "timestamp as a float",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000.5}",
                        RejectReason.INVALID_TIMESTAMP),
                bad(
                        "timestamp as a huge integer",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                + "\"timestamp\":123456789012345678901234567890}",
                        RejectReason.INVALID_TIMESTAMP),
                bad(
                        "timestamp as a boolean",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":true}",
                        RejectReason.INVALID_TIMESTAMP),
                bad(
                        "timestamp as an array",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":[1]}",
                        RejectReason.INVALID_TIMESTAMP),
                bad(
                        "duplicate field",
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"value\":2,\"timestamp\":1}",
                        RejectReason.DUPLICATE_FIELD),
                bad(
                        "duplicate field in a nested unknown object",
                        "{" + ok + ",\"x\":{\"a\":1,\"a\":2}}",
                        RejectReason.DUPLICATE_FIELD));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("badInputs")
    void rejectsBadInputWithItsReason(String what, byte[] value, RejectReason reason) {
        assertRejected(payloadTime, value, reason);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1e300", "-1e300", "1.000000000000001e292", "8.98846567431158e307"})
    void rejectsValuesLargeEnoughToOverflowAWindowSum(String number) {
        // Two values near Double.MAX_VALUE sum to Infinity, which the output cannot carry as a
        // number: such values are dead letters, on the fast path and on Jackson's alike.
        byte[] value =
                utf8(
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":"
                                + number
                                + ",\"timestamp\":1763683200000}");
        for (TelemetryEventParser parser :
                List.of(
                        payloadTime,
                        TelemetryEventParser.withoutFastPath(
                                EventTimeSource.PAYLOAD, EventTimeBounds.DEFAULT, NOW))) {
            InvalidEventException rejected = rejection(parser, value);
            assertThat(rejected).as(number).isNotNull();
            assertThat(rejected.reason().code()).isEqualTo("value-out-of-range");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1e292", "-1e292", "1.7e291", "4.9e-324"})
    void acceptsValuesUpToTheBound(String number) throws Exception {
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":"
                                        + number
                                        + ",\"timestamp\":1763683200000}"),
                        KAFKA_TIMESTAMP);

        assertThat(event.value).isEqualTo(Double.parseDouble(number));
    }

    @Test
    void rejectionDetailNamesTheOffendingField() {
        InvalidEventException missing =
                rejection(payloadTime, utf8("{\"deviceId\":\"d\",\"value\":1,\"timestamp\":1}"));
        InvalidEventException badTimestamp =
                rejection(
                        payloadTime,
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                        + "\"timestamp\":\"yesterday\"}"));

        assertThat(missing).hasMessageContaining("metric");
        assertThat(badTimestamp)
                .hasMessageContaining("timestamp")
                .hasMessageContaining("yesterday");
    }

    @Test
    void acceptsTheEdgesOfThePlausibleRange() throws Exception {
        long latest = NOW.millis() + 86_400_000L;
        for (long timestamp : new long[] {946_684_800_000L, latest}) {
            TelemetryEvent event =
                    payloadTime.parse(
                            utf8(
                                    "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                            + "\"timestamp\":"
                                            + timestamp
                                            + "}"),
                            KAFKA_TIMESTAMP);
            assertThat(event.timestamp).isEqualTo(timestamp);
        }
        assertRejected(
                payloadTime,
                utf8(
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":"
                                + (latest + 1)
                                + "}"),
                RejectReason.TIMESTAMP_OUT_OF_RANGE);
    }

    @Test
    void kafkaEventTimeAppliesTheRangeToTheRecordTimestamp() {
        byte[] value = utf8("{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1}");
        assertThatThrownBy(() -> kafkaTime.parse(value, 1_000L))
                .isInstanceOfSatisfying(
                        InvalidEventException.class,
                        e -> {
                            assertThat(e.reason()).isEqualTo(RejectReason.TIMESTAMP_OUT_OF_RANGE);
                            assertThat(e).hasMessageContaining("Kafka record timestamp 1000");
                        });
    }

    @Test
    void theRangeIsConfigurable() throws Exception {
        TelemetryEventParser strict =
                new TelemetryEventParser(
                        EventTimeSource.PAYLOAD,
                        new EventTimeBounds(
                                Instant.ofEpochMilli(CONTRACT_MILLIS), java.time.Duration.ZERO),
                        NOW);
        assertRejected(
                strict,
                utf8(
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                + "\"timestamp\":1763683199999}"),
                RejectReason.TIMESTAMP_OUT_OF_RANGE);
        assertThat(
                        strict.parse(
                                        utf8(
                                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                                        + "\"timestamp\":1763683200000}"),
                                        KAFKA_TIMESTAMP)
                                .timestamp)
                .isEqualTo(CONTRACT_MILLIS);
    }

    @Test
    void rejectionDetailsNameTheLimitAndTheDuplicate() {
        assertThat(rejection(payloadTime, utf8("{\"a\":1,\"a\":2}"))).hasMessageContaining("'a'");
        assertThat(rejection(payloadTime, utf8("{\"x\":" + "[".repeat(100))))
                .hasMessageContaining("nesting depth");
    }

    @Test
    void readsTagsAsNameValuePairsSortedByName() throws Exception {
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":2,"
                                        + "\"tags\":{\"service\":\"checkout\",\"region\":\"eu-1\"},"
                                        + "\"timestamp\":1763683200000}"),
                        KAFKA_TIMESTAMP);

        assertThat(event.tags).containsExactly("region", "eu-1", "service", "checkout");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"null", "{}"})
    void anEventWithoutTagsHasNone(String tags) throws Exception {
        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":2,"
                                        + "\"timestamp\":1763683200000,\"tags\":"
                                        + tags
                                        + "}"),
                        KAFKA_TIMESTAMP);

        assertThat(event).isEqualTo(new TelemetryEvent("d", "m", 2, CONTRACT_MILLIS));
        assertThat(event.tags).isNull();
    }

    static Stream<Arguments> badTags() {
        return Stream.of(
                bad("tags as a string", "\"eu-1\"", RejectReason.INVALID_FIELD),
                bad("tags as an array", "[\"eu-1\"]", RejectReason.INVALID_FIELD),
                bad("a number value", "{\"region\":1}", RejectReason.INVALID_FIELD),
                bad(
                        "a nested object",
                        "{\"region\":{\"name\":\"eu\"}}",
                        RejectReason.INVALID_FIELD),
                bad("a null value", "{\"region\":null}", RejectReason.INVALID_FIELD),
                bad("an empty name", "{\"\":\"x\"}", RejectReason.INVALID_FIELD),
                bad("NUL in a value", "{\"region\":\"eu\\u0000\"}", RejectReason.INVALID_FIELD),
                bad("NUL in a name", "{\"re\\u0000gion\":\"eu\"}", RejectReason.INVALID_FIELD),
                bad(
                        "a duplicate name",
                        "{\"region\":\"eu\",\"region\":\"us\"}",
                        RejectReason.DUPLICATE_FIELD),
                bad(
                        "17 tags (16 allowed)",
                        IntStream.range(0, 17)
                                .mapToObj(i -> "\"t" + i + "\":\"v\"")
                                .collect(Collectors.joining(",", "{", "}")),
                        RejectReason.TAGS_LIMIT_EXCEEDED),
                bad(
                        "a 65-character name (64 allowed)",
                        "{\"" + "n".repeat(65) + "\":\"v\"}",
                        RejectReason.TAGS_LIMIT_EXCEEDED),
                bad(
                        "a 257-character value (256 allowed)",
                        "{\"n\":\"" + "v".repeat(257) + "\"}",
                        RejectReason.TAGS_LIMIT_EXCEEDED));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("badTags")
    void rejectsBadTagsWithTheirReason(String what, byte[] tags, RejectReason reason) {
        byte[] value =
                utf8(
                        "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                                + "\"timestamp\":1763683200000,\"tags\":"
                                + new String(tags, StandardCharsets.UTF_8)
                                + "}");
        assertRejected(payloadTime, value, reason);
        assertRejected(kafkaTime, value, reason);
    }

    @Test
    void tagLimitsAreSettings() throws Exception {
        TelemetryEventParser oneShortTag =
                new TelemetryEventParser(
                        EventTimeSource.PAYLOAD,
                        EventTimeBounds.DEFAULT,
                        NOW,
                        new TagLimits(1, 3, 4),
                        true);
        String event =
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,"
                        + "\"timestamp\":1763683200000,\"tags\":";

        assertThat(oneShortTag.parse(utf8(event + "{\"abc\":\"1234\"}}"), 0).tags)
                .containsExactly("abc", "1234");
        assertThat(rejection(oneShortTag, utf8(event + "{\"a\":\"1\",\"b\":\"2\"}}")))
                .hasMessage("more than 1 tags");
        assertThat(rejection(oneShortTag, utf8(event + "{\"abcd\":\"1\"}}")))
                .hasMessage("tag name 'abcd' is longer than 3 characters");
        assertThat(rejection(oneShortTag, utf8(event + "{\"a\":\"12345\"}}")))
                .hasMessage("the value of tag 'a' is longer than 4 characters");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"deviceId", "metric"})
    void rejectsNulInADeviceOrMetric(String field) {
        String json =
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1,\"timestamp\":1763683200000}"
                        .replace(
                                "\"" + field + "\":\"" + field.charAt(0) + "\"",
                                "\"" + field + "\":\"x\\u0000y\"");
        assertThat(rejection(payloadTime, utf8(json)))
                .hasMessage("field '" + field + "' must not contain NUL (U+0000)")
                .satisfies(e -> assertThat(e.reason()).isEqualTo(RejectReason.INVALID_FIELD));
    }

    @Test
    void kafkaEventTimeStillRejectsAPayloadWithoutRequiredFields() {
        assertRejected(
                kafkaTime,
                utf8("{\"deviceId\":\"d\",\"metric\":\"m\"}"),
                RejectReason.MISSING_FIELD);
    }

    @Test
    void parserIsReusableAfterARejection() throws Exception {
        // One parser instance serves a whole source split; a bad record must not poison it.
        assertRejected(payloadTime, utf8("{\"deviceId\":"), RejectReason.INVALID_JSON);

        TelemetryEvent event =
                payloadTime.parse(
                        utf8(
                                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":2,"
                                        + "\"timestamp\":1763683200000}"),
                        KAFKA_TIMESTAMP);

        assertThat(event).isEqualTo(new TelemetryEvent("d", "m", 2, CONTRACT_MILLIS));
    }

    private static void assertRejected(
            TelemetryEventParser parser, byte[] value, RejectReason reason) {
        assertThatThrownBy(() -> parser.parse(value, KAFKA_TIMESTAMP))
                .isInstanceOfSatisfying(
                        InvalidEventException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    private static InvalidEventException rejection(TelemetryEventParser parser, byte[] value) {
        return catchThrowableOfType(
                InvalidEventException.class, () -> parser.parse(value, KAFKA_TIMESTAMP));
    }

    private static Arguments bad(String what, String json, RejectReason reason) {
        return Arguments.of(what, utf8(json), reason);
    }

    private static Arguments bad(String what, byte[] value, RejectReason reason) {
        return Arguments.of(what, value, reason);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}

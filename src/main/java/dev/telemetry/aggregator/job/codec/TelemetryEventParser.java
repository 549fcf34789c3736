package dev.telemetry.aggregator.job.codec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.io.IOException;
import java.io.Serializable;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Parses one UTF-8 JSON telemetry value into a {@link TelemetryEvent}, or says precisely why it
 * cannot. A streaming parser: no tree is built, unknown fields are skipped, trailing content after
 * the object is rejected, and duplicate fields are rejected rather than silently last-wins.
 */
public final class TelemetryEventParser implements Serializable {
    private static final long serialVersionUID = 1L;

    private final EventTimeSource eventTimeSource;

    /** Thread-safe once built, so one instance serves every parser in the JVM. */
    private static final JsonFactory JSON =
            JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    public TelemetryEventParser(EventTimeSource eventTimeSource) {
        this.eventTimeSource = eventTimeSource;
    }

    /**
     * @param value the Kafka record value
     * @param recordTimestamp the Kafka record timestamp, used when event time comes from Kafka
     */
    public TelemetryEvent parse(byte[] value, long recordTimestamp) throws InvalidEventException {
        if (value == null) {
            throw new InvalidEventException(RejectReason.NULL_VALUE, "record has no value");
        }
        try (JsonParser parser = JSON.createParser(value)) {
            TelemetryEvent event = readObject(parser, recordTimestamp);
            if (parser.nextToken() != null) {
                throw new InvalidEventException(
                        RejectReason.INVALID_JSON, "unexpected content after the JSON object");
            }
            return event;
        } catch (IOException e) {
            // Jackson reports malformed JSON, invalid UTF-8 and duplicate fields as IOExceptions.
            throw new InvalidEventException(RejectReason.INVALID_JSON, firstLine(e.getMessage()));
        }
    }

    private TelemetryEvent readObject(JsonParser parser, long recordTimestamp)
            throws IOException, InvalidEventException {
        JsonToken first = parser.nextToken();
        if (first == null) {
            throw new InvalidEventException(RejectReason.INVALID_JSON, "empty value");
        }
        if (first != JsonToken.START_OBJECT) {
            throw new InvalidEventException(
                    RejectReason.NOT_AN_OBJECT,
                    "expected a JSON object but found " + first.asString());
        }
        String deviceId = null;
        String metric = null;
        Double value = null;
        Long timestamp = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken token = parser.nextToken();
            switch (field) {
                case "deviceId" -> deviceId = readString(parser, token, field);
                case "metric" -> metric = readString(parser, token, field);
                case "value" -> value = readValue(parser, token);
                case "timestamp" -> {
                    if (eventTimeSource == EventTimeSource.PAYLOAD) {
                        timestamp = readTimestamp(parser, token);
                    } else {
                        parser.skipChildren();
                    }
                }
                default -> parser.skipChildren();
            }
        }
        requirePresent(deviceId, "deviceId");
        requirePresent(metric, "metric");
        if (value == null) {
            throw new InvalidEventException(RejectReason.MISSING_FIELD, "missing field 'value'");
        }
        long eventTime;
        if (eventTimeSource == EventTimeSource.KAFKA) {
            if (recordTimestamp < 0) {
                // Without a timestamp the event would land in a window before the epoch.
                throw new InvalidEventException(
                        RejectReason.INVALID_TIMESTAMP, "the Kafka record has no timestamp");
            }
            eventTime = recordTimestamp;
        } else if (timestamp == null) {
            throw new InvalidEventException(
                    RejectReason.MISSING_FIELD, "missing field 'timestamp'");
        } else {
            eventTime = timestamp;
        }
        return new TelemetryEvent(deviceId, metric, value, eventTime);
    }

    private static String readString(JsonParser parser, JsonToken token, String field)
            throws IOException, InvalidEventException {
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token != JsonToken.VALUE_STRING) {
            parser.skipChildren();
            throw new InvalidEventException(
                    RejectReason.INVALID_FIELD, "field '" + field + "' must be a string");
        }
        return parser.getText();
    }

    private static Double readValue(JsonParser parser, JsonToken token)
            throws IOException, InvalidEventException {
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token != JsonToken.VALUE_NUMBER_INT && token != JsonToken.VALUE_NUMBER_FLOAT) {
            parser.skipChildren();
            throw new InvalidEventException(
                    RejectReason.INVALID_FIELD, "field 'value' must be a number");
        }
        double value = parser.getDoubleValue();
        if (!Double.isFinite(value)) {
            throw new InvalidEventException(
                    RejectReason.NON_FINITE_VALUE, "field 'value' is not a finite double");
        }
        return value;
    }

    private static Long readTimestamp(JsonParser parser, JsonToken token)
            throws IOException, InvalidEventException {
        switch (token) {
            case VALUE_NULL:
                return null;
            case VALUE_NUMBER_INT:
                if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw new InvalidEventException(
                            RejectReason.INVALID_TIMESTAMP,
                            "field 'timestamp' is out of range for epoch milliseconds");
                }
                return parser.getLongValue();
            case VALUE_STRING:
                return parseTimestampText(parser.getText());
            default:
                parser.skipChildren();
                throw new InvalidEventException(
                        RejectReason.INVALID_TIMESTAMP,
                        "field 'timestamp' must be integral epoch milliseconds or an ISO-8601"
                                + " instant");
        }
    }

    private static long parseTimestampText(String text) throws InvalidEventException {
        try {
            return Instant.parse(text).toEpochMilli();
        } catch (DateTimeParseException | ArithmeticException e) {
            // Not an instant; the only other accepted text form is epoch milliseconds as digits.
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new InvalidEventException(
                    RejectReason.INVALID_TIMESTAMP,
                    "field 'timestamp' is neither an ISO-8601 instant nor epoch milliseconds: '"
                            + abbreviate(text)
                            + "'");
        }
    }

    private static void requirePresent(String text, String field) throws InvalidEventException {
        if (text == null || text.isEmpty()) {
            throw new InvalidEventException(
                    RejectReason.MISSING_FIELD, "missing or empty field '" + field + "'");
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "malformed JSON";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static String abbreviate(String text) {
        return text.length() <= 64 ? text : text.substring(0, 64) + "...";
    }
}

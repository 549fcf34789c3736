package dev.telemetry.aggregator.job.codec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.config.TagLimits;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.io.IOException;
import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Parses one UTF-8 JSON telemetry value into a {@link TelemetryEvent}, or says precisely why it
 * cannot; it never throws anything else, whatever the bytes. A streaming parser: no tree is built,
 * unknown fields are skipped, trailing content after the object is rejected, and duplicate fields
 * are rejected rather than silently last-wins.
 *
 * <p>Hostile input is bounded before it costs much: the size is checked before parsing, and
 * Jackson's read constraints cap nesting depth and the length of strings, numbers and field names
 * (Jackson tracks depth with a counter, so deep nesting cannot overflow the stack). The limits are
 * generous for telemetry (a contract event is about 100 bytes).
 *
 * <p>Long because it is the reject-reason contract in one place: the checks in the order
 * docs/data-contract.md lists them, each naming its reason.
 */
public final class TelemetryEventParser implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Largest accepted value, in bytes. */
    public static final int MAX_DOCUMENT_BYTES = 64 * 1024;

    /** Deepest accepted nesting of objects and arrays (the contract's event has depth 1). */
    public static final int MAX_NESTING_DEPTH = 32;

    /** Longest accepted string value, in characters (e.g. a {@code deviceId}). */
    public static final int MAX_STRING_LENGTH = 8 * 1024;

    /** Longest accepted field name, in characters. */
    public static final int MAX_NAME_LENGTH = 1024;

    /** Longest accepted number, in characters; a double needs fewer than 30. */
    public static final int MAX_NUMBER_LENGTH = 100;

    /**
     * Largest accepted magnitude of {@code value}. A window's sum of n values within it stays below
     * n x 1e292, which is inside the double range (1.797e308) for any n below 1.7e16 events per
     * (device, metric, window), so no sum or average in the output overflows to Infinity. No
     * physical measurement comes near it; larger values are dead letters ({@code
     * value-out-of-range}).
     */
    public static final double MAX_ABS_VALUE = 1e292;

    private static final StreamReadConstraints LIMITS =
            StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .maxStringLength(MAX_STRING_LENGTH)
                    .maxNameLength(MAX_NAME_LENGTH)
                    .maxNumberLength(MAX_NUMBER_LENGTH)
                    .build();

    /**
     * Thread-safe once built, so one instance serves every parser in the JVM. Without Jackson's
     * duplicate detection, which allocates a set per object and cost 15% of the source thread in a
     * profile: the top level is checked here, and {@link #STRICT} re-reads the rare document with a
     * nested object.
     */
    private static final JsonFactory JSON =
            JsonFactory.builder()
                    .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
                    .streamReadConstraints(LIMITS)
                    .build();

    /** Rejects duplicate fields at any depth. */
    private static final JsonFactory STRICT =
            JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
                    .streamReadConstraints(LIMITS)
                    .build();

    private static final VarHandle EIGHT_BYTES =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Bits of {@code readObject}'s seen-fields mask. */
    private static final int DEVICE_ID = 1;

    private static final int METRIC = 2;
    private static final int VALUE = 4;
    private static final int TIMESTAMP = 8;
    private static final int TAGS = 16;

    /** How Jackson words a duplicate field (pinned by a test: Jackson has no subtype for it). */
    private static final String DUPLICATE_FIELD_MESSAGE = "Duplicate field";

    private final EventTimeSource eventTimeSource;
    private final EventTimeBounds bounds;

    /** The processing clock that "future" is measured against; serializable (system or fixed). */
    private final Clock clock;

    private final TagLimits tagLimits;

    /** Whether {@link FlatEventScanner} reads plain events before Jackson (false: tests only). */
    private final boolean fastPath;

    /** Made on first use: it holds a cache of strings, which is not worth serializing. */
    private transient FlatEventScanner scanner;

    public TelemetryEventParser(EventTimeSource eventTimeSource, EventTimeBounds bounds) {
        this(eventTimeSource, bounds, Clock.systemUTC());
    }

    public TelemetryEventParser(
            EventTimeSource eventTimeSource, EventTimeBounds bounds, TagLimits tagLimits) {
        this(eventTimeSource, bounds, Clock.systemUTC(), tagLimits, true);
    }

    public TelemetryEventParser(
            EventTimeSource eventTimeSource, EventTimeBounds bounds, Clock clock) {
        this(eventTimeSource, bounds, clock, TagLimits.DEFAULT, true);
    }

    TelemetryEventParser(
            EventTimeSource eventTimeSource,
            EventTimeBounds bounds,
            Clock clock,
            TagLimits tagLimits,
            boolean fastPath) {
        this.eventTimeSource = eventTimeSource;
        this.bounds = bounds;
        this.clock = clock;
        this.tagLimits = tagLimits;
        this.fastPath = fastPath;
    }

    /** Jackson's path for every value; the tests hold the fast path to its results. */
    static TelemetryEventParser withoutFastPath(
            EventTimeSource eventTimeSource, EventTimeBounds bounds, Clock clock) {
        return new TelemetryEventParser(eventTimeSource, bounds, clock, TagLimits.DEFAULT, false);
    }

    /**
     * @param value the Kafka record value
     * @param recordTimestamp the Kafka record timestamp, used when event time comes from Kafka
     */
    public TelemetryEvent parse(byte[] value, long recordTimestamp) throws InvalidEventException {
        if (value == null) {
            throw new InvalidEventException(RejectReason.NULL_VALUE, "record has no value");
        }
        if (value.length > MAX_DOCUMENT_BYTES) {
            throw new InvalidEventException(
                    RejectReason.LIMIT_EXCEEDED,
                    "value of "
                            + value.length
                            + " bytes exceeds the maximum of "
                            + MAX_DOCUMENT_BYTES);
        }
        requireUtf8(value);
        TelemetryEvent event = fastPath ? scanner().scan(value, recordTimestamp) : null;
        if (event == null) {
            event = parseWithJackson(value, recordTimestamp);
        }
        return requirePlausibleTime(event);
    }

    private TelemetryEvent parseWithJackson(byte[] value, long recordTimestamp)
            throws InvalidEventException {
        TelemetryEvent event;
        try (JsonParser parser = JSON.createParser(value)) {
            event = readObject(parser, recordTimestamp);
            if (parser.nextToken() != null) {
                throw new InvalidEventException(
                        RejectReason.INVALID_JSON, "unexpected content after the JSON object");
            }
            if (event == null) {
                // An unknown field held an object or array: check it for duplicates too.
                event = readStrictly(value, recordTimestamp);
            }
        } catch (StreamConstraintsException e) {
            throw new InvalidEventException(
                    RejectReason.LIMIT_EXCEEDED, firstLine(e.getOriginalMessage()));
        } catch (JsonParseException e) {
            String message = firstLine(e.getOriginalMessage());
            throw new InvalidEventException(
                    message.startsWith(DUPLICATE_FIELD_MESSAGE)
                            ? RejectReason.DUPLICATE_FIELD
                            : RejectReason.INVALID_JSON,
                    message);
        } catch (IOException e) {
            // Any other read error on an in-memory array is malformed input as well.
            throw new InvalidEventException(RejectReason.INVALID_JSON, firstLine(e.getMessage()));
        }
        return event;
    }

    private TelemetryEvent requirePlausibleTime(TelemetryEvent event) throws InvalidEventException {
        long now = clock.millis();
        if (!bounds.contains(event.timestamp, now)) {
            throw new InvalidEventException(
                    RejectReason.TIMESTAMP_OUT_OF_RANGE,
                    (eventTimeSource == EventTimeSource.KAFKA
                                    ? "Kafka record timestamp "
                                    : "timestamp ")
                            + event.timestamp
                            + " is outside the plausible range ["
                            + bounds.earliest()
                            + ", "
                            + Instant.ofEpochMilli(bounds.latest(now))
                            + "] (processing time + "
                            + bounds.maxFuture()
                            + ")");
        }
        return event;
    }

    private FlatEventScanner scanner() {
        if (scanner == null) {
            scanner = new FlatEventScanner(eventTimeSource, tagLimits);
        }
        return scanner;
    }

    /**
     * The contract's encoding is UTF-8; checked up front so a wrong encoding gets its own reason,
     * and so Jackson's encoding detection (UTF-16/32 from zero bytes) never applies. A raw NUL is
     * valid UTF-8 but never valid JSON (control characters must be escaped).
     */
    private static void requireUtf8(byte[] value) throws InvalidEventException {
        // Eight bytes at a time: a high bit set means non-ASCII; (w - 0x01..) & ~w has a high bit
        // set exactly when some byte of w is zero (Hacker's Delight, 6-1).
        long highBits = 0;
        long zeroBytes = 0;
        int p = 0;
        for (; p + Long.BYTES <= value.length; p += Long.BYTES) {
            long word = (long) EIGHT_BYTES.get(value, p);
            highBits |= word;
            zeroBytes |= (word - 0x0101010101010101L) & ~word;
        }
        for (; p < value.length; p++) {
            highBits |= value[p];
            zeroBytes |= value[p] == 0 ? 0x80 : 0;
        }
        boolean ascii = (highBits & 0x8080808080808080L) == 0;
        if (!ascii) {
            requireWellFormedUtf8(value);
        }
        if ((zeroBytes & 0x8080808080808080L) != 0) {
            throw new InvalidEventException(
                    RejectReason.INVALID_JSON, "unescaped NUL byte in the value");
        }
    }

    private static void requireWellFormedUtf8(byte[] value) throws InvalidEventException {
        ByteBuffer in = ByteBuffer.wrap(value);
        CoderResult result =
                StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(in, CharBuffer.allocate(value.length), true);
        if (result.isError()) {
            throw new InvalidEventException(
                    RejectReason.INVALID_UTF8,
                    "the value is not valid UTF-8 (byte offset " + in.position() + ")");
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
        String[] tags = null;
        int seen = 0;
        Set<String> unknownFields = null;
        boolean nestedUnknown = false;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken token = parser.nextToken();
            switch (field) {
                case "deviceId" -> {
                    seen = markSeen(seen, DEVICE_ID, field);
                    deviceId = readString(parser, token, field);
                }
                case "metric" -> {
                    seen = markSeen(seen, METRIC, field);
                    metric = readString(parser, token, field);
                }
                case "value" -> {
                    seen = markSeen(seen, VALUE, field);
                    value = readValue(parser, token);
                }
                case "tags" -> {
                    seen = markSeen(seen, TAGS, field);
                    tags = readTags(parser, token);
                }
                case "timestamp" -> {
                    seen = markSeen(seen, TIMESTAMP, field);
                    if (eventTimeSource == EventTimeSource.PAYLOAD) {
                        timestamp = readTimestamp(parser, token);
                    } else {
                        parser.skipChildren();
                    }
                }
                default -> {
                    if (unknownFields == null) {
                        unknownFields = new HashSet<>();
                    }
                    if (!unknownFields.add(field)) {
                        throw duplicate(field);
                    }
                    nestedUnknown |= token.isStructStart();
                    parser.skipChildren();
                }
            }
        }
        if (nestedUnknown && !parser.isEnabled(StreamReadFeature.STRICT_DUPLICATE_DETECTION)) {
            return null;
        }
        requirePresent(deviceId, "deviceId");
        requirePresent(metric, "metric");
        requireNoNul(deviceId, "field 'deviceId'");
        requireNoNul(metric, "field 'metric'");
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
        TelemetryEvent event = new TelemetryEvent(deviceId, metric, value, eventTime);
        event.tags = tags;
        return event;
    }

    /**
     * A flat object of string values, within the limits, as sorted name-value pairs; null for
     * {@code null} or {@code {}}. Duplicate names are checked here, since the fast Jackson factory
     * does not.
     */
    private String[] readTags(JsonParser parser, JsonToken token)
            throws IOException, InvalidEventException {
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token != JsonToken.START_OBJECT) {
            parser.skipChildren();
            throw new InvalidEventException(
                    RejectReason.INVALID_FIELD, "field 'tags' must be an object of string values");
        }
        TreeMap<String, String> tags = new TreeMap<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken valueToken = parser.nextToken();
            if (valueToken != JsonToken.VALUE_STRING) {
                parser.skipChildren();
                throw new InvalidEventException(
                        RejectReason.INVALID_FIELD,
                        "tag '" + abbreviate(name) + "' must have a string value");
            }
            String value = parser.getText();
            if (name.isEmpty()) {
                throw new InvalidEventException(
                        RejectReason.INVALID_FIELD, "a tag name must not be empty");
            }
            requireNoNul(name, "a tag name");
            requireNoNul(value, "tag '" + abbreviate(name) + "'");
            if (name.length() > tagLimits.maxNameLength()) {
                throw new InvalidEventException(
                        RejectReason.TAGS_LIMIT_EXCEEDED,
                        "tag name '"
                                + abbreviate(name)
                                + "' is longer than "
                                + tagLimits.maxNameLength()
                                + " characters");
            }
            if (value.length() > tagLimits.maxValueLength()) {
                throw new InvalidEventException(
                        RejectReason.TAGS_LIMIT_EXCEEDED,
                        "the value of tag '"
                                + abbreviate(name)
                                + "' is longer than "
                                + tagLimits.maxValueLength()
                                + " characters");
            }
            if (tags.put(name, value) != null) {
                throw duplicate("tags." + name);
            }
            if (tags.size() > tagLimits.maxCount()) {
                throw new InvalidEventException(
                        RejectReason.TAGS_LIMIT_EXCEEDED,
                        "more than " + tagLimits.maxCount() + " tags");
            }
        }
        if (tags.isEmpty()) {
            return null;
        }
        String[] pairs = new String[2 * tags.size()];
        int i = 0;
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            pairs[i++] = tag.getKey();
            pairs[i++] = tag.getValue();
        }
        return pairs;
    }

    /** NUL separates the values of a grouped output's series key, so no name may contain it. */
    private static void requireNoNul(String text, String what) throws InvalidEventException {
        if (text.indexOf('\0') >= 0) {
            throw new InvalidEventException(
                    RejectReason.INVALID_FIELD, what + " must not contain NUL (U+0000)");
        }
    }

    /** Parses again with duplicate detection at every depth (see {@link #STRICT}). */
    private TelemetryEvent readStrictly(byte[] value, long recordTimestamp)
            throws IOException, InvalidEventException {
        try (JsonParser parser = STRICT.createParser(value)) {
            TelemetryEvent event = readObject(parser, recordTimestamp);
            parser.nextToken();
            return event;
        }
    }

    private static int markSeen(int seen, int bit, String field) throws InvalidEventException {
        if ((seen & bit) != 0) {
            throw duplicate(field);
        }
        return seen | bit;
    }

    /** Worded like Jackson's own duplicate detection, which still checks nested objects. */
    private static InvalidEventException duplicate(String field) {
        return new InvalidEventException(
                RejectReason.DUPLICATE_FIELD,
                DUPLICATE_FIELD_MESSAGE + " '" + abbreviate(field) + "'");
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
        if (Math.abs(value) > MAX_ABS_VALUE) {
            throw new InvalidEventException(
                    RejectReason.VALUE_OUT_OF_RANGE,
                    "field 'value' "
                            + value
                            + " is beyond +/-"
                            + MAX_ABS_VALUE
                            + ", where a window's sum could overflow");
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

    static long parseTimestampText(String text) throws InvalidEventException {
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

package dev.telemetry.aggregator.job.codec;

import com.fasterxml.jackson.core.io.NumberInput;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.config.TagLimits;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The fast path of {@link TelemetryEventParser} for the contract's usual form: one JSON object
 * whose values are strings without escapes and plain numbers, and {@code tags} as a flat object of
 * such strings. For such a value it returns exactly the event Jackson's path would; for anything
 * else (an escape, a literal, nesting, a byte-order mark, any error) it returns {@code null} and
 * Jackson's path decides, so every rejection and its wording still come from one place.
 *
 * <p>Why by hand: for an 80-byte contract event Jackson's per-record parser set-up (context,
 * buffers, symbol table) and token-by-token reading cost about twice this scan, which allocates
 * only the event and its strings (micro-benchmark: about 720 against 350 ns per event).
 *
 * <p>It also hands out one {@code String} per recently seen device and metric (a direct-mapped
 * cache), so the combiner's (device, metric) lookups compare by identity and reuse the string's
 * cached hash code. Strings are immutable and safely published, so concurrent use can at worst miss
 * the cache.
 *
 * <p>Long because it is a hand-written scanner kept whole, so the tests and the fuzzer hold one
 * class to Jackson's results.
 */
final class FlatEventScanner {
    private static final int CACHE_SLOTS = 1 << 14;

    /** 10^0 .. 10^22: exactly representable, so {@code mantissa / 10^n} is correctly rounded. */
    private static final double[] POWERS_OF_TEN = new double[23];

    /** Below 2^53 a long converts to double exactly. */
    private static final long EXACT_MANTISSA_LIMIT = 1L << 53;

    /** Digits that certainly fit in a long. */
    private static final int MAX_LONG_DIGITS = 18;

    static {
        POWERS_OF_TEN[0] = 1;
        for (int n = 1; n < POWERS_OF_TEN.length; n++) {
            POWERS_OF_TEN[n] = POWERS_OF_TEN[n - 1] * 10;
        }
    }

    private static final int UNKNOWN = 0;
    private static final int DEVICE_ID = 1;
    private static final int METRIC = 2;
    private static final int VALUE = 3;
    private static final int TIMESTAMP = 4;
    private static final int TAGS = 5;

    private static final byte[][] FIELD_NAMES = {
        null,
        "deviceId".getBytes(StandardCharsets.US_ASCII),
        "metric".getBytes(StandardCharsets.US_ASCII),
        "value".getBytes(StandardCharsets.US_ASCII),
        "timestamp".getBytes(StandardCharsets.US_ASCII),
        "tags".getBytes(StandardCharsets.US_ASCII)
    };

    private final EventTimeSource eventTimeSource;
    private final TagLimits tagLimits;
    private final String[] strings = new String[CACHE_SLOTS];

    FlatEventScanner(EventTimeSource eventTimeSource) {
        this(eventTimeSource, TagLimits.DEFAULT);
    }

    FlatEventScanner(EventTimeSource eventTimeSource, TagLimits tagLimits) {
        this.eventTimeSource = eventTimeSource;
        this.tagLimits = tagLimits;
    }

    /**
     * Tags read from a value, names and values alternating and sorted by name, and where they end.
     */
    private record ScannedTags(String[] tags, int end) {}

    /**
     * Reads {@code in[p..]}, which starts with '{', as a flat object of plain strings within the
     * tag limits, as Jackson's path would; null if it is anything else (an escape, a non-string, a
     * duplicate or empty name, a limit broken), which Jackson's path decides and words.
     */
    private ScannedTags tags(byte[] in, int p) {
        int end = in.length;
        p = skipWhitespace(in, p + 1);
        if (p < end && in[p] == '}') {
            return new ScannedTags(null, p + 1);
        }
        String[] pairs = new String[2 * tagLimits.maxCount()];
        int count = 0;
        while (true) {
            if (p >= end || in[p] != '"' || count == tagLimits.maxCount()) {
                return null;
            }
            int nameStart = p + 1;
            int nameEnd = plainStringEnd(in, nameStart);
            if (nameEnd <= nameStart
                    || nameEnd - nameStart > TelemetryEventParser.MAX_NAME_LENGTH) {
                return null;
            }
            p = skipWhitespace(in, nameEnd + 1);
            if (p >= end || in[p] != ':') {
                return null;
            }
            p = skipWhitespace(in, p + 1);
            if (p >= end || in[p] != '"') {
                return null;
            }
            int valueStart = p + 1;
            int valueEnd = plainStringEnd(in, valueStart);
            if (valueEnd < 0 || valueEnd - valueStart > TelemetryEventParser.MAX_STRING_LENGTH) {
                return null;
            }
            String name = canonical(in, nameStart, nameEnd);
            String value = canonical(in, valueStart, valueEnd);
            if (name.length() > tagLimits.maxNameLength()
                    || value.length() > tagLimits.maxValueLength()) {
                return null;
            }
            // Insertion by name, as the parser's TreeMap orders them; a duplicate is Jackson's.
            int at = count;
            while (at > 0 && pairs[2 * (at - 1)].compareTo(name) > 0) {
                at--;
            }
            if (at > 0 && pairs[2 * (at - 1)].equals(name)) {
                return null;
            }
            System.arraycopy(pairs, 2 * at, pairs, 2 * at + 2, 2 * (count - at));
            pairs[2 * at] = name;
            pairs[2 * at + 1] = value;
            count++;
            p = skipWhitespace(in, valueEnd + 1);
            if (p >= end) {
                return null;
            }
            if (in[p] == ',') {
                p = skipWhitespace(in, p + 1);
            } else if (in[p] == '}') {
                return new ScannedTags(Arrays.copyOf(pairs, 2 * count), p + 1);
            } else {
                return null;
            }
        }
    }

    /**
     * @param in a value already checked to be well-formed UTF-8 without NUL bytes
     * @return the event, or {@code null} if the value is not in the plain form this path reads
     */
    TelemetryEvent scan(byte[] in, long recordTimestamp) {
        int end = in.length;
        int p = skipWhitespace(in, 0);
        if (p >= end || in[p] != '{') {
            return null;
        }
        p = skipWhitespace(in, p + 1);
        String deviceId = null;
        String metric = null;
        double value = 0;
        boolean hasValue = false;
        long timestamp = 0;
        boolean hasTimestamp = false;
        String[] tags = null;
        boolean tagsSeen = false;
        int[] unknownNames = null;
        int unknownCount = 0;
        while (true) {
            if (p >= end || in[p] != '"') {
                return null;
            }
            int nameStart = p + 1;
            int nameEnd = plainStringEnd(in, nameStart);
            if (nameEnd < 0 || nameEnd - nameStart > TelemetryEventParser.MAX_NAME_LENGTH) {
                return null;
            }
            p = skipWhitespace(in, nameEnd + 1);
            if (p >= end || in[p] != ':') {
                return null;
            }
            p = skipWhitespace(in, p + 1);
            if (p >= end) {
                return null;
            }
            int field = field(in, nameStart, nameEnd);
            if (field == DEVICE_ID && deviceId != null
                    || field == METRIC && metric != null
                    || field == VALUE && hasValue
                    || field == TIMESTAMP && hasTimestamp) {
                return null;
            }
            if (field == UNKNOWN) {
                for (int u = 0; u < unknownCount; u++) {
                    int start = unknownNames[2 * u];
                    int length = unknownNames[2 * u + 1];
                    if (length == nameEnd - nameStart
                            && Arrays.equals(in, start, start + length, in, nameStart, nameEnd)) {
                        return null;
                    }
                }
                if (unknownNames == null) {
                    unknownNames = new int[8];
                } else if (2 * unknownCount == unknownNames.length) {
                    unknownNames = Arrays.copyOf(unknownNames, 2 * unknownNames.length);
                }
                unknownNames[2 * unknownCount] = nameStart;
                unknownNames[2 * unknownCount + 1] = nameEnd - nameStart;
                unknownCount++;
            }
            if (field == TAGS) {
                // Any other form (null, a duplicate) is Jackson's path's to read and check.
                if (tagsSeen || in[p] != '{') {
                    return null;
                }
                ScannedTags scanned = tags(in, p);
                if (scanned == null) {
                    return null;
                }
                tagsSeen = true;
                tags = scanned.tags();
                p = scanned.end();
            } else if (in[p] == '"') {
                int start = p + 1;
                int stringEnd = plainStringEnd(in, start);
                if (stringEnd < 0 || stringEnd - start > TelemetryEventParser.MAX_STRING_LENGTH) {
                    return null;
                }
                switch (field) {
                    case DEVICE_ID -> deviceId = canonical(in, start, stringEnd);
                    case METRIC -> metric = canonical(in, start, stringEnd);
                    case VALUE -> {
                        return null;
                    }
                    case TIMESTAMP -> {
                        hasTimestamp = true;
                        if (eventTimeSource == EventTimeSource.PAYLOAD) {
                            try {
                                timestamp =
                                        TelemetryEventParser.parseTimestampText(
                                                new String(
                                                        in,
                                                        start,
                                                        stringEnd - start,
                                                        StandardCharsets.UTF_8));
                            } catch (InvalidEventException e) {
                                return null;
                            }
                        }
                    }
                    default -> {}
                }
                p = stringEnd + 1;
            } else {
                int numberEnd = numberEnd(in, p);
                if (numberEnd < 0 || numberEnd - p > TelemetryEventParser.MAX_NUMBER_LENGTH) {
                    return null;
                }
                switch (field) {
                    case DEVICE_ID, METRIC -> {
                        return null;
                    }
                    case VALUE -> {
                        value = parseDouble(in, p, numberEnd);
                        // Jackson's path words the rejection (non-finite or out of range).
                        if (!(Math.abs(value) <= TelemetryEventParser.MAX_ABS_VALUE)) {
                            return null;
                        }
                        hasValue = true;
                    }
                    case TIMESTAMP -> {
                        hasTimestamp = true;
                        if (eventTimeSource == EventTimeSource.PAYLOAD) {
                            int digits = integralDigits(in, p, numberEnd);
                            if (digits < 0 || digits > MAX_LONG_DIGITS) {
                                return null;
                            }
                            timestamp = parseLong(in, p, numberEnd);
                        }
                    }
                    default -> {}
                }
                p = numberEnd;
            }
            p = skipWhitespace(in, p);
            if (p >= end) {
                return null;
            }
            if (in[p] == ',') {
                p = skipWhitespace(in, p + 1);
            } else if (in[p] == '}') {
                break;
            } else {
                return null;
            }
        }
        if (skipWhitespace(in, p + 1) != end
                || deviceId == null
                || deviceId.isEmpty()
                || metric == null
                || metric.isEmpty()
                || !hasValue) {
            return null;
        }
        long eventTime;
        if (eventTimeSource == EventTimeSource.KAFKA) {
            if (recordTimestamp < 0) {
                return null;
            }
            eventTime = recordTimestamp;
        } else if (!hasTimestamp) {
            return null;
        } else {
            eventTime = timestamp;
        }
        TelemetryEvent event = new TelemetryEvent(deviceId, metric, value, eventTime);
        event.tags = tags;
        return event;
    }

    /** JSON's whitespace only: space, tab, line feed, carriage return. */
    private static int skipWhitespace(byte[] in, int p) {
        while (p < in.length && (in[p] == ' ' || in[p] == '\n' || in[p] == '\r' || in[p] == '\t')) {
            p++;
        }
        return p;
    }

    /**
     * Index of the closing quote of a string starting at {@code start}, or -1 if it has an escape
     * or a control character or does not end.
     */
    private static int plainStringEnd(byte[] in, int start) {
        for (int p = start; p < in.length; p++) {
            byte b = in[p];
            if (b == '"') {
                return p;
            }
            if (b == '\\' || (b >= 0 && b < 0x20)) {
                return -1;
            }
        }
        return -1;
    }

    /** Exclusive end of a JSON number starting at {@code start}, or -1 if there is none. */
    private static int numberEnd(byte[] in, int start) {
        int p = start;
        if (p < in.length && in[p] == '-') {
            p++;
        }
        if (p >= in.length) {
            return -1;
        }
        if (in[p] == '0') {
            p++;
        } else if (isDigit(in[p])) {
            p = skipDigits(in, p);
        } else {
            return -1;
        }
        if (p < in.length && in[p] == '.') {
            if (p + 1 >= in.length || !isDigit(in[p + 1])) {
                return -1;
            }
            p = skipDigits(in, p + 1);
        }
        if (p < in.length && (in[p] == 'e' || in[p] == 'E')) {
            p++;
            if (p < in.length && (in[p] == '+' || in[p] == '-')) {
                p++;
            }
            if (p >= in.length || !isDigit(in[p])) {
                return -1;
            }
            p = skipDigits(in, p);
        }
        return p;
    }

    /** Number of digits of an integral number, -1 if it has a fraction or an exponent. */
    private static int integralDigits(byte[] in, int start, int end) {
        int digitsStart = in[start] == '-' ? start + 1 : start;
        for (int p = digitsStart; p < end; p++) {
            if (!isDigit(in[p])) {
                return -1;
            }
        }
        return end - digitsStart;
    }

    /** An integral number of at most {@link #MAX_LONG_DIGITS} digits. */
    private static long parseLong(byte[] in, int start, int end) {
        boolean negative = in[start] == '-';
        long result = 0;
        for (int p = negative ? start + 1 : start; p < end; p++) {
            result = result * 10 + (in[p] - '0');
        }
        return negative ? -result : result;
    }

    /**
     * As Jackson reads a number as a double: an integral one via a long, others correctly rounded.
     * Plain decimals with a mantissa below 2^53 take the exact {@code m / 10^n} path. NaN (never a
     * JSON number) for an integer too long for a long, which the caller leaves to Jackson.
     */
    private static double parseDouble(byte[] in, int start, int end) {
        int digits = integralDigits(in, start, end);
        if (digits >= 0) {
            return digits <= MAX_LONG_DIGITS ? (double) parseLong(in, start, end) : Double.NaN;
        }
        boolean negative = in[start] == '-';
        long mantissa = 0;
        int fractionDigits = -1;
        int p = negative ? start + 1 : start;
        for (; p < end; p++) {
            byte b = in[p];
            if (b == '.') {
                fractionDigits = 0;
            } else if (isDigit(b) && mantissa < EXACT_MANTISSA_LIMIT / 10) {
                mantissa = mantissa * 10 + (b - '0');
                if (fractionDigits >= 0) {
                    fractionDigits++;
                }
            } else {
                break;
            }
        }
        if (p == end && fractionDigits >= 0 && fractionDigits < POWERS_OF_TEN.length) {
            double magnitude = mantissa / POWERS_OF_TEN[fractionDigits];
            return negative ? -magnitude : magnitude;
        }
        return NumberInput.parseDouble(
                new String(in, start, end - start, StandardCharsets.US_ASCII), true);
    }

    private static int field(byte[] in, int start, int end) {
        int field =
                switch (end - start) {
                    case 8 -> DEVICE_ID;
                    case 6 -> METRIC;
                    case 5 -> VALUE;
                    case 9 -> TIMESTAMP;
                    case 4 -> TAGS;
                    default -> UNKNOWN;
                };
        byte[] name = FIELD_NAMES[field];
        return field != UNKNOWN && Arrays.equals(in, start, end, name, 0, name.length)
                ? field
                : UNKNOWN;
    }

    /** The cached instance of an ASCII string equal to these bytes, else a new string. */
    private String canonical(byte[] in, int start, int end) {
        int hash = 0;
        for (int p = start; p < end; p++) {
            byte b = in[p];
            if (b < 0) {
                return new String(in, start, end - start, StandardCharsets.UTF_8);
            }
            hash = 31 * hash + b;
        }
        // The same hash as String.hashCode() of the ASCII text.
        int slot = (hash ^ (hash >>> 16)) & (CACHE_SLOTS - 1);
        String cached = strings[slot];
        if (cached != null && cached.length() == end - start && sameText(cached, in, start)) {
            return cached;
        }
        String fresh = new String(in, start, end - start, StandardCharsets.ISO_8859_1);
        strings[slot] = fresh;
        return fresh;
    }

    private static boolean sameText(String text, byte[] in, int start) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) != in[start + i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    private static int skipDigits(byte[] in, int p) {
        while (p < in.length && isDigit(in[p])) {
            p++;
        }
        return p;
    }
}

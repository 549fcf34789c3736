package dev.telemetry.aggregator.job.records;

/**
 * Why a record went to the dead-letter topic. The code is the {@code dlq.reason} header value and
 * the {@code reason} label of the dead-letter counter, so codes are part of the public contract.
 */
public enum RejectReason {
    /** The record has no value (a tombstone). */
    NULL_VALUE("null-value"),
    /** The value is not valid UTF-8 (the contract's encoding), e.g. a Latin-1 or binary payload. */
    INVALID_UTF8("invalid-utf8"),
    /** The value is not well-formed JSON: syntax errors, trailing content after the object. */
    INVALID_JSON("invalid-json"),
    /**
     * The document exceeds a read limit: its size in bytes, nesting depth, or the length of a
     * string, number or field name (see {@code TelemetryEventParser}).
     */
    LIMIT_EXCEEDED("limit-exceeded"),
    /** A field occurs twice in one object, so which value counts would be a guess. */
    DUPLICATE_FIELD("duplicate-field"),
    /** The value is well-formed JSON but not a JSON object. */
    NOT_AN_OBJECT("not-an-object"),
    /**
     * {@code deviceId}, {@code metric}, {@code value} or (payload event time) {@code timestamp} is
     * absent, null or empty.
     */
    MISSING_FIELD("missing-field"),
    /**
     * A known field has the wrong JSON type, e.g. {@code "value":"high"}; {@code tags} is not an
     * object of string values or has an empty name; {@code deviceId}, {@code metric} or a tag
     * contains NUL (U+0000), which the grouped outputs use as a separator.
     */
    INVALID_FIELD("invalid-field"),
    /** {@code value} is NaN, infinite or too large for a double. */
    NON_FINITE_VALUE("non-finite-value"),
    /**
     * {@code timestamp} is neither integral epoch milliseconds nor an ISO-8601 instant; or, with
     * Kafka event time, the record has no timestamp.
     */
    INVALID_TIMESTAMP("invalid-timestamp"),
    /**
     * The event time (payload or Kafka record timestamp) is outside the plausible range: before
     * {@code telemetry.event-time-bounds.earliest} or more than {@code
     * telemetry.event-time-bounds.max-future} ahead of the processing clock.
     */
    TIMESTAMP_OUT_OF_RANGE("timestamp-out-of-range"),
    /** The event arrived behind the watermark, after its window closed (plus allowed lateness). */
    LATE("late"),
    /**
     * {@code |value|} is above {@code TelemetryEventParser.MAX_ABS_VALUE} (1e292): finite, but a
     * window's sum of such values could overflow the double range, and the output never carries a
     * non-number. (Last, so the constants that checkpoints may hold keep their positions.)
     */
    VALUE_OUT_OF_RANGE("value-out-of-range"),
    /**
     * {@code tags} has more tags, or a longer tag name or value, than {@code telemetry.tags.*}
     * allow: tags become series keys, so they are bounded like every other read limit.
     */
    TAGS_LIMIT_EXCEEDED("tags-limit-exceeded");

    private final String code;

    RejectReason(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}

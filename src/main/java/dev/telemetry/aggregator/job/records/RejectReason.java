package dev.telemetry.aggregator.job.records;

/**
 * Why a record went to the dead-letter topic. The code is the {@code dlq.reason} header value and
 * the {@code reason} label of the dead-letter counter, so codes are part of the public contract.
 */
public enum RejectReason {
    /** The record has no value (a tombstone). */
    NULL_VALUE("null-value"),
    /** The value is not well-formed UTF-8 JSON (includes invalid UTF-8 and trailing garbage). */
    INVALID_JSON("invalid-json"),
    /** The value is well-formed JSON but not a JSON object. */
    NOT_AN_OBJECT("not-an-object"),
    /**
     * {@code deviceId}, {@code metric}, {@code value} or (payload event time) {@code timestamp} is
     * absent, null or empty.
     */
    MISSING_FIELD("missing-field"),
    /** A known field has the wrong JSON type, e.g. {@code "value":"high"}. */
    INVALID_FIELD("invalid-field"),
    /** {@code value} is NaN, infinite or too large for a double. */
    NON_FINITE_VALUE("non-finite-value"),
    /** {@code timestamp} is neither integral epoch milliseconds nor an ISO-8601 instant. */
    INVALID_TIMESTAMP("invalid-timestamp"),
    /** The event arrived behind the watermark, after its window closed (plus allowed lateness). */
    LATE("late");

    private final String code;

    RejectReason(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}

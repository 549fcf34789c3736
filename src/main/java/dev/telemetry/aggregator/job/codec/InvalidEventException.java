package dev.telemetry.aggregator.job.codec;

import dev.telemetry.aggregator.job.records.RejectReason;

/**
 * Thrown by {@link TelemetryEventParser} for a record that cannot become an event. Carries the
 * reason code for the dead-letter topic; no stack trace, since bad input is data, not a bug.
 */
public final class InvalidEventException extends Exception {
    private final RejectReason reason;

    public InvalidEventException(RejectReason reason, String detail) {
        super(detail, null, false, false);
        this.reason = reason;
    }

    public RejectReason reason() {
        return reason;
    }
}

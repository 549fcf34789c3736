package dev.telemetry.aggregator.job.config;

/** Where an event's event time comes from. */
public enum EventTimeSource {
    /**
     * The payload's {@code timestamp} field (epoch milliseconds or an ISO-8601 instant); required.
     */
    PAYLOAD,
    /** The Kafka record timestamp; the payload's {@code timestamp} field is ignored. */
    KAFKA
}

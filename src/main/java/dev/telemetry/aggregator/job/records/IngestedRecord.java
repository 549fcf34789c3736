package dev.telemetry.aggregator.job.records;

/**
 * What the Kafka source emits for each consumed record: exactly one of a parsed event or a dead
 * letter. Bad records travel as data instead of exceptions so they never fail the job.
 */
public class IngestedRecord {
    public TelemetryEvent event;
    public DeadLetter deadLetter;

    public IngestedRecord() {}

    public static IngestedRecord of(TelemetryEvent event) {
        IngestedRecord record = new IngestedRecord();
        record.event = event;
        return record;
    }

    public static IngestedRecord rejected(DeadLetter deadLetter) {
        IngestedRecord record = new IngestedRecord();
        record.deadLetter = deadLetter;
        return record;
    }

    /** The event time for watermarking; rejected records must not move the watermark. */
    public long eventTimestamp() {
        return event != null ? event.timestamp : Long.MIN_VALUE;
    }
}

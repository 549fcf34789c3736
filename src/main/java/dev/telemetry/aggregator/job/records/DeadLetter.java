package dev.telemetry.aggregator.job.records;

/**
 * A record the pipeline could not aggregate, kept with its original bytes and the reason, bound for
 * the dead-letter topic.
 */
public class DeadLetter {
    public byte[] key;
    public byte[] value;
    public String reason;
    public String detail;
    public String sourceTopic;
    public int sourcePartition;
    public long sourceOffset;
    public long sourceTimestamp;

    public DeadLetter() {}

    public DeadLetter(
            byte[] key,
            byte[] value,
            RejectReason reason,
            String detail,
            String sourceTopic,
            int sourcePartition,
            long sourceOffset,
            long sourceTimestamp) {
        this.key = key;
        this.value = value;
        this.reason = reason.code();
        this.detail = detail;
        this.sourceTopic = sourceTopic;
        this.sourcePartition = sourcePartition;
        this.sourceOffset = sourceOffset;
        this.sourceTimestamp = sourceTimestamp;
    }

    @Override
    public String toString() {
        return "DeadLetter{"
                + reason
                + ": "
                + detail
                + ", source="
                + sourceTopic
                + "-"
                + sourcePartition
                + "@"
                + sourceOffset
                + '}';
    }
}

package dev.telemetry.aggregator.job.records;

import java.util.Arrays;
import java.util.Objects;

/**
 * One parsed telemetry measurement, with its event time and where it was read from.
 *
 * <p>A Flink POJO (public fields, no-arg constructor) so Flink serializes it without Kryo. The
 * source coordinates let a late event be traced back to its original Kafka record.
 */
public class TelemetryEvent {
    public String deviceId;
    public String metric;
    public double value;

    /**
     * Event time in epoch milliseconds (from the payload or the Kafka record, by configuration).
     */
    public long timestamp;

    public String sourceTopic;
    public int sourcePartition;
    public long sourceOffset;

    /**
     * The event's tags as names and values alternating, sorted by name ({@code [name1, value1,
     * name2, value2, ...]}); null when it has none. An array of strings so Flink serializes it
     * natively.
     */
    public String[] tags;

    public TelemetryEvent() {}

    public TelemetryEvent(String deviceId, String metric, double value, long timestamp) {
        this.deviceId = deviceId;
        this.metric = metric;
        this.value = value;
        this.timestamp = timestamp;
    }

    public TelemetryEvent withSource(String topic, int partition, long offset) {
        this.sourceTopic = topic;
        this.sourcePartition = partition;
        this.sourceOffset = offset;
        return this;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TelemetryEvent)) {
            return false;
        }
        TelemetryEvent that = (TelemetryEvent) o;
        return Double.compare(value, that.value) == 0
                && timestamp == that.timestamp
                && sourcePartition == that.sourcePartition
                && sourceOffset == that.sourceOffset
                && Objects.equals(deviceId, that.deviceId)
                && Objects.equals(metric, that.metric)
                && Objects.equals(sourceTopic, that.sourceTopic)
                && Arrays.equals(tags, that.tags);
    }

    @Override
    public int hashCode() {
        return Objects.hash(deviceId, metric, value, timestamp);
    }

    @Override
    public String toString() {
        return "TelemetryEvent{"
                + deviceId
                + ", "
                + metric
                + ", value="
                + value
                + ", timestamp="
                + timestamp
                + ", source="
                + sourceTopic
                + "-"
                + sourcePartition
                + "@"
                + sourceOffset
                + (tags == null ? "" : ", tags=" + Arrays.toString(tags))
                + '}';
    }
}

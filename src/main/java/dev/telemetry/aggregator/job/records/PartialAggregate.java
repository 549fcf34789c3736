package dev.telemetry.aggregator.job.records;

import java.util.Objects;

/**
 * Count, sum, min and max of some of the events of one (device, metric, window), combined before
 * the shuffle by {@code WindowPartialCombiner}; the window operator merges these partials instead
 * of adding events one by one.
 *
 * <p>A Flink POJO (public fields, no-arg constructor; the statistics come from {@link
 * TelemetryAccumulator}) so Flink serializes it without Kryo. No source coordinates: a partial
 * stands for many records.
 */
public class PartialAggregate extends TelemetryAccumulator {
    public String deviceId;
    public String metric;

    /** Start of the tumbling window, epoch milliseconds, as the window assigner computes it. */
    public long windowStart;

    public PartialAggregate() {}

    public PartialAggregate(String deviceId, String metric, long windowStart) {
        this.deviceId = deviceId;
        this.metric = metric;
        this.windowStart = windowStart;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof PartialAggregate)) {
            return false;
        }
        PartialAggregate that = (PartialAggregate) o;
        return windowStart == that.windowStart
                && count == that.count
                && Double.compare(sum, that.sum) == 0
                && Double.compare(min, that.min) == 0
                && Double.compare(max, that.max) == 0
                && Objects.equals(deviceId, that.deviceId)
                && Objects.equals(metric, that.metric);
    }

    @Override
    public int hashCode() {
        return Objects.hash(deviceId, metric, windowStart, count, sum);
    }

    @Override
    public String toString() {
        return "PartialAggregate{"
                + deviceId
                + ", "
                + metric
                + ", windowStart="
                + windowStart
                + ", count="
                + count
                + ", sum="
                + sum
                + ", min="
                + min
                + ", max="
                + max
                + '}';
    }
}

package dev.telemetry.aggregator.job.records;

import java.util.Objects;

/**
 * Count, sum, min and max of some of the events of one (device, metric, window), combined before
 * the shuffle by {@code WindowPartialCombiner}; the window operator merges these partials instead
 * of adding events one by one.
 *
 * <p>A Flink POJO (public fields, no-arg constructor; the statistics come from {@link
 * TelemetryAccumulator}) so Flink serializes it without Kryo.
 */
public class PartialAggregate extends TelemetryAccumulator {
    public String deviceId;
    public String metric;

    /** Start of the tumbling window, epoch milliseconds, as the window assigner computes it. */
    public long windowStart;

    /**
     * The event itself when this partial is one event that the combiner passed on at once, because
     * its window had already closed there; otherwise null. Whether such an event is late is the
     * window operator's call (its watermark is the minimum over all inputs), and a late one must
     * become the same dead letter as without combining, which needs the event.
     */
    public TelemetryEvent event;

    public PartialAggregate() {}

    public PartialAggregate(String deviceId, String metric, long windowStart) {
        this.deviceId = deviceId;
        this.metric = metric;
        this.windowStart = windowStart;
    }

    /**
     * An empty partial that also sketches its values, with this relative accuracy; without a sketch
     * for 0.
     */
    public PartialAggregate(
            String deviceId, String metric, long windowStart, double sketchAccuracy) {
        this(deviceId, metric, windowStart);
        if (sketchAccuracy > 0) {
            sketch = ValueSketch.withRelativeAccuracy(sketchAccuracy);
        }
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
                && Objects.equals(metric, that.metric)
                && Objects.equals(event, that.event)
                && Objects.equals(sketch, that.sketch);
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
                + (event == null ? "" : ", event=" + event)
                + '}';
    }
}

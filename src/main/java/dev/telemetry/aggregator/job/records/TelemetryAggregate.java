package dev.telemetry.aggregator.job.records;

import java.util.Arrays;
import java.util.Objects;

/**
 * The output record of the data contract: one per (deviceId, metric, window); {@code windowEnd} is
 * exclusive and both bounds are epoch milliseconds.
 */
public class TelemetryAggregate {
    public String deviceId;
    public String metric;
    public long windowStart;
    public long windowEnd;
    public long count;
    public double sum;
    public double min;
    public double max;
    public double avg;

    /**
     * The values at the configured quantiles, in their order; null when percentiles are off or the
     * window's sketch does not cover all its values.
     */
    public double[] percentiles;

    /** The window's sketch in DDSketch's protobuf encoding, when asked for; otherwise null. */
    public byte[] sketch;

    /**
     * The window's sketch itself, for the rollup level above to merge; null when there is none or
     * no level above needs it. Never written to Kafka ({@link #sketch} is what is written). It may
     * be the window's state: whoever keeps it must copy it.
     */
    public ValueSketch distribution;

    /**
     * In upsert mode, which firing of its window this is, from 1, each a whole-window value; 0 in
     * final mode, where it is not written.
     */
    public int revision;

    /**
     * Whether the window can no longer change: event time has passed its end plus the allowed
     * lateness. The rollup above merges a window once it is final; upsert mode writes it.
     */
    public boolean isFinal;

    public TelemetryAggregate() {}

    public static TelemetryAggregate of(
            String deviceId,
            String metric,
            long windowStart,
            long windowEnd,
            TelemetryAccumulator accumulator) {
        TelemetryAggregate aggregate = new TelemetryAggregate();
        aggregate.deviceId = deviceId;
        aggregate.metric = metric;
        aggregate.windowStart = windowStart;
        aggregate.windowEnd = windowEnd;
        aggregate.count = accumulator.count;
        aggregate.sum = accumulator.sum;
        aggregate.min = accumulator.min;
        aggregate.max = accumulator.max;
        aggregate.avg = accumulator.sum / accumulator.count;
        return aggregate;
    }

    /**
     * The aggregate with its percentiles at {@code quantiles} (none if empty) and, if {@code
     * withSketch}, its sketch, when the accumulator's sketch covers the whole window.
     */
    public static TelemetryAggregate of(
            String deviceId,
            String metric,
            long windowStart,
            long windowEnd,
            TelemetryAccumulator accumulator,
            double[] quantiles,
            boolean withSketch) {
        TelemetryAggregate aggregate = of(deviceId, metric, windowStart, windowEnd, accumulator);
        if (accumulator.hasCompleteSketch()) {
            if (quantiles.length > 0) {
                aggregate.percentiles = new double[quantiles.length];
                for (int i = 0; i < quantiles.length; i++) {
                    aggregate.percentiles[i] = accumulator.sketch.valueAtQuantile(quantiles[i]);
                }
            }
            if (withSketch) {
                aggregate.sketch = accumulator.sketch.toProtobuf();
            }
        }
        return aggregate;
    }

    /**
     * The window and its value; not {@link #revision} or {@link #isFinal}, which say which firing
     * of the window this is (tests check those on their own).
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TelemetryAggregate)) {
            return false;
        }
        TelemetryAggregate that = (TelemetryAggregate) o;
        return windowStart == that.windowStart
                && windowEnd == that.windowEnd
                && count == that.count
                && Double.compare(sum, that.sum) == 0
                && Double.compare(min, that.min) == 0
                && Double.compare(max, that.max) == 0
                && Double.compare(avg, that.avg) == 0
                && Objects.equals(deviceId, that.deviceId)
                && Objects.equals(metric, that.metric)
                && Arrays.equals(percentiles, that.percentiles)
                && Arrays.equals(sketch, that.sketch);
    }

    @Override
    public int hashCode() {
        return Objects.hash(deviceId, metric, windowStart, windowEnd, count, sum, min, max);
    }

    @Override
    public String toString() {
        return "TelemetryAggregate{"
                + deviceId
                + ", "
                + metric
                + ", ["
                + windowStart
                + ","
                + windowEnd
                + "), count="
                + count
                + ", sum="
                + sum
                + ", min="
                + min
                + ", max="
                + max
                + ", avg="
                + avg
                + (percentiles == null ? "" : ", percentiles=" + Arrays.toString(percentiles))
                + (sketch == null ? "" : ", sketch=" + sketch.length + " bytes")
                + (revision == 0 ? "" : ", revision=" + revision)
                + (isFinal ? ", final" : "")
                + '}';
    }
}

package dev.telemetry.aggregator.job.records;

/**
 * Running count, sum, min and max of one (device, metric, window), and the sketch of its values
 * when percentiles are on: the only state kept per window.
 */
public class TelemetryAccumulator {
    public long count;
    public double sum;
    public double min = Double.POSITIVE_INFINITY;
    public double max = Double.NEGATIVE_INFINITY;

    /**
     * The distribution of the values, when percentiles are on; null otherwise. A field added after
     * the first release: state written before it restores with null here. It covers every value of
     * the window only if its count is {@link #count} (see {@link #hasCompleteSketch()}).
     */
    public ValueSketch sketch;

    public TelemetryAccumulator() {}

    public void add(double value) {
        count++;
        sum += value;
        min = Math.min(min, value);
        max = Math.max(max, value);
        if (sketch != null) {
            sketch.add(value);
        }
    }

    public void merge(TelemetryAccumulator other) {
        count += other.count;
        sum += other.sum;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
        if (other.sketch != null) {
            if (sketch == null) {
                sketch = other.sketch.copy();
            } else {
                sketch.merge(other.sketch);
            }
        }
    }

    /**
     * Whether the sketch holds every value of the window. Not when percentiles were switched on
     * while the window was open (its first values were counted without a sketch) or off (values
     * came without one): such a window reports no percentiles rather than those of a part.
     */
    public boolean hasCompleteSketch() {
        return sketch != null && sketch.count() == count;
    }
}

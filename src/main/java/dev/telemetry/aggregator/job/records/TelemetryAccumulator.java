package dev.telemetry.aggregator.job.records;

/**
 * Running count, sum, min and max of one (device, metric, window): the only state kept per window.
 */
public class TelemetryAccumulator {
    public long count;
    public double sum;
    public double min = Double.POSITIVE_INFINITY;
    public double max = Double.NEGATIVE_INFINITY;

    public TelemetryAccumulator() {}

    public void add(double value) {
        count++;
        sum += value;
        min = Math.min(min, value);
        max = Math.max(max, value);
    }

    public void merge(TelemetryAccumulator other) {
        count += other.count;
        sum += other.sum;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
    }
}

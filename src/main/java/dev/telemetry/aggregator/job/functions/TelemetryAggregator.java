package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * Incremental count, sum, min and max for a window, so a window holds one small accumulator rather
 * than its events. Its input is the partial aggregates {@link WindowPartialCombiner} made of the
 * events; the accumulator (the window's state) is the same as when it added events one by one, so
 * older checkpoints and savepoints restore.
 */
public class TelemetryAggregator
        implements AggregateFunction<PartialAggregate, TelemetryAccumulator, TelemetryAccumulator> {
    private static final long serialVersionUID = 1L;

    @Override
    public TelemetryAccumulator createAccumulator() {
        return new TelemetryAccumulator();
    }

    @Override
    public TelemetryAccumulator add(PartialAggregate partial, TelemetryAccumulator accumulator) {
        accumulator.merge(partial);
        return accumulator;
    }

    @Override
    public TelemetryAccumulator getResult(TelemetryAccumulator accumulator) {
        return accumulator;
    }

    @Override
    public TelemetryAccumulator merge(TelemetryAccumulator a, TelemetryAccumulator b) {
        a.merge(b);
        return a;
    }
}

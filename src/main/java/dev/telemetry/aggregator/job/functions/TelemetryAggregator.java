package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * Incremental count, sum, min and max for a window, so a window holds one small accumulator rather
 * than its events.
 */
public class TelemetryAggregator
        implements AggregateFunction<TelemetryEvent, TelemetryAccumulator, TelemetryAccumulator> {
    private static final long serialVersionUID = 1L;

    @Override
    public TelemetryAccumulator createAccumulator() {
        return new TelemetryAccumulator();
    }

    @Override
    public TelemetryAccumulator add(TelemetryEvent event, TelemetryAccumulator accumulator) {
        accumulator.add(event.value);
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

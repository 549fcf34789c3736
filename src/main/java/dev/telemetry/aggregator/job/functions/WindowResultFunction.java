package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/** Adds the key and the window bounds to a finished accumulator, giving the output record. */
public class WindowResultFunction
        extends ProcessWindowFunction<
                TelemetryAccumulator, TelemetryAggregate, Tuple2<String, String>, TimeWindow> {
    private static final long serialVersionUID = 1L;

    private final double[] quantiles;
    private final boolean withSketch;
    private final boolean withDistribution;

    /** Aggregates without percentiles or sketch. */
    public WindowResultFunction() {
        this(new double[0], false, false);
    }

    /**
     * @param quantiles the percentiles to report (none if empty)
     * @param withSketch whether to add the window's sketch
     * @param withDistribution whether to hand the window's sketch to the rollups ({@link
     *     TelemetryAggregate#distribution})
     */
    public WindowResultFunction(double[] quantiles, boolean withSketch, boolean withDistribution) {
        this.quantiles = quantiles.clone();
        this.withSketch = withSketch;
        this.withDistribution = withDistribution;
    }

    @Override
    public void process(
            Tuple2<String, String> key,
            Context context,
            Iterable<TelemetryAccumulator> accumulators,
            Collector<TelemetryAggregate> out) {
        TimeWindow window = context.window();
        for (TelemetryAccumulator accumulator : accumulators) {
            TelemetryAggregate aggregate =
                    TelemetryAggregate.of(
                            key.f0,
                            key.f1,
                            window.getStart(),
                            window.getEnd(),
                            accumulator,
                            quantiles,
                            withSketch);
            if (withDistribution) {
                aggregate.distribution = accumulator.sketch;
            }
            out.collect(aggregate);
        }
    }
}

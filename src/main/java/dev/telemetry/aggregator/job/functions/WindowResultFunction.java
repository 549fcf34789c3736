package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import java.time.Duration;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Adds the key and the window bounds to a finished accumulator, giving the output record, and says
 * whether the window is final (event time has passed its end plus the allowed lateness). In upsert
 * mode it also numbers the window's firings ({@link TelemetryAggregate#revision}), in per-window
 * state that goes with the window.
 */
public class WindowResultFunction
        extends ProcessWindowFunction<
                TelemetryAccumulator, TelemetryAggregate, Tuple2<String, String>, TimeWindow> {
    private static final long serialVersionUID = 1L;

    /** The firings of a window so far (upsert mode only). */
    static final ValueStateDescriptor<Integer> REVISION =
            new ValueStateDescriptor<>("window-revision", Types.INT);

    private final double[] quantiles;
    private final boolean withSketch;
    private final boolean withDistribution;
    private final long allowedLateness;
    private final boolean revisions;

    /** Aggregates without percentiles or sketch. */
    public WindowResultFunction() {
        this(new double[0], false, false);
    }

    /**
     * Final mode, without allowed lateness.
     *
     * @param quantiles the percentiles to report (none if empty)
     * @param withSketch whether to add the window's sketch
     * @param withDistribution whether to hand the window's sketch to the rollups ({@link
     *     TelemetryAggregate#distribution})
     */
    public WindowResultFunction(double[] quantiles, boolean withSketch, boolean withDistribution) {
        this(quantiles, withSketch, withDistribution, Duration.ZERO, false);
    }

    /**
     * @param allowedLateness the window operator's: a firing after the window's end plus this is
     *     final
     * @param revisions whether to number each window's firings (upsert mode)
     */
    public WindowResultFunction(
            double[] quantiles,
            boolean withSketch,
            boolean withDistribution,
            Duration allowedLateness,
            boolean revisions) {
        this.quantiles = quantiles.clone();
        this.withSketch = withSketch;
        this.withDistribution = withDistribution;
        this.allowedLateness = allowedLateness.toMillis();
        this.revisions = revisions;
    }

    @Override
    public void process(
            Tuple2<String, String> key,
            Context context,
            Iterable<TelemetryAccumulator> accumulators,
            Collector<TelemetryAggregate> out)
            throws Exception {
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
            aggregate.isFinal =
                    context.currentWatermark() >= window.maxTimestamp() + allowedLateness;
            if (revisions) {
                ValueState<Integer> revision = context.windowState().getState(REVISION);
                Integer previous = revision.value();
                aggregate.revision = previous == null ? 1 : previous + 1;
                revision.update(aggregate.revision);
            }
            out.collect(aggregate);
        }
    }

    /** The window is cleared: its revision goes with it. */
    @Override
    public void clear(Context context) throws Exception {
        if (revisions) {
            context.windowState().getState(REVISION).clear();
        }
    }
}

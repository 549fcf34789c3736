package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import org.junit.jupiter.api.Test;

/** Covers the incremental count, sum, min, max and average of one window. */
class TelemetryAggregatorTest {
    private final TelemetryAggregator aggregator = new TelemetryAggregator();

    @Test
    void aggregatesCountSumMinMaxOfMixedSignValues() {
        TelemetryAccumulator accumulator =
                addAll(aggregator.createAccumulator(), -3.5, 10.0, 0.0, -7.25, 2.5);

        TelemetryAccumulator result = aggregator.getResult(accumulator);

        assertThat(result.count).isEqualTo(5);
        assertThat(result.sum).isCloseTo(1.75, within(1e-12));
        assertThat(result.min).isEqualTo(-7.25);
        assertThat(result.max).isEqualTo(10.0);
    }

    @Test
    void allNegativeValuesKeepANegativeMaximum() {
        // Guards against a max that starts at 0 (or Double.MIN_VALUE, which is positive).
        TelemetryAccumulator result = addAll(aggregator.createAccumulator(), -5.0, -2.0, -9.0);

        assertThat(result.max).isEqualTo(-2.0);
        assertThat(result.min).isEqualTo(-9.0);
    }

    @Test
    void singleValueWindowHasThatValueAsEveryStatistic() {
        TelemetryAccumulator result = addAll(aggregator.createAccumulator(), 21.5);

        TelemetryAggregate aggregate = TelemetryAggregate.of("d", "m", 0, 60_000, result);

        assertThat(aggregate.count).isEqualTo(1);
        assertThat(aggregate.sum).isEqualTo(21.5);
        assertThat(aggregate.min).isEqualTo(21.5);
        assertThat(aggregate.max).isEqualTo(21.5);
        assertThat(aggregate.avg).isEqualTo(21.5);
    }

    @Test
    void mergeCombinesTwoPartialWindows() {
        TelemetryAccumulator left = addAll(aggregator.createAccumulator(), 1.0, 4.0);
        TelemetryAccumulator right = addAll(aggregator.createAccumulator(), -2.0, 3.0, 9.0);

        TelemetryAccumulator merged = aggregator.merge(left, right);

        assertThat(merged.count).isEqualTo(5);
        assertThat(merged.sum).isEqualTo(15.0);
        assertThat(merged.min).isEqualTo(-2.0);
        assertThat(merged.max).isEqualTo(9.0);
    }

    @Test
    void mergeWithAnEmptyAccumulatorChangesNothing() {
        TelemetryAccumulator values = addAll(aggregator.createAccumulator(), 5.0, 6.0);

        TelemetryAccumulator merged = aggregator.merge(values, aggregator.createAccumulator());

        assertThat(merged.count).isEqualTo(2);
        assertThat(merged.sum).isEqualTo(11.0);
        assertThat(merged.min).isEqualTo(5.0);
        assertThat(merged.max).isEqualTo(6.0);
    }

    @Test
    void addingPartialsOfSeveralEventsEqualsAddingTheEvents() {
        PartialAggregate first = new PartialAggregate("d", "m", 0);
        first.add(2.5);
        first.add(-1.25);
        PartialAggregate second = new PartialAggregate("d", "m", 0);
        second.add(7.0);

        TelemetryAccumulator result =
                aggregator.add(second, aggregator.add(first, aggregator.createAccumulator()));

        assertThat(result.count).isEqualTo(3);
        assertThat(result.sum).isEqualTo(8.25);
        assertThat(result.min).isEqualTo(-1.25);
        assertThat(result.max).isEqualTo(7.0);
    }

    @Test
    void aggregateAverageIsSumOverCount() {
        TelemetryAccumulator accumulator = addAll(aggregator.createAccumulator(), 20.9, 22.0, 21.6);

        TelemetryAggregate aggregate =
                TelemetryAggregate.of("sensor-17", "temperature", 1000, 61_000, accumulator);

        assertThat(aggregate.avg).isEqualTo(aggregate.sum / aggregate.count);
        assertThat(aggregate.avg).isCloseTo(21.5, within(1e-9));
        assertThat(aggregate.deviceId).isEqualTo("sensor-17");
        assertThat(aggregate.metric).isEqualTo("temperature");
        assertThat(aggregate.windowStart).isEqualTo(1000);
        assertThat(aggregate.windowEnd).isEqualTo(61_000);
    }

    private TelemetryAccumulator addAll(TelemetryAccumulator accumulator, double... values) {
        for (double value : values) {
            // One partial per value, as the combiner sends a window's lone or late-but-allowed
            // event.
            PartialAggregate partial = new PartialAggregate("d", "m", 0);
            partial.add(value);
            accumulator = aggregator.add(partial, accumulator);
        }
        return accumulator;
    }
}

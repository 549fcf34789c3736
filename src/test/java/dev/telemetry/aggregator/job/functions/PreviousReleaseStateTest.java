package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import dev.telemetry.aggregator.job.records.ValueSketch;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * State written by the release before percentiles (the combiner's and the window operator's, with a
 * window open: sensor-1's latency values 1.5, 2.5, 4, -3 and 10) restores into this one, with
 * percentiles off or on: the open window completes with all its values, and the windows after it
 * report percentiles when they are on. The files were written by that release's {@code
 * CombinedWindowHarness} with Flink's {@code OperatorSnapshotUtil}; keep them as they are.
 */
class PreviousReleaseStateTest {
    private static final String STATE = "src/test/resources/state/release-0.1/";
    private static final long T0 = 1763683200000L;
    private static final long MINUTE = 60_000L;
    private static final double[] QUANTILES = {0.5, 0.99};

    @ParameterizedTest(name = "percentiles on: {0}")
    @ValueSource(booleans = {false, true})
    void windowStateOfTheReleaseBeforePercentilesRestores(boolean percentilesOn) throws Exception {
        CombinedWindowHarness.Snapshot previous = CombinedWindowHarness.Snapshot.read(STATE);
        try (CombinedWindowHarness harness =
                CombinedWindowHarness.create(
                        Duration.ofMinutes(1),
                        percentilesOn ? 0.01 : 0,
                        percentilesOn ? QUANTILES : new double[0],
                        false)) {
            harness.setup();
            harness.initializeState(previous);
            harness.open();
            process(harness, 7.0, T0 + 30_000);
            process(harness, 5.0, T0 + MINUTE + 1);
            process(harness, 9.0, T0 + MINUTE + 2);
            harness.processWatermark(T0 + 2 * MINUTE);

            List<TelemetryAggregate> output =
                    harness.extractOutputValues().stream()
                            .sorted(Comparator.comparingLong(a -> a.windowStart))
                            .toList();
            assertThat(output).hasSize(2);
            TelemetryAggregate open = output.get(0);
            assertThat(open.windowStart).isEqualTo(T0);
            assertThat(open.count).isEqualTo(6);
            assertThat(open.sum).isEqualTo(22.0);
            assertThat(open.min).isEqualTo(-3.0);
            assertThat(open.max).isEqualTo(10.0);
            assertThat(open.percentiles).as("open when percentiles were switched on").isNull();

            TelemetryAggregate next = output.get(1);
            assertThat(next.count).isEqualTo(2);
            if (percentilesOn) {
                ValueSketch expected = ValueSketch.withRelativeAccuracy(0.01);
                expected.add(5.0);
                expected.add(9.0);
                assertThat(next.percentiles)
                        .containsExactly(
                                expected.valueAtQuantile(0.5), expected.valueAtQuantile(0.99));
            } else {
                assertThat(next.percentiles).isNull();
            }
        }
    }

    /**
     * With rollups switched on at the upgrade, the restored window rolls up with the windows after
     * it: a 2 min level counts all their values, reports percentiles only for windows whose
     * sketches are complete (the restored one has none), and fires at its end.
     */
    @Test
    void theRestoredWindowRollsUp() throws Exception {
        CombinedWindowHarness.Snapshot previous = CombinedWindowHarness.Snapshot.read(STATE);
        try (CombinedWindowHarness harness =
                        CombinedWindowHarness.create(
                                Duration.ofMinutes(1), 0.01, QUANTILES, false);
                KeyedOneInputStreamOperatorTestHarness<
                                Tuple2<String, String>, TelemetryAggregate, TelemetryAggregate>
                        rollup =
                                new KeyedOneInputStreamOperatorTestHarness<>(
                                        new RollupOperator(
                                                Duration.ofMinutes(1),
                                                Duration.ZERO,
                                                List.of(
                                                        new RollupLevel(
                                                                Duration.ofMinutes(2), "t-2m")),
                                                QUANTILES,
                                                false),
                                        new RollupOperator.AggregateKey(),
                                        Types.TUPLE(Types.STRING, Types.STRING))) {
            harness.setup();
            harness.initializeState(previous);
            harness.open();
            rollup.open();
            process(harness, 7.0, T0 + 30_000);
            process(harness, 5.0, T0 + MINUTE + 1);
            process(harness, 9.0, T0 + MINUTE + 2);
            process(harness, 1.0, T0 + 2 * MINUTE + 1);
            process(harness, 3.0, T0 + 3 * MINUTE + 1);
            harness.processWatermark(T0 + 4 * MINUTE);
            for (Object emitted : harness.window.getOutput()) {
                if (emitted instanceof Watermark watermark) {
                    rollup.processWatermark(watermark);
                } else if (emitted instanceof StreamRecord<?> record
                        && record.getValue() instanceof TelemetryAggregate aggregate) {
                    rollup.processElement(aggregate, record.getTimestamp());
                }
            }
            List<TelemetryAggregate> coarse =
                    rollup.extractOutputValues().stream()
                            .filter(a -> a.windowEnd - a.windowStart == 2 * MINUTE)
                            .sorted(Comparator.comparingLong(a -> a.windowStart))
                            .toList();
            assertThat(coarse).hasSize(2);
            assertThat(coarse.get(0).windowStart).isEqualTo(T0);
            assertThat(coarse.get(0).count).isEqualTo(8);
            assertThat(coarse.get(0).sum).isEqualTo(36.0);
            assertThat(coarse.get(0).percentiles).isNull();
            ValueSketch expected = ValueSketch.withRelativeAccuracy(0.01);
            expected.add(1.0);
            expected.add(3.0);
            assertThat(coarse.get(1).count).isEqualTo(2);
            assertThat(coarse.get(1).percentiles)
                    .containsExactly(expected.valueAtQuantile(0.5), expected.valueAtQuantile(0.99));
        }
    }

    private static void process(CombinedWindowHarness harness, double value, long time)
            throws Exception {
        harness.processElement(
                new TelemetryEvent("sensor-1", "latency", value, time).withSource("t", 0, time),
                time);
    }
}

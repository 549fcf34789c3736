package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.ValueSketch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rollup levels in Flink's operator harness, fed the window operator's aggregates and
 * watermarks as the job feeds them: each coarse window fires once, when the watermark reaches its
 * end plus the allowed lateness, with the statistics of the windows below it (a refired window
 * counted once, at its last firing), and restores mid-window to the same output.
 */
class RollupOperatorTest {
    private static final double ACCURACY = 0.01;
    private static final double[] QUANTILES = {0.5, 0.99};
    private static final Duration TEN_SECONDS = Duration.ofSeconds(10);
    private static final List<RollupLevel> LEVELS =
            List.of(
                    new RollupLevel(Duration.ofSeconds(30), "t-30s"),
                    new RollupLevel(Duration.ofMinutes(1), "t-1m"));

    private static KeyedOneInputStreamOperatorTestHarness<
                    Tuple2<String, String>, TelemetryAggregate, TelemetryAggregate>
            harness(Duration lateness, List<RollupLevel> levels, StateBackend backend)
                    throws Exception {
        KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, TelemetryAggregate, TelemetryAggregate>
                harness =
                        new KeyedOneInputStreamOperatorTestHarness<>(
                                new RollupOperator(TEN_SECONDS, lateness, levels, QUANTILES, true),
                                new RollupOperator.AggregateKey(),
                                Types.TUPLE(Types.STRING, Types.STRING));
        harness.setStateBackend(backend);
        return harness;
    }

    /** A 10 s window's aggregate as the window operator emits it, its sketch included. */
    private static StreamRecord<TelemetryAggregate> window(
            String device, long start, double... values) {
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        accumulator.sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
        for (double value : values) {
            accumulator.add(value);
        }
        TelemetryAggregate aggregate =
                TelemetryAggregate.of(
                        device, "m", start, start + 10_000, accumulator, QUANTILES, false);
        aggregate.distribution = accumulator.sketch;
        return new StreamRecord<>(aggregate, start + 9_999);
    }

    private static List<TelemetryAggregate> level(
            List<TelemetryAggregate> output, long windowSize) {
        return output.stream()
                .filter(a -> a.windowEnd - a.windowStart == windowSize)
                .sorted(
                        Comparator.comparing((TelemetryAggregate a) -> a.deviceId)
                                .thenComparingLong(a -> a.windowStart))
                .toList();
    }

    @Test
    void eachLevelFiresOnceWhenTheWatermarkReachesItsEnd() throws Exception {
        try (var rollup = harness(Duration.ZERO, LEVELS, new HashMapStateBackend())) {
            rollup.open();
            rollup.processElement(window("d", 0, 1, 2));
            rollup.processWatermark(9_999);
            rollup.processElement(window("d", 10_000, 3));
            rollup.processElement(window("e", 10_000, 100));
            rollup.processWatermark(19_999);
            rollup.processElement(window("d", 20_000, -4, 10));
            rollup.processWatermark(29_998);
            assertThat(level(rollup.extractOutputValues(), 30_000)).isEmpty();

            rollup.processWatermark(29_999);
            List<TelemetryAggregate> thirty = level(rollup.extractOutputValues(), 30_000);
            assertThat(thirty).hasSize(2);
            TelemetryAggregate d = thirty.get(0);
            assertThat(d.deviceId).isEqualTo("d");
            assertThat(d.windowStart).isZero();
            assertThat(d.windowEnd).isEqualTo(30_000);
            assertThat(d.count).isEqualTo(5);
            assertThat(d.sum).isEqualTo(12.0);
            assertThat(d.min).isEqualTo(-4.0);
            assertThat(d.max).isEqualTo(10.0);
            assertThat(d.avg).isEqualTo(2.4);
            assertThat(d.percentiles[0]).isCloseTo(2.0, within(2.0 * ACCURACY));
            assertThat(d.sketch).isNotNull();
            assertThat(thirty.get(1).deviceId).isEqualTo("e");
            assertThat(thirty.get(1).count).isEqualTo(1);
            // Each coarse record carries its window's last millisecond, as the window operator's.
            assertThat(
                            rollup.getOutput().stream()
                                    .filter(o -> o instanceof StreamRecord<?>)
                                    .map(o -> (StreamRecord<?>) o)
                                    .filter(
                                            r ->
                                                    ((TelemetryAggregate) r.getValue()).windowEnd
                                                            == 30_000)
                                    .map(StreamRecord::getTimestamp))
                    .containsOnly(29_999L);

            rollup.processElement(window("d", 30_000, 7));
            rollup.processWatermark(59_998);
            assertThat(level(rollup.extractOutputValues(), 60_000)).isEmpty();
            rollup.processWatermark(59_999);
            List<TelemetryAggregate> minute = level(rollup.extractOutputValues(), 60_000);
            assertThat(minute).extracting(a -> a.deviceId).containsExactly("d", "e");
            assertThat(minute.get(0).count).isEqualTo(6);
            assertThat(minute.get(0).sum).isEqualTo(19.0);
            assertThat(minute.get(0).max).isEqualTo(10.0);

            rollup.processWatermark(200_000);
            // The 10 s windows pass through; each coarse window came out exactly once.
            assertThat(level(rollup.extractOutputValues(), 10_000)).hasSize(5);
            assertThat(level(rollup.extractOutputValues(), 30_000)).hasSize(3);
            assertThat(level(rollup.extractOutputValues(), 60_000)).hasSize(2);
        }
    }

    @Test
    void aRefiredWindowCountsOnceAtItsLastFiringAndLevelsWaitForTheLateness() throws Exception {
        Duration lateness = Duration.ofSeconds(15);
        try (var rollup = harness(lateness, LEVELS, new HashMapStateBackend())) {
            rollup.open();
            rollup.processElement(window("d", 0, 1, 2));
            rollup.processWatermark(12_000);
            // A late event within the lateness: the window fires again with all its values.
            rollup.processElement(window("d", 0, 1, 2, 5));
            rollup.processElement(window("d", 20_000, 10));
            rollup.processWatermark(29_999 + 15_000 - 1);
            assertThat(level(rollup.extractOutputValues(), 30_000)).isEmpty();

            rollup.processWatermark(29_999 + 15_000);
            List<TelemetryAggregate> thirty = level(rollup.extractOutputValues(), 30_000);
            assertThat(thirty).hasSize(1);
            assertThat(thirty.get(0).count).isEqualTo(4);
            assertThat(thirty.get(0).sum).isEqualTo(18.0);
            assertThat(thirty.get(0).percentiles[1]).isCloseTo(5.0, within(5.0 * ACCURACY));

            rollup.processWatermark(59_999 + 15_000);
            List<TelemetryAggregate> minute = level(rollup.extractOutputValues(), 60_000);
            assertThat(minute).hasSize(1);
            assertThat(minute.get(0).count).isEqualTo(4);
            assertThat(minute.get(0).sum).isEqualTo(18.0);
        }
    }

    @Test
    void withoutLevelsItOnlyPassesAggregatesOn() throws Exception {
        try (var rollup = harness(Duration.ZERO, List.of(), new HashMapStateBackend())) {
            rollup.open();
            StreamRecord<TelemetryAggregate> record = window("d", 0, 1, 2);
            rollup.processElement(record);
            rollup.processWatermark(1_000_000);
            assertThat(rollup.extractOutputValues()).containsExactly(record.getValue());
            assertThat(rollup.numKeyedStateEntries()).isZero();
        }
    }

    /**
     * Random values over many windows and keys: every coarse window's count, sum, min and max equal
     * those of the values it covers, and its percentiles are within the accuracy of the exact ones.
     */
    @Test
    void coarseWindowsEqualWhatTheirValuesGiveDirectly() throws Exception {
        Random random = new Random(7);
        List<double[]> valuesByWindow = new ArrayList<>();
        try (var rollup = harness(Duration.ZERO, LEVELS, new HashMapStateBackend())) {
            rollup.open();
            for (int w = 0; w < 12; w++) {
                double[] values = new double[1 + random.nextInt(50)];
                for (int i = 0; i < values.length; i++) {
                    // Skewed, of both signs, whole numbers so sums are exact in any order.
                    values[i] = Math.round(Math.exp(random.nextGaussian() * 3)) - 2;
                }
                valuesByWindow.add(values);
                rollup.processElement(window("d", w * 10_000L, values));
                rollup.processWatermark(w * 10_000L + 9_999);
            }
            List<TelemetryAggregate> minutes = level(rollup.extractOutputValues(), 60_000);
            assertThat(minutes).hasSize(2);
            for (int m = 0; m < 2; m++) {
                double[] all =
                        valuesByWindow.subList(m * 6, m * 6 + 6).stream()
                                .flatMapToDouble(Arrays::stream)
                                .sorted()
                                .toArray();
                TelemetryAggregate minute = minutes.get(m);
                assertThat(minute.count).isEqualTo(all.length);
                assertThat(minute.sum).isEqualTo(Arrays.stream(all).sum());
                assertThat(minute.min).isEqualTo(all[0]);
                assertThat(minute.max).isEqualTo(all[all.length - 1]);
                for (int q = 0; q < QUANTILES.length; q++) {
                    double exact = all[(int) Math.floor(QUANTILES[q] * (all.length - 1))];
                    assertThat(minute.percentiles[q])
                            .isCloseTo(exact, within(Math.abs(exact) * ACCURACY + 1e-12));
                }
            }
        }
    }

    /** A restore between any two inputs gives the output of a run without one. */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aRestoreMidWindowGivesTheSameOutput(String backend) throws Exception {
        Duration lateness = Duration.ofSeconds(5);
        List<Object> inputs = new ArrayList<>();
        for (int w = 0; w < 9; w++) {
            inputs.add(window("d", w * 10_000L, w, w + 1));
            inputs.add(window("e", w * 10_000L, -w));
            if (w % 3 == 1) {
                // A refiring within the lateness.
                inputs.add(window("d", w * 10_000L, w, w + 1, 100));
            }
            inputs.add(w * 10_000L + 9_999 + 5_000);
        }
        List<TelemetryAggregate> uninterrupted;
        try (var rollup = harness(lateness, LEVELS, stateBackend(backend))) {
            rollup.open();
            feed(rollup, inputs);
            uninterrupted = rollup.extractOutputValues();
        }
        assertThat(level(uninterrupted, 60_000)).hasSize(2);
        for (int cut = 1; cut < inputs.size(); cut += 4) {
            OperatorSubtaskState snapshot;
            List<TelemetryAggregate> output = new ArrayList<>();
            try (var before = harness(lateness, LEVELS, stateBackend(backend))) {
                before.open();
                feed(before, inputs.subList(0, cut));
                snapshot = before.snapshot(1L, 1L);
                output.addAll(before.extractOutputValues());
            }
            try (var after = harness(lateness, LEVELS, stateBackend(backend))) {
                after.initializeState(snapshot);
                after.open();
                feed(after, inputs.subList(cut, inputs.size()));
                output.addAll(after.extractOutputValues());
            }
            for (long size : List.of(10_000L, 30_000L, 60_000L)) {
                assertThat(level(output, size))
                        .as("cut after %d inputs, %d ms windows", cut, size)
                        .usingRecursiveFieldByFieldElementComparatorIgnoringFields("distribution")
                        .containsExactlyElementsOf(level(uninterrupted, size));
            }
        }
    }

    /**
     * Rollups switched on across a snapshot: the levels start empty (the first coarse window holds
     * only what closed after the restore); switched off: the aggregates pass on alone; the levels'
     * state is neither needed nor in the way.
     */
    @Test
    void rollupsSwitchOnAndOffAcrossASnapshot() throws Exception {
        OperatorSubtaskState withoutLevels;
        try (var off = harness(Duration.ZERO, List.of(), new HashMapStateBackend())) {
            off.open();
            off.processElement(window("d", 0, 1));
            off.processWatermark(9_999);
            withoutLevels = off.snapshot(1L, 1L);
        }
        OperatorSubtaskState withLevels;
        try (var on = harness(Duration.ZERO, LEVELS, new HashMapStateBackend())) {
            on.initializeState(withoutLevels);
            on.open();
            on.processElement(window("d", 10_000, 2));
            on.processWatermark(19_999);
            on.processElement(window("d", 20_000, 3));
            on.processWatermark(29_999);
            List<TelemetryAggregate> thirty = level(on.extractOutputValues(), 30_000);
            assertThat(thirty).singleElement().satisfies(a -> assertThat(a.count).isEqualTo(2));
            on.processElement(window("d", 30_000, 4));
            on.processWatermark(39_999);
            withLevels = on.snapshot(2L, 2L);
        }
        try (var offAgain = harness(Duration.ZERO, List.of(), new HashMapStateBackend())) {
            offAgain.initializeState(withLevels);
            offAgain.open();
            offAgain.processElement(window("d", 40_000, 5));
            offAgain.processWatermark(200_000);
            assertThat(offAgain.extractOutputValues())
                    .extracting(a -> a.windowEnd - a.windowStart)
                    .containsExactly(10_000L);
        }
        // A level now made from another level below starts afresh, too.
        try (var changed =
                harness(
                        Duration.ZERO,
                        List.of(new RollupLevel(Duration.ofMinutes(1), "t-1m")),
                        new HashMapStateBackend())) {
            changed.initializeState(withLevels);
            changed.open();
            changed.processElement(window("d", 40_000, 5));
            changed.processWatermark(59_999);
            assertThat(level(changed.extractOutputValues(), 60_000))
                    .singleElement()
                    .satisfies(a -> assertThat(a.count).isEqualTo(1));
        }
    }

    @SuppressWarnings("unchecked")
    private static void feed(
            KeyedOneInputStreamOperatorTestHarness<
                            Tuple2<String, String>, TelemetryAggregate, TelemetryAggregate>
                    harness,
            List<Object> inputs)
            throws Exception {
        for (Object input : inputs) {
            if (input instanceof Long watermark) {
                harness.processWatermark(watermark);
            } else {
                harness.processElement((StreamRecord<TelemetryAggregate>) input);
            }
        }
    }

    private static StateBackend stateBackend(String name) {
        return name.equals("rocksdb")
                ? new EmbeddedRocksDBStateBackend()
                : new HashMapStateBackend();
    }
}

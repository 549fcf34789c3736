package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import dev.telemetry.aggregator.job.records.ValueSketch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Percentiles through the job's combiner and window operator: what the output reports, across a
 * restore, and when percentiles are switched on or off across a savepoint.
 */
class PercentilesHarnessTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);
    private static final double ACCURACY = 0.01;
    private static final double[] QUANTILES = {0.5, 0.9, 0.99};

    private static List<TelemetryEvent> events(long seed, int n, long from, long to) {
        Random random = new Random(seed);
        List<TelemetryEvent> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long time = from + (long) (random.nextDouble() * (to - from));
            String device = "sensor-" + random.nextInt(3);
            // Whole numbers: sums are exact in any order, so runs compare equal.
            double value =
                    Math.rint(Math.exp(random.nextGaussian() * 2) * 10)
                            * (random.nextInt(4) == 0 ? -1 : 1);
            events.add(new TelemetryEvent(device, "latency", value, time).withSource("t", 0, time));
        }
        return events;
    }

    /** What the window must report: the percentiles of one sketch of all its values. */
    private static double[] expectedPercentiles(List<TelemetryEvent> events, String device) {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
        events.stream().filter(e -> e.deviceId.equals(device)).forEach(e -> sketch.add(e.value));
        double[] values = new double[QUANTILES.length];
        for (int i = 0; i < QUANTILES.length; i++) {
            values[i] = sketch.valueAtQuantile(QUANTILES[i]);
        }
        return values;
    }

    private static CombinedWindowHarness open(double accuracy, double[] quantiles, boolean sketch)
            throws Exception {
        return open(accuracy, quantiles, sketch, "hashmap");
    }

    private static CombinedWindowHarness open(
            double accuracy, double[] quantiles, boolean sketch, String backend) throws Exception {
        CombinedWindowHarness harness =
                CombinedWindowHarness.create(MINUTE, accuracy, quantiles, sketch);
        harness.window.setStateBackend(stateBackend(backend));
        harness.setup();
        harness.open();
        return harness;
    }

    private static CombinedWindowHarness restore(
            CombinedWindowHarness.Snapshot snapshot,
            double accuracy,
            double[] quantiles,
            boolean sketch)
            throws Exception {
        return restore(snapshot, accuracy, quantiles, sketch, "hashmap");
    }

    private static CombinedWindowHarness restore(
            CombinedWindowHarness.Snapshot snapshot,
            double accuracy,
            double[] quantiles,
            boolean sketch,
            String backend)
            throws Exception {
        CombinedWindowHarness harness =
                CombinedWindowHarness.create(MINUTE, accuracy, quantiles, sketch);
        harness.window.setStateBackend(stateBackend(backend));
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        return harness;
    }

    private static void feed(CombinedWindowHarness harness, List<TelemetryEvent> events)
            throws Exception {
        for (TelemetryEvent event : events) {
            harness.processElement(event, event.timestamp);
        }
    }

    private static List<TelemetryAggregate> sorted(List<TelemetryAggregate> aggregates) {
        return aggregates.stream()
                .sorted(
                        Comparator.<TelemetryAggregate>comparingLong(a -> a.windowStart)
                                .thenComparing(a -> a.deviceId))
                .toList();
    }

    @Test
    void eachWindowReportsThePercentilesOfAllItsValuesAndItsSketch() throws Exception {
        List<TelemetryEvent> events = events(1, 600, 0, 60_000);
        try (CombinedWindowHarness harness = open(ACCURACY, QUANTILES, true)) {
            feed(harness, events);
            harness.processWatermark(60_000);

            List<TelemetryAggregate> output = sorted(harness.extractOutputValues());
            assertThat(output).hasSize(3);
            for (TelemetryAggregate aggregate : output) {
                assertThat(aggregate.percentiles)
                        .as(aggregate.deviceId)
                        .containsExactly(expectedPercentiles(events, aggregate.deviceId));
                assertThat(aggregate.sketch).isNotEmpty();
            }
        }
    }

    /** On the heap and in RocksDB, where every update reads and writes the sketch's bytes. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aRestoreMidWindowReportsWhatAnUninterruptedRunReports(String backend) throws Exception {
        List<TelemetryEvent> first = events(2, 300, 0, 30_000);
        List<TelemetryEvent> second = events(3, 300, 30_000, 60_000);
        List<TelemetryAggregate> uninterrupted;
        try (CombinedWindowHarness harness = open(ACCURACY, QUANTILES, true, backend)) {
            feed(harness, first);
            feed(harness, second);
            harness.processWatermark(60_000);
            uninterrupted = sorted(harness.extractOutputValues());
        }

        CombinedWindowHarness.Snapshot snapshot;
        try (CombinedWindowHarness harness = open(ACCURACY, QUANTILES, true, backend)) {
            feed(harness, first);
            snapshot = harness.snapshot(1L, 1L);
        }
        try (CombinedWindowHarness restored =
                restore(snapshot, ACCURACY, QUANTILES, true, backend)) {
            feed(restored, second);
            restored.processWatermark(60_000);

            assertThat(sorted(restored.extractOutputValues())).isEqualTo(uninterrupted);
        }
    }

    @Test
    void switchedOnAcrossASavepointTheWindowsOpenAtTheSwitchHaveNoPercentiles() throws Exception {
        CombinedWindowHarness.Snapshot snapshot;
        try (CombinedWindowHarness before = open(0, new double[0], false)) {
            feed(before, events(4, 100, 0, 30_000));
            snapshot = before.snapshot(1L, 1L);
        }
        List<TelemetryEvent> nextWindow = events(5, 100, 60_000, 120_000);
        try (CombinedWindowHarness after = restore(snapshot, ACCURACY, QUANTILES, false)) {
            feed(after, events(6, 100, 30_000, 60_000));
            feed(after, nextWindow);
            after.processWatermark(120_000);

            List<TelemetryAggregate> output = sorted(after.extractOutputValues());
            assertThat(output).hasSize(6);
            for (TelemetryAggregate aggregate : output) {
                if (aggregate.windowStart == 0) {
                    assertThat(aggregate.percentiles).as("open at the switch").isNull();
                } else {
                    assertThat(aggregate.percentiles)
                            .containsExactly(expectedPercentiles(nextWindow, aggregate.deviceId));
                }
                assertThat(aggregate.sketch).isNull();
            }
        }
    }

    @Test
    void switchedOffAcrossASavepointTheOutputIsAsWithoutPercentiles() throws Exception {
        List<TelemetryEvent> first = events(7, 100, 0, 30_000);
        List<TelemetryEvent> second = events(8, 100, 30_000, 60_000);
        List<TelemetryAggregate> neverOn;
        try (CombinedWindowHarness harness = open(0, new double[0], false)) {
            feed(harness, first);
            feed(harness, second);
            harness.processWatermark(60_000);
            neverOn = sorted(harness.extractOutputValues());
        }

        CombinedWindowHarness.Snapshot snapshot;
        try (CombinedWindowHarness on = open(ACCURACY, QUANTILES, true)) {
            feed(on, first);
            snapshot = on.snapshot(1L, 1L);
        }
        try (CombinedWindowHarness off = restore(snapshot, 0, new double[0], false)) {
            feed(off, second);
            off.processWatermark(60_000);

            assertThat(sorted(off.extractOutputValues())).isEqualTo(neverOn);
        }
    }

    private static StateBackend stateBackend(String name) {
        return name.equals("rocksdb")
                ? new EmbeddedRocksDBStateBackend()
                : new HashMapStateBackend();
    }
}

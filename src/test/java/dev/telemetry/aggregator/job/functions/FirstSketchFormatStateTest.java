package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import dev.telemetry.aggregator.job.records.ValueSketch;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * State written by the first release with percentiles, whose sketches were kept in DDSketch's own
 * encoding (the first format, serializer snapshot version 3): a window open with sensor-1's latency
 * values -2.5, 0, 0, 1, 2, 3 and 1000 (accuracy 0.01). It restores into this release, which writes
 * the second format, and the window reports the percentiles and the sketch of all its values. The
 * files were written by that release's {@code CombinedWindowHarness} with Flink's {@code
 * OperatorSnapshotUtil}; keep them as they are.
 */
class FirstSketchFormatStateTest {
    private static final String STATE = "src/test/resources/state/first-sketch-format/";
    private static final long T0 = 1763683200000L;
    private static final long MINUTE = 60_000L;
    private static final double[] QUANTILES = {0.5, 0.99};

    @Test
    void windowStateWithSketchesOfTheFirstFormatRestores() throws Exception {
        CombinedWindowHarness.Snapshot previous = CombinedWindowHarness.Snapshot.read(STATE);
        try (CombinedWindowHarness harness =
                CombinedWindowHarness.create(Duration.ofMinutes(1), 0.01, QUANTILES, true)) {
            harness.setup();
            harness.initializeState(previous);
            harness.open();
            process(harness, 7.0, T0 + 30_000);
            process(harness, -40.0, T0 + 31_000);
            harness.processWatermark(T0 + MINUTE);

            List<TelemetryAggregate> output = harness.extractOutputValues();
            assertThat(output).hasSize(1);
            TelemetryAggregate window = output.get(0);
            assertThat(window.count).isEqualTo(9);
            ValueSketch expected = ValueSketch.withRelativeAccuracy(0.01);
            for (double value : new double[] {-2.5, 0, 0, 1, 2, 3, 1000, 7, -40}) {
                expected.add(value);
            }
            assertThat(window.percentiles)
                    .containsExactly(expected.valueAtQuantile(0.5), expected.valueAtQuantile(0.99));
            assertThat(window.sketch).isEqualTo(expected.toProtobuf());
        }
    }

    private static void process(CombinedWindowHarness harness, double value, long time)
            throws Exception {
        harness.processElement(
                new TelemetryEvent("sensor-1", "latency", value, time).withSource("t", 0, time),
                time);
    }
}

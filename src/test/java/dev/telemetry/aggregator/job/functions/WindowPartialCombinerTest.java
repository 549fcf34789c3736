package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.config.Grouping;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The combiner in front of the window operator, in Flink's operator harness: what it holds, what it
 * emits when, and that late events leave it unchanged.
 */
class WindowPartialCombinerTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);

    /** 2025-11-21T00:00:00Z: a minute boundary, so windows start here. */
    private static final long T0 = 1763683200000L;

    private static final long T1 = T0 + MINUTE.toMillis();
    private static final long T2 = T1 + MINUTE.toMillis();

    private OneInputStreamOperatorTestHarness<TelemetryEvent, PartialAggregate> harness;

    @AfterEach
    void closeHarness() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    @Test
    void combinesEventsPerDeviceMetricAndWindowUntilTheWatermarkClosesTheWindow() throws Exception {
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        process(event("sensor-1", "temperature", 20.0, T0 + 1_000));
        process(event("sensor-1", "temperature", 22.5, T0 + 30_000));
        process(event("sensor-1", "temperature", -3.25, T1 - 1));
        process(event("sensor-1", "humidity", 40.0, T0 + 2_000));
        process(event("sensor-2", "temperature", 5.0, T0 + 3_000));
        process(event("sensor-1", "temperature", 100.0, T1));

        harness.processWatermark(T1 - 2);
        assertThat(harness.getOutput())
                .as("nothing before the window closes")
                .containsExactly(new Watermark(T1 - 2));
        harness.getOutput().clear();

        harness.processWatermark(T1 - 1);
        List<Object> output = new ArrayList<>(harness.getOutput());
        assertThat(output)
                .as("the closed window's partials, then the watermark")
                .hasSize(4)
                .last()
                .isEqualTo(new Watermark(T1 - 1));
        assertThat(output.subList(0, 3))
                .containsExactlyInAnyOrder(
                        record(partial("sensor-1", "temperature", T0, 3, 39.25, -3.25, 22.5)),
                        record(partial("sensor-1", "humidity", T0, 1, 40.0, 40.0, 40.0)),
                        record(partial("sensor-2", "temperature", T0, 1, 5.0, 5.0, 5.0)));
        harness.getOutput().clear();

        harness.processWatermark(T2 - 1);
        assertThat(harness.getOutput())
                .containsExactly(
                        record(partial("sensor-1", "temperature", T1, 1, 100.0, 100.0, 100.0)),
                        new Watermark(T2 - 1));
    }

    @Test
    void eventOfAClosedWindowPassesAtOnceCarryingTheEventSoTheWindowDecidesIfItIsLate()
            throws Exception {
        // This input's watermark may be ahead of the window operator's (the minimum over all
        // inputs): only the window operator can tell late from within the allowed lateness.
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        harness.processWatermark(T1 - 1);
        harness.getOutput().clear();

        TelemetryEvent first = event("sensor-1", "temperature", 20.0, T0 + 20);
        TelemetryEvent second = event("sensor-1", "temperature", 10.0, T0 + 30);
        process(first);
        process(second);

        assertThat(harness.getOutput())
                .as("each at once, so the window fires again per event as without the combiner")
                .containsExactly(record(carrying(first)), record(carrying(second)));
        assertThat(combiner().heldPartials()).isZero();
    }

    /**
     * After a restore the combiner's watermark is back where it was (before the fix it restarted at
     * {@code Long.MIN_VALUE}): events of a window that closed before the checkpoint are passed on
     * one by one, carrying the event, so a late one becomes its own dead letter instead of part of
     * a combined partial.
     */
    @Test
    void eventsOfAWindowClosedBeforeTheCheckpointPassOnAloneAfterRestore() throws Exception {
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        process(event("sensor-1", "temperature", 1.0, T0 + 1));
        harness.processWatermark(T1 - 1);
        harness.prepareSnapshotPreBarrier(1L);
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
        harness.close();

        harness =
                new OneInputStreamOperatorTestHarness<>(
                        new WindowPartialCombiner(
                                MINUTE, WindowPartialCombiner.DEFAULT_MAX_PARTIALS));
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        TelemetryEvent first = event("sensor-1", "temperature", 2.0, T0 + 2);
        TelemetryEvent second = event("sensor-1", "temperature", 3.0, T0 + 3);
        process(first);
        process(second);

        assertThat(harness.getOutput())
                .containsExactly(record(carrying(first)), record(carrying(second)));
        assertThat(combiner().heldPartials()).isZero();
    }

    @Test
    void checkpointBarrierFollowsEveryHeldPartialAndTheSnapshotHoldsOnlyTheWatermark()
            throws Exception {
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        process(event("sensor-1", "temperature", 1.0, T0 + 1));
        process(event("sensor-1", "temperature", 2.0, T0 + 2));
        process(event("sensor-2", "temperature", 7.0, T1 + 5));

        harness.prepareSnapshotPreBarrier(1L);
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);

        assertThat(harness.getOutput())
                .containsExactlyInAnyOrder(
                        record(partial("sensor-1", "temperature", T0, 2, 3.0, 1.0, 2.0)),
                        record(partial("sensor-2", "temperature", T1, 1, 7.0, 7.0, 7.0)));
        assertThat(combiner().heldPartials()).isZero();
        assertThat(snapshot.getManagedKeyedState()).isEmpty();
        assertThat(snapshot.getRawOperatorState()).isEmpty();
        harness.getOutput().clear();

        // The window goes on collecting after the checkpoint.
        process(event("sensor-1", "temperature", 4.0, T0 + 3));
        harness.processWatermark(T1 - 1);
        assertThat(harness.getOutput())
                .containsExactly(
                        record(partial("sensor-1", "temperature", T0, 1, 4.0, 4.0, 4.0)),
                        new Watermark(T1 - 1));
    }

    @Test
    void beyondTheCapTheLongestHeldPartialOfTheOldestWindowLeavesForEachNewOne() throws Exception {
        open(3);
        process(event("sensor-1", "temperature", 1.0, T1));
        process(event("sensor-2", "temperature", 2.0, T0));
        process(event("sensor-3", "temperature", 3.0, T0));
        process(event("sensor-3", "temperature", 4.0, T0));
        assertThat(harness.getOutput()).as("three held: at the cap").isEmpty();

        process(event("sensor-4", "temperature", 5.0, T1));

        assertThat(harness.getOutput())
                .containsExactly(record(partial("sensor-2", "temperature", T0, 1, 2.0, 2.0, 2.0)));
        assertThat(combiner().heldPartials()).isEqualTo(3);

        process(event("sensor-5", "temperature", 6.0, T1));
        process(event("sensor-6", "temperature", 7.0, T1));

        assertThat(harness.getOutput())
                .containsExactly(
                        record(partial("sensor-2", "temperature", T0, 1, 2.0, 2.0, 2.0)),
                        record(partial("sensor-3", "temperature", T0, 2, 7.0, 3.0, 4.0)),
                        record(partial("sensor-1", "temperature", T1, 1, 1.0, 1.0, 1.0)));
        assertThat(combiner().heldPartials()).isEqualTo(3);
    }

    @Test
    void goingIdleEmitsEveryHeldPartialFirst() throws Exception {
        // While idle, the window operator advances by the other inputs' watermarks; partials
        // still held here would be late there.
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        process(event("sensor-1", "temperature", 1.0, T0));

        harness.processWatermarkStatus(WatermarkStatus.IDLE);

        assertThat(harness.getOutput())
                .containsExactly(
                        record(partial("sensor-1", "temperature", T0, 1, 1.0, 1.0, 1.0)),
                        WatermarkStatus.IDLE);
    }

    @Test
    void afterAnIdleSpellEventsPassOnAtOnceUntilTheWatermarkHasMovedTwoWindowsOn()
            throws Exception {
        // An input back from idle may be behind the window operator's watermark (the others'
        // moved on meanwhile): what it holds until its own watermark passes would arrive late.
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        harness.processWatermarkStatus(WatermarkStatus.IDLE);
        TelemetryEvent whileIdle = event("sensor-1", "temperature", 1.0, T0 + 5);
        process(whileIdle);
        harness.processWatermarkStatus(WatermarkStatus.ACTIVE);
        harness.processWatermark(T0 + 10);
        TelemetryEvent catchingUp = event("sensor-1", "temperature", 2.0, T1 + 5);
        process(catchingUp);
        assertThat(harness.getOutput())
                .containsExactly(
                        WatermarkStatus.IDLE,
                        record(carrying(whileIdle)),
                        WatermarkStatus.ACTIVE,
                        new Watermark(T0 + 10),
                        record(carrying(catchingUp)));
        harness.getOutput().clear();

        harness.processWatermark(T0 + 10 + 2 * MINUTE.toMillis());
        process(event("sensor-1", "temperature", 3.0, T2 + 5));
        process(event("sensor-1", "temperature", 4.0, T2 + 6));

        assertThat(harness.getOutput())
                .as("held again")
                .containsExactly(new Watermark(T0 + 10 + 2 * MINUTE.toMillis()));
        assertThat(combiner().heldPartials()).isEqualTo(1);
    }

    @Test
    void finishEmitsEveryHeldPartial() throws Exception {
        open(WindowPartialCombiner.DEFAULT_MAX_PARTIALS);
        process(event("sensor-1", "temperature", 1.0, T0));

        harness.getOperator().finish();

        assertThat(harness.getOutput())
                .containsExactly(record(partial("sensor-1", "temperature", T0, 1, 1.0, 1.0, 1.0)));
    }

    @Test
    void windowsAreTheTumblingWindowsOfTheWindowOperator() throws Exception {
        Duration fiveMinutes = Duration.ofMinutes(5);
        harness =
                new OneInputStreamOperatorTestHarness<>(
                        new WindowPartialCombiner(
                                fiveMinutes, WindowPartialCombiner.DEFAULT_MAX_PARTIALS));
        harness.open();
        // Epoch-aligned, not aligned to the first event; the end is exclusive.
        process(event("sensor-1", "temperature", 1.0, T0 + 210_000));
        process(event("sensor-1", "temperature", 2.0, T0 + fiveMinutes.toMillis()));
        harness.processWatermark(Long.MAX_VALUE);

        assertThat(harness.getOutput())
                .contains(
                        new StreamRecord<>(
                                partial("sensor-1", "temperature", T0, 1, 1.0, 1.0, 1.0),
                                T0 + fiveMinutes.toMillis() - 1),
                        new StreamRecord<>(
                                partial(
                                        "sensor-1",
                                        "temperature",
                                        T0 + fiveMinutes.toMillis(),
                                        1,
                                        2.0,
                                        2.0,
                                        2.0),
                                T0 + 2 * fiveMinutes.toMillis() - 1));
    }

    @Test
    void runsChainedToTheParsingSoEventsNeverCrossAThreadOrTheNetwork() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        JobOptions options =
                JobOptions.fromSettings(
                        new Settings(Map.of(Settings.BOOTSTRAP_SERVERS.key(), "127.0.0.1:9")));
        TelemetryAggregationJob.configure(env, options);
        TelemetryAggregationJob.withKafka(options).build(env);

        assertThat(env.getStreamGraph().getJobGraph().getVertices())
                .extracting(JobVertex::getName)
                .anySatisfy(
                        task ->
                                assertThat(task)
                                        .contains(
                                                "Split off rejected records -> Combine per"
                                                        + " device, metric and window"));
    }

    @Test
    void eachEventCountsOnceInEveryGrouping() throws Exception {
        Grouping byRegion = new Grouping(false, List.of("region"), "by-region", List.of());
        String prefix = byRegion.seriesPrefix();
        openCapped(0, List.of(Grouping.PER_DEVICE, byRegion));
        process(tagged(event("sensor-1", "latency", 10.0, T0 + 1), "region", "eu"));
        process(tagged(event("sensor-2", "latency", 30.0, T0 + 2), "region", "eu"));
        process(event("sensor-3", "latency", 5.0, T0 + 3));
        harness.processWatermark(T1 - 1);

        assertThat(harness.getOutput())
                .containsExactlyInAnyOrder(
                        record(partial("sensor-1", "latency", T0, 1, 10.0, 10.0, 10.0)),
                        record(partial("sensor-2", "latency", T0, 1, 30.0, 30.0, 30.0)),
                        record(partial("sensor-3", "latency", T0, 1, 5.0, 5.0, 5.0)),
                        record(partial(prefix + "\0eu", "latency", T0, 2, 40.0, 10.0, 30.0)),
                        record(partial(prefix + "\0", "latency", T0, 1, 5.0, 5.0, 5.0)),
                        new Watermark(T1 - 1));
        harness.getOutput().clear();

        TelemetryEvent late = tagged(event("sensor-1", "latency", 7.0, T0 + 4), "region", "eu");
        process(late);
        PartialAggregate lateOfRegion = carrying(late);
        lateOfRegion.deviceId = prefix + "\0eu";
        assertThat(harness.getOutput())
                .as("an event of a closed window passes on alone in every grouping, carrying it")
                .containsExactly(record(carrying(late)), record(lateOfRegion));
    }

    /**
     * With a cap of two keys per grouping and window, the first two keys of each window keep their
     * series; later ones count under the overflow series of their metric, in every grouping, and a
     * new window admits afresh. (The count of overflowed events: {@code HostileSeriesIT}.)
     */
    @Test
    void beyondTheSeriesCapEventsCountUnderTheOverflowSeries() throws Exception {
        Grouping byRegion = new Grouping(false, List.of("region"), "by-region", List.of());
        String prefix = byRegion.seriesPrefix();
        openCapped(2, List.of(Grouping.PER_DEVICE, byRegion));
        for (int device = 0; device < 4; device++) {
            process(
                    tagged(
                            event("sensor-" + device, "m", device, T0 + device),
                            "region",
                            "r" + device));
        }
        process(event("sensor-0", "m", 10.0, T0 + 10));
        process(event("sensor-5", "other", 1.0, T0 + 11));
        process(event("sensor-6", "m", 1.0, T1 + 1));
        harness.processWatermark(T2 - 1);

        assertThat(harness.getOutput())
                .containsExactlyInAnyOrder(
                        record(partial("sensor-0", "m", T0, 2, 10.0, 0.0, 10.0)),
                        record(partial("sensor-1", "m", T0, 1, 1.0, 1.0, 1.0)),
                        record(partial("__overflow__", "m", T0, 2, 5.0, 2.0, 3.0)),
                        record(partial("__overflow__", "other", T0, 1, 1.0, 1.0, 1.0)),
                        record(partial(prefix + "\0r0", "m", T0, 1, 0.0, 0.0, 0.0)),
                        record(partial(prefix + "\0r1", "m", T0, 1, 1.0, 1.0, 1.0)),
                        record(partial(prefix + "\0__overflow__", "m", T0, 3, 15.0, 2.0, 10.0)),
                        record(partial(prefix + "\0__overflow__", "other", T0, 1, 1.0, 1.0, 1.0)),
                        record(partial("sensor-6", "m", T1, 1, 1.0, 1.0, 1.0)),
                        record(partial(prefix + "\0", "m", T1, 1, 1.0, 1.0, 1.0)),
                        new Watermark(T2 - 1));
    }

    /** A flood of unique metrics is bounded too: beyond 100 overflow metrics, one more key. */
    @Test
    void beyondTheOverflowMetricsTheMetricIsFoldedToo() throws Exception {
        openCapped(1, List.of(Grouping.PER_DEVICE));
        for (int i = 0; i < 1 + SeriesCap.MAX_OVERFLOW_METRICS + 50; i++) {
            process(event("sensor-" + i, "metric-" + i, 1.0, T0 + 1));
        }
        harness.processWatermark(T1 - 1);

        assertThat(harness.getOutput()).hasSize(1 + SeriesCap.MAX_OVERFLOW_METRICS + 1 + 1);
        assertThat(harness.getOutput())
                .contains(record(partial("__overflow__", "__overflow__", T0, 50, 50.0, 1.0, 1.0)));
    }

    /**
     * The admitted keys are state: after a restore, a window's admitted series stay admitted and
     * its later ones still overflow, as without the restore; once event time passes the window's
     * end (plus lateness), its keys are forgotten.
     */
    @Test
    void admittedSeriesSurviveARestoreUntilTheirWindowExpires() throws Exception {
        openCapped(1, List.of(Grouping.PER_DEVICE));
        process(event("sensor-1", "m", 1.0, T0 + 1));
        harness.prepareSnapshotPreBarrier(1L);
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
        harness.close();

        harness =
                new OneInputStreamOperatorTestHarness<>(combiner(1, List.of(Grouping.PER_DEVICE)));
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        process(event("sensor-2", "m", 2.0, T0 + 2));
        process(event("sensor-1", "m", 3.0, T0 + 3));
        harness.processWatermark(T1 - 1);
        assertThat(harness.getOutput())
                .containsExactlyInAnyOrder(
                        record(partial("sensor-1", "m", T0, 1, 3.0, 3.0, 3.0)),
                        record(partial("__overflow__", "m", T0, 1, 2.0, 2.0, 2.0)),
                        new Watermark(T1 - 1));
        harness.prepareSnapshotPreBarrier(2L);
        assertThat(harness.snapshot(2L, 2L).getManagedOperatorState())
                .as("only the watermark once the window has expired")
                .hasSize(1);
    }

    /** A combiner of one-minute windows for these groupings, capped (0: no cap). */
    private static WindowPartialCombiner combiner(int maxSeries, List<Grouping> groupings) {
        return new WindowPartialCombiner(
                MINUTE,
                WindowPartialCombiner.DEFAULT_MAX_PARTIALS,
                0,
                groupings,
                maxSeries,
                Duration.ZERO);
    }

    private void openCapped(int maxSeries, List<Grouping> groupings) throws Exception {
        harness = new OneInputStreamOperatorTestHarness<>(combiner(maxSeries, groupings));
        harness.open();
    }

    private static TelemetryEvent tagged(TelemetryEvent event, String... tags) {
        event.tags = tags;
        return event;
    }

    private void open(int maxPartials) throws Exception {
        harness =
                new OneInputStreamOperatorTestHarness<>(
                        new WindowPartialCombiner(MINUTE, maxPartials));
        harness.open();
    }

    private WindowPartialCombiner combiner() {
        return (WindowPartialCombiner) harness.getOperator();
    }

    private void process(TelemetryEvent event) throws Exception {
        harness.processElement(event, event.timestamp);
    }

    /** A one-minute window's partial as emitted: stamped with the window's last millisecond. */
    private static StreamRecord<PartialAggregate> record(PartialAggregate partial) {
        return new StreamRecord<>(partial, partial.windowStart + MINUTE.toMillis() - 1);
    }

    private static TelemetryEvent event(String device, String metric, double value, long time) {
        return new TelemetryEvent(device, metric, value, time).withSource("telemetry", 3, time);
    }

    /** The one-event partial the combiner passes on for an event of a closed window. */
    private static PartialAggregate carrying(TelemetryEvent event) {
        PartialAggregate partial =
                partial(
                        event.deviceId,
                        event.metric,
                        event.timestamp - event.timestamp % MINUTE.toMillis(),
                        1,
                        event.value,
                        event.value,
                        event.value);
        partial.event = event;
        return partial;
    }

    private static PartialAggregate partial(
            String device,
            String metric,
            long windowStart,
            long count,
            double sum,
            double min,
            double max) {
        PartialAggregate partial = new PartialAggregate(device, metric, windowStart);
        partial.count = count;
        partial.sum = sum;
        partial.min = min;
        partial.max = max;
        return partial;
    }
}

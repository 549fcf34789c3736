package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.runtime.operators.windowing.WindowOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Drives the real combiner and window operator of the job ({@link
 * TelemetryAggregationJob#aggregateWindows}) through Flink's operator harnesses, wired as in the
 * job ({@link CombinedWindowHarness}): firing, window bounds, late events and state restore.
 */
class WindowAggregationHarnessTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);

    /** 2025-11-21T00:00:00Z: a minute boundary, so windows start here. */
    private static final long T0 = 1763683200000L;

    private static final long T1 = T0 + MINUTE.toMillis();
    private static final long T2 = T1 + MINUTE.toMillis();

    private CombinedWindowHarness harness;

    @AfterEach
    void closeHarness() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    @Test
    void emitsOneAggregatePerKeyOnlyWhenTheWatermarkPassesTheWindowEnd() throws Exception {
        harness = openHarness(Duration.ZERO);
        process(event("sensor-1", "temperature", 20.0, T0 + 1_000));
        process(event("sensor-2", "temperature", 5.0, T0 + 2_000));
        process(event("sensor-1", "temperature", 22.0, T0 + 30_000));
        process(event("sensor-1", "temperature", -3.0, T0 + 59_999));

        harness.processWatermark(T1 - 2);
        assertThat(harness.extractOutputValues()).as("window still open").isEmpty();

        // windowEnd is exclusive, so the window is complete once the watermark reaches end - 1.
        harness.processWatermark(T1 - 1);
        assertThat(byDevice(harness.extractOutputValues()))
                .containsExactly(
                        aggregate("sensor-1", T0, T1, 3, 39.0, -3.0, 22.0),
                        aggregate("sensor-2", T0, T1, 1, 5.0, 5.0, 5.0));
    }

    @Test
    void differentMetricsOfOneDeviceAreSeparateAggregates() throws Exception {
        harness = openHarness(Duration.ZERO);
        process(event("sensor-1", "temperature", 20.0, T0));
        process(event("sensor-1", "humidity", 40.0, T0));

        harness.processWatermark(T1 - 1);

        assertThat(harness.extractOutputValues())
                .extracting(a -> a.metric)
                .containsExactlyInAnyOrder("temperature", "humidity");
    }

    @Test
    void windowsAreEpochAlignedAndExcludeTheirEnd() throws Exception {
        harness = openHarness(Duration.ZERO);
        process(event("sensor-1", "temperature", 1.0, T0));
        process(event("sensor-1", "temperature", 2.0, T1 - 1));
        // Exactly windowEnd belongs to the next window.
        process(event("sensor-1", "temperature", 100.0, T1));

        harness.processWatermark(T2 - 1);

        assertThat(harness.extractOutputValues())
                .containsExactly(
                        aggregate("sensor-1", T0, T1, 2, 3.0, 1.0, 2.0),
                        aggregate("sensor-1", T1, T2, 1, 100.0, 100.0, 100.0));
    }

    @Test
    void windowStartIsAlignedToTheEpochNotToTheFirstEvent() throws Exception {
        Duration fiveMinutes = Duration.ofMinutes(5);
        harness = newHarness(fiveMinutes, Duration.ZERO);
        harness.open();
        // The job's first event arrives 3.5 minutes into a 5-minute window.
        process(event("sensor-1", "temperature", 1.0, T0 + 210_000));
        harness.processWatermark(Long.MAX_VALUE);

        assertThat(harness.extractOutputValues())
                .singleElement()
                .satisfies(
                        result -> {
                            assertThat(result.windowStart).isEqualTo(T0);
                            assertThat(result.windowEnd).isEqualTo(T0 + fiveMinutes.toMillis());
                        });
    }

    @Test
    void eventBehindTheWatermarkGoesToTheLateSideOutputAndIsNotAggregated() throws Exception {
        harness = openHarness(Duration.ZERO);
        process(event("sensor-1", "temperature", 10.0, T0 + 10));
        harness.processWatermark(T1 - 1);
        assertThat(harness.extractOutputValues()).hasSize(1);

        TelemetryEvent late = event("sensor-1", "temperature", 999.0, T0 + 20);
        process(late);
        harness.processWatermark(T2 - 1);

        assertThat(harness.extractOutputValues())
                .as("the closed window is not emitted again, the late value not counted")
                .containsExactly(aggregate("sensor-1", T0, T1, 1, 10.0, 10.0, 10.0));
        assertThat(harness.lateEvents()).extracting(StreamRecord::getValue).containsExactly(late);
    }

    @Test
    void lateButAllowedEventRefiresTheWindowWithAnUpdatedAggregate() throws Exception {
        harness = openHarness(Duration.ofSeconds(30));
        process(event("sensor-1", "temperature", 10.0, T0 + 10));
        harness.processWatermark(T1 - 1);

        // Behind the watermark, but within the 30 s allowed lateness.
        process(event("sensor-1", "temperature", 20.0, T0 + 20));

        assertThat(harness.extractOutputValues())
                .containsExactly(
                        aggregate("sensor-1", T0, T1, 1, 10.0, 10.0, 10.0),
                        aggregate("sensor-1", T0, T1, 2, 30.0, 10.0, 20.0));
        assertThat(harness.lateEvents()).isNullOrEmpty();
    }

    @Test
    void eventPastTheAllowedLatenessIsLateEvenWithLatenessConfigured() throws Exception {
        harness = openHarness(Duration.ofSeconds(30));
        process(event("sensor-1", "temperature", 10.0, T0 + 10));
        harness.processWatermark(T1 - 1 + 30_000);

        TelemetryEvent tooLate = event("sensor-1", "temperature", 20.0, T0 + 20);
        process(tooLate);

        assertThat(harness.extractOutputValues())
                .containsExactly(aggregate("sensor-1", T0, T1, 1, 10.0, 10.0, 10.0));
        assertThat(harness.lateEvents())
                .extracting(StreamRecord::getValue)
                .containsExactly(tooLate);
    }

    @Test
    void windowStartedBeforeASnapshotCompletesCorrectlyAfterRestore() throws Exception {
        harness = openHarness(Duration.ZERO);
        process(event("sensor-1", "temperature", 1.0, T0 + 1));
        process(event("sensor-2", "temperature", 7.0, T0 + 2));
        harness.processWatermark(T0 + 30_000);
        CombinedWindowHarness.Snapshot snapshot = harness.snapshot(1L, 1L);
        harness.close();

        // A fresh operator instance, as after a process restart.
        harness = newHarness(MINUTE, Duration.ZERO);
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        process(event("sensor-1", "temperature", 3.0, T0 + 40_000));
        harness.processWatermark(T1 - 1);

        assertThat(byDevice(harness.extractOutputValues()))
                .containsExactly(
                        aggregate("sensor-1", T0, T1, 2, 4.0, 1.0, 3.0),
                        aggregate("sensor-2", T0, T1, 1, 7.0, 7.0, 7.0));
    }

    /**
     * Flink does not checkpoint watermarks: before the fix both operators restarted at {@code
     * Long.MIN_VALUE}, and an event of a window that had fired before the checkpoint (replayed from
     * Kafka after a crash) opened that window again and came out as a second aggregate.
     */
    @Test
    void eventOfAWindowThatFiredBeforeTheCheckpointIsLateAgainAfterRestore() throws Exception {
        harness = openHarness(Duration.ZERO);
        process(event("sensor-1", "temperature", 10.0, T0 + 10));
        harness.processWatermark(T1 - 1);
        assertThat(harness.extractOutputValues()).hasSize(1);
        CombinedWindowHarness.Snapshot snapshot = harness.snapshot(1L, 1L);
        harness.close();

        harness = newHarness(MINUTE, Duration.ZERO);
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        // Replayed before any watermark; then the restarted sources' watermarks start low again.
        TelemetryEvent first = event("sensor-1", "temperature", 20.0, T0 + 20);
        TelemetryEvent second = event("sensor-1", "temperature", 30.0, T0 + 30);
        process(first);
        process(second);
        harness.processWatermark(T0 + 25);
        process(event("sensor-1", "temperature", 5.0, T1 + 5));
        harness.processWatermark(T2 - 1);

        assertThat(harness.extractOutputValues())
                .as("no second aggregate of the window that fired before the checkpoint")
                .containsExactly(aggregate("sensor-1", T1, T2, 1, 5.0, 5.0, 5.0));
        assertThat(harness.lateEvents())
                .as("each replayed event is late, and carries its event for the dead letter")
                .extracting(StreamRecord::getValue)
                .containsExactly(first, second);
    }

    @Test
    void windowStillOpenAtTheCheckpointKeepsCountingAfterRestore() throws Exception {
        harness = openHarness(Duration.ofSeconds(30));
        process(event("sensor-1", "temperature", 10.0, T0 + 10));
        harness.processWatermark(T1 + 10_000);
        CombinedWindowHarness.Snapshot snapshot = harness.snapshot(1L, 1L);
        harness.close();

        harness = newHarness(MINUTE, Duration.ofSeconds(30));
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        // Within the allowed lateness of the restored watermark: the window fires again.
        process(event("sensor-1", "temperature", 20.0, T0 + 20));
        harness.processWatermark(T2 - 1);

        assertThat(harness.extractOutputValues())
                .containsExactly(aggregate("sensor-1", T0, T1, 2, 30.0, 10.0, 20.0));
        assertThat(harness.lateEvents()).isNullOrEmpty();
    }

    @Test
    void aggregateWindowsBuildsAWindowOperatorWithAStableUid() {
        SingleOutputStreamOperator<TelemetryAggregate> stream = windowStream(MINUTE, Duration.ZERO);

        assertThat(operatorOf(stream)).isInstanceOf(WindowOperator.class);
        // State in checkpoints and savepoints is matched by uid; it must not change.
        assertThat(stream.getTransformation().getUid()).isEqualTo("window-aggregate");
    }

    private CombinedWindowHarness openHarness(Duration allowedLateness) throws Exception {
        CombinedWindowHarness opened = newHarness(MINUTE, allowedLateness);
        opened.open();
        return opened;
    }

    private static CombinedWindowHarness newHarness(Duration windowSize, Duration allowedLateness)
            throws Exception {
        return CombinedWindowHarness.create(windowSize, allowedLateness);
    }

    private static SingleOutputStreamOperator<TelemetryAggregate> windowStream(
            Duration windowSize, Duration allowedLateness) {
        return CombinedWindowHarness.windowStream(windowSize, allowedLateness);
    }

    @SuppressWarnings("unchecked")
    private static OneInputStreamOperator<PartialAggregate, TelemetryAggregate> operatorOf(
            SingleOutputStreamOperator<TelemetryAggregate> stream) {
        return ((OneInputTransformation<PartialAggregate, TelemetryAggregate>)
                        stream.getTransformation())
                .getOperator();
    }

    private void process(TelemetryEvent event) throws Exception {
        harness.processElement(event, event.timestamp);
    }

    private static TelemetryEvent event(String device, String metric, double value, long time) {
        return new TelemetryEvent(device, metric, value, time).withSource("telemetry", 0, time);
    }

    private static TelemetryAggregate aggregate(
            String device, long start, long end, long count, double sum, double min, double max) {
        TelemetryAggregate aggregate = new TelemetryAggregate();
        aggregate.deviceId = device;
        aggregate.metric = "temperature";
        aggregate.windowStart = start;
        aggregate.windowEnd = end;
        aggregate.count = count;
        aggregate.sum = sum;
        aggregate.min = min;
        aggregate.max = max;
        aggregate.avg = sum / count;
        return aggregate;
    }

    private static List<TelemetryAggregate> byDevice(List<TelemetryAggregate> aggregates) {
        // Keys fire in no guaranteed order at one watermark.
        return aggregates.stream()
                .sorted((a, b) -> a.deviceId.compareTo(b.deviceId))
                .collect(Collectors.toList());
    }
}

package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;

/**
 * The job's combiner and window operator ({@link TelemetryAggregationJob#aggregateWindows}), each
 * in Flink's operator harness, wired as in the job: whatever the combiner emits (partials and
 * watermarks, in order) goes into the window operator at once. Events go in, aggregates and late
 * events come out, as from the job.
 *
 * <p>Fails a test that makes the window operator see a late combined partial: the combiner must
 * never cause one.
 */
final class CombinedWindowHarness implements AutoCloseable {
    final OneInputStreamOperatorTestHarness<TelemetryEvent, PartialAggregate> combiner;
    final KeyedOneInputStreamOperatorTestHarness<
                    Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
            window;

    private CombinedWindowHarness(
            OneInputStreamOperatorTestHarness<TelemetryEvent, PartialAggregate> combiner,
            KeyedOneInputStreamOperatorTestHarness<
                            Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                    window) {
        this.combiner = combiner;
        this.window = window;
    }

    static CombinedWindowHarness create(Duration windowSize, Duration allowedLateness)
            throws Exception {
        return create(windowStream(windowSize, allowedLateness));
    }

    /**
     * With sketches of this accuracy (none for 0), reporting these percentiles and the sketch, and
     * handing the sketch on for rollups.
     */
    static CombinedWindowHarness create(
            Duration windowSize, double sketchAccuracy, double[] quantiles, boolean withSketch)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DataStream<TelemetryEvent> events = env.fromData(new TelemetryEvent("x", "y", 0.0, 0));
        return create(
                TelemetryAggregationJob.aggregatePartials(
                        TelemetryAggregationJob.combinePerWindow(
                                events, windowSize, sketchAccuracy),
                        windowSize,
                        Duration.ZERO,
                        new WindowResultFunction(quantiles, withSketch, sketchAccuracy > 0)));
    }

    private static CombinedWindowHarness create(
            SingleOutputStreamOperator<TelemetryAggregate> aggregates) throws Exception {
        OneInputTransformation<?, ?> windowTransformation =
                (OneInputTransformation<?, ?>) aggregates.getTransformation();
        // Window <- keyBy (a partitioning, not an operator) <- combiner.
        Transformation<?> keyBy = windowTransformation.getInputs().get(0);
        OneInputTransformation<?, ?> combinerTransformation =
                (OneInputTransformation<?, ?>) keyBy.getInputs().get(0);
        return new CombinedWindowHarness(
                new OneInputStreamOperatorTestHarness<>(operator(combinerTransformation)),
                windowHarness(operator(windowTransformation)));
    }

    /** The job's window operator alone, fed partials directly. */
    static KeyedOneInputStreamOperatorTestHarness<
                    Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
            windowOnly(Duration windowSize, Duration allowedLateness) throws Exception {
        return windowHarness(
                operator(windowStream(windowSize, allowedLateness).getTransformation()));
    }

    static SingleOutputStreamOperator<TelemetryAggregate> windowStream(
            Duration windowSize, Duration allowedLateness) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DataStream<TelemetryEvent> events = env.fromData(new TelemetryEvent("x", "y", 0.0, 0));
        return TelemetryAggregationJob.aggregateWindows(events, windowSize, allowedLateness);
    }

    void setup() throws Exception {
        combiner.setup();
        window.setup();
    }

    /** The state of both operators at a checkpoint. */
    record Snapshot(OperatorSubtaskState combiner, OperatorSubtaskState window) {
        /**
         * The state files an earlier build wrote with Flink's {@code OperatorSnapshotUtil} into
         * {@code directory}: {@code combiner.snapshot} and {@code window.snapshot}.
         */
        static Snapshot read(String directory) throws Exception {
            return new Snapshot(
                    OperatorSnapshotUtil.readStateHandle(directory + "combiner.snapshot"),
                    OperatorSnapshotUtil.readStateHandle(directory + "window.snapshot"));
        }
    }

    /** Restores both operators, as after a process restart. */
    void initializeState(Snapshot snapshot) throws Exception {
        combiner.initializeState(snapshot.combiner());
        window.initializeState(snapshot.window());
    }

    void open() throws Exception {
        combiner.open();
        window.open();
    }

    void processElement(TelemetryEvent event, long timestamp) throws Exception {
        combiner.processElement(event, timestamp);
        forward();
    }

    void processWatermark(long watermark) throws Exception {
        combiner.processWatermark(watermark);
        forward();
    }

    /** A checkpoint as the task takes it: the barrier follows what the combiner emits first. */
    Snapshot snapshot(long checkpointId, long timestamp) throws Exception {
        combiner.prepareSnapshotPreBarrier(checkpointId);
        forward();
        OperatorSubtaskState combinerState = combiner.snapshot(checkpointId, timestamp);
        window.prepareSnapshotPreBarrier(checkpointId);
        return new Snapshot(combinerState, window.snapshot(checkpointId, timestamp));
    }

    List<TelemetryAggregate> extractOutputValues() {
        return window.extractOutputValues();
    }

    /** The late events, each carried by a one-event partial to the late side output. */
    List<StreamRecord<TelemetryEvent>> lateEvents() {
        ConcurrentLinkedQueue<StreamRecord<PartialAggregate>> late =
                window.getSideOutput(TelemetryAggregationJob.LATE_PARTIALS);
        return late == null
                ? List.of()
                : late.stream().map(record -> new StreamRecord<>(record.getValue().event)).toList();
    }

    @Override
    public void close() throws Exception {
        try {
            combiner.close();
        } finally {
            window.close();
        }
    }

    @SuppressWarnings("unchecked")
    private void forward() throws Exception {
        Object emitted;
        while ((emitted = combiner.getOutput().poll()) != null) {
            if (emitted instanceof Watermark watermark) {
                window.processWatermark(watermark);
            } else {
                window.processElement((StreamRecord<PartialAggregate>) emitted);
            }
        }
        ConcurrentLinkedQueue<StreamRecord<PartialAggregate>> late =
                window.getSideOutput(TelemetryAggregationJob.LATE_PARTIALS);
        if (late != null && late.stream().anyMatch(record -> record.getValue().event == null)) {
            throw new AssertionError("the window operator saw a late combined partial: " + late);
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
            windowHarness(OneInputStreamOperator<PartialAggregate, TelemetryAggregate> operator)
                    throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                operator, new DeviceMetricKey(), Types.TUPLE(Types.STRING, Types.STRING));
    }

    @SuppressWarnings("unchecked")
    private static <I, O> OneInputStreamOperator<I, O> operator(Object transformation) {
        return ((OneInputTransformation<I, O>) transformation).getOperator();
    }
}

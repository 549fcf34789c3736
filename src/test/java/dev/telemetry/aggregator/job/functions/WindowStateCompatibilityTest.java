package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints and savepoints of builds whose window operator added events one by one restore into
 * the window operator that merges partials: same key type, window state and timers. The earlier
 * operator is rebuilt here as it was (keyed by (deviceId, metric) of the event, adding each value
 * to a {@link TelemetryAccumulator}); its snapshot with an open window is restored into the job's
 * current window operator, which then completes that window.
 */
class WindowStateCompatibilityTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);
    private static final long T0 = 1763683200000L;
    private static final long T1 = T0 + MINUTE.toMillis();

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void windowOpenedByTheEventByEventOperatorCompletesAfterRestoreIntoThePartialMergingOne(
            String backend) throws Exception {
        OperatorSubtaskState snapshot;
        try (KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, TelemetryEvent, TelemetryAggregate>
                before =
                        new KeyedOneInputStreamOperatorTestHarness<>(
                                eventByEventWindowOperator(),
                                new EventKey(),
                                Types.TUPLE(Types.STRING, Types.STRING))) {
            before.setStateBackend(stateBackend(backend));
            before.open();
            before.processElement(
                    new TelemetryEvent("sensor-1", "temperature", 1.5, T0 + 1), T0 + 1);
            before.processElement(
                    new TelemetryEvent("sensor-1", "temperature", 2.5, T0 + 2), T0 + 2);
            before.processElement(new TelemetryEvent("sensor-2", "humidity", 40.0, T0 + 3), T0 + 3);
            before.processWatermark(T0 + 30_000);
            snapshot = before.snapshot(1L, 1L);
        }

        try (KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                after = CombinedWindowHarness.windowOnly(MINUTE, Duration.ZERO)) {
            after.setStateBackend(stateBackend(backend));
            after.setup();
            after.initializeState(snapshot);
            after.open();
            PartialAggregate more = new PartialAggregate("sensor-1", "temperature", T0);
            more.add(-4.0);
            more.add(8.0);
            after.processElement(more, T1 - 1);
            after.processWatermark(T1 - 1);

            List<TelemetryAggregate> results =
                    after.extractOutputValues().stream()
                            .sorted(Comparator.comparing(a -> a.deviceId))
                            .toList();
            assertThat(results)
                    .containsExactly(
                            TelemetryAggregate.of(
                                    "sensor-1",
                                    "temperature",
                                    T0,
                                    T1,
                                    accumulator(1.5, 2.5, -4.0, 8.0)),
                            TelemetryAggregate.of(
                                    "sensor-2", "humidity", T0, T1, accumulator(40.0)));
        }
    }

    /**
     * The previous release's window operator (Flink's own, built by {@code window().aggregate()},
     * without the stored watermark): its snapshot restores into the watermark-keeping one, which
     * then starts without a restored watermark, as before.
     */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void windowOfThePreviousReleaseCompletesAfterRestoreIntoTheWatermarkKeepingOne(String backend)
            throws Exception {
        OperatorSubtaskState snapshot;
        try (KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                before =
                        new KeyedOneInputStreamOperatorTestHarness<>(
                                previousReleaseWindowOperator(),
                                new DeviceMetricKey(),
                                Types.TUPLE(Types.STRING, Types.STRING))) {
            before.setStateBackend(stateBackend(backend));
            before.open();
            PartialAggregate partial = new PartialAggregate("sensor-1", "temperature", T0);
            partial.add(1.5);
            partial.add(2.5);
            before.processElement(partial, T1 - 1);
            before.processWatermark(T0 + 30_000);
            snapshot = before.snapshot(1L, 1L);
        }

        try (KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                after = CombinedWindowHarness.windowOnly(MINUTE, Duration.ZERO)) {
            after.setStateBackend(stateBackend(backend));
            after.setup();
            after.initializeState(snapshot);
            after.open();
            PartialAggregate more = new PartialAggregate("sensor-1", "temperature", T0);
            more.add(-4.0);
            after.processElement(more, T1 - 1);
            after.processWatermark(T1 - 1);

            assertThat(after.extractOutputValues())
                    .containsExactly(
                            TelemetryAggregate.of(
                                    "sensor-1",
                                    "temperature",
                                    T0,
                                    T1,
                                    accumulator(1.5, 2.5, -4.0)));
        }
    }

    /** The window operator as the release before the stored watermark built it. */
    @SuppressWarnings("unchecked")
    private static OneInputStreamOperator<PartialAggregate, TelemetryAggregate>
            previousReleaseWindowOperator() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        SingleOutputStreamOperator<TelemetryAggregate> window =
                env.fromData(new PartialAggregate("x", "y", 0))
                        .keyBy(new DeviceMetricKey())
                        .window(TumblingEventTimeWindows.of(MINUTE))
                        .allowedLateness(Duration.ZERO)
                        .sideOutputLateData(TelemetryAggregationJob.LATE_PARTIALS)
                        .aggregate(new TelemetryAggregator(), new WindowResultFunction());
        return ((OneInputTransformation<PartialAggregate, TelemetryAggregate>)
                        window.getTransformation())
                .getOperator();
    }

    /** The window operator as builds before the combiner had it (uid "window-aggregate"). */
    @SuppressWarnings("unchecked")
    private static OneInputStreamOperator<TelemetryEvent, TelemetryAggregate>
            eventByEventWindowOperator() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        SingleOutputStreamOperator<TelemetryAggregate> window =
                env.fromData(new TelemetryEvent("x", "y", 0.0, 0))
                        .keyBy(new EventKey())
                        .window(TumblingEventTimeWindows.of(MINUTE))
                        .allowedLateness(Duration.ZERO)
                        .sideOutputLateData(new OutputTag<TelemetryEvent>("late-events") {})
                        .aggregate(new EventByEventAggregator(), new WindowResultFunction());
        return ((OneInputTransformation<TelemetryEvent, TelemetryAggregate>)
                        window.getTransformation())
                .getOperator();
    }

    private static TelemetryAccumulator accumulator(double... values) {
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        for (double value : values) {
            accumulator.add(value);
        }
        return accumulator;
    }

    private static StateBackend stateBackend(String name) {
        return name.equals("rocksdb")
                ? new EmbeddedRocksDBStateBackend()
                : new HashMapStateBackend();
    }

    /** The earlier key selector: (deviceId, metric) of an event. */
    private static final class EventKey
            implements KeySelector<TelemetryEvent, Tuple2<String, String>> {
        @Override
        public Tuple2<String, String> getKey(TelemetryEvent event) {
            return Tuple2.of(event.deviceId, event.metric);
        }
    }

    /** The earlier aggregate function: one event at a time into the same accumulator. */
    private static final class EventByEventAggregator
            implements AggregateFunction<
                    TelemetryEvent, TelemetryAccumulator, TelemetryAccumulator> {
        @Override
        public TelemetryAccumulator createAccumulator() {
            return new TelemetryAccumulator();
        }

        @Override
        public TelemetryAccumulator add(TelemetryEvent event, TelemetryAccumulator accumulator) {
            accumulator.add(event.value);
            return accumulator;
        }

        @Override
        public TelemetryAccumulator getResult(TelemetryAccumulator accumulator) {
            return accumulator;
        }

        @Override
        public TelemetryAccumulator merge(TelemetryAccumulator a, TelemetryAccumulator b) {
            a.merge(b);
            return a;
        }
    }
}

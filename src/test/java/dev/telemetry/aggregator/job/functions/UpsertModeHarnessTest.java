package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * Upsert mode in Flink's operator harnesses: the job's window operator with the {@link
 * UpsertTrigger} and revisions, chained to the rollup operator as in the job. A window is written
 * early (processing time, when it has something new), at its end, once per late event within the
 * allowed lateness and a last time, final, when the lateness has passed; each write has the next
 * revision and the whole window so far. A coarse window follows the windows inside it: early, at
 * its end, corrected by each late event, and final. A restore in the middle changes nothing.
 */
class UpsertModeHarnessTest {
    private static final Duration WINDOW = Duration.ofSeconds(10);
    private static final Duration LATENESS = Duration.ofSeconds(20);
    private static final List<RollupLevel> LEVELS =
            List.of(new RollupLevel(Duration.ofSeconds(30), "t-30s"));

    /** A step of the scenario: a partial, a watermark or a processing time. */
    private sealed interface Step {}

    private record Partial(long windowStart, double... values) implements Step {}

    private record EventTime(long watermark) implements Step {}

    private record WallClock(long millis) implements Step {}

    private static final List<Step> SCENARIO =
            List.of(
                    new Partial(0, 1, 2),
                    new WallClock(1_000), // early: [0,10) so far, and the 30 s window with it
                    new WallClock(2_000), // nothing new: nothing written
                    new Partial(0, 3),
                    new EventTime(9_999), // [0,10) at its end
                    new WallClock(3_000), // its early timer finds it closed
                    new Partial(10_000, 10),
                    new EventTime(19_999), // [10,20) at its end
                    new Partial(0, 4), // late, within the lateness: a correction
                    new EventTime(29_999), // [0,10) final; the 30 s window at its end
                    new Partial(10_000, 5), // late: corrects [10,20) and the 30 s window
                    new EventTime(39_999), // [10,20) final
                    new EventTime(49_999), // the 30 s window final
                    new Partial(0, 100)); // past the lateness: a late event

    @Test
    void eachWindowIsWrittenEarlyAtItsEndCorrectedAndFinalOnEveryLevel() throws Exception {
        List<TelemetryAggregate> out;
        List<PartialAggregate> late;
        try (Chain chain = new Chain()) {
            chain.open(null);
            for (Step step : SCENARIO) {
                chain.apply(step);
            }
            out = chain.rollup.extractOutputValues();
            late = chain.late();
        }

        assertThat(out.stream().map(UpsertModeHarnessTest::describe).toList())
                .containsExactly(
                        "[0,10000) r1 count=2",
                        "[0,30000) r1 count=2",
                        "[0,10000) r2 count=3",
                        "[0,30000) r2 count=3",
                        "[10000,20000) r1 count=1",
                        "[0,30000) r3 count=4",
                        "[0,10000) r3 count=4",
                        "[0,30000) r4 count=5",
                        "[0,10000) r4 count=4 final",
                        "[0,30000) r5 count=5",
                        "[10000,20000) r2 count=2",
                        "[0,30000) r6 count=6",
                        "[10000,20000) r3 count=2 final",
                        "[0,30000) r7 count=6 final");
        TelemetryAggregate coarse = out.get(out.size() - 1);
        assertThat(coarse.sum).isEqualTo(1 + 2 + 3 + 10 + 4 + 5);
        assertThat(coarse.min).isEqualTo(1);
        assertThat(coarse.max).isEqualTo(10);
        assertThat(late).extracting(p -> p.windowStart).containsExactly(0L);
    }

    @Test
    void aRestoreAtAnyStepGivesTheSameRevisions() throws Exception {
        List<String> straight;
        try (Chain chain = new Chain()) {
            chain.open(null);
            for (Step step : SCENARIO) {
                chain.apply(step);
            }
            straight = chain.written();
        }
        for (int cut = 1; cut < SCENARIO.size(); cut++) {
            List<String> written = new ArrayList<>();
            Chain.State state;
            try (Chain before = new Chain()) {
                before.open(null);
                for (Step step : SCENARIO.subList(0, cut)) {
                    before.apply(step);
                }
                state = before.snapshot();
                written.addAll(before.written());
            }
            try (Chain after = new Chain()) {
                after.open(state);
                for (Step step : SCENARIO.subList(cut, SCENARIO.size())) {
                    after.apply(step);
                }
                written.addAll(after.written());
            }
            assertThat(written).as("restored after step %d", cut).isEqualTo(straight);
        }
    }

    @Test
    void withoutLatenessOrEarlyResultsEachWindowIsWrittenOnceFinal() throws Exception {
        try (Chain chain = new Chain(Duration.ZERO, null)) {
            chain.open(null);
            chain.apply(new Partial(0, 1));
            chain.apply(new WallClock(5_000));
            chain.apply(new Partial(10_000, 2));
            chain.apply(new EventTime(29_999));
            assertThat(chain.written())
                    .containsExactly(
                            "[0,10000) r1 count=1 final",
                            "[10000,20000) r1 count=1 final",
                            "[0,30000) r1 count=2 final");
        }
    }

    private static String describe(TelemetryAggregate a) {
        return "["
                + a.windowStart
                + ","
                + a.windowEnd
                + ") r"
                + a.revision
                + " count="
                + a.count
                + (a.isFinal ? " final" : "");
    }

    /** The window operator and the rollup operator of the job in upsert mode, chained. */
    private static final class Chain implements AutoCloseable {
        record State(OperatorSubtaskState window, OperatorSubtaskState rollup) {}

        final KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                window;
        final KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, TelemetryAggregate, TelemetryAggregate>
                rollup;
        private int read;

        Chain() throws Exception {
            this(LATENESS, Duration.ofSeconds(1));
        }

        Chain(Duration lateness, Duration early) throws Exception {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            DataStream<TelemetryEvent> events = env.fromData(new TelemetryEvent("x", "y", 0.0, 0));
            var aggregates =
                    TelemetryAggregationJob.aggregatePartials(
                            TelemetryAggregationJob.combinePerWindow(events, WINDOW),
                            WINDOW,
                            lateness,
                            new WindowResultFunction(new double[0], false, true, lateness, true),
                            new UpsertTrigger(lateness, early));
            OneInputTransformation<?, ?> windowTransformation =
                    (OneInputTransformation<?, ?>) aggregates.getTransformation();
            window =
                    new KeyedOneInputStreamOperatorTestHarness<>(
                            operator(windowTransformation),
                            new DeviceMetricKey(),
                            Types.TUPLE(Types.STRING, Types.STRING));
            rollup =
                    new KeyedOneInputStreamOperatorTestHarness<>(
                            new RollupOperator(
                                    WINDOW,
                                    lateness,
                                    LEVELS,
                                    new double[0],
                                    false,
                                    true,
                                    early != null),
                            new RollupOperator.AggregateKey(),
                            Types.TUPLE(Types.STRING, Types.STRING));
        }

        void open(State state) throws Exception {
            window.setup();
            rollup.setup();
            if (state != null) {
                window.initializeState(state.window());
                rollup.initializeState(state.rollup());
            }
            window.open();
            rollup.open();
        }

        void apply(Step step) throws Exception {
            if (step instanceof Partial partial) {
                PartialAggregate aggregate = new PartialAggregate("d", "m", partial.windowStart());
                for (double value : partial.values()) {
                    aggregate.add(value);
                }
                window.processElement(aggregate, partial.windowStart());
            } else if (step instanceof EventTime time) {
                window.processWatermark(time.watermark());
            } else if (step instanceof WallClock clock) {
                window.setProcessingTime(clock.millis());
                rollup.setProcessingTime(clock.millis());
            }
            forward();
        }

        State snapshot() throws Exception {
            return new State(window.snapshot(1, 1), rollup.snapshot(1, 1));
        }

        /** What the rollup operator wrote since the chain was opened, described. */
        List<String> written() {
            return rollup.extractOutputValues().stream()
                    .map(UpsertModeHarnessTest::describe)
                    .toList();
        }

        List<PartialAggregate> late() {
            ConcurrentLinkedQueue<StreamRecord<PartialAggregate>> late =
                    window.getSideOutput(TelemetryAggregationJob.LATE_PARTIALS);
            return late == null ? List.of() : late.stream().map(StreamRecord::getValue).toList();
        }

        @SuppressWarnings("unchecked")
        private void forward() throws Exception {
            List<Object> emitted = new ArrayList<>(window.getOutput());
            for (Object record : emitted.subList(read, emitted.size())) {
                if (record instanceof Watermark watermark) {
                    rollup.processWatermark(watermark);
                } else if (record instanceof StreamRecord<?> element) {
                    rollup.processElement((StreamRecord<TelemetryAggregate>) element);
                }
            }
            read = emitted.size();
        }

        @Override
        public void close() throws Exception {
            try {
                window.close();
            } finally {
                rollup.close();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <I, O> OneInputStreamOperator<I, O> operator(Transformation<?> transformation) {
        return ((OneInputTransformation<I, O>) transformation).getOperator();
    }
}

package dev.telemetry.aggregator.job;

import dev.telemetry.aggregator.job.config.Grouping;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.functions.DeadLetterCounter;
import dev.telemetry.aggregator.job.functions.DeviceMetricKey;
import dev.telemetry.aggregator.job.functions.IdleAdvancingWatermarks;
import dev.telemetry.aggregator.job.functions.LatePartialDeadLetterMapper;
import dev.telemetry.aggregator.job.functions.RejectedRecordSplitter;
import dev.telemetry.aggregator.job.functions.RollupOperator;
import dev.telemetry.aggregator.job.functions.TelemetryAggregator;
import dev.telemetry.aggregator.job.functions.UpsertTrigger;
import dev.telemetry.aggregator.job.functions.WatermarkKeepingWindowOperator;
import dev.telemetry.aggregator.job.functions.WindowPartialCombiner;
import dev.telemetry.aggregator.job.functions.WindowResultFunction;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.state.AppendingState;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.runtime.operators.windowing.WindowOperator;
import org.apache.flink.streaming.runtime.operators.windowing.WindowOperatorBuilder;
import org.apache.flink.util.OutputTag;
import org.apache.flink.util.ParameterTool;
import org.apache.flink.util.clock.SystemClock;

/**
 * The telemetry aggregation topology: Kafka telemetry in, tumbling event-time window aggregates per
 * (device, metric) or per each configured grouping out, rejected and late records to the
 * dead-letter sink. Every grouping goes through the same operators, keyed by (series, metric) (see
 * {@link Grouping}), and the same sink, so all are written in the same transactions.
 *
 * <p>Events are combined per (device, metric, window) before the shuffle (local/global
 * aggregation), so the keyed window operator merges a few partials per window instead of adding
 * every event; the output is the same.
 *
 * <p>Plain Flink: the same class runs embedded in the service and, through {@link #main}, on a
 * Flink cluster. Source and sinks come in through the constructor so tests plug in their own.
 * Operator uids are part of the state contract: changing one orphans that operator's state in
 * existing checkpoints and savepoints.
 *
 * <p>Long because the window operator is built through Flink's builder to keep its state layout
 * ({@code windowOperator}); the topology itself is {@link #build}.
 */
public class TelemetryAggregationJob {
    public static final String JOB_NAME = "telemetry-aggregator";

    /**
     * The Kafka source's name. Flink names its operator {@code "Source: " + SOURCE_NAME} in metrics
     * and in the web UI.
     */
    public static final String SOURCE_NAME = "Kafka telemetry source";

    /**
     * What reaches a window after it closed (plus allowed lateness): late events, each as a partial
     * that carries it (see {@link PartialAggregate#event}).
     */
    public static final OutputTag<PartialAggregate> LATE_PARTIALS =
            new OutputTag<>("late-partials") {};

    private final Source<IngestedRecord, ?, ?> source;
    private final Sink<TelemetryAggregate> aggregateSink;
    private final Sink<DeadLetter> deadLetterSink;
    private final JobOptions options;
    private UnaryOperator<DataStream<TelemetryEvent>> eventStage = UnaryOperator.identity();

    public TelemetryAggregationJob(
            Source<IngestedRecord, ?, ?> source,
            Sink<TelemetryAggregate> aggregateSink,
            Sink<DeadLetter> deadLetterSink,
            JobOptions options) {
        this.source = source;
        this.aggregateSink = aggregateSink;
        this.deadLetterSink = deadLetterSink;
        this.options = options;
    }

    /** The job with its Kafka source and sinks, as it runs in production. */
    public static TelemetryAggregationJob withKafka(JobOptions options) {
        return new TelemetryAggregationJob(
                TelemetryKafka.source(options),
                TelemetryKafka.aggregateSink(options),
                TelemetryKafka.deadLetterSink(options),
                options);
    }

    /**
     * Inserts {@code stage} between parsing and the per-window combining, e.g. a filter or an
     * enrichment added in a later build. Operators it adds must have a uid of their own. A
     * stateless stage can be added or removed across a savepoint freely; removing a stateful one
     * needs {@code allow-non-restored-state} and drops its state.
     */
    public TelemetryAggregationJob withEventStage(UnaryOperator<DataStream<TelemetryEvent>> stage) {
        this.eventStage = stage;
        return this;
    }

    /** Adds the topology to {@code env}. */
    public void build(StreamExecutionEnvironment env) {
        SingleOutputStreamOperator<TelemetryEvent> events =
                env.fromSource(source, watermarkStrategy(options), SOURCE_NAME)
                        .uid("kafka-telemetry-source")
                        .process(new RejectedRecordSplitter())
                        .uid("split-rejected-records")
                        .name("Split off rejected records");

        SingleOutputStreamOperator<PartialAggregate> partials =
                combinePerWindow(
                        eventStage.apply(events),
                        new WindowPartialCombiner(
                                options.windowSize(),
                                WindowPartialCombiner.DEFAULT_MAX_PARTIALS,
                                options.sketchAccuracy(),
                                options.groupings(),
                                options.maxSeries(),
                                options.allowedLateness()));
        SingleOutputStreamOperator<TelemetryAggregate> aggregates =
                aggregatePartials(
                        partials,
                        options.windowSize(),
                        options.allowedLateness(),
                        new WindowResultFunction(
                                options.quantiles(),
                                options.outputSketch(),
                                !options.rollups().isEmpty(),
                                options.allowedLateness(),
                                options.upsert()),
                        options.upsert()
                                ? new UpsertTrigger(
                                        options.allowedLateness(), options.earlyResultsInterval())
                                : null);
        rollUp(aggregates, options)
                .sinkTo(aggregateSink)
                .uid("kafka-aggregates-sink")
                .name("Kafka aggregates sink");

        DataStream<DeadLetter> late =
                aggregates
                        .getSideOutput(LATE_PARTIALS)
                        .filter(new OfGrouping(options.groupBy()))
                        .uid("late-events-once")
                        .name("Late events once (the output topic's grouping)")
                        .map(new LatePartialDeadLetterMapper(options.windowSize()))
                        .uid("late-events-to-dead-letters")
                        .name("Late events to dead letters");
        events.getSideOutput(RejectedRecordSplitter.REJECTED)
                .union(late)
                .map(new DeadLetterCounter(options.deadLetterMaxRecordBytes()))
                .uid("count-dead-letters")
                .name("Count dead letters")
                .sinkTo(deadLetterSink)
                .uid("kafka-dead-letter-sink")
                .name("Kafka dead-letter sink");
    }

    /**
     * The window aggregates followed by each rollup level's ({@link RollupOperator}), for the one
     * aggregates sink, which writes each level to its topic in the same transactions. Chained to
     * the window operator (same keys, same parallelism), so the sketches it hands on are not
     * serialized.
     */
    public static SingleOutputStreamOperator<TelemetryAggregate> rollUp(
            DataStream<TelemetryAggregate> aggregates, JobOptions options) {
        return DataStreamUtils.reinterpretAsKeyedStream(
                        aggregates, new RollupOperator.AggregateKey())
                .transform(
                        "Roll up",
                        TypeInformation.of(TelemetryAggregate.class),
                        new RollupOperator(
                                options.windowSize(),
                                options.allowedLateness(),
                                options.rollups(),
                                options.quantiles(),
                                options.outputSketch(),
                                options.upsert(),
                                options.earlyResultsInterval() != null))
                .uid("rollups");
    }

    /**
     * Per-partition bounded out-of-orderness watermarks (applied in the source, so each Kafka
     * partition is tracked separately), with idleness so a quiet partition does not hold every
     * window open, and, if asked for, advancing with the wall clock after a quiet spell ({@link
     * IdleAdvancingWatermarks}).
     */
    static WatermarkStrategy<IngestedRecord> watermarkStrategy(JobOptions options) {
        if (options.idleAdvance() != null) {
            long outOfOrderness = options.maxOutOfOrderness().toMillis();
            long idleness = options.idleness().toMillis();
            long idleAdvance = options.idleAdvance().toMillis();
            return WatermarkStrategy.<IngestedRecord>forGenerator(
                            context ->
                                    new IdleAdvancingWatermarks<>(
                                            outOfOrderness,
                                            idleness,
                                            idleAdvance,
                                            SystemClock.getInstance()))
                    .withTimestampAssigner(new EventTimestampAssigner());
        }
        WatermarkStrategy<IngestedRecord> strategy =
                WatermarkStrategy.<IngestedRecord>forBoundedOutOfOrderness(
                                options.maxOutOfOrderness())
                        .withTimestampAssigner(new EventTimestampAssigner());
        return options.idleness().isZero() ? strategy : strategy.withIdleness(options.idleness());
    }

    /**
     * Keyed tumbling event-time windows with incremental aggregation: {@link #combinePerWindow}
     * then {@link #aggregatePartials}.
     */
    public static SingleOutputStreamOperator<TelemetryAggregate> aggregateWindows(
            DataStream<TelemetryEvent> events, Duration windowSize, Duration allowedLateness) {
        return aggregatePartials(combinePerWindow(events, windowSize), windowSize, allowedLateness);
    }

    /**
     * Combines events per (device, metric, window) before the shuffle, chained to its input. Holds
     * no partials in checkpoints, only its watermark and, with a series cap, the admitted series
     * (see {@link WindowPartialCombiner}).
     */
    public static SingleOutputStreamOperator<PartialAggregate> combinePerWindow(
            DataStream<TelemetryEvent> events, Duration windowSize) {
        return combinePerWindow(events, windowSize, 0);
    }

    /**
     * As {@link #combinePerWindow(DataStream, Duration)}, each partial sketching its values with
     * this relative accuracy (none for 0).
     */
    public static SingleOutputStreamOperator<PartialAggregate> combinePerWindow(
            DataStream<TelemetryEvent> events, Duration windowSize, double sketchAccuracy) {
        return combinePerWindow(
                events,
                new WindowPartialCombiner(
                        windowSize, WindowPartialCombiner.DEFAULT_MAX_PARTIALS, sketchAccuracy));
    }

    /** The combiner's place in the topology: its name and uid, whatever its settings. */
    private static SingleOutputStreamOperator<PartialAggregate> combinePerWindow(
            DataStream<TelemetryEvent> events, WindowPartialCombiner combiner) {
        return events.transform(
                        "Combine per device, metric and window",
                        TypeInformation.of(PartialAggregate.class),
                        combiner)
                .uid("combine-per-window");
    }

    /**
     * Keyed tumbling event-time windows merging the partials; what arrives behind the watermark
     * (past allowed lateness) goes to {@link #LATE_PARTIALS} instead of being dropped. Key, window
     * state and uid are those of the window that added events one by one, so its checkpoints and
     * savepoints restore.
     */
    public static SingleOutputStreamOperator<TelemetryAggregate> aggregatePartials(
            DataStream<PartialAggregate> partials, Duration windowSize, Duration allowedLateness) {
        return aggregatePartials(partials, windowSize, allowedLateness, new WindowResultFunction());
    }

    /**
     * As {@link #aggregatePartials(DataStream, Duration, Duration)}, each window's result made by
     * {@code result} (with percentiles or the sketch).
     */
    public static SingleOutputStreamOperator<TelemetryAggregate> aggregatePartials(
            DataStream<PartialAggregate> partials,
            Duration windowSize,
            Duration allowedLateness,
            WindowResultFunction result) {
        return aggregatePartials(partials, windowSize, allowedLateness, result, null);
    }

    /**
     * As {@link #aggregatePartials(DataStream, Duration, Duration, WindowResultFunction)}, the
     * windows fired by {@code trigger} ({@link UpsertTrigger}), or by Flink's event-time trigger
     * (at the end, and for each late element within the allowed lateness) if null.
     */
    public static SingleOutputStreamOperator<TelemetryAggregate> aggregatePartials(
            DataStream<PartialAggregate> partials,
            Duration windowSize,
            Duration allowedLateness,
            WindowResultFunction result,
            Trigger<Object, TimeWindow> trigger) {
        KeyedStream<PartialAggregate, Tuple2<String, String>> keyed =
                partials.keyBy(new DeviceMetricKey());
        return keyed.transform(
                        "Aggregate per device and metric",
                        TypeInformation.of(TelemetryAggregate.class),
                        windowOperator(keyed, windowSize, allowedLateness, result, trigger))
                .uid("window-aggregate")
                .name("Aggregate per device and metric");
    }

    /**
     * The window operator that {@code keyed.window(TumblingEventTimeWindows.of(windowSize))
     * .allowedLateness(..).sideOutputLateData(LATE_PARTIALS).aggregate(..)} builds, made by the
     * same builder (so window contents and timers keep their state layout), as a {@link
     * WatermarkKeepingWindowOperator}: its event-time progress survives restores.
     */
    private static WatermarkKeepingWindowOperator<
                    Tuple2<String, String>,
                    PartialAggregate,
                    TelemetryAccumulator,
                    TelemetryAggregate>
            windowOperator(
                    KeyedStream<PartialAggregate, Tuple2<String, String>> keyed,
                    Duration windowSize,
                    Duration allowedLateness,
                    WindowResultFunction result,
                    Trigger<Object, TimeWindow> trigger) {
        TumblingEventTimeWindows assigner = TumblingEventTimeWindows.of(windowSize);
        ExecutionConfig config = keyed.getExecutionConfig();
        WindowOperatorBuilder<PartialAggregate, Tuple2<String, String>, TimeWindow> builder =
                new WindowOperatorBuilder<>(
                        assigner,
                        trigger == null ? assigner.getDefaultTrigger() : trigger,
                        config,
                        keyed.getType(),
                        keyed.getKeySelector(),
                        keyed.getKeyType());
        builder.allowedLateness(allowedLateness);
        builder.sideOutputLateData(LATE_PARTIALS);
        TelemetryAggregator aggregator = new TelemetryAggregator();
        TypeInformation<TelemetryAccumulator> accumulatorType =
                TypeExtractor.getAggregateFunctionAccumulatorType(
                        aggregator, keyed.getType(), null, false);
        @SuppressWarnings("unchecked")
        WindowOperator<
                        Tuple2<String, String>,
                        PartialAggregate,
                        TelemetryAccumulator,
                        TelemetryAggregate,
                        TimeWindow>
                built =
                        (WindowOperator<
                                        Tuple2<String, String>,
                                        PartialAggregate,
                                        TelemetryAccumulator,
                                        TelemetryAggregate,
                                        TimeWindow>)
                                builder.aggregate(aggregator, result, accumulatorType);
        @SuppressWarnings("unchecked")
        StateDescriptor<? extends AppendingState<PartialAggregate, TelemetryAccumulator>, ?>
                contents =
                        (StateDescriptor<
                                        ? extends
                                                AppendingState<
                                                        PartialAggregate, TelemetryAccumulator>,
                                        ?>)
                                built.getStateDescriptor();
        return new WatermarkKeepingWindowOperator<>(
                assigner,
                assigner.getWindowSerializer(config),
                keyed.getKeySelector(),
                keyed.getKeyType().createSerializer(config.getSerializerConfig()),
                contents,
                built.getUserFunction(),
                built.getTrigger(),
                allowedLateness.toMillis(),
                LATE_PARTIALS);
    }

    /**
     * Keeps what belongs to one grouping. A late event reaches the window once per grouping; only
     * the copy of the output topic's grouping becomes its dead letter, so each late event has one.
     */
    static final class OfGrouping implements FilterFunction<PartialAggregate> {
        private static final long serialVersionUID = 1L;

        private final Grouping grouping;
        private final String prefix;

        OfGrouping(Grouping grouping) {
            this.grouping = grouping;
            this.prefix = grouping.seriesPrefix();
        }

        @Override
        public boolean filter(PartialAggregate partial) {
            return grouping.owns(partial.deviceId, prefix);
        }
    }

    /** Reads event time from parsed events; rejected records never advance the watermark. */
    static final class EventTimestampAssigner
            implements SerializableTimestampAssigner<IngestedRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public long extractTimestamp(IngestedRecord record, long recordTimestamp) {
            return record.eventTimestamp();
        }
    }

    /**
     * Runs the job on a Flink cluster. Settings are program arguments with the service's property
     * names, e.g. {@code --kafka.bootstrap-servers kafka:9092 --telemetry.window-size 1m}; state
     * backend and checkpoint storage come from the cluster's configuration.
     */
    public static void main(String[] args) throws Exception {
        ParameterTool arguments = ParameterTool.fromArgs(args);
        JobOptions options = JobOptions.fromSettings(new Settings(arguments.toMap()));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        configure(env, options);
        if (!arguments.has(Settings.PARALLELISM.key())) {
            // On a cluster the deployment's parallelism (e.g. the operator's job.parallelism)
            // applies unless the job is told otherwise.
            env.setParallelism(ExecutionConfig.PARALLELISM_DEFAULT);
        }
        withKafka(options).build(env);
        env.execute(JOB_NAME);
    }

    /**
     * Checkpointing that exactly-once depends on (the sink commits when a checkpoint completes),
     * and where state lives: the heap ({@code hashmap}) or local disk ({@code rocksdb}, optionally
     * with incremental checkpoints), and whether checkpoints may go unaligned. Set on the job, so
     * it wins over a cluster's defaults. Object reuse unless the configuration says otherwise.
     */
    public static void configure(StreamExecutionEnvironment env, JobOptions options) {
        env.setParallelism(options.parallelism());
        env.enableCheckpointing(
                options.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
        env.getCheckpointConfig().setCheckpointTimeout(options.checkpointTimeout().toMillis());
        // A checkpoint that fails (broker away, volume full) only delays the commit of the open
        // transactions; failing the job at once would reprocess from the last checkpoint for
        // nothing. minimumTransactionTimeout() keeps those transactions from expiring meanwhile.
        env.getCheckpointConfig()
                .setTolerableCheckpointFailureNumber(options.tolerableCheckpointFailures());
        // JobOptions.minimumTransactionTimeout() derives how long a transaction can stay open from
        // one checkpoint at a time and no pause between them; a cluster default must not change
        // that under it.
        env.getCheckpointConfig().setMaxConcurrentCheckpoints(1);
        env.getCheckpointConfig().setMinPauseBetweenCheckpoints(0);
        Configuration state = new Configuration();
        state.set(StateBackendOptions.STATE_BACKEND, options.stateBackend());
        state.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, options.incrementalCheckpoints());
        // Catching up after a restart fills the network buffers; an aligned barrier queues behind
        // them (seconds), and with it the first commit of output. Unaligned, it overtakes them and
        // the checkpoint stores the records it overtook.
        state.set(
                CheckpointingOptions.ENABLE_UNALIGNED, options.alignedCheckpointTimeout() != null);
        if (options.alignedCheckpointTimeout() != null) {
            state.set(
                    CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT,
                    options.alignedCheckpointTimeout());
        }
        env.configure(state);
        if (env.getConfiguration().getOptional(PipelineOptions.OBJECT_REUSE).isEmpty()) {
            // Without reuse Flink deep-copies every record between chained operators. Safe here:
            // no function keeps or changes a record it was given after passing it on (the
            // combiner and the window keep their own accumulators, not the events; the combiner
            // emits a partial that carries an event at once and never changes a partial it has
            // emitted).
            env.getConfig().enableObjectReuse();
        }
    }
}

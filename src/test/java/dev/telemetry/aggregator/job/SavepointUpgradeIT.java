package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upgrades across a savepoint, as an operator does them: stop the running job with a savepoint
 * while input flows, start the next build from it. A build with one more stateless operator
 * restores without {@code allow-non-restored-state} and the output stays exactly-once; a build that
 * lost a stateful operator is refused unless non-restored state is allowed.
 */
class SavepointUpgradeIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_704_800_000L;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    @TempDir Path savepoints;

    @Test
    void savepointRestoresIntoABuildWithOneMoreStatelessOperator() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        JobOptions options = options(topics);
        // 20 devices x 2 metrics, an event every 250 ms of event time each: 30 s of event time.
        List<Event> events = TelemetryFixtures.events("sensor-", 20, 2, 120, START, 250, 0, 5);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        PacedInput paced = new PacedInput(topics.input(), PARTITIONS, events, 0, 2);

        JobClient current = start(options, UnaryOperator.identity(), new Configuration());
        TelemetryFixtures.awaitReadingEveryPartition(
                kafka, topics.input(), PARTITIONS, START, options.groupId());
        Thread producer = paced.sendInBackground(kafka, 0);
        // Mid-stream: once a checkpoint of this run has completed, with input still arriving.
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(
                        () ->
                                kafka.committedOffsetSum(options.groupId(), topics.input())
                                        > PARTITIONS);
        String savepoint = stopWithSavepoint(current);
        producer.join(Duration.ofMinutes(1).toMillis());
        assertThat(producer.isAlive()).isFalse();
        int beforeUpgrade =
                TelemetryFixtures.parseAggregates(
                                kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30)))
                        .size();
        assertThat(beforeUpgrade)
                .as("the savepoint was taken with windows still open")
                .isLessThan(expected.size());

        // The upgraded build: the same job with a new stateless operator in the event path.
        MetricNameNormalizer.EVENTS.set(0);
        Configuration restore = new Configuration();
        restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        restore.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, false);
        JobClient upgraded =
                start(
                        options,
                        stream ->
                                stream.map(new MetricNameNormalizer())
                                        .uid("normalize-metric-names")
                                        .name("Normalize metric names"),
                        restore);
        try {
            kafka.send(paced.chunk(1));
            kafka.awaitCheckpointed(options.groupId(), topics.input(), Duration.ofMinutes(1));
            kafka.send(
                    TelemetryFixtures.watermarkFlush(
                            topics.input(), PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(1),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            assertThat(MetricNameNormalizer.EVENTS)
                    .as("the new operator is in the event path")
                    .hasPositiveValue();
        } finally {
            upgraded.cancel().get(30, TimeUnit.SECONDS);
        }
        assertThat(kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(10)))
                .as("no event was late")
                .isEmpty();
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                expected);
    }

    @Test
    void savepointWithStateOfARemovedOperatorNeedsAllowNonRestoredState() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        JobOptions options = options(topics);
        List<Event> first = TelemetryFixtures.events("sensor-", 5, 2, 10, START, 250, 0, 6);
        List<Event> second =
                TelemetryFixtures.events("sensor-", 5, 2, 10, START + 10_000, 250, 0, 7);
        List<Event> all = new ArrayList<>(first);
        all.addAll(second);

        // The old build has a stateful operator (it counts events in operator state).
        JobClient old =
                start(
                        options,
                        stream -> stream.map(new CountingStage()).uid("count-events"),
                        new Configuration());
        TelemetryFixtures.awaitReadingEveryPartition(
                kafka, topics.input(), PARTITIONS, START, options.groupId());
        kafka.send(first.stream().map(e -> e.toRecord(topics.input(), PARTITIONS)).toList());
        kafka.awaitCheckpointed(options.groupId(), topics.input(), Duration.ofMinutes(1));
        String savepoint = stopWithSavepoint(old);

        Configuration strict = new Configuration();
        strict.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        assertThatThrownBy(
                        () ->
                                start(options, UnaryOperator.identity(), strict)
                                        .getJobExecutionResult()
                                        .get(1, TimeUnit.MINUTES))
                .as("the new build has no operator for the count-events state")
                .hasStackTraceContaining("Cannot map checkpoint/savepoint state for operator")
                .hasStackTraceContaining("allowNonRestoredState");

        // What TELEMETRY_ALLOW_NON_RESTORED_STATE=true sets in the service.
        Configuration lenient = new Configuration();
        lenient.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        lenient.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
        JobClient upgraded = start(options, UnaryOperator.identity(), lenient);
        try {
            kafka.send(second.stream().map(e -> e.toRecord(topics.input(), PARTITIONS)).toList());
            kafka.awaitCheckpointed(options.groupId(), topics.input(), Duration.ofMinutes(1));
            kafka.send(
                    TelemetryFixtures.watermarkFlush(
                            topics.input(), PARTITIONS, START + 3_600_000));
            Map<AggregateKey, Aggregate> expected =
                    TelemetryFixtures.expectedAggregates(all, WINDOW_MILLIS);
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(1),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            upgraded.cancel().get(30, TimeUnit.SECONDS);
            TelemetryFixtures.assertExactlyOnce(
                    TelemetryFixtures.parseAggregates(
                            kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                    expected);
        } finally {
            if (!upgraded.getJobStatus().get().isGloballyTerminalState()) {
                upgraded.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Event-time progress survives a restore at another parallelism: window A fires and is
     * committed at parallelism 2, the job stops with a savepoint and resumes from it at parallelism
     * 1; events of A that arrive then are late (dead letters), not a second aggregate of A. Flink
     * does not checkpoint watermarks; the window operator and the combiner keep theirs in union
     * list state, restored as the minimum (window) and maximum (combiner) over the old subtasks.
     */
    @Test
    void lateEventsAfterARestoreAtAnotherParallelismAreLateAgain() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        JobOptions before = options(topics, 2);
        List<Event> onTime = new ArrayList<>();
        List<Event> late = new ArrayList<>();
        for (int d = 0; d < 8; d++) {
            onTime.add(new Event("device-" + d, "temperature", d, START + 100));
            late.add(new Event("device-" + d, "temperature", 100 + d, START + 500));
        }
        for (int d = 0; d < 8; d++) {
            onTime.add(new Event("device-" + d, "temperature", d + 1, START + 4_000));
        }

        JobClient first = start(before, UnaryOperator.identity(), new Configuration());
        TelemetryFixtures.awaitReadingEveryPartition(
                kafka, topics.input(), PARTITIONS, START, before.groupId());
        // Every device on every partition, so each partition's watermark passes window A.
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            for (Event event : onTime) {
                records.add(onPartition(topics.input(), p, event));
            }
        }
        kafka.send(records);
        kafka.readCommitted(
                topics.output(),
                Duration.ofMinutes(1),
                read -> TelemetryFixtures.parseAggregates(read).size() >= 8);
        String savepoint = stopWithSavepoint(first);

        Configuration restore = new Configuration();
        restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        JobClient rescaled = start(options(topics, 1), UnaryOperator.identity(), restore);
        try {
            kafka.send(late.stream().map(event -> onPartition(topics.input(), 0, event)).toList());
            kafka.awaitCheckpointed(before.groupId(), topics.input(), Duration.ofMinutes(1));
            kafka.send(
                    TelemetryFixtures.watermarkFlush(
                            topics.input(), PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    topics.deadLetters(),
                    Duration.ofMinutes(1),
                    read -> read.size() >= late.size());
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(1),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= 16);
        } finally {
            rescaled.cancel().get(30, TimeUnit.SECONDS);
        }
        List<Event> everyPartition = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            everyPartition.addAll(onTime);
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                TelemetryFixtures.expectedAggregates(everyPartition, WINDOW_MILLIS));
        assertThat(kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(30)))
                .extracting(
                        record ->
                                TelemetryFixtures.header(record, "dlq.reason")
                                        + " "
                                        + new String(record.value(), StandardCharsets.UTF_8))
                .containsExactlyInAnyOrderElementsOf(
                        late.stream().map(event -> "late " + event.json()).toList());
    }

    private static ProducerRecord<byte[], byte[]> onPartition(
            String topic, int partition, Event event) {
        return new ProducerRecord<>(
                topic,
                partition,
                event.deviceId().getBytes(StandardCharsets.UTF_8),
                event.json().getBytes(StandardCharsets.UTF_8));
    }

    private static JobOptions options(KafkaTestClient.TestTopics topics, int parallelism) {
        String group = "upgrade-it-" + topics.input();
        return TelemetryPipelineIT.options(
                kafka,
                Map.ofEntries(
                        Map.entry(Settings.INPUT_TOPICS.key(), topics.input()),
                        Map.entry(Settings.OUTPUT_TOPIC.key(), topics.output()),
                        Map.entry(Settings.DEAD_LETTER_TOPIC.key(), topics.deadLetters()),
                        Map.entry(Settings.WINDOW_SIZE.key(), WINDOW_MILLIS + "ms"),
                        Map.entry(Settings.MAX_OUT_OF_ORDERNESS.key(), "1s"),
                        Map.entry(Settings.IDLENESS.key(), "0s"),
                        Map.entry(Settings.TRANSACTIONAL_ID_PREFIX.key(), group),
                        Map.entry(Settings.GROUP_ID.key(), group),
                        Map.entry(Settings.PARALLELISM.key(), Integer.toString(parallelism))));
    }

    private static JobOptions options(KafkaTestClient.TestTopics topics) {
        String group = "upgrade-it-" + topics.input();
        return TelemetryPipelineIT.options(
                kafka,
                Map.of(
                        Settings.INPUT_TOPICS.key(),
                        topics.input(),
                        Settings.OUTPUT_TOPIC.key(),
                        topics.output(),
                        Settings.DEAD_LETTER_TOPIC.key(),
                        topics.deadLetters(),
                        Settings.WINDOW_SIZE.key(),
                        WINDOW_MILLIS + "ms",
                        Settings.MAX_OUT_OF_ORDERNESS.key(),
                        "1s",
                        Settings.IDLENESS.key(),
                        "3s",
                        Settings.TRANSACTIONAL_ID_PREFIX.key(),
                        group,
                        Settings.GROUP_ID.key(),
                        group));
    }

    private static JobClient start(
            JobOptions options,
            UnaryOperator<DataStream<TelemetryEvent>> eventStage,
            Configuration configuration)
            throws Exception {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(configuration);
        TelemetryAggregationJob.configure(env, options);
        TelemetryAggregationJob.withKafka(options).withEventStage(eventStage).build(env);
        return env.executeAsync(TelemetryAggregationJob.JOB_NAME);
    }

    private String stopWithSavepoint(JobClient job) throws Exception {
        // Flink refuses to snapshot until every task runs; the first checkpoint proves they do.
        return job.stopWithSavepoint(
                        false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                .get(1, TimeUnit.MINUTES);
    }

    /**
     * The upgrade's new operator: stateless, lower-cases metric names (the input's already are).
     */
    static final class MetricNameNormalizer implements MapFunction<TelemetryEvent, TelemetryEvent> {
        private static final long serialVersionUID = 1L;

        /** Events seen; static because the MiniCluster runs in the test's JVM. */
        static final AtomicLong EVENTS = new AtomicLong();

        @Override
        public TelemetryEvent map(TelemetryEvent event) {
            EVENTS.incrementAndGet();
            event.metric = event.metric.toLowerCase(Locale.ROOT);
            return event;
        }
    }

    /** A stateful operator the next build drops: counts events in operator (list) state. */
    static final class CountingStage
            implements MapFunction<TelemetryEvent, TelemetryEvent>, CheckpointedFunction {
        private static final long serialVersionUID = 1L;

        private transient ListState<Long> state;
        private long count;

        @Override
        public TelemetryEvent map(TelemetryEvent event) {
            count++;
            return event;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            state.update(List.of(count));
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            state =
                    context.getOperatorStateStore()
                            .getListState(new ListStateDescriptor<>("count", Types.LONG));
            for (Long restored : state.get()) {
                count += restored;
            }
        }
    }
}

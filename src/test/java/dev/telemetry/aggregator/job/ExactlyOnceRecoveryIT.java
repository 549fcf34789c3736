package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import dev.telemetry.aggregator.testing.FailOnceDeserializationSchema;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Exactly-once under a failure inside Flink: the task fails after a checkpoint completed, while a
 * Kafka transaction holds uncommitted aggregates; after the restart from that checkpoint a {@code
 * read_committed} reader sees every expected aggregate exactly once.
 */
class ExactlyOnceRecoveryIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 5_000;
    private static final long START = 1_763_690_400_000L;
    private static final String TRIGGER = "\"deviceId\":\"poison\"";

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    @Test
    void failureAfterCompletedCheckpointNeitherLosesNorDuplicatesAggregates() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        String output = KafkaTestClient.uniqueTopic("aggregates");
        String deadLetters = KafkaTestClient.uniqueTopic("dlq");
        String group = "recovery-it-" + input;
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, 2);
        kafka.createTopic(deadLetters, 1);

        List<Event> beforeCheckpoint =
                TelemetryFixtures.events("sensor-", 5, 2, 30, START, 1_000, 500, 1);
        List<Event> afterCheckpoint =
                TelemetryFixtures.events("sensor-", 5, 2, 30, START + 30_000, 1_000, 500, 2);
        Event poison = new Event("poison", "metric-0", 7.25, START + 45_000);
        List<Event> all = new ArrayList<>(beforeCheckpoint);
        all.addAll(afterCheckpoint);
        all.add(poison);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(all, WINDOW_MILLIS);

        JobOptions options =
                TelemetryPipelineIT.options(
                        kafka,
                        Map.of(
                                Settings.INPUT_TOPICS.key(), input,
                                Settings.OUTPUT_TOPIC.key(), output,
                                Settings.DEAD_LETTER_TOPIC.key(), deadLetters,
                                Settings.WINDOW_SIZE.key(), WINDOW_MILLIS + "ms",
                                Settings.CHECKPOINT_INTERVAL.key(), "1s",
                                Settings.TRANSACTIONAL_ID_PREFIX.key(), group,
                                Settings.GROUP_ID.key(), group));
        Configuration restart = new Configuration();
        restart.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        restart.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        restart.set(
                RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(restart);
        TelemetryAggregationJob.configure(env, options);
        FailOnceDeserializationSchema.FAILURES.set(0);
        new TelemetryAggregationJob(
                        TelemetryKafka.source(
                                options,
                                new FailOnceDeserializationSchema(
                                        options.eventTime(), options.eventTimeBounds(), TRIGGER)),
                        TelemetryKafka.aggregateSink(options),
                        TelemetryKafka.deadLetterSink(options),
                        options)
                .build(env);
        JobClient job = env.executeAsync("exactly-once-recovery-it");
        try {
            kafka.send(beforeCheckpoint.stream().map(e -> e.toRecord(input, PARTITIONS)).toList());
            // A completed checkpoint commits the group's offsets: wait until it covers all of it.
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() -> kafka.committedOffsetSum(group, input) == beforeCheckpoint.size());

            // Moves every partition's watermark on, so the first windows fire into the
            // transaction that is open when the failure hits.
            kafka.send(afterCheckpoint.stream().map(e -> e.toRecord(input, PARTITIONS)).toList());
            kafka.send(List.of(poison.toRecord(input, PARTITIONS)));
            kafka.awaitCheckpointed(group, input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));

            List<Aggregate> committed =
                    TelemetryFixtures.parseAggregates(
                            kafka.readCommitted(
                                    output,
                                    Duration.ofMinutes(2),
                                    read ->
                                            TelemetryFixtures.parseAggregates(read).size()
                                                    >= expected.size()));
            assertThat(FailOnceDeserializationSchema.FAILURES)
                    .as("the injected failure happened")
                    .hasValue(1);
            assertThat(committed).hasSizeGreaterThanOrEqualTo(expected.size());
        } finally {
            job.cancel().get();
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30))),
                expected);
    }
}

package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * Operator uids are the job's state contract: a savepoint's state is matched to operators by uid,
 * so a changed uid silently orphans that operator's state (or stops the restore). This test pins
 * every operator's uid; if it fails, you changed one: change it back.
 */
class OperatorUidsTest {

    @Test
    void everyOperatorHasItsFixedUid() {
        assertThat(uidsByOperator(TelemetryAggregationJob.withKafka(options())))
                .containsExactlyInAnyOrderEntriesOf(
                        Map.ofEntries(
                                Map.entry(
                                        "Source: Kafka telemetry source", "kafka-telemetry-source"),
                                Map.entry("Split off rejected records", "split-rejected-records"),
                                Map.entry(
                                        "Combine per device, metric and window",
                                        "combine-per-window"),
                                Map.entry("Aggregate per device and metric", "window-aggregate"),
                                Map.entry("Roll up", "rollups"),
                                Map.entry(
                                        "Late events once (the output topic's grouping)",
                                        "late-events-once"),
                                Map.entry(
                                        "Late events to dead letters",
                                        "late-events-to-dead-letters"),
                                Map.entry("Count dead letters", "count-dead-letters"),
                                Map.entry("Kafka aggregates sink: Writer", "kafka-aggregates-sink"),
                                // Flink derives the committers' uids from the sinks'.
                                Map.entry(
                                        "Kafka aggregates sink: Committer",
                                        "Sink Committer: kafka-aggregates-sink"),
                                Map.entry(
                                        "Kafka dead-letter sink: Writer", "kafka-dead-letter-sink"),
                                Map.entry(
                                        "Kafka dead-letter sink: Committer",
                                        "Sink Committer: kafka-dead-letter-sink")));
    }

    private static Map<String, String> uidsByOperator(TelemetryAggregationJob job) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TelemetryAggregationJob.configure(env, options());
        job.build(env);
        Collection<StreamNode> nodes = env.getStreamGraph().getStreamNodes();
        Map<String, String> uids = new TreeMap<>();
        for (StreamNode node : nodes) {
            uids.put(node.getOperatorName(), node.getTransformationUID());
        }
        return uids;
    }

    private static JobOptions options() {
        return JobOptions.fromSettings(
                new Settings(Map.of(Settings.BOOTSTRAP_SERVERS.key(), "127.0.0.1:9")));
    }
}

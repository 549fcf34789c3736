package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * {@code telemetry.state.backend} and {@code telemetry.checkpoint.incremental}: validated like
 * every setting, and set on the job by {@link TelemetryAggregationJob#configure}.
 */
class StateBackendSettingsTest {

    @Test
    void defaultIsTheHeapBackendWithFullCheckpoints() {
        JobOptions options = JobOptions.fromSettings(settings());

        assertThat(options.stateBackend()).isEqualTo("hashmap");
        assertThat(options.incrementalCheckpoints()).isFalse();
    }

    @Test
    void rocksDbWithIncrementalCheckpointsIsAccepted() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                Settings.STATE_BACKEND.key(),
                                "RocksDB",
                                Settings.CHECKPOINT_INCREMENTAL.key(),
                                "true"));

        assertThat(options.stateBackend()).isEqualTo("rocksdb");
        assertThat(options.incrementalCheckpoints()).isTrue();
    }

    @Test
    void unknownBackendNamesTheSettingAndTheChoices() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(Settings.STATE_BACKEND.key(), "forst")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_STATE_BACKEND")
                .hasMessageContaining("hashmap, rocksdb");
    }

    @Test
    void incrementalCheckpointsWithTheHeapBackendAreRefused() {
        // Flink would quietly write full checkpoints; the operator asked for something else.
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(Settings.CHECKPOINT_INCREMENTAL.key(), "true")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_CHECKPOINT_INCREMENTAL")
                .hasMessageContaining("TELEMETRY_STATE_BACKEND=rocksdb");
    }

    @Test
    void configureSetsTheBackendOnTheJob() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();

        TelemetryAggregationJob.configure(
                env,
                JobOptions.fromSettings(
                        settings(
                                Settings.STATE_BACKEND.key(),
                                "rocksdb",
                                Settings.CHECKPOINT_INCREMENTAL.key(),
                                "true")));

        assertThat(env.getConfiguration().get(StateBackendOptions.STATE_BACKEND))
                .isEqualTo("rocksdb");
        assertThat(env.getConfiguration().get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS))
                .isTrue();
    }

    private static Settings settings(String... nameValuePairs) {
        Map<String, String> values = new HashMap<>();
        values.put(Settings.BOOTSTRAP_SERVERS.key(), "broker-1:9092");
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            values.put(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return new Settings(values);
    }
}

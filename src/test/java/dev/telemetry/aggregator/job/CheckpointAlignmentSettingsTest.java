package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * {@code telemetry.checkpoint.aligned-timeout}: unaligned checkpoints from the start by default, a
 * timeout after which they go unaligned, or {@code off}; set on the job by {@link
 * TelemetryAggregationJob#configure}.
 */
class CheckpointAlignmentSettingsTest {

    @Test
    void defaultIsUnalignedFromTheStart() {
        StreamExecutionEnvironment env = configured(Map.of());

        assertThat(env.getConfiguration().get(CheckpointingOptions.ENABLE_UNALIGNED)).isTrue();
        assertThat(env.getConfiguration().get(CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT))
                .isZero();
    }

    @Test
    void aTimeoutAlignsFirstAndGoesUnalignedAfterIt() {
        StreamExecutionEnvironment env =
                configured(Map.of(Settings.CHECKPOINT_ALIGNED_TIMEOUT.key(), "2s"));

        assertThat(env.getConfiguration().get(CheckpointingOptions.ENABLE_UNALIGNED)).isTrue();
        assertThat(env.getConfiguration().get(CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT))
                .isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void offAlwaysAligns() {
        StreamExecutionEnvironment env =
                configured(Map.of(Settings.CHECKPOINT_ALIGNED_TIMEOUT.key(), "OFF"));

        assertThat(env.getConfiguration().get(CheckpointingOptions.ENABLE_UNALIGNED)).isFalse();
    }

    @Test
    void somethingElseNamesTheSettingAndItsVariable() {
        assertThatThrownBy(
                        () ->
                                configured(
                                        Map.of(Settings.CHECKPOINT_ALIGNED_TIMEOUT.key(), "never")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("telemetry.checkpoint.aligned-timeout")
                .hasMessageContaining("TELEMETRY_CHECKPOINT_ALIGNED_TIMEOUT")
                .hasMessageContaining("'never'");
    }

    private static StreamExecutionEnvironment configured(Map<String, String> values) {
        Map<String, String> all = new HashMap<>(values);
        all.put(Settings.BOOTSTRAP_SERVERS.key(), "broker-1:9092");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TelemetryAggregationJob.configure(env, JobOptions.fromSettings(new Settings(all)));
        return env;
    }
}

package dev.telemetry.aggregator.service.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code telemetry.flink.*} pass-through keys: anything that would move, drop or reinterpret the
 * snapshots on the checkpoint volume, or change the checkpoint timing the transaction timeout is
 * derived from, is refused at start-up with the key and the reason; other keys pass through.
 */
class FlinkPassThroughTest {

    @ParameterizedTest
    @CsvSource({
        // key, what the message must say (the setting to use, or why)
        "execution.checkpointing.storage, the checkpoint volume",
        "execution.checkpointing.dir, TELEMETRY_CHECKPOINT_DIR",
        "state.checkpoints.dir, TELEMETRY_CHECKPOINT_DIR",
        "execution.checkpointing.savepoint-dir, TELEMETRY_CHECKPOINT_DIR",
        "execution.checkpointing.externalized-checkpoint-retention, the checkpoint volume",
        "execution.checkpointing.num-retained, TELEMETRY_CHECKPOINT_RETAINED",
        "execution.checkpointing.create-subdir, the checkpoint volume",
        "execution.state-recovery.path, TELEMETRY_RESTORE_FROM",
        "execution.state-recovery.claim-mode, TELEMETRY_RESTORE_FROM",
        "execution.state-recovery.ignore-unclaimed-state, TELEMETRY_ALLOW_NON_RESTORED_STATE",
        "execution.checkpointing.interval, TELEMETRY_CHECKPOINT_INTERVAL",
        "execution.checkpointing.timeout, TELEMETRY_CHECKPOINT_TIMEOUT",
        "execution.checkpointing.tolerable-failed-checkpoints,"
                + " TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES",
        "execution.checkpointing.min-pause, transaction timeout",
        "execution.checkpointing.max-concurrent-checkpoints, transaction timeout",
    })
    void keysThatChangeWhereOrHowSnapshotsAreKeptAreRefused(String key, String says) {
        assertThatThrownBy(() -> ServiceOptions.flinkConfiguration(Map.of(key, "x")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("telemetry.flink.\"" + key + "\"")
                .hasMessageContaining(says);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "state.backend.rocksdb.localdir",
                "taskmanager.memory.managed.size",
                "pipeline.object-reuse"
            })
    void otherKeysPassThrough(String key) {
        assertThat(ServiceOptions.flinkConfiguration(Map.of(key, "v"))).containsEntry(key, "v");
    }
}

package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.InvalidSettingException;
import dev.telemetry.aggregator.job.JobOptions;
import dev.telemetry.aggregator.job.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.StateBackendOptions;

/**
 * The validated settings of the service around the job: the checkpoint volume, topic creation,
 * restart policy and shutdown. The job's own settings are {@link JobOptions}.
 */
public record ServiceOptions(
        JobOptions job,
        Path checkpointDir,
        int retainedCheckpoints,
        boolean createTopics,
        Optional<Integer> topicPartitions,
        Optional<Short> topicReplicationFactor,
        int restartAttempts,
        Duration restartInitialBackoff,
        Duration restartMaxBackoff,
        Duration shutdownTimeout,
        Duration kafkaStartupTimeout,
        int readinessCheckpointIntervals,
        Optional<Path> restoreFrom,
        boolean allowNonRestoredState,
        boolean stopWithSavepoint,
        Map<String, String> flinkConfiguration,
        AdminOptions admin) {

    static final String CHECKPOINT_DIR = "telemetry.checkpoint.dir";
    static final String CHECKPOINT_RETAINED = "telemetry.checkpoint.retained";
    static final String TOPICS_CREATE = "telemetry.topics.create";
    static final String TOPICS_PARTITIONS = "telemetry.topics.partitions";
    static final String TOPICS_REPLICATION_FACTOR = "telemetry.topics.replication-factor";
    static final String RESTART_MAX_ATTEMPTS = "telemetry.restart.max-attempts";
    static final String RESTART_INITIAL_BACKOFF = "telemetry.restart.initial-backoff";
    static final String RESTART_MAX_BACKOFF = "telemetry.restart.max-backoff";
    static final String SHUTDOWN_TIMEOUT = "telemetry.shutdown-timeout";
    static final String KAFKA_STARTUP_TIMEOUT = "kafka.startup-timeout";
    static final String RESTORE_FROM = "telemetry.restore-from";
    static final String ALLOW_NON_RESTORED_STATE = "telemetry.allow-non-restored-state";
    static final String STOP_WITH_SAVEPOINT = "telemetry.stop-with-savepoint";
    static final String READINESS_CHECKPOINT_INTERVALS =
            "telemetry.health.max-checkpoint-lag-intervals";

    /** Parses and validates both configuration mappings; throws {@link InvalidSettingException}. */
    public static ServiceOptions from(TelemetryConfiguration telemetry, KafkaConfiguration kafka) {
        Map<String, String> values = new HashMap<>(telemetry.toSettings());
        values.putAll(kafka.toSettings());
        values.put(CHECKPOINT_DIR, telemetry.checkpoint().dir());
        values.put(CHECKPOINT_RETAINED, telemetry.checkpoint().retained());
        values.put(TOPICS_CREATE, telemetry.topics().create());
        telemetry.topics().partitions().ifPresent(value -> values.put(TOPICS_PARTITIONS, value));
        telemetry
                .topics()
                .replicationFactor()
                .ifPresent(value -> values.put(TOPICS_REPLICATION_FACTOR, value));
        values.put(RESTART_MAX_ATTEMPTS, telemetry.restart().maxAttempts());
        values.put(RESTART_INITIAL_BACKOFF, telemetry.restart().initialBackoff());
        values.put(RESTART_MAX_BACKOFF, telemetry.restart().maxBackoff());
        values.put(SHUTDOWN_TIMEOUT, telemetry.shutdownTimeout());
        values.put(KAFKA_STARTUP_TIMEOUT, kafka.startupTimeout());
        values.put(READINESS_CHECKPOINT_INTERVALS, telemetry.health().maxCheckpointLagIntervals());
        telemetry.restoreFrom().ifPresent(value -> values.put(RESTORE_FROM, value));
        values.put(ALLOW_NON_RESTORED_STATE, telemetry.allowNonRestoredState());
        values.put(STOP_WITH_SAVEPOINT, telemetry.stopWithSavepoint());
        Settings settings = new Settings(values);

        int replicationFactor =
                settings.optional(TOPICS_REPLICATION_FACTOR).isPresent()
                        ? settings.positiveInt(TOPICS_REPLICATION_FACTOR)
                        : -1;
        if (replicationFactor > Short.MAX_VALUE) {
            throw new InvalidSettingException(TOPICS_REPLICATION_FACTOR, "is too large");
        }
        return new ServiceOptions(
                JobOptions.fromSettings(settings),
                checkpointDir(settings.required(CHECKPOINT_DIR)),
                settings.positiveInt(CHECKPOINT_RETAINED),
                settings.bool(TOPICS_CREATE),
                settings.optional(TOPICS_PARTITIONS)
                        .map(ignored -> settings.positiveInt(TOPICS_PARTITIONS)),
                replicationFactor > 0 ? Optional.of((short) replicationFactor) : Optional.empty(),
                settings.positiveInt(RESTART_MAX_ATTEMPTS),
                settings.duration(RESTART_INITIAL_BACKOFF),
                settings.duration(RESTART_MAX_BACKOFF),
                settings.duration(SHUTDOWN_TIMEOUT),
                settings.duration(KAFKA_STARTUP_TIMEOUT),
                settings.positiveInt(READINESS_CHECKPOINT_INTERVALS),
                settings.optional(RESTORE_FROM).map(ServiceOptions::restorePath),
                settings.bool(ALLOW_NON_RESTORED_STATE),
                settings.bool(STOP_WITH_SAVEPOINT),
                flinkConfiguration(telemetry.flink()),
                AdminOptions.from(telemetry.admin()));
    }

    /** The same service options around other job options. */
    public ServiceOptions withJob(JobOptions other) {
        return new ServiceOptions(
                other,
                checkpointDir,
                retainedCheckpoints,
                createTopics,
                topicPartitions,
                topicReplicationFactor,
                restartAttempts,
                restartInitialBackoff,
                restartMaxBackoff,
                shutdownTimeout,
                kafkaStartupTimeout,
                readinessCheckpointIntervals,
                restoreFrom,
                allowNonRestoredState,
                stopWithSavepoint,
                flinkConfiguration,
                admin);
    }

    /**
     * Flink settings that have a setting of their own here would be silently overridden by the
     * job's configuration: say which one to use instead.
     */
    private static Map<String, String> flinkConfiguration(Map<String, String> flink) {
        Map<String, String> typed =
                Map.of(
                        StateBackendOptions.STATE_BACKEND.key(), Settings.STATE_BACKEND,
                        CheckpointingOptions.INCREMENTAL_CHECKPOINTS.key(),
                                Settings.CHECKPOINT_INCREMENTAL);
        typed.forEach(
                (flinkKey, setting) -> {
                    if (flink.containsKey(flinkKey)) {
                        throw new InvalidSettingException(
                                "telemetry.flink.\"" + flinkKey + "\"",
                                "use "
                                        + setting
                                        + " ("
                                        + Settings.environmentVariable(setting)
                                        + ") instead");
                    }
                });
        return Map.copyOf(flink);
    }

    /**
     * The snapshot to restore, as an absolute directory ({@code .../_metadata} is taken as its
     * directory). Whether it exists and is readable is checked at start-up, and only while it has
     * not been applied yet: once it has, it may be deleted (by the operator, or because it was a
     * checkpoint of this volume that Flink's retention removed) while the setting stays in the
     * deployment, and later starts must not fail because of it.
     */
    private static Path restorePath(String text) {
        Path path;
        try {
            path = Paths.get(text.startsWith("file:") ? text.substring("file:".length()) : text);
        } catch (RuntimeException e) {
            throw new InvalidSettingException(RESTORE_FROM, "'" + text + "' is not a path");
        }
        if (path.getFileName() != null
                && path.getFileName().toString().equals(CheckpointLocator.METADATA)) {
            path = path.getParent();
        }
        return path.toAbsolutePath().normalize();
    }

    /**
     * Checks that a requested snapshot is there and readable, before it is restored.
     *
     * @throws InvalidSettingException naming the setting if it is not
     */
    static CheckpointLocator.Snapshot requestedSnapshot(Path path) {
        if (!Files.isDirectory(path)) {
            throw new InvalidSettingException(
                    RESTORE_FROM, "'" + path + "' does not exist or is not a directory");
        }
        try {
            return CheckpointLocator.read(path);
        } catch (CheckpointLocator.UnusableSnapshotException e) {
            throw new InvalidSettingException(
                    RESTORE_FROM,
                    "'"
                            + path
                            + "' is not a savepoint or completed checkpoint with readable"
                            + " _metadata: "
                            + e.rejected().problem());
        }
    }

    private static Path checkpointDir(String text) {
        try {
            return Paths.get(text).toAbsolutePath().normalize();
        } catch (RuntimeException e) {
            throw new InvalidSettingException(CHECKPOINT_DIR, "'" + text + "' is not a path");
        }
    }
}

package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;

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

    public static final String CHECKPOINT_DIR = "telemetry.checkpoint.dir";
    static final String CHECKPOINT_RETAINED = "telemetry.checkpoint.retained";
    public static final String TOPICS_CREATE = "telemetry.topics.create";
    static final String TOPICS_PARTITIONS = "telemetry.topics.partitions";
    static final String TOPICS_REPLICATION_FACTOR = "telemetry.topics.replication-factor";
    static final String RESTART_MAX_ATTEMPTS = "telemetry.restart.max-attempts";
    static final String RESTART_INITIAL_BACKOFF = "telemetry.restart.initial-backoff";
    static final String RESTART_MAX_BACKOFF = "telemetry.restart.max-backoff";
    static final String SHUTDOWN_TIMEOUT = "telemetry.shutdown-timeout";
    public static final String KAFKA_STARTUP_TIMEOUT = "kafka.startup-timeout";
    public static final String RESTORE_FROM = "telemetry.restore-from";
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
     * Flink keys the service sets itself, refused under {@code telemetry.flink}, with what to do
     * instead. Those with a setting of their own here would be silently overridden by it; the
     * others decide where and how snapshots are kept, and the service's restore (it finds, orders,
     * retains and restores snapshots in {@code <checkpoint dir>/<job id>/chk-N} and {@code
     * <checkpoint dir>/savepoints}), or the checkpoint timing that {@link
     * JobOptions#minimumTransactionTimeout()} derives the transaction timeout from, depends on
     * them. A pass-through value would make the service restore an older snapshot, delete one it
     * should keep, or let a transaction expire before its commit.
     */
    private static final Map<ConfigOption<?>, String> REFUSED_FLINK_KEYS =
            Map.ofEntries(
                    Map.entry(StateBackendOptions.STATE_BACKEND, use(Settings.STATE_BACKEND)),
                    Map.entry(
                            CheckpointingOptions.INCREMENTAL_CHECKPOINTS,
                            use(Settings.CHECKPOINT_INCREMENTAL)),
                    Map.entry(
                            CheckpointingOptions.CHECKPOINT_STORAGE,
                            "checkpoints must go to the checkpoint volume ("
                                    + Settings.environmentVariable(CHECKPOINT_DIR)
                                    + "), the only place the service restores from"),
                    Map.entry(CheckpointingOptions.CHECKPOINTS_DIRECTORY, use(CHECKPOINT_DIR)),
                    Map.entry(
                            CheckpointingOptions.SAVEPOINT_DIRECTORY,
                            "savepoints go to <"
                                    + Settings.environmentVariable(CHECKPOINT_DIR)
                                    + ">/savepoints, where the service finds them; set "
                                    + Settings.environmentVariable(CHECKPOINT_DIR)
                                    + " instead"),
                    Map.entry(
                            CheckpointingOptions.CREATE_CHECKPOINT_SUB_DIR,
                            "the service finds snapshots on the checkpoint volume by their"
                                    + " <job id>/chk-N layout"),
                    Map.entry(
                            CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                            "the service restores from checkpoints retained on the checkpoint"
                                    + " volume after a stop or crash; another retention would"
                                    + " delete them and the next start would reprocess or lose"
                                    + " state"),
                    Map.entry(
                            CheckpointingOptions.MAX_RETAINED_CHECKPOINTS,
                            use(CHECKPOINT_RETAINED)),
                    Map.entry(StateRecoveryOptions.SAVEPOINT_PATH, use(RESTORE_FROM)),
                    Map.entry(
                            StateRecoveryOptions.RESTORE_MODE,
                            "the service chooses it: NO_CLAIM for a snapshot named by "
                                    + Settings.environmentVariable(RESTORE_FROM)
                                    + ", CLAIM for the volume's own"),
                    Map.entry(
                            StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE,
                            use(ALLOW_NON_RESTORED_STATE)),
                    Map.entry(
                            CheckpointingOptions.CHECKPOINTING_INTERVAL,
                            use(Settings.CHECKPOINT_INTERVAL)),
                    Map.entry(
                            CheckpointingOptions.CHECKPOINTING_INTERVAL_DURING_BACKLOG,
                            "the transaction timeout is checked against "
                                    + Settings.environmentVariable(Settings.CHECKPOINT_INTERVAL)
                                    + " alone"),
                    Map.entry(
                            CheckpointingOptions.CHECKPOINTING_TIMEOUT,
                            use(Settings.CHECKPOINT_TIMEOUT)),
                    Map.entry(
                            CheckpointingOptions.TOLERABLE_FAILURE_NUMBER,
                            use(Settings.CHECKPOINT_TOLERABLE_FAILURES)),
                    Map.entry(
                            CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS,
                            "the transaction timeout's minimum is derived from checkpoints"
                                    + " without a pause between them"),
                    Map.entry(
                            CheckpointingOptions.MAX_CONCURRENT_CHECKPOINTS,
                            "the transaction timeout's minimum is derived from one checkpoint"
                                    + " at a time"),
                    Map.entry(
                            CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE,
                            "exactly-once output needs exactly-once checkpoints; use "
                                    + Settings.environmentVariable(Settings.DELIVERY_GUARANTEE)));

    private static String use(String setting) {
        return "use " + setting + " (" + Settings.environmentVariable(setting) + ") instead";
    }

    /**
     * The pass-through Flink configuration, after refusing the keys (and their deprecated
     * spellings) of {@link #REFUSED_FLINK_KEYS}.
     */
    static Map<String, String> flinkConfiguration(Map<String, String> flink) {
        REFUSED_FLINK_KEYS.forEach(
                (option, instead) -> {
                    List<String> names = new ArrayList<>();
                    names.add(option.key());
                    option.fallbackKeys().forEach(fallback -> names.add(fallback.getKey()));
                    for (String name : names) {
                        if (flink.containsKey(name)) {
                            throw new InvalidSettingException(
                                    "telemetry.flink.\"" + name + "\"",
                                    "the service sets this Flink key itself: " + instead);
                        }
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
    public static CheckpointLocator.Snapshot requestedSnapshot(Path path) {
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

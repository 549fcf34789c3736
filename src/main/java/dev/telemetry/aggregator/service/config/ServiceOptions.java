package dev.telemetry.aggregator.service.config;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Setting;
import dev.telemetry.aggregator.job.config.Settings;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.runtime.state.filesystem.AbstractFsCheckpointStorageAccess;

/**
 * The validated settings of the service around the job: the checkpoint volume, topic creation,
 * restart policy and shutdown. The job's own settings are {@link JobOptions}.
 *
 * <p>Long because a third of it declares the service's settings and another third refuses, with
 * what to do instead, the Flink keys the service sets itself.
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

    public static final Setting<String> CHECKPOINT_DIR =
            Setting.text(
                    "telemetry.checkpoint.dir",
                    "/data/checkpoints",
                    "The checkpoint volume: checkpoints, savepoints and the service's records of"
                            + " them. A restart resumes from the newest completed snapshot in it.");
    public static final Setting<Integer> CHECKPOINT_RETAINED =
            Setting.positiveInt(
                    "telemetry.checkpoint.retained",
                    "3",
                    "How many completed checkpoints are kept.");
    public static final Setting<Boolean> TOPICS_CREATE =
            Setting.bool(
                    "telemetry.topics.create",
                    "true",
                    "Create missing input, output and dead-letter topics at start-up.");
    public static final Setting<Integer> TOPICS_PARTITIONS =
            Setting.positiveInt(
                    "telemetry.topics.partitions",
                    null,
                    "Partitions of created topics; unset: the broker's default.");
    public static final Setting<Integer> TOPICS_REPLICATION_FACTOR =
            Setting.positiveInt(
                    "telemetry.topics.replication-factor",
                    null,
                    "Replication factor of created topics; unset: the broker's default.");
    public static final Setting<Integer> RESTART_MAX_ATTEMPTS =
            Setting.positiveInt(
                    "telemetry.restart.max-attempts",
                    "10",
                    "Failed restarts of the job (with exponential delay) before the process exits"
                            + " non-zero and the container runtime restarts it.");
    public static final Setting<Duration> RESTART_INITIAL_BACKOFF =
            Setting.duration(
                    "telemetry.restart.initial-backoff",
                    "1s",
                    "The delay before the first restart.");
    public static final Setting<Duration> RESTART_MAX_BACKOFF =
            Setting.duration(
                    "telemetry.restart.max-backoff", "1m", "The longest delay between restarts.");
    public static final Setting<Duration> SHUTDOWN_TIMEOUT =
            Setting.duration(
                    "telemetry.shutdown-timeout",
                    "20s",
                    "Bounded wait on SIGTERM for the stop-with-savepoint (then cancel) and the"
                            + " cluster to close; keep it below the orchestrator's grace period"
                            + " (Kubernetes: 30s by default).");
    public static final Setting<Duration> KAFKA_STARTUP_TIMEOUT =
            Setting.duration(
                    "kafka.startup-timeout",
                    "60s",
                    "How long start-up waits for the broker (topic checks, transaction limits).");
    public static final Setting<String> RESTORE_FROM =
            Setting.text(
                    "telemetry.restore-from",
                    null,
                    "A savepoint or checkpoint directory to start from instead of the newest"
                            + " snapshot on the volume. Applied once: after the first snapshot that"
                            + " follows the restore, a marker on the volume remembers it, so later"
                            + " restarts resume from the newest snapshot again.");
    public static final Setting<Boolean> ALLOW_NON_RESTORED_STATE =
            Setting.bool(
                    "telemetry.allow-non-restored-state",
                    "false",
                    "Restore even if the snapshot has state for operators this build no longer"
                            + " has.");
    public static final Setting<Boolean> STOP_WITH_SAVEPOINT =
            Setting.bool(
                    "telemetry.stop-with-savepoint",
                    "true",
                    "On SIGTERM, stop the job with a savepoint (falling back to cancel) rather than"
                            + " cancel it.");
    public static final Setting<Integer> READINESS_CHECKPOINT_INTERVALS =
            Setting.positiveInt(
                    "telemetry.health.max-checkpoint-lag-intervals",
                    "6",
                    "Readiness turns DOWN when no checkpoint has completed for this many checkpoint"
                            + " intervals: output is committed only at checkpoints.");

    /**
     * Extra Flink configuration for the embedded cluster: {@code
     * telemetry.flink."state.backend.rocksdb.localdir"}.
     */
    public static final String FLINK_PREFIX = "telemetry.flink.";

    /** Every service setting: those declared above and the admin API's. */
    public static final List<Setting<?>> ALL =
            Stream.concat(
                            Setting.declaredIn(ServiceOptions.class).stream(),
                            Setting.declaredIn(AdminOptions.class).stream())
                    .sorted(Comparator.comparing(Setting::key))
                    .toList();

    /**
     * Parses and validates the service's and the job's settings.
     *
     * @param flink the pass-through Flink configuration ({@link #FLINK_PREFIX})
     * @throws InvalidSettingException naming the first invalid setting
     */
    public static ServiceOptions from(Settings settings, Map<String, String> flink) {
        Optional<Integer> replicationFactor = settings.find(TOPICS_REPLICATION_FACTOR);
        if (replicationFactor.filter(factor -> factor > Short.MAX_VALUE).isPresent()) {
            throw new InvalidSettingException(TOPICS_REPLICATION_FACTOR, "is too large");
        }
        return new ServiceOptions(
                JobOptions.fromSettings(settings),
                checkpointDir(settings.get(CHECKPOINT_DIR)),
                settings.get(CHECKPOINT_RETAINED),
                settings.get(TOPICS_CREATE),
                settings.find(TOPICS_PARTITIONS),
                replicationFactor.map(Integer::shortValue),
                settings.get(RESTART_MAX_ATTEMPTS),
                settings.get(RESTART_INITIAL_BACKOFF),
                settings.get(RESTART_MAX_BACKOFF),
                settings.get(SHUTDOWN_TIMEOUT),
                settings.get(KAFKA_STARTUP_TIMEOUT),
                settings.get(READINESS_CHECKPOINT_INTERVALS),
                settings.find(RESTORE_FROM).map(ServiceOptions::restorePath),
                settings.get(ALLOW_NON_RESTORED_STATE),
                settings.get(STOP_WITH_SAVEPOINT),
                flinkConfiguration(flink),
                AdminOptions.from(settings));
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

    private static String use(Setting<?> setting) {
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
                && path.getFileName()
                        .toString()
                        .equals(AbstractFsCheckpointStorageAccess.METADATA_FILE_NAME)) {
            path = path.getParent();
        }
        return path.toAbsolutePath().normalize();
    }

    private static Path checkpointDir(String text) {
        try {
            return Paths.get(text).toAbsolutePath().normalize();
        } catch (RuntimeException e) {
            throw new InvalidSettingException(CHECKPOINT_DIR, "'" + text + "' is not a path");
        }
    }
}

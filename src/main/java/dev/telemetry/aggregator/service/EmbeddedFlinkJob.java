package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.deployment.executors.PipelineExecutorUtils;
import org.apache.flink.configuration.BlobServerOptions;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.PipelineOptionsInternal;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.util.StateMigrationException;
import org.jboss.logging.Logger;

/**
 * Owns the embedded Flink MiniCluster and the telemetry job: validates the configuration, checks
 * Kafka, restores from the newest completed checkpoint on the volume, runs the job, and stops both
 * on shutdown with a bounded wait. If the job fails for good (its restart strategy is exhausted)
 * the process exits non-zero, so the container runtime restarts it from the last checkpoint.
 */
@ApplicationScoped
public class EmbeddedFlinkJob {
    private static final Logger LOG = Logger.getLogger(EmbeddedFlinkJob.class);

    /** How often start-up looks whether every task runs, to trigger the first checkpoint. */
    private static final Duration FIRST_CHECKPOINT_POLL = Duration.ofMillis(100);

    /**
     * A fixed job id keeps every run's checkpoints in one {@code <dir>/<job-id>} directory, so
     * restarts continue its checkpoint numbering instead of leaving a directory per run behind.
     */
    public static final JobID JOB_ID = fixedJobId(TelemetryAggregationJob.JOB_NAME);

    @Inject ServiceOptions configured;
    @Inject MeterRegistry meterRegistry;

    private volatile MiniCluster miniCluster;
    private volatile ScratchDirectory scratch;
    private volatile ServiceOptions options;
    private volatile Optional<RestorePlan.Restore> restore = Optional.empty();
    private volatile CheckpointVolume.Lock volumeLock;
    private volatile boolean snapshotCompleted;
    private volatile boolean stopping;
    private volatile JobResult terminalResult;
    private volatile Instant submittedAt;

    void onStart(@Observes StartupEvent event) throws Exception {
        try {
            start();
        } catch (IllegalArgumentException | IllegalStateException e) {
            // Quarkus reports this as "Failed to start quarkus" followed by its own stack frames;
            // one line with what to change comes first, where an operator looks.
            LOG.errorf("Cannot start: %s", e.getMessage());
            throw e;
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        stop();
    }

    synchronized void start() throws Exception {
        ServiceOptions serviceOptions = configured;
        this.options = serviceOptions;
        // The lock comes before anything reads or deletes snapshots, and before the cluster
        // starts: a second instance on the same volume stops here, in a second. The write probe
        // first, so a read-only or full volume is reported as such.
        CheckpointVolume.proveWritable(serviceOptions.checkpointDir());
        CheckpointVolume.Lock lock = CheckpointVolume.lock(serviceOptions.checkpointDir());
        this.volumeLock = lock;
        try {
            startHoldingTheLock(serviceOptions);
        } catch (Exception | Error e) {
            if (miniCluster == null) {
                volumeLock = null;
                lock.close();
            }
            throw e;
        }
    }

    private void startHoldingTheLock(ServiceOptions serviceOptions) throws Exception {
        if (!serviceOptions.job().kafkaProperties().isEmpty()) {
            // Names only: values may be secrets.
            LOG.infof(
                    "Kafka client properties passed to every client: %s",
                    serviceOptions.job().kafkaProperties().keySet().stream().sorted().toList());
        }
        // The cluster boots first (seconds of class loading and actor-system start): the volume
        // scan (reading back the newest checkpoint's metadata), the Kafka preflight and building
        // the job happen meanwhile. After a crash this is most of the time until processing
        // resumes. Only the job's configuration names the snapshot to restore.
        ScratchDirectory scratch = ScratchDirectory.create(ScratchDirectory.defaultParent());
        this.scratch = scratch;
        CompletableFuture<MiniCluster> clusterStart =
                startCluster(
                        flinkConfiguration(serviceOptions, scratch.path(), Optional.empty()),
                        serviceOptions.job().parallelism());
        Optional<RestorePlan.Restore> restore;
        StreamGraph prepared;
        try {
            RestorePlan.Plan plan =
                    RestorePlan.prepare(
                            serviceOptions.checkpointDir(),
                            serviceOptions.retainedCheckpoints(),
                            serviceOptions.restoreFrom());
            Optional<CheckpointLocator.Snapshot> newest = plan.newestOnVolume();
            restore = plan.restore();
            this.restore = restore;
            try (KafkaPreflight preflight =
                    new KafkaPreflight(
                            serviceOptions.job(), serviceOptions.kafkaStartupTimeout())) {
                preflight.check(serviceOptions);
                preflight.checkNotAFork(
                        serviceOptions,
                        newest.isPresent(),
                        restore.map(RestorePlan.Restore::snapshot));
                serviceOptions =
                        serviceOptions.withJob(
                                serviceOptions
                                        .job()
                                        .withDeadLetterMaxRecordBytes(
                                                preflight.deadLetterMaxRecordBytes(
                                                        serviceOptions.job())));
                this.options = serviceOptions;
            }
            Configuration configuration =
                    flinkConfiguration(serviceOptions, scratch.path(), restore);
            StreamExecutionEnvironment env = new StreamExecutionEnvironment(configuration);
            TelemetryAggregationJob.configure(env, serviceOptions.job());
            TelemetryAggregationJob.withKafka(serviceOptions.job()).build(env);
            StreamGraph graph = env.getStreamGraph();
            graph.setJobName(TelemetryAggregationJob.JOB_NAME);
            prepared = PipelineExecutorUtils.getStreamGraph(graph, configuration);
        } catch (Exception | Error e) {
            clusterStart.whenComplete(
                    (cluster, failed) -> {
                        if (cluster != null) {
                            closeQuietly(cluster);
                        }
                        scratch.close();
                    });
            throw e;
        }
        MiniCluster cluster;
        try {
            cluster = clusterStart.join();
        } catch (CompletionException e) {
            scratch.close();
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
        this.miniCluster = cluster;
        cluster.submitJob(prepared).get(1, TimeUnit.MINUTES);
        submittedAt = Instant.now();
        cluster.requestJobResult(JOB_ID).whenComplete(this::onJobTerminated);
        checkpointOnceAllTasksRun(cluster, serviceOptions.job().checkpointTimeout());
        recordFirstCompletedSnapshot();
        LOG.infof(
                "Job %s submitted: %s -> %s (dead letters: %s), %s windows, %s, checkpoints every"
                        + " %s in %s, %s",
                JOB_ID,
                serviceOptions.job().inputTopicPattern() != null
                        ? "pattern " + serviceOptions.job().inputTopicPattern()
                        : serviceOptions.job().inputTopics(),
                serviceOptions.job().outputTopic(),
                serviceOptions.job().deadLetterTopic(),
                serviceOptions.job().windowSize(),
                serviceOptions.job().deliveryGuarantee(),
                serviceOptions.job().checkpointInterval(),
                serviceOptions.checkpointDir(),
                restore.map(r -> "restored from " + r.snapshot().path())
                        .orElse(
                                "no checkpoint to restore: starting at "
                                        + serviceOptions.job().startPosition()));
    }

    private CompletableFuture<MiniCluster> startCluster(
            Configuration configuration, int parallelism) {
        CompletableFuture<MiniCluster> started = new CompletableFuture<>();
        Thread starter =
                new Thread(
                        () -> {
                            MiniCluster cluster =
                                    new ReportingMiniCluster(
                                            new MiniClusterConfiguration.Builder()
                                                    .setConfiguration(configuration)
                                                    .setNumTaskManagers(1)
                                                    .setNumSlotsPerTaskManager(parallelism)
                                                    .build(),
                                            new FlinkMicrometerReporter(meterRegistry));
                            try {
                                cluster.start();
                                started.complete(cluster);
                            } catch (Throwable e) {
                                closeQuietly(cluster);
                                started.completeExceptionally(e);
                            }
                        },
                        "flink-minicluster-start");
        starter.setDaemon(true);
        starter.start();
        return started;
    }

    private static void closeQuietly(MiniCluster cluster) {
        try {
            cluster.close();
        } catch (Exception e) {
            LOG.debug("Closing the Flink MiniCluster after a failed start-up failed too", e);
        }
    }

    /** How often the first completed snapshot of this run is looked for. */
    private static final Duration SNAPSHOT_POLL = Duration.ofMillis(200);

    /**
     * Waits in the background for this run's first completed checkpoint (or savepoint), then
     * records it (see {@link #onFirstSnapshotCompleted}). Ends when the job ends or stops.
     */
    private void recordFirstCompletedSnapshot() {
        Thread watcher =
                new Thread(
                        () -> {
                            while (!stopping && !snapshotCompleted && terminalResult == null) {
                                Optional<AccessExecutionGraph> graph =
                                        executionGraph(Duration.ofSeconds(1));
                                if (graph.isPresent()
                                        && graph.get().getState().isGloballyTerminalState()) {
                                    return;
                                }
                                if (graph.map(EmbeddedFlinkJob::hasCompletedSnapshot)
                                        .orElse(false)) {
                                    onFirstSnapshotCompleted();
                                    return;
                                }
                                try {
                                    Thread.sleep(SNAPSHOT_POLL.toMillis());
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        },
                        "first-snapshot-watcher");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static boolean hasCompletedSnapshot(AccessExecutionGraph graph) {
        CheckpointStatsSnapshot stats = graph.getCheckpointStatsSnapshot();
        return stats != null
                && (stats.getHistory().getLatestCompletedCheckpoint() != null
                        || stats.getHistory().getLatestSavepoint() != null);
    }

    /**
     * This run completed a snapshot, so what it restored has taken effect: a requested restore is
     * recorded as applied (the next start resumes from the volume's newest snapshot), and an
     * earlier failed restore is forgotten.
     */
    private synchronized void onFirstSnapshotCompleted() {
        if (snapshotCompleted) {
            return;
        }
        snapshotCompleted = true;
        Path dir = options.checkpointDir();
        try {
            Optional<RestorePlan.Restore> explicit = restore.filter(RestorePlan.Restore::explicit);
            if (explicit.isPresent()) {
                RestorePlan.markApplied(dir, options.restoreFrom().orElseThrow());
                LOG.infof(
                        "Restore from %s applied: this run completed a snapshot after it",
                        explicit.get().snapshot().path());
            }
            RestorePlan.clearFailure(dir);
        } catch (IOException e) {
            // The next start then restores the requested snapshot again, unless the pending
            // record and a newer snapshot on the volume show it took effect.
            LOG.errorf("Cannot record the applied restore in %s: %s", dir, e.toString());
        }
    }

    /**
     * Whether a job failure is a failure to restore state (as opposed to, say, Kafka being
     * unreachable): Flink's messages for a snapshot that does not fit the job (the JobMaster's
     * "Failed to rollback to checkpoint/savepoint"), state that cannot be restored (a task's
     * "Exception while creating StreamOperatorStateContext" / "Could not restore ... backend",
     * which is also how lost state files show), or an incompatible serializer. A bare missing file
     * elsewhere in the chain does not count: a checkpoint volume lost at runtime is not a restore
     * failure.
     */
    static boolean isRestoreFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = String.valueOf(t.getMessage());
            if (message.contains("Failed to rollback to checkpoint/savepoint")
                    || message.contains("StreamOperatorStateContext")
                    || message.contains("Could not restore")
                    || t instanceof StateMigrationException) {
                return true;
            }
        }
        return false;
    }

    static Configuration flinkConfiguration(
            ServiceOptions options, Path scratch, Optional<RestorePlan.Restore> restore) {
        Configuration configuration = new Configuration();
        configuration.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        configuration.set(
                CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                options.checkpointDir().toUri().toString());
        configuration.set(
                CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, options.retainedCheckpoints());
        configuration.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        configuration.set(
                CheckpointingOptions.CHECKPOINTING_INTERVAL, options.job().checkpointInterval());
        configuration.set(
                CheckpointingOptions.CHECKPOINTING_TIMEOUT, options.job().checkpointTimeout());

        configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        configuration.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                options.restartInitialBackoff());
        configuration.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                options.restartMaxBackoff());
        configuration.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                options.restartAttempts());

        bindToLoopback(configuration);
        configuration.set(TaskManagerOptions.NUM_TASK_SLOTS, options.job().parallelism());

        // Scratch files (blobs, spilling, uploads, RocksDB's native library and local state) go
        // to this run's directory under the temp dir: in a read-only container it and the
        // checkpoint volume are the only writable places.
        String tmp = scratch.toString();
        configuration.set(CoreOptions.TMP_DIRS, tmp);
        configuration.set(BlobServerOptions.STORAGE_DIRECTORY, tmp);
        configuration.set(WebOptions.TMP_DIR, tmp);

        options.flinkConfiguration().forEach(configuration::setString);

        // Not overridable: they are what makes restore-from-the-volume work.
        configuration.set(PipelineOptionsInternal.PIPELINE_FIXED_JOB_ID, JOB_ID.toHexString());
        configuration.set(PipelineOptions.CLASSPATHS, List.of(jobCodeLocation().toString()));
        configuration.set(CoreOptions.CHECK_LEAKED_CLASSLOADER, false);
        restore.ifPresent(
                chosen -> {
                    configuration.set(
                            StateRecoveryOptions.SAVEPOINT_PATH,
                            chosen.snapshot().path().toString());
                    configuration.set(
                            StateRecoveryOptions.RESTORE_MODE,
                            chosen.explicit()
                                    ? RecoveryClaimMode.NO_CLAIM
                                    : RecoveryClaimMode.CLAIM);
                    configuration.set(
                            StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE,
                            options.allowNonRestoredState());
                });
        return configuration;
    }

    /** The embedded cluster serves nobody outside this process. */
    static void bindToLoopback(Configuration configuration) {
        configuration.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
        configuration.set(JobManagerOptions.ADDRESS, "127.0.0.1");
        configuration.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
        configuration.set(TaskManagerOptions.HOST, "127.0.0.1");
        configuration.set(RestOptions.ADDRESS, "127.0.0.1");
        configuration.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        configuration.set(RestOptions.BIND_PORT, "0");
    }

    /**
     * Where the job's classes are (the application jar, or {@code target/classes} in dev and
     * tests). Flink loads user code from {@code pipeline.classpaths}; without it Flink falls back
     * to the system class loader, which under Quarkus cannot see the application's classes.
     */
    static URL jobCodeLocation() {
        CodeSource source = TelemetryAggregationJob.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            throw new IllegalStateException(
                    "Cannot locate the job classes: " + TelemetryAggregationJob.class.getName());
        }
        URL location = source.getLocation();
        try {
            // Normalise so Flink gets a plain file URL even if the class loader adds decorations.
            return Paths.get(location.toURI()).toUri().toURL();
        } catch (URISyntaxException | MalformedURLException | RuntimeException e) {
            return location;
        }
    }

    private void onJobTerminated(JobResult result, Throwable error) {
        terminalResult = result;
        if (stopping) {
            return;
        }
        if (error != null) {
            LOG.error("Lost track of the Flink job; exiting so the service is restarted", error);
        } else {
            Optional<Throwable> cause =
                    result.getSerializedThrowable()
                            .map(t -> t.deserializeError(getClass().getClassLoader()));
            // A missing ACL (revoked while running, or on a topic created at start) said plainly.
            cause.flatMap(c -> new KafkaAccess(options.job()).explain(c)).ifPresent(LOG::error);
            recordFailedRestore(cause);
            LOG.errorf(
                    cause.orElse(null),
                    "The Flink job ended with %s after its restart strategy was exhausted or it"
                            + " stopped unexpectedly; exiting with status 1 so the service is"
                            + " restarted from the last completed checkpoint",
                    result.getApplicationStatus());
        }
        Quarkus.asyncExit(1);
    }

    /**
     * If this run restored a snapshot, failed restoring it and completed no snapshot of its own,
     * records that, so the next start stops with instructions instead of failing the same way.
     */
    private void recordFailedRestore(Optional<Throwable> cause) {
        Optional<RestorePlan.Restore> restored = restore;
        if (snapshotCompleted
                || restored.isEmpty()
                || cause.filter(EmbeddedFlinkJob::isRestoreFailure).isEmpty()) {
            return;
        }
        Path snapshot = restored.get().snapshot().path();
        Throwable root = cause.get();
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        try {
            RestorePlan.markFailed(options.checkpointDir(), snapshot, root.toString());
        } catch (IOException e) {
            LOG.errorf("Cannot record the failed restore in %s: %s", options.checkpointDir(), e);
        }
        LOG.errorf(
                "Restoring %s failed: %s. The next start stops with what to do (see %s)",
                snapshot, root, options.checkpointDir().resolve(RestorePlan.FAILED));
    }

    synchronized void stop() {
        stopping = true;
        MiniCluster cluster = miniCluster;
        if (cluster == null) {
            return;
        }
        Duration timeout = options.shutdownTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            JobStatus status = cluster.getJobStatus(JOB_ID).get(5, TimeUnit.SECONDS);
            if (!status.isGloballyTerminalState()) {
                if (!(options.stopWithSavepoint()
                        && status == JobStatus.RUNNING
                        && stoppedWithSavepoint(cluster, deadline))) {
                    LOG.infof("Cancelling job %s (%s)", JOB_ID, status);
                    cluster.cancelJob(JOB_ID).get(remaining(deadline), TimeUnit.NANOSECONDS);
                }
                cluster.requestJobResult(JOB_ID).get(remaining(deadline), TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            // Closing the cluster below still stops the tasks; the restart restores from the
            // last completed checkpoint either way.
            LOG.warnf("Job did not stop cleanly within %s: %s", timeout, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            cluster.closeAsync()
                    .get(
                            Math.max(remaining(deadline), TimeUnit.SECONDS.toNanos(5)),
                            TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warnf("Embedded Flink cluster did not close within %s: %s", timeout, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        miniCluster = null;
        scratch.close();
        CheckpointVolume.Lock lock = volumeLock;
        volumeLock = null;
        if (lock != null) {
            lock.close();
        }
    }

    /**
     * Stops the job with a savepoint on the volume: its transactions are committed and the next
     * start resumes exactly there. Leaves a few seconds of the shutdown budget for cancelling if
     * the savepoint cannot complete in time.
     */
    private boolean stoppedWithSavepoint(MiniCluster cluster, long deadline)
            throws InterruptedException {
        long budget = remaining(deadline) - TimeUnit.SECONDS.toNanos(5);
        if (budget <= 0) {
            return false;
        }
        Path savepoints = savepointDirectory(options);
        LOG.infof("Stopping job %s with a savepoint in %s", JOB_ID, savepoints);
        try {
            String path =
                    cluster.stopWithSavepoint(
                                    JOB_ID,
                                    savepoints.toUri().toString(),
                                    false,
                                    SavepointFormatType.CANONICAL)
                            .get(budget, TimeUnit.NANOSECONDS);
            LOG.infof("Stopped with savepoint %s", path);
            // The savepoint is this run's snapshot: what it restored has taken effect.
            onFirstSnapshotCompleted();
            return true;
        } catch (ExecutionException | TimeoutException e) {
            // The job keeps running after a failed stop-with-savepoint; cancelling leaves the
            // last completed checkpoint as the restore point, which loses nothing either.
            LOG.warnf(
                    "Stop with savepoint did not complete (%s); cancelling instead, the next start"
                            + " resumes from the last completed checkpoint",
                    e.toString());
            return false;
        }
    }

    private static Path savepointDirectory(ServiceOptions options) {
        return options.checkpointDir().resolve(CheckpointLocator.SAVEPOINTS);
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    /**
     * Triggers a savepoint into {@code <checkpoint dir>/savepoints} and waits for it, at most the
     * checkpoint timeout; returns its path. The job keeps running.
     *
     * @throws IllegalStateException if the job is not running
     */
    public String triggerSavepoint()
            throws ExecutionException, InterruptedException, TimeoutException {
        MiniCluster cluster = miniCluster;
        ServiceOptions current = options;
        if (cluster == null || stopping) {
            throw new IllegalStateException("The job is not running");
        }
        AccessExecutionGraph graph =
                executionGraph(Duration.ofSeconds(5))
                        .orElseThrow(() -> new IllegalStateException("The job is not answering"));
        if (graph.getState() != JobStatus.RUNNING) {
            throw new IllegalStateException("The job is " + graph.getState() + ", not RUNNING");
        }
        // RUNNING is the job's state; its tasks may still be deploying, and Flink refuses to
        // snapshot until every task runs. Say so plainly instead of failing the savepoint.
        if (!allTasksRunning(graph)) {
            throw new IllegalStateException(
                    "The job's tasks are not all running yet; try again in a few seconds");
        }
        Path savepoints = savepointDirectory(current);
        LOG.infof("Triggering a savepoint in %s (admin request)", savepoints);
        String path =
                cluster.triggerSavepoint(
                                JOB_ID,
                                savepoints.toUri().toString(),
                                false,
                                SavepointFormatType.CANONICAL)
                        .get(current.job().checkpointTimeout().toMillis(), TimeUnit.MILLISECONDS);
        LOG.infof("Savepoint %s completed", path);
        return path;
    }

    /**
     * Whether the job runs and so does each of its tasks. A job still initializing answers with a
     * graph without tasks, which does not count.
     */
    private static boolean allTasksRunning(AccessExecutionGraph graph) {
        if (graph.getState() != JobStatus.RUNNING) {
            return false;
        }
        int tasks = 0;
        for (AccessExecutionVertex vertex : graph.getAllExecutionVertices()) {
            if (vertex.getExecutionState() != ExecutionState.RUNNING) {
                return false;
            }
            tasks++;
        }
        return tasks > 0;
    }

    /**
     * Triggers the first checkpoint as soon as every task runs. Flink's first periodic checkpoint
     * comes a random part of the interval after the job is scheduled and is declined while tasks
     * still deploy, so up to two intervals (20 s by default) could pass after a start or a restart
     * before the first output and offsets were committed. Gives up after {@code within}.
     */
    private void checkpointOnceAllTasksRun(MiniCluster cluster, Duration within) {
        Thread trigger =
                new Thread(
                        () -> {
                            long deadline = System.nanoTime() + within.toNanos();
                            while (!stopping && System.nanoTime() < deadline) {
                                Optional<AccessExecutionGraph> graph =
                                        executionGraph(Duration.ofSeconds(1));
                                if (graph.isPresent()
                                        && graph.get().getState().isGloballyTerminalState()) {
                                    return;
                                }
                                if (graph.filter(EmbeddedFlinkJob::allTasksRunning).isPresent()) {
                                    LOG.info("Every task runs: triggering the first checkpoint");
                                    cluster.triggerCheckpoint(JOB_ID, CheckpointType.CONFIGURED)
                                            .whenComplete(
                                                    (id, failure) -> {
                                                        if (failure != null) {
                                                            LOG.debugf(
                                                                    "First checkpoint not taken:"
                                                                            + " %s",
                                                                    failure.getMessage());
                                                        }
                                                    });
                                    return;
                                }
                                try {
                                    Thread.sleep(FIRST_CHECKPOINT_POLL.toMillis());
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        },
                        "first-checkpoint-trigger");
        trigger.setDaemon(true);
        trigger.start();
    }

    /** The admin API's settings, once start-up has validated them. */
    public Optional<AdminOptions> adminOptions() {
        return options().map(ServiceOptions::admin);
    }

    /** The job's state, or empty if the cluster does not answer within the timeout. */
    public Optional<JobStatus> jobStatus(Duration timeout) {
        MiniCluster cluster = miniCluster;
        if (cluster == null) {
            return Optional.empty();
        }
        try {
            CompletableFuture<JobStatus> status = cluster.getJobStatus(JOB_ID);
            return Optional.of(status.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException | TimeoutException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The job's execution graph (state, checkpoint statistics), if the cluster answers in time. */
    public Optional<AccessExecutionGraph> executionGraph(Duration timeout) {
        MiniCluster cluster = miniCluster;
        if (cluster == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(
                    cluster.getExecutionGraph(JOB_ID)
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException | TimeoutException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** When the job was submitted, i.e. when this run started (after restoring). */
    public Optional<Instant> submittedAt() {
        return Optional.ofNullable(submittedAt);
    }

    public boolean hasFailedForGood() {
        return terminalResult != null && !stopping;
    }

    public Optional<CheckpointLocator.Snapshot> restoredFrom() {
        return restore.map(RestorePlan.Restore::snapshot);
    }

    public Optional<ServiceOptions> options() {
        return Optional.ofNullable(options);
    }

    private static JobID fixedJobId(String name) {
        UUID uuid = UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
        return new JobID(uuid.getLeastSignificantBits(), uuid.getMostSignificantBits());
    }
}

package dev.telemetry.aggregator.service.flink;

import static dev.telemetry.aggregator.service.checkpoint.FixedJobId.JOB_ID;

import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import dev.telemetry.aggregator.service.checkpoint.CheckpointVolume;
import dev.telemetry.aggregator.service.checkpoint.RestoreOutcome;
import dev.telemetry.aggregator.service.checkpoint.RestorePlan;
import dev.telemetry.aggregator.service.checkpoint.VolumeHeartbeat;
import dev.telemetry.aggregator.service.config.AdminOptions;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import dev.telemetry.aggregator.service.kafka.KafkaAccess;
import dev.telemetry.aggregator.service.kafka.KafkaPreflight;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.jboss.logging.Logger;

/**
 * Owns the embedded Flink MiniCluster and the telemetry job: validates the configuration, checks
 * Kafka, restores from the newest completed checkpoint on the volume, runs the job, and stops both
 * on shutdown with a bounded wait. If the job fails for good (its restart strategy is exhausted)
 * the process exits non-zero, so the container runtime restarts it from the last checkpoint.
 *
 * <p>Background work (the cluster's start, the first-snapshot polls) runs on an executor of its own
 * ({@link ClusterStart#newExecutor}), shut down when the job stops.
 */
@ApplicationScoped
public class EmbeddedFlinkJob {
    private static final Logger LOG = Logger.getLogger(EmbeddedFlinkJob.class);

    @Inject ServiceOptions configured;
    @Inject MeterRegistry meterRegistry;
    @Inject VolumeHeartbeat heartbeat;

    private volatile ScheduledExecutorService executor;
    private volatile MiniCluster miniCluster;
    private volatile ScratchDirectory scratch;
    private volatile ServiceOptions options;
    private volatile RestoreOutcome restoreOutcome;
    private volatile CheckpointVolume.Lock volumeLock;
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
            // Lets a cluster start under way finish (and be closed), then ends the threads.
            shutdown(executor);
            throw e;
        }
        // From now on this volume's run records that it is alive (the fork guard read the last
        // record during start-up).
        heartbeat.start(serviceOptions.checkpointDir());
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
        ScheduledExecutorService executor = ClusterStart.newExecutor();
        this.executor = executor;
        CompletableFuture<MiniCluster> clusterStart =
                ClusterStart.startAsync(
                        EmbeddedFlinkConfiguration.build(
                                serviceOptions, scratch.path(), Optional.empty()),
                        serviceOptions.job().parallelism(),
                        new FlinkMicrometerReporter(meterRegistry),
                        executor);
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
            this.restoreOutcome =
                    new RestoreOutcome(
                            serviceOptions.checkpointDir(), serviceOptions.restoreFrom(), restore);
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
                    EmbeddedFlinkConfiguration.build(serviceOptions, scratch.path(), restore);
            prepared = EmbeddedFlinkConfiguration.streamGraph(configuration, serviceOptions.job());
        } catch (Exception | Error e) {
            clusterStart.whenComplete(
                    (cluster, failed) -> {
                        if (cluster != null) {
                            ClusterStart.closeQuietly(cluster);
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
        FirstSnapshot firstSnapshot =
                new FirstSnapshot(executor, this::executionGraph, () -> stopping);
        firstSnapshot.checkpointOnceAllTasksRun(
                cluster,
                serviceOptions.job().checkpointTimeout(),
                () -> FlinkMicrometerReporter.sourceRecordsRead(meterRegistry));
        RestoreOutcome outcome = restoreOutcome;
        firstSnapshot.whenFirstSnapshotCompletes(
                () -> outcome.snapshotCompleted() || terminalResult != null,
                outcome::onSnapshotCompleted);
        LOG.infof(
                "Job %s submitted: %s",
                JOB_ID, EmbeddedFlinkConfiguration.summary(serviceOptions, restore));
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
            restoreOutcome.onJobFailed(cause);
            LOG.errorf(
                    cause.orElse(null),
                    "The Flink job ended with %s after its restart strategy was exhausted or it"
                            + " stopped unexpectedly; exiting with status 1 so the service is"
                            + " restarted from the last completed checkpoint",
                    result.getApplicationStatus());
        }
        Quarkus.asyncExit(1);
    }

    synchronized void stop() {
        stopping = true;
        MiniCluster cluster = miniCluster;
        if (cluster == null) {
            shutdown(executor);
            return;
        }
        RestoreOutcome outcome = restoreOutcome;
        Savepoints.stopJobAndCluster(cluster, options, outcome::onSnapshotCompleted);
        // The polls end with the job; nothing else runs there any more.
        executor.shutdownNow();
        miniCluster = null;
        scratch.close();
        CheckpointVolume.Lock lock = volumeLock;
        volumeLock = null;
        if (lock != null) {
            lock.close();
        }
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
        return Savepoints.trigger(cluster, graph, current);
    }

    /** The admin API's settings, once start-up has validated them. */
    public Optional<AdminOptions> adminOptions() {
        return options().map(ServiceOptions::admin);
    }

    /** The job's state, or empty if the cluster does not answer within the timeout. */
    public Optional<JobStatus> jobStatus(Duration timeout) {
        MiniCluster cluster = miniCluster;
        return cluster == null ? Optional.empty() : JobQueries.jobStatus(cluster, timeout);
    }

    /** The job's execution graph (state, checkpoint statistics), if the cluster answers in time. */
    public Optional<AccessExecutionGraph> executionGraph(Duration timeout) {
        MiniCluster cluster = miniCluster;
        return cluster == null ? Optional.empty() : JobQueries.executionGraph(cluster, timeout);
    }

    /** When the job was submitted, i.e. when this run started (after restoring). */
    public Optional<Instant> submittedAt() {
        return Optional.ofNullable(submittedAt);
    }

    public boolean hasFailedForGood() {
        return terminalResult != null && !stopping;
    }

    public Optional<CheckpointLocator.Snapshot> restoredFrom() {
        return Optional.ofNullable(restoreOutcome)
                .flatMap(RestoreOutcome::restore)
                .map(RestorePlan.Restore::snapshot);
    }

    public Optional<ServiceOptions> options() {
        return Optional.ofNullable(options);
    }

    private static void shutdown(ScheduledExecutorService executor) {
        if (executor != null) {
            executor.shutdown();
        }
    }
}

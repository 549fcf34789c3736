package dev.telemetry.aggregator.service.flink;

import static dev.telemetry.aggregator.service.checkpoint.FixedJobId.JOB_ID;

import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.jboss.logging.Logger;

/**
 * Stopping the job (with a savepoint on the volume when it can, else by cancelling it) and closing
 * the cluster within the shutdown budget, and savepoints on request. Savepoints go to {@code
 * <checkpoint dir>/savepoints}, where the next start finds them.
 */
final class Savepoints {
    private static final Logger LOG = Logger.getLogger(Savepoints.class);

    private Savepoints() {}

    /**
     * Stops the job and closes the cluster, within {@link ServiceOptions#shutdownTimeout()} (the
     * cluster gets at least 5 s to close). Stops with a savepoint if that is on and the job runs,
     * calling {@code onSavepoint} once it completed; otherwise, or if the savepoint fails, cancels
     * the job.
     */
    static void stopJobAndCluster(
            MiniCluster cluster, ServiceOptions options, Runnable onSavepoint) {
        Duration timeout = options.shutdownTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            JobStatus status = cluster.getJobStatus(JOB_ID).get(5, TimeUnit.SECONDS);
            if (!status.isGloballyTerminalState()) {
                if (!(options.stopWithSavepoint()
                        && status == JobStatus.RUNNING
                        && stoppedWithSavepoint(cluster, options, deadline, onSavepoint))) {
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
    }

    /**
     * Stops the job with a savepoint on the volume: its transactions are committed and the next
     * start resumes exactly there. Leaves a few seconds of the shutdown budget for cancelling if
     * the savepoint cannot complete in time.
     */
    private static boolean stoppedWithSavepoint(
            MiniCluster cluster, ServiceOptions options, long deadline, Runnable onSavepoint)
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
            onSavepoint.run();
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

    /**
     * Triggers a savepoint into {@code <checkpoint dir>/savepoints} and waits for it, at most the
     * checkpoint timeout; returns its path. The job keeps running.
     *
     * @param graph the job's execution graph, just read
     * @throws IllegalStateException if the job or one of its tasks is not running
     */
    static String trigger(MiniCluster cluster, AccessExecutionGraph graph, ServiceOptions options)
            throws ExecutionException, InterruptedException, TimeoutException {
        if (graph.getState() != JobStatus.RUNNING) {
            throw new IllegalStateException("The job is " + graph.getState() + ", not RUNNING");
        }
        // RUNNING is the job's state; its tasks may still be deploying, and Flink refuses to
        // snapshot until every task runs. Say so plainly instead of failing the savepoint.
        if (!JobQueries.allTasksRunning(graph)) {
            throw new IllegalStateException(
                    "The job's tasks are not all running yet; try again in a few seconds");
        }
        Path savepoints = savepointDirectory(options);
        LOG.infof("Triggering a savepoint in %s (admin request)", savepoints);
        String path =
                cluster.triggerSavepoint(
                                JOB_ID,
                                savepoints.toUri().toString(),
                                false,
                                SavepointFormatType.CANONICAL)
                        .get(options.job().checkpointTimeout().toMillis(), TimeUnit.MILLISECONDS);
        LOG.infof("Savepoint %s completed", path);
        return path;
    }

    private static Path savepointDirectory(ServiceOptions options) {
        return options.checkpointDir().resolve(CheckpointLocator.SAVEPOINTS);
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }
}

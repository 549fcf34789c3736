package dev.telemetry.aggregator.service.flink;

import static dev.telemetry.aggregator.service.checkpoint.FixedJobId.JOB_ID;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;

/**
 * What the service asks the embedded cluster about its job (state, execution graph) with a bounded
 * wait, and what it reads from the answer. A cluster that does not answer in time gives an empty
 * answer, never an exception: health checks and metrics report "unknown" instead of failing.
 */
final class JobQueries {
    private JobQueries() {}

    /** The job's state, or empty if the cluster does not answer within the timeout. */
    static Optional<JobStatus> jobStatus(MiniCluster cluster, Duration timeout) {
        try {
            return Optional.of(
                    cluster.getJobStatus(JOB_ID).get(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException | TimeoutException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The job's execution graph (state, checkpoint statistics), if the cluster answers in time. */
    static Optional<AccessExecutionGraph> executionGraph(MiniCluster cluster, Duration timeout) {
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

    /**
     * Whether the job runs and so does each of its tasks. A job still initializing answers with a
     * graph without tasks, which does not count.
     */
    static boolean allTasksRunning(AccessExecutionGraph graph) {
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

    /** Whether this run of the job has completed a checkpoint or a savepoint. */
    static boolean hasCompletedSnapshot(AccessExecutionGraph graph) {
        CheckpointStatsSnapshot stats = graph.getCheckpointStatsSnapshot();
        return stats != null
                && (stats.getHistory().getLatestCompletedCheckpoint() != null
                        || stats.getHistory().getLatestSavepoint() != null);
    }
}

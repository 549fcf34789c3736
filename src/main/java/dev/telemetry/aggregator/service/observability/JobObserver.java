package dev.telemetry.aggregator.service.observability;

import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import dev.telemetry.aggregator.service.kafka.OpenTransactionAge;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStats;
import org.apache.flink.runtime.checkpoint.FailedCheckpointStats;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;

/**
 * What health checks and metrics need to know about the running job, read from its execution graph
 * at most once a second however often Prometheus and probes ask, and at most ten times a second
 * while its tasks are not all running yet.
 */
@ApplicationScoped
public class JobObserver {
    /** How long a reading of a job whose tasks all run answers every caller. */
    static final Duration MAX_AGE = Duration.ofSeconds(1);

    /**
     * How long a reading answers while some task does not run yet (deploying, restoring, or
     * restarting). Readiness turns UP when the last task runs; with the second above, a probe could
     * be told "not ready" from a reading up to a second old, and a start was ready half a second
     * later than its job on average (bench/results/NOTES.md).
     */
    static final Duration MAX_AGE_UNTIL_ALL_TASKS_RUN = Duration.ofMillis(100);

    private static final Duration CLUSTER_TIMEOUT = Duration.ofSeconds(2);

    @Inject EmbeddedFlinkJob job;

    private volatile Observation cached;

    /**
     * One reading of the job.
     *
     * @param lastCheckpointId the newest checkpoint completed by this run, if any
     * @param lastCheckpointTriggeredAt when that checkpoint started: the sink's oldest open
     *     transaction began no earlier
     * @param lastCheckpointCompletedAt when that checkpoint completed (its output was committed)
     * @param runningSince when this run of the job was submitted
     * @param lastCheckpointFailure the newest checkpoint of this run that failed, if any
     * @param tasksRunning how many of the job's parallel tasks are RUNNING (the job is RUNNING as
     *     soon as it is scheduled, while its tasks still deploy, restore state and open their Kafka
     *     clients)
     * @param tasks how many parallel tasks the job has
     */
    public record Observation(
            Instant takenAt,
            JobStatus state,
            Optional<Long> lastCheckpointId,
            Optional<Instant> lastCheckpointTriggeredAt,
            Optional<Instant> lastCheckpointCompletedAt,
            Instant runningSince,
            Optional<CheckpointFailure> lastCheckpointFailure,
            int tasksRunning,
            int tasks) {

        /** Whether every task of the job runs: records flow through the whole pipeline. */
        public boolean allTasksRunning() {
            return tasks > 0 && tasksRunning == tasks;
        }

        /**
         * Whether the newest checkpoint attempt failed (none completed after it): output is not
         * being committed, and the failure says why.
         */
        public boolean checkpointsFailing() {
            return lastCheckpointFailure
                    .filter(f -> f.checkpointId() > lastCheckpointId.orElse(-1L))
                    .isPresent();
        }

        /**
         * Seconds since the last completed checkpoint, or since the run started if none has
         * completed yet: output is committed only at checkpoints, so this is how stale it is.
         */
        public double checkpointLagSeconds() {
            return seconds(lastCheckpointCompletedAt.orElse(runningSince));
        }

        /**
         * An upper bound on the age of the exactly-once sinks' oldest open transaction: each
         * transaction starts at a checkpoint barrier and is committed when the next checkpoint
         * completes, so none of this run's is older than the last completed checkpoint's start.
         * Blind to a transaction carried over from the previous run: the metrics use the broker's
         * start times ({@link OpenTransactionAge}) and this only until the broker answers.
         */
        public double oldestOpenTransactionAgeSeconds() {
            return seconds(lastCheckpointTriggeredAt.orElse(runningSince));
        }

        private double seconds(Instant since) {
            return Math.max(0, Duration.between(since, takenAt).toMillis() / 1000.0);
        }
    }

    /**
     * A failed checkpoint as Flink reports it.
     *
     * @param cause Flink's failure message, e.g. "Checkpoint expired before completing." or the
     *     generic "Failure to finalize checkpoint." (the log has the underlying exception)
     */
    public record CheckpointFailure(long checkpointId, Instant failedAt, String cause) {}

    /** Whether {@code reading} still answers at {@code now}, or the job is to be read again. */
    static boolean stillCurrent(Observation reading, Instant now) {
        Duration maxAge = reading.allTasksRunning() ? MAX_AGE : MAX_AGE_UNTIL_ALL_TASKS_RUN;
        return Duration.between(reading.takenAt(), now).compareTo(maxAge) < 0;
    }

    /** The latest reading, or empty while the job has not been submitted or does not answer. */
    public Optional<Observation> observe() {
        Observation last = cached;
        Instant now = Instant.now();
        if (last != null && stillCurrent(last, now)) {
            return Optional.of(last);
        }
        Optional<Instant> runningSince = job.submittedAt();
        Optional<AccessExecutionGraph> graph = job.executionGraph(CLUSTER_TIMEOUT);
        if (runningSince.isEmpty() || graph.isEmpty()) {
            return Optional.empty();
        }
        CheckpointStatsSnapshot stats = graph.get().getCheckpointStatsSnapshot();
        CompletedCheckpointStats latest =
                stats == null ? null : stats.getHistory().getLatestCompletedCheckpoint();
        FailedCheckpointStats failed =
                stats == null ? null : stats.getHistory().getLatestFailedCheckpoint();
        int tasks = 0;
        int tasksRunning = 0;
        for (AccessExecutionVertex vertex : graph.get().getAllExecutionVertices()) {
            tasks++;
            if (vertex.getExecutionState() == ExecutionState.RUNNING) {
                tasksRunning++;
            }
        }
        Observation observation =
                new Observation(
                        now,
                        graph.get().getState(),
                        Optional.ofNullable(latest).map(CompletedCheckpointStats::getCheckpointId),
                        Optional.ofNullable(latest)
                                .map(c -> Instant.ofEpochMilli(c.getTriggerTimestamp())),
                        Optional.ofNullable(latest)
                                .map(c -> Instant.ofEpochMilli(c.getLatestAckTimestamp())),
                        runningSince.get(),
                        Optional.ofNullable(failed)
                                .map(
                                        f ->
                                                new CheckpointFailure(
                                                        f.getCheckpointId(),
                                                        Instant.ofEpochMilli(
                                                                f.getFailureTimestamp()),
                                                        Objects.requireNonNullElse(
                                                                f.getFailureMessage(),
                                                                "(no message)"))),
                        tasksRunning,
                        tasks);
        cached = observation;
        return Optional.of(observation);
    }
}

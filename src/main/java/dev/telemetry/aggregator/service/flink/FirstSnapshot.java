package dev.telemetry.aggregator.service.flink;

import static dev.telemetry.aggregator.service.checkpoint.FixedJobId.JOB_ID;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.jboss.logging.Logger;

/**
 * The first snapshot of a run, polled for in the background on the job's executor: triggering the
 * first checkpoint as soon as every task runs and the source has read its first records (or found
 * none), and telling the restore bookkeeping when the run's first checkpoint (or savepoint) has
 * completed. Neither blocks start-up; both end when the job ends or stops.
 */
final class FirstSnapshot {
    private static final Logger LOG = Logger.getLogger(FirstSnapshot.class);

    /** How often start-up looks whether every task runs (a query of the job's execution graph). */
    private static final Duration ALL_TASKS_POLL = Duration.ofMillis(50);

    /**
     * How often, once every task runs, start-up looks whether the source has read its first records
     * (a read of one meter).
     */
    private static final Duration FIRST_RECORDS_POLL = Duration.ofMillis(20);

    /**
     * How long the first checkpoint waits for the source's first records once every task runs. A
     * Kafka fetch that finds nothing returns within {@code fetch.max.wait.ms} (500 ms by default):
     * when this has passed with nothing read, there is no input to wait for.
     */
    private static final Duration FIRST_RECORDS_GRACE = Duration.ofSeconds(1);

    /** How often, after a first checkpoint without input, the first records are looked for. */
    private static final Duration LATE_RECORDS_POLL = Duration.ofMillis(100);

    /** How often the first completed snapshot of this run is looked for. */
    private static final Duration SNAPSHOT_POLL = Duration.ofMillis(200);

    /** How long one look at the job may wait for the cluster's answer. */
    private static final Duration LOOK_TIMEOUT = Duration.ofSeconds(1);

    private final ScheduledExecutorService executor;
    private final Function<Duration, Optional<AccessExecutionGraph>> executionGraph;
    private final BooleanSupplier stopping;

    /**
     * @param executor where the polls run
     * @param executionGraph the job's execution graph, if the cluster answers within the timeout
     * @param stopping whether the service is stopping (every poll then ends)
     */
    FirstSnapshot(
            ScheduledExecutorService executor,
            Function<Duration, Optional<AccessExecutionGraph>> executionGraph,
            BooleanSupplier stopping) {
        this.executor = executor;
        this.executionGraph = executionGraph;
        this.stopping = stopping;
    }

    /**
     * Triggers the run's first checkpoint once every task runs and the source has read its first
     * records, or, if it has read none {@link #FIRST_RECORDS_GRACE} later, without them; and then,
     * if it had read nothing, one more as soon as it has. Flink's first periodic checkpoint comes a
     * random part of the interval after the job is scheduled and is declined while tasks still
     * deploy; and a checkpoint taken before the source's first fetch returned commits no progress
     * (after a restart under input, the fetch can take longer than the tasks' start), while the
     * checkpoint after it, the one that does, waits until it completes. Either way the first output
     * and offsets could wait for up to two intervals (20 s by default) after a start or a restart,
     * or for a needless checkpoint. Gives up after {@code within}.
     *
     * @param recordsRead how many records the job's source has read in this run
     */
    void checkpointOnceAllTasksRun(MiniCluster cluster, Duration within, LongSupplier recordsRead) {
        long deadline = System.nanoTime() + within.toNanos();
        repeat(
                ALL_TASKS_POLL,
                () -> {
                    if (endedOrPast(deadline)) {
                        return true;
                    }
                    Optional<AccessExecutionGraph> graph = executionGraph.apply(LOOK_TIMEOUT);
                    if (graph.isPresent() && graph.get().getState().isGloballyTerminalState()) {
                        return true;
                    }
                    if (graph.filter(JobQueries::allTasksRunning).isEmpty()) {
                        return false;
                    }
                    checkpointOnFirstRecordsOrNone(cluster, deadline, recordsRead);
                    return true;
                });
    }

    /**
     * Once every task runs: the first checkpoint as soon as the source has read records, or without
     * them {@link #FIRST_RECORDS_GRACE} later.
     */
    private void checkpointOnFirstRecordsOrNone(
            MiniCluster cluster, long deadline, LongSupplier recordsRead) {
        long graceEnds = System.nanoTime() + FIRST_RECORDS_GRACE.toNanos();
        repeat(
                FIRST_RECORDS_POLL,
                () -> {
                    if (endedOrPast(deadline)) {
                        return true;
                    }
                    // Read before the trigger: records counted now precede the checkpoint's
                    // barrier, so the checkpoint commits them.
                    if (recordsRead.getAsLong() > 0) {
                        LOG.info(
                                "Every task runs and the source read its first records:"
                                        + " triggering the first checkpoint");
                        trigger(cluster);
                        return true;
                    }
                    if (System.nanoTime() < graceEnds) {
                        return false;
                    }
                    LOG.info(
                            "Every task runs and the source found no input: triggering the first"
                                    + " checkpoint");
                    trigger(cluster);
                    checkpointOnFirstRecords(cluster, deadline, recordsRead);
                    return true;
                });
    }

    /** After a first checkpoint without input: one more as soon as the source reads records. */
    private void checkpointOnFirstRecords(
            MiniCluster cluster, long deadline, LongSupplier recordsRead) {
        repeat(
                LATE_RECORDS_POLL,
                () -> {
                    if (endedOrPast(deadline)) {
                        return true;
                    }
                    if (recordsRead.getAsLong() == 0) {
                        return false;
                    }
                    LOG.info(
                            "The source read its first records: triggering a checkpoint to commit"
                                    + " them");
                    trigger(cluster);
                    return true;
                });
    }

    /** Whether the service stops or the first-checkpoint polls have run out of time. */
    private boolean endedOrPast(long deadline) {
        return stopping.getAsBoolean() || System.nanoTime() >= deadline;
    }

    private static void trigger(MiniCluster cluster) {
        cluster.triggerCheckpoint(JOB_ID, CheckpointType.CONFIGURED)
                .whenComplete(
                        (id, failure) -> {
                            if (failure != null) {
                                LOG.debugf("Checkpoint not taken: %s", failure.getMessage());
                            }
                        });
    }

    /**
     * Waits in the background for this run's first completed checkpoint (or savepoint), then calls
     * {@code onCompleted}. Ends when {@code done} (the job ended, or the snapshot was seen by other
     * means), when the job reaches a terminal state, or when the service stops.
     */
    void whenFirstSnapshotCompletes(BooleanSupplier done, Runnable onCompleted) {
        repeat(
                SNAPSHOT_POLL,
                () -> {
                    if (stopping.getAsBoolean() || done.getAsBoolean()) {
                        return true;
                    }
                    Optional<AccessExecutionGraph> graph = executionGraph.apply(LOOK_TIMEOUT);
                    if (graph.isPresent() && graph.get().getState().isGloballyTerminalState()) {
                        return true;
                    }
                    if (graph.map(JobQueries::hasCompletedSnapshot).orElse(false)) {
                        onCompleted.run();
                        return true;
                    }
                    return false;
                });
    }

    /** Runs {@code step} now and again {@code pause} after each run until it returns true. */
    private void repeat(Duration pause, BooleanSupplier step) {
        Runnable poll =
                new Runnable() {
                    @Override
                    public void run() {
                        if (step.getAsBoolean() || Thread.currentThread().isInterrupted()) {
                            return;
                        }
                        schedule(this, pause);
                    }
                };
        schedule(poll, Duration.ZERO);
    }

    private void schedule(Runnable poll, Duration delay) {
        try {
            executor.schedule(poll, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // The executor is shut down: the service stops, and the poll with it.
            LOG.debug("First-snapshot poll not scheduled: the service is stopping");
        }
    }
}

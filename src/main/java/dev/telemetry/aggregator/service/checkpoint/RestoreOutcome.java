package dev.telemetry.aggregator.service.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.util.StateMigrationException;
import org.jboss.logging.Logger;

/**
 * What became of this run's restore, kept on the volume ({@link RestorePlan}'s records): once the
 * run completes a snapshot, a requested restore is recorded as applied and an earlier failed
 * restore is forgotten; if the job fails for good restoring state before that, the failure is
 * recorded so the next start stops with instructions instead of failing the same way.
 */
public final class RestoreOutcome {
    private static final Logger LOG = Logger.getLogger(RestoreOutcome.class);

    private final Path checkpointDir;
    private final Optional<Path> restoreFrom;
    private final Optional<RestorePlan.Restore> restore;
    private volatile boolean snapshotCompleted;

    /**
     * @param checkpointDir the checkpoint volume
     * @param restoreFrom the snapshot {@code TELEMETRY_RESTORE_FROM} names, if any
     * @param restore what this run restores, if anything
     */
    public RestoreOutcome(
            Path checkpointDir, Optional<Path> restoreFrom, Optional<RestorePlan.Restore> restore) {
        this.checkpointDir = checkpointDir;
        this.restoreFrom = restoreFrom;
        this.restore = restore;
    }

    /** What this run restores, if anything. */
    public Optional<RestorePlan.Restore> restore() {
        return restore;
    }

    /** Whether this run has completed a snapshot (a checkpoint or a savepoint). */
    public boolean snapshotCompleted() {
        return snapshotCompleted;
    }

    /**
     * This run completed a snapshot, so what it restored has taken effect: a requested restore is
     * recorded as applied (the next start resumes from the volume's newest snapshot), and an
     * earlier failed restore is forgotten. Only the first call does anything.
     */
    public synchronized void onSnapshotCompleted() {
        if (snapshotCompleted) {
            return;
        }
        snapshotCompleted = true;
        Path dir = checkpointDir;
        try {
            Optional<RestorePlan.Restore> explicit = restore.filter(RestorePlan.Restore::explicit);
            if (explicit.isPresent()) {
                RestorePlan.markApplied(dir, restoreFrom.orElseThrow());
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
     * The job failed for good with {@code cause}. If this run restored a snapshot, failed restoring
     * it and completed no snapshot of its own, records that, so the next start stops with
     * instructions instead of failing the same way.
     */
    public void onJobFailed(Optional<Throwable> cause) {
        if (snapshotCompleted
                || restore.isEmpty()
                || cause.filter(RestoreOutcome::isRestoreFailure).isEmpty()) {
            return;
        }
        Path snapshot = restore.get().snapshot().path();
        Throwable root = cause.get();
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        try {
            RestorePlan.markFailed(checkpointDir, snapshot, root.toString());
        } catch (IOException e) {
            LOG.errorf("Cannot record the failed restore in %s: %s", checkpointDir, e);
        }
        LOG.errorf(
                "Restoring %s failed: %s. The next start stops with what to do (see %s)",
                snapshot, root, checkpointDir.resolve(RestorePlan.FAILED));
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
}

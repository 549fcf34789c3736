package dev.telemetry.aggregator.service.checkpoint;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Decides, before the job starts, which snapshot it restores, and keeps the volume's records of
 * that decision. Only runs while this process holds the volume lock.
 *
 * <p><b>Automatic choice.</b> The newest completed snapshot on the volume by checkpoint id ({@link
 * CheckpointLocator}), restored in CLAIM mode (it is the volume's own).
 *
 * <p><b>{@code TELEMETRY_RESTORE_FROM}.</b> A requested snapshot replaces the automatic choice
 * until it has been <em>applied</em>: until a snapshot taken by a run that restored it has
 * completed (the first checkpoint, or a savepoint). Then {@value #APPLIED} names it, and later
 * starts resume from the volume's newest snapshot even if the variable stays set and the requested
 * path is gone. Before that (the restore failed, or the process died before its first checkpoint),
 * the next start restores the requested snapshot again: a requested restore is never silently
 * skipped. {@value #PENDING} records the attempt with the requested snapshot's id, so a start that
 * finds a newer snapshot than it on the volume knows the restore took effect even if the process
 * died between that snapshot and writing {@value #APPLIED}.
 *
 * <p>A requested snapshot older than what the volume holds is a rollback: the volume's snapshots
 * with a higher id belong to the abandoned future and would be chosen after the next crash (and
 * collide with the ids the restored job counts up to), so they are moved to {@code
 * rolled-back-<time>/} under the checkpoint directory, where nothing reads or deletes them. Torn
 * snapshots go to {@code torn-<time>/} the same way: skipped, and out of the way of the ids the
 * restored job counts up to.
 *
 * <p><b>A restore that fails.</b> When the job fails for good, before this run completed a
 * snapshot, with an error of restoring state (a removed stateful operator, state files lost after a
 * power cut, an incompatible serializer), {@value #FAILED} records the snapshot and the error. The
 * next start that would restore the same snapshot stops with instructions instead of failing the
 * same way in a loop: fix the cause and delete {@value #FAILED}, or move the snapshot aside (the
 * next older one is restored, which writes the output committed since then again), or name another
 * snapshot in {@code TELEMETRY_RESTORE_FROM}. It does not fall back by itself: an older snapshot
 * duplicates committed output, which is the operator's call.
 *
 * <p>Every record is written atomically (a temporary file in the same directory, fsync, atomic
 * rename), so a crash leaves either the old record or the new one.
 *
 * <p>About 300 lines, a quarter of them this comment: the decision and the records it reads and
 * writes are one protocol across restarts, which is easier to check kept together than split.
 */
public final class RestorePlan {
    private static final Logger LOG = Logger.getLogger(RestorePlan.class);

    static final String APPLIED = "restore-from.applied";
    static final String PENDING = "restore-from.pending";
    public static final String FAILED = "restore.failed";
    static final String ROLLED_BACK = "rolled-back-";
    static final String TORN = "torn-";

    /**
     * What to restore: an explicitly requested snapshot until it is applied (NO_CLAIM: it is the
     * user's, not ours to delete), else the newest completed snapshot on the volume (CLAIM: ours,
     * so Flink's retention deletes it in turn).
     */
    public record Restore(CheckpointLocator.Snapshot snapshot, boolean explicit) {}

    /**
     * @param newestOnVolume the newest completed snapshot the volume held at start-up
     * @param restore what the job restores, if anything
     */
    public record Plan(
            Optional<CheckpointLocator.Snapshot> newestOnVolume, Optional<Restore> restore) {}

    private RestorePlan() {}

    /**
     * Tidies the volume and decides what to restore: deletes interrupted snapshots, reads every
     * snapshot's metadata (stopping on one that cannot be read), picks the snapshot, moves a
     * rolled-back future aside, applies retention (never to the chosen or requested snapshot) and
     * records a requested restore as pending.
     *
     * @throws IllegalStateException or {@link
     *     dev.telemetry.aggregator.job.config.InvalidSettingException} with what to do, if start-up
     *     cannot go on
     */
    public static Plan prepare(Path dir, int retained, Optional<Path> restoreFrom)
            throws IOException {
        // Decide first, change the volume after: a start that stops (an unreadable snapshot, a
        // missing requested one, a restore that failed before) leaves everything as it was.
        CheckpointLocator locator = new CheckpointLocator(dir);
        CheckpointLocator.Scan scan = locator.scan();
        scan.requireNoUnreadable();
        Optional<CheckpointLocator.Snapshot> newest = scan.newest();

        Optional<Restore> restore = newest.map(snapshot -> new Restore(snapshot, false));
        if (restoreFrom.isPresent() && !alreadyApplied(dir, restoreFrom.get(), newest)) {
            CheckpointLocator.Snapshot requested = requestedSnapshot(restoreFrom.get());
            LOG.infof(
                    "Restoring from %s (checkpoint id %d) as requested by %s (%s)",
                    requested.path(),
                    requested.checkpointId(),
                    ServiceOptions.RESTORE_FROM,
                    Settings.environmentVariable(ServiceOptions.RESTORE_FROM));
            restore = Optional.of(new Restore(requested, true));
        }
        if (restore.isPresent()) {
            refuseARestoreThatFailedBefore(dir, restore.get().snapshot().path());
        }

        for (Path incomplete : locator.deleteIncomplete()) {
            LOG.infof("Deleted incomplete snapshot %s", incomplete);
        }
        Path tornTarget = dir.resolve(TORN + Instant.now().toEpochMilli());
        for (CheckpointLocator.Rejected torn : scan.torn()) {
            // Out of the way rather than left in place: a restored job counts checkpoint ids on
            // from the restored one, and Flink fails a checkpoint whose _metadata already exists.
            // Kept, not deleted, for whoever wants to look at it.
            Path destination = moveAside(dir, torn.path(), tornTarget);
            LOG.warnf(
                    "Skipping torn snapshot %s (%s): moved to %s",
                    torn.path(), torn.problem(), destination);
        }
        if (restore.filter(Restore::explicit).isPresent()) {
            moveAsideNewerThan(dir, scan, restore.get().snapshot());
        }
        List<Path> protect = new ArrayList<>();
        restore.ifPresent(r -> protect.add(r.snapshot().path()));
        restoreFrom.ifPresent(protect::add);
        for (Path old : locator.deleteAllButNewest(retained, protect)) {
            LOG.infof(
                    "Deleted snapshot %s of an earlier run (keeping the newest %d)", old, retained);
        }
        if (restore.filter(Restore::explicit).isPresent()) {
            CheckpointLocator.Snapshot requested = restore.get().snapshot();
            writeAtomically(
                    dir.resolve(PENDING), requested.checkpointId() + " " + requested.path() + "\n");
        }
        return new Plan(newest, restore);
    }

    /**
     * Whether a requested snapshot was restored by an earlier run that then completed a snapshot of
     * its own.
     */
    static boolean alreadyApplied(
            Path dir, Path requested, Optional<CheckpointLocator.Snapshot> newest)
            throws IOException {
        Optional<String> applied = read(dir.resolve(APPLIED));
        if (applied.isPresent() && applied.get().trim().equals(requested.toString())) {
            LOG.infof(
                    "%s was already restored by an earlier start; resuming from the newest"
                            + " snapshot on the volume instead",
                    requested);
            return true;
        }
        Optional<String> pending = read(dir.resolve(PENDING));
        if (pending.isPresent()) {
            String[] parts = pending.get().trim().split(" ", 2);
            if (parts.length == 2 && parts[1].equals(requested.toString())) {
                long requestedId = Long.parseLong(parts[0]);
                if (newest.isPresent() && newest.get().checkpointId() > requestedId) {
                    // A snapshot newer than the requested one exists: a run that restored it
                    // completed one (newer ones of the earlier lineage were moved aside).
                    LOG.infof(
                            "%s was restored by an earlier start, which then completed %s; resuming"
                                    + " from there",
                            requested, newest.get().path());
                    markApplied(dir, requested);
                    return true;
                }
            }
        }
        return false;
    }

    /** Records that this run completed a snapshot after restoring {@code requested}. */
    public static void markApplied(Path dir, Path requested) throws IOException {
        writeAtomically(dir.resolve(APPLIED), requested.toString() + "\n");
        Files.deleteIfExists(dir.resolve(PENDING));
    }

    /** Records that restoring {@code snapshot} failed with {@code cause}. */
    public static void markFailed(Path dir, Path snapshot, String cause) throws IOException {
        writeAtomically(dir.resolve(FAILED), snapshot + "\n" + cause.replace('\n', ' ') + "\n");
    }

    /** Forgets a failed restore: this run completed a snapshot. */
    public static void clearFailure(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(FAILED));
    }

    private static void refuseARestoreThatFailedBefore(Path dir, Path snapshot) throws IOException {
        Optional<String> failed = read(dir.resolve(FAILED));
        if (failed.isEmpty()) {
            return;
        }
        String[] lines = failed.get().split("\n", 2);
        if (!lines[0].trim().equals(snapshot.toString())) {
            return;
        }
        String cause = lines.length > 1 ? lines[1].trim() : "(no cause recorded)";
        String variable = Settings.environmentVariable(ServiceOptions.RESTORE_FROM);
        throw new IllegalStateException(
                "An earlier start could not restore "
                        + snapshot
                        + ": "
                        + cause
                        + ". Restoring it again would fail the same way, so start-up stops here."
                        + " Either fix the cause (e.g. put back lost state files, or set"
                        + " TELEMETRY_ALLOW_NON_RESTORED_STATE=true for a removed operator) and"
                        + " delete "
                        + dir.resolve(FAILED)
                        + " to try again; or move "
                        + snapshot
                        + " out of the checkpoint directory (or unset "
                        + variable
                        + " if it names it) to resume from the previous completed snapshot, which"
                        + " writes the output committed since then again; or set "
                        + variable
                        + " to the snapshot to restore.");
    }

    /** Moves the volume's snapshots newer than a requested (older) one out of the way. */
    private static void moveAsideNewerThan(
            Path dir, CheckpointLocator.Scan scan, CheckpointLocator.Snapshot requested)
            throws IOException {
        Path requestedPath = requested.path().toAbsolutePath().normalize();
        Path target = null;
        for (CheckpointLocator.Snapshot snapshot : scan.newestFirst()) {
            Path path = snapshot.path().toAbsolutePath().normalize();
            if (snapshot.checkpointId() <= requested.checkpointId() || path.equals(requestedPath)) {
                continue;
            }
            if (target == null) {
                target = dir.resolve(ROLLED_BACK + Instant.now().toEpochMilli());
            }
            Path destination = moveAside(dir, path, target);
            LOG.warnf(
                    "Rolling back to %s (checkpoint id %d): moved the newer snapshot %s (id %d) to"
                            + " %s",
                    requested.path(),
                    requested.checkpointId(),
                    path,
                    snapshot.checkpointId(),
                    destination);
        }
    }

    /**
     * Moves a snapshot directory to the same relative place under {@code target}, a directory of
     * the checkpoint directory that is not a job-id or savepoints directory, so nothing reads or
     * deletes it there.
     */
    private static Path moveAside(Path dir, Path snapshot, Path target) throws IOException {
        Path destination =
                target.resolve(
                        dir.toAbsolutePath()
                                .normalize()
                                .relativize(snapshot.toAbsolutePath().normalize()));
        Files.createDirectories(destination.getParent());
        Files.move(snapshot, destination, StandardCopyOption.ATOMIC_MOVE);
        return destination;
    }

    /**
     * Replaces {@code file} with {@code content} so that a crash leaves the old or the new content,
     * never a torn file: a temporary file in the same directory, fsync, atomic rename, then an
     * fsync of the directory so the rename itself is durable.
     */
    static void writeAtomically(Path file, String content) throws IOException {
        Path temp =
                file.resolveSibling(file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try (FileChannel channel =
                FileChannel.open(
                        temp,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            var buffer = java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            directory.force(true);
        } catch (IOException e) {
            // Some file systems do not fsync directories; the rename is still atomic there.
            LOG.debugf("Could not fsync %s: %s", file.getParent(), e);
        }
    }

    private static Optional<String> read(Path file) throws IOException {
        try {
            return Optional.of(Files.readString(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Checks that a requested snapshot is there and readable, before it is restored.
     *
     * @throws InvalidSettingException naming the setting if it is not
     */
    private static CheckpointLocator.Snapshot requestedSnapshot(Path path) {
        if (!Files.isDirectory(path)) {
            throw new InvalidSettingException(
                    ServiceOptions.RESTORE_FROM,
                    "'" + path + "' does not exist or is not a directory");
        }
        try {
            return CheckpointLocator.read(path);
        } catch (CheckpointLocator.UnusableSnapshotException e) {
            throw new InvalidSettingException(
                    ServiceOptions.RESTORE_FROM,
                    "'"
                            + path
                            + "' is not a savepoint or completed checkpoint with readable"
                            + " _metadata: "
                            + e.rejected().problem());
        }
    }
}

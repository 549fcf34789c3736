package dev.telemetry.aggregator.service.checkpoint;

import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Finds the snapshot to resume from on the checkpoint volume and tidies what a crash left behind.
 *
 * <p>Snapshots are checkpoints, {@code <dir>/<job-id>/chk-<n>}, and savepoints (the service's
 * stop-with-savepoint and admin savepoints), {@code <dir>/savepoints/savepoint-<id>}. Only those
 * two places are looked at: any other entry of the directory (an ext4 {@code lost+found} owned by
 * root, a backup, a stray file) is not a snapshot and is neither read nor deleted. Flink writes
 * {@code _metadata} last, so a snapshot directory without it was never completed.
 *
 * <p><b>Order.</b> Snapshots are ordered by the checkpoint id inside their {@code _metadata}, never
 * by file times (a clock step, a volume copied without timestamps or a stop-with-savepoint in the
 * same second as the last checkpoint would otherwise restore an older snapshot and write committed
 * output again). The job id is fixed and Flink continues its checkpoint counter across restores
 * (from the restored id + 1), and savepoints draw their ids from the same counter, so checkpoints
 * and savepoints of one deployment form one sequence. Two snapshots with the same id cannot come
 * from one run; they can from a savepoint copied in from elsewhere. Then the savepoint wins: it is
 * self-contained (canonical format, owns all its files) and is the operator's deliberate choice,
 * while a checkpoint may depend on shared files of other checkpoints. Remaining ties go to the
 * later metadata file time, then the path, so the choice is at least stable.
 *
 * <p><b>Torn versus unreadable.</b> A {@code _metadata} that is clearly torn (empty, cut short, or
 * not starting with Flink's magic number: a power cut while it was written) is skipped, and the
 * next older snapshot is used. Anything else that stops it being read (no permission after a UID
 * change, an I/O error, metadata of a format version this Flink does not know) stops start-up with
 * the snapshot's path and the error: skipping it would silently restore an older snapshot (and
 * duplicate output) or start empty.
 */
public final class CheckpointLocator {
    private static final Pattern CHECKPOINT_DIR = Pattern.compile("chk-(\\d+)");
    private static final Pattern SAVEPOINT_DIR = Pattern.compile("savepoint-[0-9a-zA-Z-]+");
    private static final Pattern JOB_DIR = Pattern.compile("[0-9a-f]{32}");

    /** Where the service's stop-with-savepoint savepoints go, under the checkpoint directory. */
    public static final String SAVEPOINTS = "savepoints";

    public static final String METADATA = "_metadata";

    /** Newest first: highest id, then the savepoint, then the later file time, then the path. */
    static final Comparator<Snapshot> NEWEST_FIRST =
            Comparator.comparingLong(Snapshot::checkpointId)
                    .thenComparing(Snapshot::isSavepoint)
                    .thenComparing(Snapshot::completedAt)
                    .thenComparing(Snapshot::path)
                    .reversed();

    private final Path root;

    public CheckpointLocator(Path root) {
        this.root = root;
    }

    /**
     * A completed snapshot: its directory, the checkpoint id from its metadata and the time its
     * metadata was written (shown to operators; never used to order snapshots).
     */
    public record Snapshot(Path path, long checkpointId, FileTime completedAt) {
        public boolean isSavepoint() {
            return SAVEPOINT_DIR.matcher(path.getFileName().toString()).matches();
        }
    }

    /**
     * A snapshot directory whose {@code _metadata} cannot be used.
     *
     * @param torn whether it is clearly torn (skipped) rather than unreadable (stops start-up)
     * @param problem what is wrong, in words for the log
     */
    public record Rejected(Path path, boolean torn, String problem) {}

    /** Thrown by {@link #read} for a snapshot whose metadata cannot be used. */
    public static final class UnusableSnapshotException extends Exception {
        private final Rejected rejected;

        UnusableSnapshotException(Rejected rejected) {
            super(rejected.path() + ": " + rejected.problem());
            this.rejected = rejected;
        }

        public Rejected rejected() {
            return rejected;
        }
    }

    /**
     * What is on the volume.
     *
     * @param newestFirst the completed snapshots with readable metadata, in {@link #NEWEST_FIRST}
     *     order
     * @param torn snapshots skipped because their metadata is torn
     * @param unreadable snapshots (or job directories) that could not be read for another reason
     */
    public record Scan(List<Snapshot> newestFirst, List<Rejected> torn, List<Rejected> unreadable) {
        public Optional<Snapshot> newest() {
            return newestFirst.stream().findFirst();
        }

        /**
         * @throws IllegalStateException naming every unreadable snapshot, its error and what the
         *     operator can do
         */
        public Scan requireNoUnreadable() {
            if (!unreadable.isEmpty()) {
                throw new IllegalStateException(unreadableMessage(unreadable));
            }
            return this;
        }
    }

    /** Reads every snapshot's metadata; never throws for a single bad snapshot. */
    public Scan scan() throws IOException {
        List<Snapshot> readable = new ArrayList<>();
        List<Rejected> torn = new ArrayList<>();
        List<Rejected> unreadable = new ArrayList<>();
        for (Path candidate : snapshotDirectories(unreadable)) {
            Path metadata = candidate.resolve(METADATA);
            if (Files.notExists(metadata)) {
                continue; // incomplete: deleteIncomplete's business
            }
            try {
                readable.add(read(candidate));
            } catch (UnusableSnapshotException e) {
                (e.rejected().torn() ? torn : unreadable).add(e.rejected());
            }
        }
        readable.sort(NEWEST_FIRST);
        return new Scan(List.copyOf(readable), List.copyOf(torn), List.copyOf(unreadable));
    }

    /**
     * The completed snapshots with readable metadata, newest first (torn and unreadable left out).
     */
    public List<Snapshot> completedNewestFirst() throws IOException {
        return scan().newestFirst();
    }

    /**
     * Deletes snapshot directories without {@code _metadata}: checkpoints and savepoints that a
     * crash interrupted. Only safe before the job starts, when nothing is writing to the volume
     * (the volume lock makes sure no other process is).
     */
    public List<Path> deleteIncomplete() throws IOException {
        List<Path> deleted = new ArrayList<>();
        for (Path checkpoint : snapshotDirectories(new ArrayList<>())) {
            // notExists, not !exists: a directory we may not look into is not known to be empty.
            if (Files.notExists(checkpoint.resolve(METADATA))) {
                deleteRecursively(checkpoint);
                deleted.add(checkpoint);
            }
        }
        return deleted;
    }

    /** {@link #deleteAllButNewest(int, Collection)} with nothing else to keep. */
    public List<Path> deleteAllButNewest(int keep) throws IOException {
        return deleteAllButNewest(keep, List.of());
    }

    /**
     * Deletes completed snapshots beyond the newest {@code keep} readable ones. Flink's own
     * retention only knows the checkpoints of the current run (plus the one it restored from and
     * claimed), so without this every restart would leave the previous run's older checkpoints
     * behind. Never deletes a snapshot in {@code protect} (the one chosen for the restore, the one
     * {@code TELEMETRY_RESTORE_FROM} names), and leaves torn and unreadable snapshots alone: they
     * do not count among the kept ones, and deleting what could not be read is not this code's
     * call.
     */
    public List<Path> deleteAllButNewest(int keep, Collection<Path> protect) throws IOException {
        List<Path> protectedPaths =
                protect.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        List<Snapshot> completed = scan().newestFirst();
        List<Path> deleted = new ArrayList<>();
        for (Snapshot old : completed.subList(Math.min(keep, completed.size()), completed.size())) {
            if (protectedPaths.contains(old.path().toAbsolutePath().normalize())) {
                continue;
            }
            deleteRecursively(old.path());
            deleted.add(old.path());
        }
        return deleted;
    }

    /**
     * Reads a snapshot's {@code _metadata}.
     *
     * @throws UnusableSnapshotException saying whether it is torn or unreadable, and why
     */
    public static Snapshot read(Path snapshot) throws UnusableSnapshotException {
        return SnapshotMetadata.read(snapshot);
    }

    /** The snapshot directories of the two places snapshots live; unreadable places reported. */
    private List<Path> snapshotDirectories(List<Rejected> unreadable) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Path> parents;
        try (Stream<Path> entries = Files.list(root)) {
            parents =
                    entries.filter(
                                    dir ->
                                            JOB_DIR.matcher(name(dir)).matches()
                                                    || SAVEPOINTS.equals(name(dir)))
                            .filter(Files::isDirectory)
                            .toList();
        }
        List<Path> result = new ArrayList<>();
        for (Path parent : parents) {
            try (Stream<Path> children = Files.list(parent)) {
                children.filter(
                                dir ->
                                        CHECKPOINT_DIR.matcher(name(dir)).matches()
                                                || SAVEPOINT_DIR.matcher(name(dir)).matches())
                        .filter(Files::isDirectory)
                        .forEach(result::add);
            } catch (IOException e) {
                unreadable.add(new Rejected(parent, false, SnapshotMetadata.describe(e)));
            }
        }
        return result;
    }

    static String unreadableMessage(List<Rejected> unreadable) {
        return "Cannot read "
                + unreadable.stream()
                        .map(r -> r.path() + " (" + r.problem() + ")")
                        .collect(Collectors.joining("; "))
                + ". This is not a torn snapshot that could be skipped: restoring an older one"
                + " would write committed output again. Fix the cause (file ownership after a"
                + " UID change, the volume, the Flink version), or move the snapshot out of the"
                + " checkpoint directory, or set "
                + Settings.environmentVariable(ServiceOptions.RESTORE_FROM)
                + " to the snapshot to restore.";
    }

    private static String name(Path path) {
        return path.getFileName().toString();
    }

    static void deleteRecursively(Path path) throws IOException {
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

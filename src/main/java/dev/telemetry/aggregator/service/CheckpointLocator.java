package dev.telemetry.aggregator.service;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.jboss.logging.Logger;

/**
 * Finds the snapshot to resume from on the checkpoint volume and tidies what a crash left behind.
 *
 * <p>Snapshots are checkpoints, {@code <dir>/<job-id>/chk-<n>}, and the savepoints the service
 * takes when it stops, {@code <dir>/savepoints/savepoint-<id>}. Flink writes {@code _metadata}
 * last, so a snapshot directory without it was never completed. A {@code _metadata} is also read
 * back before it is trusted: restoring from a torn file would fail the job on every start.
 */
public final class CheckpointLocator {
    private static final Logger LOG = Logger.getLogger(CheckpointLocator.class);
    private static final Pattern CHECKPOINT_DIR = Pattern.compile("chk-(\\d+)");
    private static final Pattern SAVEPOINT_DIR = Pattern.compile("savepoint-[0-9a-zA-Z-]+");

    /** Where the service's stop-with-savepoint savepoints go, under the checkpoint directory. */
    public static final String SAVEPOINTS = "savepoints";

    static final String METADATA = "_metadata";

    private final Path root;

    public CheckpointLocator(Path root) {
        this.root = root;
    }

    /**
     * A completed snapshot: its directory, checkpoint id (-1 for a savepoint, whose id is inside
     * its metadata) and completion time.
     */
    public record Snapshot(Path path, long checkpointId, FileTime completedAt) {
        public boolean isSavepoint() {
            return SAVEPOINT_DIR.matcher(path.getFileName().toString()).matches();
        }
    }

    /** The newest completed, readable snapshot under the root, across job-id directories. */
    public Optional<Snapshot> newestCompleted() throws IOException {
        for (Snapshot candidate : completedNewestFirst()) {
            if (isReadable(candidate.path())) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Completed checkpoints, newest first (completion time, then id). */
    public List<Snapshot> completedNewestFirst() throws IOException {
        List<Snapshot> snapshots = new ArrayList<>();
        for (Path checkpoint : checkpointDirectories()) {
            Path metadata = checkpoint.resolve(METADATA);
            if (Files.isRegularFile(metadata)) {
                snapshots.add(
                        new Snapshot(
                                checkpoint,
                                checkpointId(checkpoint),
                                Files.getLastModifiedTime(metadata)));
            }
        }
        snapshots.sort(
                Comparator.comparing(Snapshot::completedAt)
                        .thenComparingLong(Snapshot::checkpointId)
                        .reversed());
        return snapshots;
    }

    /**
     * Deletes {@code chk-<n>} directories without {@code _metadata}: checkpoints that a crash
     * interrupted. Only safe before the job starts, when nothing is writing to the volume.
     */
    public List<Path> deleteIncomplete() throws IOException {
        List<Path> deleted = new ArrayList<>();
        for (Path checkpoint : checkpointDirectories()) {
            if (!Files.exists(checkpoint.resolve(METADATA))) {
                deleteRecursively(checkpoint);
                deleted.add(checkpoint);
            }
        }
        return deleted;
    }

    /**
     * Deletes completed checkpoints beyond the newest {@code keep}. Flink's own retention only
     * knows the checkpoints of the current run (plus the one it restored from and claimed), so
     * without this every restart would leave the previous run's older checkpoints behind.
     */
    public List<Path> deleteAllButNewest(int keep) throws IOException {
        List<Snapshot> completed = completedNewestFirst();
        List<Path> deleted = new ArrayList<>();
        for (Snapshot old : completed.subList(Math.min(keep, completed.size()), completed.size())) {
            deleteRecursively(old.path());
            deleted.add(old.path());
        }
        return deleted;
    }

    private List<Path> checkpointDirectories() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Path> result = new ArrayList<>();
        try (Stream<Path> jobDirs = Files.list(root)) {
            for (Path jobDir : jobDirs.filter(Files::isDirectory).toList()) {
                try (Stream<Path> children = Files.list(jobDir)) {
                    children.filter(Files::isDirectory)
                            .filter(
                                    dir ->
                                            CHECKPOINT_DIR.matcher(name(dir)).matches()
                                                    || SAVEPOINT_DIR.matcher(name(dir)).matches())
                            .forEach(result::add);
                }
            }
        }
        return result;
    }

    /** Whether {@code snapshot} is a directory with a {@code _metadata} Flink can read. */
    public static boolean isReadable(Path checkpoint) {
        Path metadata = checkpoint.resolve(METADATA);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(metadata));
                DataInputStream data = new DataInputStream(in)) {
            Checkpoints.loadCheckpointMetadata(
                    data, CheckpointLocator.class.getClassLoader(), checkpoint.toString());
            return true;
        } catch (IOException | RuntimeException e) {
            // A torn or foreign _metadata: skip it and fall back to the next older checkpoint.
            LOG.warnf("Skipping checkpoint %s: its metadata cannot be read (%s)", checkpoint, e);
            return false;
        }
    }

    private static long checkpointId(Path checkpoint) {
        Matcher matcher = CHECKPOINT_DIR.matcher(name(checkpoint));
        return matcher.matches() ? Long.parseLong(matcher.group(1)) : -1;
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

package dev.telemetry.aggregator.service.checkpoint;

import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator.Rejected;
import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator.UnusableSnapshotException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.checkpoint.metadata.MetadataSerializer;
import org.apache.flink.runtime.checkpoint.metadata.MetadataSerializers;

/**
 * Reads the checkpoint id from a snapshot's {@code _metadata}, telling a torn file (skipped) from
 * one that cannot be read for another reason (stops start-up).
 *
 * <p>Flink has no public API for this: the header ({@code Checkpoints.HEADER_MAGIC_NUMBER}, then
 * the format version) and the {@code MetadataSerializers} that read the rest are {@code
 * org.apache.flink.runtime.checkpoint} internals, kept in this one class. The service needs them to
 * order snapshots by checkpoint id rather than by file times ({@link CheckpointLocator}). {@code
 * CheckpointLocatorTest} guards it against a Flink upgrade: it writes metadata with Flink's own
 * {@code Checkpoints.storeCheckpointMetadata} and reads the id back, and checks the torn cases.
 */
final class SnapshotMetadata {
    private SnapshotMetadata() {}

    /** {@link CheckpointLocator#read}. */
    static CheckpointLocator.Snapshot read(Path snapshot) throws UnusableSnapshotException {
        Path metadata = snapshot.resolve(CheckpointLocator.METADATA);
        FileTime completedAt;
        CheckpointMetadata loaded;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(metadata));
                DataInputStream data = new DataInputStream(in)) {
            completedAt = Files.getLastModifiedTime(metadata);
            int magic;
            try {
                magic = data.readInt();
            } catch (EOFException e) {
                throw torn(snapshot, "its _metadata is empty or cut short");
            }
            if (magic != Checkpoints.HEADER_MAGIC_NUMBER) {
                throw torn(
                        snapshot,
                        String.format(
                                "its _metadata is not Flink checkpoint metadata (starts with"
                                        + " 0x%08x, not Flink's magic number)",
                                magic));
            }
            int version;
            try {
                version = data.readInt();
            } catch (EOFException e) {
                throw torn(snapshot, "its _metadata is cut short");
            }
            MetadataSerializer serializer;
            try {
                serializer = MetadataSerializers.getSerializer(version);
            } catch (IllegalArgumentException e) {
                throw unreadable(
                        snapshot,
                        "its _metadata has format version "
                                + version
                                + ", which this Flink cannot read (written by a newer Flink?)");
            }
            try {
                loaded =
                        serializer.deserialize(
                                data,
                                CheckpointLocator.class.getClassLoader(),
                                snapshot.toString());
            } catch (EOFException e) {
                throw torn(snapshot, "its _metadata is cut short");
            }
        } catch (UnusableSnapshotException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Not clearly torn: a permission, an I/O error, a corrupt body. Skipping it could
            // restore an older snapshot, so the caller stops and says so.
            throw unreadable(snapshot, describe(e));
        }
        return new CheckpointLocator.Snapshot(snapshot, loaded.getCheckpointId(), completedAt);
    }

    /** What went wrong, with the operating system's reason where there is one. */
    static String describe(Exception e) {
        if (e instanceof AccessDeniedException denied) {
            return "Permission denied (" + denied.getFile() + ")";
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return e.getClass().getSimpleName() + ": " + fs.getReason() + " (" + fs.getFile() + ")";
        }
        return e.toString();
    }

    private static UnusableSnapshotException torn(Path snapshot, String problem) {
        return new UnusableSnapshotException(new Rejected(snapshot, true, problem));
    }

    private static UnusableSnapshotException unreadable(Path snapshot, String problem) {
        return new UnusableSnapshotException(new Rejected(snapshot, false, problem));
    }
}

package dev.telemetry.aggregator.service.flink;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The embedded cluster's scratch space for one run (blobs, spill files, RocksDB's native library
 * and working files): a directory {@code run-<id>} under a parent shared by all runs, beside a lock
 * file {@code run-<id>.lock} that the run holds until it closes.
 *
 * <p>A process killed with SIGKILL cannot clean up, and an {@code emptyDir} outlives container
 * restarts, so with RocksDB every crash used to leave the state's working files behind until the
 * volume filled up. The operating system releases a dead process's file locks, so each new run
 * removes the directories whose lock it can take, and never one whose owner still runs (another
 * service sharing the volume, or another run in this JVM).
 */
final class ScratchDirectory implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ScratchDirectory.class);
    private static final String PREFIX = "run-";
    private static final String LOCK_SUFFIX = ".lock";
    private static final int ATTEMPTS = 5;

    private final Path path;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private boolean closed;

    private ScratchDirectory(Path path, FileChannel lockChannel, FileLock lock) {
        this.path = path;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Removes what dead runs left under {@code parent}, then creates this run's directory there.
     *
     * @throws IllegalStateException if {@code parent} cannot be written
     */
    static ScratchDirectory create(Path parent) {
        try {
            Files.createDirectories(parent);
            removeAbandoned(parent);
            for (int attempt = 1; ; attempt++) {
                ScratchDirectory created = tryCreate(parent);
                if (created != null) {
                    return created;
                }
                if (attempt == ATTEMPTS) {
                    throw new IOException(
                            "lost the race for a new lock file " + ATTEMPTS + " times");
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(
                    "Cannot create the embedded cluster's scratch directory under "
                            + parent
                            + " (java.io.tmpdir must be writable; with a read-only root file"
                            + " system mount a volume there): "
                            + e,
                    e);
        }
    }

    /** The parent under {@code java.io.tmpdir} that the service's runs share. */
    static Path defaultParent() {
        return Path.of(System.getProperty("java.io.tmpdir"), "telemetry-aggregator");
    }

    Path path() {
        return path;
    }

    /** Deletes this run's directory, then its lock file. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            deleteRecursively(path);
            Files.deleteIfExists(lockFile(path));
        } catch (IOException e) {
            LOG.warnf("Could not remove the scratch directory %s: %s", path, e.toString());
        } finally {
            try {
                lock.release();
                lockChannel.close();
            } catch (IOException e) {
                LOG.debugf(e, "Releasing the lock of %s failed", path);
            }
        }
    }

    /**
     * The lock is taken before the directory exists, and the lock file must still be there once
     * taken: a run that removes abandoned directories may have taken and deleted it in between.
     */
    private static ScratchDirectory tryCreate(Path parent) throws IOException {
        Path directory = parent.resolve(PREFIX + UUID.randomUUID());
        Path lockFile = lockFile(directory);
        FileChannel channel =
                FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileLock lock = null;
        try {
            lock = channel.tryLock();
            if (lock != null && Files.exists(lockFile)) {
                Files.createDirectory(directory);
                return new ScratchDirectory(directory, channel, lock);
            }
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        channel.close();
        return null;
    }

    /**
     * A directory is abandoned when nobody holds its lock. One without a lock file is left alone: a
     * run deletes its directory before its lock file, and creates it after.
     */
    private static void removeAbandoned(Path parent) throws IOException {
        try (DirectoryStream<Path> lockFiles =
                Files.newDirectoryStream(parent, PREFIX + "*" + LOCK_SUFFIX)) {
            for (Path lockFile : lockFiles) {
                String name = lockFile.getFileName().toString();
                Path directory =
                        lockFile.resolveSibling(
                                name.substring(0, name.length() - LOCK_SUFFIX.length()));
                removeIfAbandoned(directory, lockFile);
            }
        }
    }

    private static void removeIfAbandoned(Path directory, Path lockFile) {
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException heldInThisJvm) {
                return;
            }
            if (lock == null) {
                return;
            }
            try {
                boolean existed = Files.exists(directory);
                long bytes = deleteRecursively(directory);
                Files.deleteIfExists(lockFile);
                if (!existed) {
                    return;
                }
                LOG.infof(
                        "Removed %s, the scratch directory of a run that ended without cleaning up"
                                + " (%,d bytes)",
                        directory, bytes);
            } finally {
                lock.release();
            }
        } catch (NoSuchFileException goneMeanwhile) {
            // Another run removed it first.
        } catch (IOException e) {
            LOG.warnf("Could not remove the abandoned scratch directory %s: %s", directory, e);
        }
    }

    private static Path lockFile(Path directory) {
        return directory.resolveSibling(directory.getFileName() + LOCK_SUFFIX);
    }

    /** Deletes {@code root} and everything under it, if it exists; returns the bytes freed. */
    private static long deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return 0;
        }
        AtomicLong bytes = new AtomicLong();
        Files.walkFileTree(
                root,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
                            throws IOException {
                        bytes.addAndGet(attributes.size());
                        Files.delete(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException e)
                            throws IOException {
                        if (e != null) {
                            throw e;
                        }
                        Files.delete(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
        return bytes.get();
    }
}

package dev.telemetry.aggregator.service.checkpoint;

import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Proves that the checkpoint volume takes a write: at start-up, so a read-only, full or foreign
 * volume stops start-up with the operating system's reason instead of failing every checkpoint
 * later; and while checkpoints fail, to tell readiness whether the volume is why. {@link
 * Files#isWritable} is not enough: it asks permissions, which root ignores, and knows nothing of a
 * read-only mount or a full disk.
 */
public final class CheckpointVolume {
    /**
     * The probe file's name: unique per process (pid and a random part), so two processes on one
     * volume never delete each other's probe in the middle of a write.
     */
    static final String PROBE =
            ".write-probe-"
                    + ProcessHandle.current().pid()
                    + "-"
                    + HexFormat.of().toHexDigits(new SecureRandom().nextInt());

    /** The file whose lock says which process owns the checkpoint directory. */
    static final String LOCK = ".lock";

    private CheckpointVolume() {}

    /**
     * Creates the directory if needed, then writes, fsyncs and deletes a small probe file in it.
     *
     * @throws IllegalStateException naming the directory, its setting and environment variable, and
     *     the operating system's reason
     */
    public static void proveWritable(Path dir) {
        writeProblem(dir)
                .ifPresent(
                        problem -> {
                            throw new IllegalStateException(
                                    named(dir)
                                            + " cannot be written: "
                                            + problem
                                            + ". Checkpoints (and so exactly-once output) need a"
                                            + " writable volume with free space: fix the mount,"
                                            + " free space, or point "
                                            + Settings.environmentVariable(
                                                    ServiceOptions.CHECKPOINT_DIR)
                                            + " at another directory.");
                        });
    }

    /**
     * Why a probe file cannot be written, fsynced and deleted in {@code dir} (created if needed),
     * in the operating system's words; empty if it can.
     */
    public static Optional<String> writeProblem(Path dir) {
        Path probe = dir.resolve(PROBE);
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(probe);
            try (FileChannel channel =
                    FileChannel.open(
                            probe, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                // A few KB, so a full volume fails here even if a tiny write would still fit.
                ByteBuffer content = ByteBuffer.wrap(new byte[8192]);
                while (content.hasRemaining()) {
                    channel.write(content);
                }
                channel.force(true);
            }
            Files.delete(probe);
            return Optional.empty();
        } catch (IOException e) {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // The volume already refused a write; the first error is the one to report.
            }
            return Optional.of(reason(e));
        }
    }

    /** The operating system's words (e.g. "Read-only file system") and the file concerned. */
    private static String reason(IOException e) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason() + " (" + fs.getFile() + ")";
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /**
     * The exclusive lock on a checkpoint directory, held for the life of the process. A second
     * process on the same directory (a replacement pod on the same node while the old one still
     * takes its stop-with-savepoint, a copy-pasted {@code docker run}) would delete the first one's
     * in-progress snapshots, restore an older checkpoint and fence its pre-committed transactions.
     * The operating system releases the lock when the process ends, also on {@code kill -9}; it is
     * an advisory {@code fcntl} lock, so it binds processes that ask for it (every instance of this
     * service), on local file systems and NFSv4.
     */
    public static final class Lock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;

        private Lock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() {
            try {
                lock.release();
                channel.close();
            } catch (IOException e) {
                // The process is ending; the operating system releases the lock with it.
            }
        }
    }

    /**
     * Creates the directory if needed and takes its lock ({@value #LOCK} in it), writing this
     * process's id into the file for whoever looks.
     *
     * @throws IllegalStateException naming the directory, its setting and environment variable, if
     *     another process holds the lock or the lock file cannot be opened
     */
    public static Lock lock(Path dir) {
        Path file = dir.resolve(LOCK);
        FileChannel channel = null;
        try {
            Files.createDirectories(dir);
            channel =
                    FileChannel.open(
                            file,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.READ,
                            StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                // Held by this very process (an earlier start that has not stopped yet).
                lock = null;
            }
            if (lock == null) {
                String holder = holder(file);
                channel.close();
                throw new IllegalStateException(
                        named(dir)
                                + " is in use: another instance of the service holds its lock "
                                + file
                                + holder
                                + ". Two instances on one checkpoint directory delete each other's"
                                + " snapshots and fence each other's transactions. Stop the other"
                                + " instance (this one can start once it has exited), or give this"
                                + " one its own directory.");
            }
            channel.truncate(0);
            channel.write(
                    ByteBuffer.wrap(
                            ("pid " + ProcessHandle.current().pid() + "\n")
                                    .getBytes(StandardCharsets.UTF_8)),
                    0);
            return new Lock(channel, lock);
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // Reporting the first error matters more.
                }
            }
            throw new IllegalStateException(named(dir) + " cannot be locked: " + reason(e), e);
        }
    }

    /** "The checkpoint directory D (setting, ENV)": how every message here names it. */
    private static String named(Path dir) {
        return "The checkpoint directory "
                + dir
                + " ("
                + ServiceOptions.CHECKPOINT_DIR
                + ", "
                + Settings.environmentVariable(ServiceOptions.CHECKPOINT_DIR)
                + ")";
    }

    /** " (pid N)" from the lock file, or nothing if it says nothing readable. */
    private static String holder(Path file) {
        try {
            String content = Files.readString(file).trim();
            return content.matches("pid \\d+") ? " (" + content + ")" : "";
        } catch (IOException e) {
            return "";
        }
    }
}

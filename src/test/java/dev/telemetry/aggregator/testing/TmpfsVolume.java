package dev.telemetry.aggregator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;

/**
 * A small, real file system for checkpoint volume faults: a {@code tmpfs} mounted on a directory,
 * which can be filled up, remounted read-only and back. The tests run as root, which ignores file
 * permissions, so {@code chmod} cannot make a directory unwritable; a read-only mount and a full
 * file system fail writes for root too, with the operating system's own errors ({@code EROFS},
 * {@code ENOSPC}). Needs root with {@code CAP_SYS_ADMIN} (as CI runs, and any Debian VM's root).
 */
public final class TmpfsVolume implements AutoCloseable {
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    private static final String FILLER = "filler";

    private final Path mountPoint;

    private TmpfsVolume(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /**
     * Mounts a {@code tmpfs} of {@code sizeMegabytes} on {@code mountPoint} (created if needed).
     */
    public static TmpfsVolume mount(Path mountPoint, int sizeMegabytes) {
        Path absolute = mountPoint.toAbsolutePath().normalize();
        try {
            Files.createDirectories(absolute);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ExternalTools.Result result =
                command(
                        "mount",
                        "-t",
                        "tmpfs",
                        "-o",
                        "size=" + sizeMegabytes + "m",
                        "tmpfs",
                        absolute.toString());
        if (!result.succeeded()) {
            throw new AssertionError(
                    "Cannot mount a tmpfs on "
                            + absolute
                            + ": the checkpoint-volume tests need root with CAP_SYS_ADMIN (run"
                            + " them as root on a VM, not in an unprivileged container).\n"
                            + result);
        }
        return new TmpfsVolume(absolute);
    }

    public Path path() {
        return mountPoint;
    }

    /** Remounts read-only: every write fails with "Read-only file system", for root too. */
    public void remountReadOnly() {
        run("mount", "-o", "remount,ro", mountPoint.toString());
    }

    public void remountReadWrite() {
        run("mount", "-o", "remount,rw", mountPoint.toString());
    }

    /**
     * Fills the file system to the last byte with a filler file, so writes fail with "No space left
     * on device"; returns the bytes written.
     */
    public long fill() {
        long written = 0;
        ByteBuffer block = ByteBuffer.allocate(4096);
        try (FileChannel channel =
                FileChannel.open(
                        mountPoint.resolve(FILLER),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
            while (true) {
                block.clear();
                written += channel.write(block);
            }
        } catch (IOException e) {
            // ENOSPC: full, which is what we wanted.
            return written;
        }
    }

    /** Deletes the filler file: space is free again. */
    public void free() {
        try {
            Files.deleteIfExists(mountPoint.resolve(FILLER));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Unmounts (lazily if something still holds a file open); what was on it is gone. */
    @Override
    public void close() {
        if (!command("umount", mountPoint.toString()).succeeded()) {
            run("umount", "-l", mountPoint.toString());
        }
    }

    private void run(String... command) {
        ExternalTools.Result result = command(command);
        if (!result.succeeded()) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + result);
        }
    }

    private static ExternalTools.Result command(String... command) {
        return ExternalTools.run(
                COMMAND_TIMEOUT, ExternalTools.PROJECT_DIR, null, List.of(command));
    }
}

package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.Settings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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
final class CheckpointVolume {
    /**
     * The probe file's name: unique per process (pid and a random part), so two processes on one
     * volume never delete each other's probe in the middle of a write.
     */
    static final String PROBE =
            ".write-probe-"
                    + ProcessHandle.current().pid()
                    + "-"
                    + HexFormat.of().toHexDigits(new SecureRandom().nextInt());

    private CheckpointVolume() {}

    /**
     * Creates the directory if needed, then writes, fsyncs and deletes a small probe file in it.
     *
     * @throws IllegalStateException naming the directory, its setting and environment variable, and
     *     the operating system's reason
     */
    static void proveWritable(Path dir) {
        writeProblem(dir)
                .ifPresent(
                        problem -> {
                            throw new IllegalStateException(
                                    "The checkpoint directory "
                                            + dir
                                            + " ("
                                            + ServiceOptions.CHECKPOINT_DIR
                                            + ", "
                                            + Settings.environmentVariable(
                                                    ServiceOptions.CHECKPOINT_DIR)
                                            + ") cannot be written: "
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
    static Optional<String> writeProblem(Path dir) {
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
}

package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.local.LocalFileSystem;
import org.apache.flink.core.memory.DataInputViewStreamWrapper;
import org.apache.flink.core.memory.DataOutputViewStreamWrapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint files on the volume are read through a buffer: a restore that reads state field by
 * field makes one system call per buffer, not one per byte, and reads exactly the bytes it would
 * read unbuffered wherever it seeks.
 */
class BufferedLocalFileSystemTest {
    @TempDir Path dir;

    @Test
    void flinkResolvesTheLocalSchemeToTheBufferedFileSystem() throws Exception {
        assertThat(FileSystem.getUnguardedFileSystem(dir.toUri()))
                .isInstanceOf(BufferedLocalFileSystem.class);
    }

    /** On Flink's own local file system this made one read(2) per byte: 100,000 and more. */
    @Test
    void readingStringKeysTheWayARestoreDoesMakesOneSystemCallPerBuffer() throws Exception {
        org.apache.flink.core.fs.Path file =
                new org.apache.flink.core.fs.Path(dir.resolve("state").toUri());
        FileSystem fs = file.getFileSystem();
        List<String> keys = new ArrayList<>();
        try (FSDataOutputStream out = fs.create(file, FileSystem.WriteMode.NO_OVERWRITE)) {
            DataOutputViewStreamWrapper view = new DataOutputViewStreamWrapper(out);
            for (int i = 0; i < 10_000; i++) {
                String key = "sensor-" + i + "/metric-" + (i % 5);
                keys.add(key);
                StringSerializer.INSTANCE.serialize(key, view);
            }
        }
        long fileBytes = Files.size(dir.resolve("state"));

        List<String> read = new ArrayList<>();
        long before = readSystemCallsOfThisThread();
        try (FSDataInputStream in = fs.open(file)) {
            DataInputViewStreamWrapper view = new DataInputViewStreamWrapper(in);
            for (int i = 0; i < keys.size(); i++) {
                read.add(StringSerializer.INSTANCE.deserialize(view));
            }
        }
        long systemCalls = readSystemCallsOfThisThread() - before;

        assertThat(read).isEqualTo(keys);
        assertThat(fileBytes).isGreaterThan(150_000);
        // Four 64 KiB buffers, plus the end of the file and the counter's own read.
        assertThat(systemCalls).isLessThan(20);
    }

    @Test
    void seeksSkipsAndReadsOfEverySizeReturnTheFilesBytes() throws Exception {
        byte[] content = new byte[10_000];
        Random random = new Random(42);
        random.nextBytes(content);
        Path path = dir.resolve("data");
        Files.write(path, content);
        org.apache.flink.core.fs.Path file = new org.apache.flink.core.fs.Path(path.toUri());

        for (int bufferBytes : new int[] {1, 7, 64, 4096, 20_000}) {
            try (BufferedLocalFileSystem.BufferedInput in =
                    new BufferedLocalFileSystem.BufferedInput(
                            new LocalFileSystem().open(file), bufferBytes)) {
                long position = 0;
                for (int step = 0; step < 2_000; step++) {
                    switch (random.nextInt(5)) {
                        case 0 -> {
                            position = random.nextInt(content.length + 1);
                            in.seek(position);
                        }
                        case 1 -> {
                            long skipped = in.skip(random.nextInt(100));
                            assertThat(skipped).isNotNegative();
                            position += skipped;
                        }
                        case 2 -> {
                            int b = in.read();
                            if (position >= content.length) {
                                assertThat(b).isEqualTo(-1);
                            } else {
                                assertThat(b).isEqualTo(content[(int) position] & 0xff);
                                position++;
                            }
                        }
                        default -> {
                            byte[] bytes = new byte[random.nextInt(30_000)];
                            int read = in.read(bytes, 0, bytes.length);
                            if (bytes.length == 0) {
                                assertThat(read).isZero();
                            } else if (position >= content.length) {
                                assertThat(read).isEqualTo(-1);
                            } else {
                                assertThat(read).isPositive();
                                for (int i = 0; i < read; i++) {
                                    assertThat(bytes[i])
                                            .as("byte %d", position + i)
                                            .isEqualTo(content[(int) position + i]);
                                }
                                position += read;
                            }
                        }
                    }
                    assertThat(in.getPos())
                            .as("buffer %d, step %d", bufferBytes, step)
                            .isEqualTo(position);
                }
                in.seek(123);
                byte[] rest = new byte[content.length - 123];
                new DataInputStream(in).readFully(rest);
                assertThat(rest).isEqualTo(Arrays.copyOfRange(content, 123, content.length));
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    /** {@code syscr} of {@code /proc/thread-self/io}: read system calls this thread has made. */
    private static long readSystemCallsOfThisThread() {
        try {
            return Files.readAllLines(Path.of("/proc/thread-self/io")).stream()
                    .filter(line -> line.startsWith("syscr:"))
                    .mapToLong(line -> Long.parseLong(line.substring(6).trim()))
                    .findFirst()
                    .orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

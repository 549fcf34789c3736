package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.RunnableFuture;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.local.LocalFileSystem;
import org.apache.flink.core.memory.DataInputViewStreamWrapper;
import org.apache.flink.core.memory.DataOutputViewStreamWrapper;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.state.DefaultOperatorStateBackend;
import org.apache.flink.runtime.state.DefaultOperatorStateBackendBuilder;
import org.apache.flink.runtime.state.OperatorStateHandle;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.filesystem.FsCheckpointStreamFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint files on the volume are read and written through a buffer: a restore that reads state
 * field by field, and a snapshot that asks for the position before every element, make one system
 * call per buffer, not one per byte or element; reads return exactly the file's bytes wherever they
 * seek, and writes land in order.
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

    /**
     * Operator list state as the series cap keeps its admitted keys, snapshot as a checkpoint does
     * and restored. Flink asks for the position before each element; on its own local file system
     * that wrote out each element with a write(2) of its own: 10,000 and more.
     */
    @Test
    void aSnapshotOfListStateWritesThroughTheBufferAndRestoresEveryElement() throws Exception {
        ListStateDescriptor<Tuple3<Long, String, String>> descriptor =
                new ListStateDescriptor<>(
                        "admitted-series", Types.TUPLE(Types.LONG, Types.STRING, Types.STRING));
        List<Tuple3<Long, String, String>> elements = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            elements.add(Tuple3.of(1_763_712_000_000L, "sensor-" + i, "metric-" + (i % 5)));
        }
        ClassLoader loader = getClass().getClassLoader();
        DefaultOperatorStateBackend backend =
                new DefaultOperatorStateBackendBuilder(
                                loader,
                                new ExecutionConfig(),
                                false,
                                List.of(),
                                new CloseableRegistry())
                        .build();
        backend.getListState(descriptor).addAll(elements);
        org.apache.flink.core.fs.Path checkpointDir =
                new org.apache.flink.core.fs.Path(dir.resolve("chk-1").toUri());
        FsCheckpointStreamFactory streams =
                new FsCheckpointStreamFactory(
                        checkpointDir.getFileSystem(), checkpointDir, checkpointDir, 20_480, 4_096);

        long before = writeSystemCallsOfThisThread();
        RunnableFuture<SnapshotResult<OperatorStateHandle>> snapshot =
                backend.snapshot(
                        1, 0, streams, CheckpointOptions.forCheckpointWithDefaultLocation());
        snapshot.run();
        OperatorStateHandle handle = snapshot.get().getJobManagerOwnedSnapshot();
        long systemCalls = writeSystemCallsOfThisThread() - before;
        backend.dispose();

        DefaultOperatorStateBackend restored =
                new DefaultOperatorStateBackendBuilder(
                                loader,
                                new ExecutionConfig(),
                                false,
                                List.of(handle),
                                new CloseableRegistry())
                        .build();
        List<Tuple3<Long, String, String>> read = new ArrayList<>();
        restored.getListState(descriptor).get().forEach(read::add);
        restored.dispose();

        assertThat(read).isEqualTo(elements);
        assertThat(handle.getStateSize()).isGreaterThan(200_000);
        // Four 64 KiB buffers and a few for the file's creation and the counter's own read.
        assertThat(systemCalls).isLessThan(30);
    }

    @Test
    void writesOfEverySizeLandInOrderAndThePositionIsCounted() throws Exception {
        Random random = new Random(7);
        for (int bufferBytes : new int[] {1, 7, 64, 4096}) {
            Path path = dir.resolve("out-" + bufferBytes);
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            try (BufferedLocalFileSystem.BufferedOutput out =
                    new BufferedLocalFileSystem.BufferedOutput(
                            new LocalFileSystem()
                                    .create(
                                            new org.apache.flink.core.fs.Path(path.toUri()),
                                            FileSystem.WriteMode.NO_OVERWRITE),
                            bufferBytes)) {
                for (int step = 0; step < 2_000; step++) {
                    switch (random.nextInt(4)) {
                        case 0 -> {
                            int b = random.nextInt(256);
                            out.write(b);
                            expected.write(b);
                        }
                        case 1 -> out.flush();
                        case 2 -> out.sync();
                        default -> {
                            byte[] bytes = new byte[random.nextInt(10_000)];
                            random.nextBytes(bytes);
                            int offset = bytes.length == 0 ? 0 : random.nextInt(bytes.length);
                            out.write(bytes, offset, bytes.length - offset);
                            expected.write(bytes, offset, bytes.length - offset);
                        }
                    }
                    assertThat(out.getPos())
                            .as("buffer %d, step %d", bufferBytes, step)
                            .isEqualTo(expected.size());
                }
            }
            assertThat(Files.readAllBytes(path)).isEqualTo(expected.toByteArray());
        }
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
        return systemCallsOfThisThread("syscr:");
    }

    /** {@code syscw} of {@code /proc/thread-self/io}: write system calls this thread has made. */
    private static long writeSystemCallsOfThisThread() {
        return systemCallsOfThisThread("syscw:");
    }

    private static long systemCallsOfThisThread(String counter) {
        try {
            return Files.readAllLines(Path.of("/proc/thread-self/io")).stream()
                    .filter(line -> line.startsWith(counter))
                    .mapToLong(line -> Long.parseLong(line.substring(counter.length()).trim()))
                    .findFirst()
                    .orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

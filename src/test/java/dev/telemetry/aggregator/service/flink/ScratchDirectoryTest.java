package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run's scratch directory goes when the run closes it, or at the next start after the run was
 * killed; never while its owner runs, in another process or in this one.
 */
class ScratchDirectoryTest {
    @TempDir Path parent;

    @Test
    void closingRemovesTheRunsDirectoryAndLockFile() throws Exception {
        ScratchDirectory scratch = ScratchDirectory.create(parent);
        Files.writeString(
                Files.createDirectories(scratch.path().resolve("tm_0/tmp")).resolve("state.sst"),
                "x".repeat(1000));
        assertThat(scratch.path()).isDirectory().hasParent(parent);

        scratch.close();
        scratch.close();

        assertThat(entries(parent)).isEmpty();
    }

    @Test
    void aRunInThisJvmKeepsItsDirectoryWhileAnotherStarts() throws Exception {
        try (ScratchDirectory first = ScratchDirectory.create(parent);
                ScratchDirectory second = ScratchDirectory.create(parent)) {
            assertThat(first.path()).isDirectory();
            assertThat(second.path()).isDirectory().isNotEqualTo(first.path());
        }
    }

    @Test
    void aKilledProcesssDirectoryIsRemovedByTheNextStartButNotWhileItRuns() throws Exception {
        Process holder =
                new ProcessBuilder(
                                Paths.get(System.getProperty("java.home"), "bin", "java")
                                        .toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                ScratchDirectoryHolder.class.getName(),
                                parent.toString())
                        .redirectErrorStream(true)
                        .start();
        try {
            Path held;
            try (BufferedReader out =
                    new BufferedReader(
                            new InputStreamReader(
                                    holder.getInputStream(), StandardCharsets.UTF_8))) {
                held = Path.of(awaitLine(out, ScratchDirectoryHolder.CREATED));
            }
            Files.writeString(held.resolve("librocksdbjni.so"), "x".repeat(4096));

            try (ScratchDirectory whileAlive = ScratchDirectory.create(parent)) {
                assertThat(held).as("the running process's directory").isDirectory();
            }

            holder.destroyForcibly(); // SIGKILL: no shutdown hook, no cleanup
            assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();

            try (ScratchDirectory next = ScratchDirectory.create(parent)) {
                assertThat(held).as("the killed process's directory").doesNotExist();
                assertThat(held.resolveSibling(held.getFileName() + ".lock")).doesNotExist();
                assertThat(entries(parent))
                        .containsExactlyInAnyOrder(
                                next.path(),
                                next.path().resolveSibling(next.path().getFileName() + ".lock"));
            }
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void leavesAloneWhatIsNotARunsDirectoryAndRemovesALockFileLeftWithoutOne() throws Exception {
        Path foreign = Files.createDirectories(parent.resolve("run-not-ours"));
        Path otherFile = Files.writeString(parent.resolve("notes.txt"), "keep");
        Path orphanLock = Files.createFile(parent.resolve("run-crashed-before-mkdir.lock"));

        try (ScratchDirectory scratch = ScratchDirectory.create(parent)) {
            assertThat(foreign).isDirectory();
            assertThat(otherFile).exists();
            assertThat(orphanLock).doesNotExist();
        }
    }

    @Test
    void anUnwritableParentStopsStartUpNamingTheDirectory() throws Exception {
        Path file = Files.writeString(parent.resolve("a-file"), "not a directory");

        assertThatThrownBy(() -> ScratchDirectory.create(file.resolve("scratch")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(file.resolve("scratch").toString())
                .hasMessageContaining("java.io.tmpdir");
    }

    private static String awaitLine(BufferedReader out, String prefix) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        StringBuilder seen = new StringBuilder();
        String line;
        while (System.nanoTime() < deadline && (line = out.readLine()) != null) {
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length());
            }
            seen.append(line).append('\n');
        }
        throw new AssertionError("the holder process did not report its directory:\n" + seen);
    }

    private static List<Path> entries(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.toList();
        }
    }
}

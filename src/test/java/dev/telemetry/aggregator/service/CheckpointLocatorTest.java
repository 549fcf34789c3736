package dev.telemetry.aggregator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Covers finding the checkpoint to resume from on the checkpoint volume ({@code
 * <root>/<job-id>/chk-<n>/_metadata}) and removing checkpoints a crash left incomplete.
 */
class CheckpointLocatorTest {
    private static final String JOB = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    private static final Instant BASE = Instant.parse("2025-11-21T00:00:00Z");

    @TempDir Path root;

    @Test
    void newestCompletedIsTheHighestCheckpointId() throws Exception {
        // Same completion time for all, so only the id can decide.
        Path chk3 = completedCheckpoint(JOB, 3, BASE);
        completedCheckpoint(JOB, 12, BASE);
        Path chk9 = completedCheckpoint(JOB, 9, BASE);
        Path chk12 = root.resolve(JOB).resolve("chk-12");

        CheckpointLocator locator = new CheckpointLocator(root);

        assertThat(locator.newestCompleted())
                .hasValueSatisfying(
                        snapshot -> {
                            assertThat(snapshot.path()).isEqualTo(chk12);
                            assertThat(snapshot.checkpointId()).isEqualTo(12);
                        });
        assertThat(locator.completedNewestFirst())
                .extracting(CheckpointLocator.Snapshot::path)
                .containsExactly(chk12, chk9, chk3);
    }

    @Test
    void newestCompletedIdIsNotConfusedByLexicalOrder() throws Exception {
        // "chk-9" sorts after "chk-10" as text.
        completedCheckpoint(JOB, 9, BASE.plusSeconds(9));
        completedCheckpoint(JOB, 10, BASE.plusSeconds(10));

        assertThat(new CheckpointLocator(root).newestCompleted())
                .hasValueSatisfying(snapshot -> assertThat(snapshot.checkpointId()).isEqualTo(10));
    }

    @Test
    void newestCompletedAcrossJobDirectoriesIsTheLastOneCompleted() throws Exception {
        // Each start of the embedded job may get a new job id; the most recent run wins even if
        // it counted checkpoints from a lower id.
        completedCheckpoint("old0000000000000000000000000000", 40, BASE);
        Path newest =
                completedCheckpoint("new0000000000000000000000000000", 2, BASE.plusSeconds(60));

        assertThat(new CheckpointLocator(root).newestCompleted())
                .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(newest));
    }

    @Test
    void checkpointWithoutMetadataIsIgnoredAndDeletedWhileCompletedOnesStay() throws Exception {
        Path chk4 = completedCheckpoint(JOB, 4, BASE);
        Path chk5 = completedCheckpoint(JOB, 5, BASE.plusSeconds(10));
        // chk-6 was being written when the process died: state files, but no _metadata.
        Path chk6 = Files.createDirectories(root.resolve(JOB).resolve("chk-6"));
        Files.write(chk6.resolve("some-state-file"), new byte[] {1, 2, 3});
        Files.setLastModifiedTime(chk6, FileTime.from(BASE.plusSeconds(20)));

        CheckpointLocator locator = new CheckpointLocator(root);

        assertThat(locator.newestCompleted())
                .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(chk5));
        assertThat(locator.deleteIncomplete()).containsExactly(chk6);
        assertThat(chk6).doesNotExist();
        assertThat(chk4.resolve("_metadata")).isRegularFile();
        assertThat(chk5.resolve("_metadata")).isRegularFile();
        assertThat(locator.deleteIncomplete()).isEmpty();
    }

    @Test
    void deleteIncompleteLeavesOtherDirectoriesAlone() throws Exception {
        // Flink's shared/ and taskowned/ directories sit next to chk-<n> and hold live state.
        Path shared = Files.createDirectories(root.resolve(JOB).resolve("shared"));
        Path taskOwned = Files.createDirectories(root.resolve(JOB).resolve("taskowned"));

        assertThat(new CheckpointLocator(root).deleteIncomplete()).isEmpty();
        assertThat(shared).isDirectory();
        assertThat(taskOwned).isDirectory();
    }

    @Test
    void tornMetadataInTheNewestIsSkippedForTheOlderGoodOne() throws Exception {
        Path good = completedCheckpoint(JOB, 7, BASE);
        Path torn = completedCheckpoint(JOB, 8, BASE.plusSeconds(10));
        byte[] full = Files.readAllBytes(torn.resolve("_metadata"));
        writeMetadata(torn, Arrays.copyOf(full, full.length / 2), BASE.plusSeconds(10));

        assertThat(new CheckpointLocator(root).newestCompleted())
                .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(good));
    }

    @Test
    void garbageOrEmptyMetadataIsSkipped() throws Exception {
        Path good = completedCheckpoint(JOB, 1, BASE);
        writeMetadata(
                Files.createDirectories(root.resolve(JOB).resolve("chk-2")),
                "not a checkpoint".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                BASE.plusSeconds(10));
        writeMetadata(
                Files.createDirectories(root.resolve(JOB).resolve("chk-3")),
                new byte[0],
                BASE.plusSeconds(20));

        assertThat(new CheckpointLocator(root).newestCompleted())
                .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(good));
    }

    @Test
    void onlyUnreadableCheckpointsMeansNothingToRestore() throws Exception {
        writeMetadata(
                Files.createDirectories(root.resolve(JOB).resolve("chk-1")), new byte[] {1}, BASE);

        assertThat(new CheckpointLocator(root).newestCompleted()).isEmpty();
    }

    @Test
    void emptyRootHasNothingToRestore() throws Exception {
        CheckpointLocator locator = new CheckpointLocator(root);

        assertThat(locator.newestCompleted()).isEmpty();
        assertThat(locator.deleteIncomplete()).isEmpty();
    }

    @Test
    void missingRootHasNothingToRestore() throws Exception {
        CheckpointLocator locator = new CheckpointLocator(root.resolve("does-not-exist"));

        assertThat(locator.newestCompleted()).isEmpty();
        assertThat(locator.deleteIncomplete()).isEmpty();
    }

    @Test
    void filesAndForeignDirectoriesUnderTheRootAreIgnored() throws Exception {
        Files.writeString(root.resolve("README"), "not a job directory");
        Files.createDirectories(root.resolve(JOB).resolve("savepoint-abc"));
        Files.writeString(root.resolve(JOB).resolve("chk-5"), "a file, not a checkpoint");

        assertThat(new CheckpointLocator(root).newestCompleted()).isEmpty();
    }

    /** A checkpoint directory with a {@code _metadata} written by Flink's own serializer. */
    private Path completedCheckpoint(String jobId, long id, Instant completedAt)
            throws IOException {
        Path dir = Files.createDirectories(root.resolve(jobId).resolve("chk-" + id));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(id, List.of(), List.of()), out);
        }
        writeMetadata(dir, bytes.toByteArray(), completedAt);
        return dir;
    }

    private static void writeMetadata(Path checkpoint, byte[] content, Instant completedAt)
            throws IOException {
        Path metadata = checkpoint.resolve("_metadata");
        Files.write(metadata, content);
        Files.setLastModifiedTime(metadata, FileTime.from(completedAt));
    }
}

package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
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

        assertThat(newestCompleted(locator))
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

        assertThat(newestCompleted(new CheckpointLocator(root)))
                .hasValueSatisfying(snapshot -> assertThat(snapshot.checkpointId()).isEqualTo(10));
    }

    @Test
    void newerSnapshotWithAnOlderModificationTimeIsStillTheNewest() throws Exception {
        // A clock step, or a volume copied without timestamps: chk-12 looks older than chk-9.
        Path chk12 = completedCheckpoint(JOB, 12, BASE);
        Path chk9 = completedCheckpoint(JOB, 9, BASE.plusSeconds(3600));

        CheckpointLocator locator = new CheckpointLocator(root);

        assertThat(newestCompleted(locator))
                .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(chk12));
        assertThat(locator.completedNewestFirst())
                .extracting(CheckpointLocator.Snapshot::path)
                .containsExactly(chk12, chk9);
    }

    @Test
    void savepointsAndCheckpointsAreOrderedByTheIdInTheirMetadata() throws Exception {
        // A stop-with-savepoint in the same second as the last checkpoint, or a copy that reset
        // the timestamps: only the id in the metadata says which came last.
        Path chk14 = completedCheckpoint(JOB, 14, BASE.plusSeconds(10));
        Path savepoint15 = savepoint("savepoint-a1b2c3-000000000015", 15, BASE);
        Path savepoint3 = savepoint("savepoint-a1b2c3-000000000003", 3, BASE.plusSeconds(20));

        CheckpointLocator locator = new CheckpointLocator(root);

        assertThat(newestCompleted(locator))
                .hasValueSatisfying(
                        snapshot -> {
                            assertThat(snapshot.path()).isEqualTo(savepoint15);
                            assertThat(snapshot.checkpointId()).isEqualTo(15);
                            assertThat(snapshot.isSavepoint()).isTrue();
                        });
        assertThat(locator.completedNewestFirst())
                .extracting(CheckpointLocator.Snapshot::path)
                .containsExactly(savepoint15, chk14, savepoint3);
    }

    @Test
    void onTheSameIdTheSavepointIsPreferred() throws Exception {
        Path checkpoint = completedCheckpoint(JOB, 7, BASE.plusSeconds(1));
        Path savepoint = savepoint("savepoint-a1b2c3-000000000007", 7, BASE);

        assertThat(new CheckpointLocator(root).completedNewestFirst())
                .extracting(CheckpointLocator.Snapshot::path)
                .containsExactly(savepoint, checkpoint);
    }

    @Test
    void retentionKeepsTheNewestByIdNotByModificationTime() throws Exception {
        Path chk12 = completedCheckpoint(JOB, 12, BASE);
        Path chk11 = completedCheckpoint(JOB, 11, BASE.plusSeconds(100));
        Path chk10 = completedCheckpoint(JOB, 10, BASE.plusSeconds(200));

        assertThat(new CheckpointLocator(root).deleteAllButNewest(2)).containsExactly(chk10);
        assertThat(chk12).isDirectory();
        assertThat(chk11).isDirectory();
    }

    @Test
    void tornSnapshotsDoNotCountAmongTheKeptAndAreNotDeleted() throws Exception {
        Path good = completedCheckpoint(JOB, 5, BASE);
        Path torn = completedCheckpoint(JOB, 6, BASE.plusSeconds(10));
        byte[] full = Files.readAllBytes(torn.resolve("_metadata"));
        writeMetadata(torn, Arrays.copyOf(full, 6), BASE.plusSeconds(10));

        assertThat(new CheckpointLocator(root).deleteAllButNewest(1)).isEmpty();
        assertThat(good.resolve("_metadata")).isRegularFile();
        assertThat(torn).isDirectory();
    }

    @Test
    void metadataOfAnUnknownVersionStopsStartUpNamingTheSnapshot() throws Exception {
        completedCheckpoint(JOB, 4, BASE);
        Path newer = Files.createDirectories(root.resolve(JOB).resolve("chk-5"));
        // Flink's header (magic number) followed by a format version this Flink does not know:
        // written by a newer Flink, not torn. Skipping it would restore an older snapshot.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(Checkpoints.HEADER_MAGIC_NUMBER);
            out.writeInt(99);
            out.writeLong(5);
        }
        writeMetadata(newer, bytes.toByteArray(), BASE.plusSeconds(10));

        assertThatThrownBy(() -> newestCompleted(new CheckpointLocator(root)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(newer.toString())
                .hasMessageContaining("99");
    }

    @Test
    void metadataThatCannotBeReadStopsStartUpNamingTheSnapshotAndTheError() throws Exception {
        completedCheckpoint(JOB, 4, BASE);
        // An I/O error that is not a short file: here "Is a directory".
        Path broken = Files.createDirectories(root.resolve(JOB).resolve("chk-5"));
        Files.createDirectories(broken.resolve("_metadata"));

        assertThatThrownBy(() -> newestCompleted(new CheckpointLocator(root)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(broken.toString())
                .hasMessageContaining("TELEMETRY_RESTORE_FROM");
    }

    @Test
    void directoriesThatAreNotSnapshotsAreNotListed() throws Exception {
        // An ext4 volume's lost+found is owned by root and unreadable for the service's user.
        // Whatever it holds is not a snapshot of this job, even something that looks like one.
        Path own = completedCheckpoint(JOB, 3, BASE);
        Path lostAndFound = root.resolve("lost+found");
        completedCheckpointIn(lostAndFound.resolve("chk-7"), 7, BASE);
        Files.createDirectories(root.resolve("backup").resolve("chk-9"));
        Files.writeString(root.resolve("notes.txt"), "a stray file");
        Files.setPosixFilePermissions(lostAndFound, PosixFilePermissions.fromString("---------"));
        try {
            CheckpointLocator locator = new CheckpointLocator(root);

            assertThat(locator.deleteIncomplete()).isEmpty();
            assertThat(newestCompleted(locator))
                    .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(own));
            assertThat(locator.completedNewestFirst())
                    .extracting(CheckpointLocator.Snapshot::path)
                    .containsExactly(own);
            assertThat(locator.deleteAllButNewest(1)).isEmpty();
        } finally {
            Files.setPosixFilePermissions(
                    lostAndFound, PosixFilePermissions.fromString("rwx------"));
        }
        assertThat(root.resolve("backup").resolve("chk-9")).isDirectory();
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

        assertThat(newestCompleted(locator))
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

        assertThat(newestCompleted(new CheckpointLocator(root)))
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

        assertThat(newestCompleted(new CheckpointLocator(root)))
                .hasValueSatisfying(snapshot -> assertThat(snapshot.path()).isEqualTo(good));
    }

    @Test
    void onlyUnreadableCheckpointsMeansNothingToRestore() throws Exception {
        writeMetadata(
                Files.createDirectories(root.resolve(JOB).resolve("chk-1")), new byte[] {1}, BASE);

        assertThat(newestCompleted(new CheckpointLocator(root))).isEmpty();
    }

    @Test
    void emptyRootHasNothingToRestore() throws Exception {
        CheckpointLocator locator = new CheckpointLocator(root);

        assertThat(newestCompleted(locator)).isEmpty();
        assertThat(locator.deleteIncomplete()).isEmpty();
    }

    @Test
    void missingRootHasNothingToRestore() throws Exception {
        CheckpointLocator locator = new CheckpointLocator(root.resolve("does-not-exist"));

        assertThat(newestCompleted(locator)).isEmpty();
        assertThat(locator.deleteIncomplete()).isEmpty();
    }

    @Test
    void filesAndForeignDirectoriesUnderTheRootAreIgnored() throws Exception {
        Files.writeString(root.resolve("README"), "not a job directory");
        Files.createDirectories(root.resolve(JOB).resolve("savepoint-abc"));
        Files.writeString(root.resolve(JOB).resolve("chk-5"), "a file, not a checkpoint");

        assertThat(newestCompleted(new CheckpointLocator(root))).isEmpty();
    }

    /** A checkpoint directory with a {@code _metadata} written by Flink's own serializer. */
    private Path completedCheckpoint(String jobId, long id, Instant completedAt)
            throws IOException {
        return completedCheckpointIn(root.resolve(jobId).resolve("chk-" + id), id, completedAt);
    }

    /** A savepoint in {@code <root>/savepoints}, where the service's savepoints go. */
    private Path savepoint(String name, long id, Instant completedAt) throws IOException {
        return completedCheckpointIn(
                root.resolve(CheckpointLocator.SAVEPOINTS).resolve(name), id, completedAt);
    }

    private static Path completedCheckpointIn(Path directory, long id, Instant completedAt)
            throws IOException {
        Path dir = Files.createDirectories(directory);
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

    /**
     * The newest completed snapshot, skipping torn ones and stopping on an unreadable one: what
     * start-up's restore plan chooses when nothing is requested.
     */
    private static Optional<CheckpointLocator.Snapshot> newestCompleted(CheckpointLocator locator)
            throws IOException {
        return locator.scan().requireNoUnreadable().newest();
    }
}

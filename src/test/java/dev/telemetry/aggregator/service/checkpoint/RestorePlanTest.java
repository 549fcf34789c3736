package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What start-up restores and what it leaves on the volume: retention against {@code
 * TELEMETRY_RESTORE_FROM}, the applied / pending / failed records, and a rollback to an older
 * snapshot. The records are written by the running job (after its first completed snapshot, or when
 * a restore failed); here they are written the same way, through {@link RestorePlan}.
 */
class RestorePlanTest {
    private static final String JOB = FixedJobId.JOB_ID.toHexString();

    @TempDir Path root;

    @Test
    void retentionNeverDeletesTheRequestedSnapshot() throws Exception {
        // Rollback to an older admin savepoint while the volume holds newer checkpoints.
        Path requested = savepoint("savepoint-000000-000000000002", 2);
        checkpoint(5);
        checkpoint(6);
        checkpoint(7);

        RestorePlan.Plan plan = RestorePlan.prepare(root, 1, Optional.of(requested));

        assertThat(plan.restore())
                .hasValueSatisfying(
                        restore -> {
                            assertThat(restore.snapshot().path()).isEqualTo(requested);
                            assertThat(restore.explicit()).isTrue();
                        });
        assertThat(requested.resolve("_metadata")).isRegularFile();
    }

    @Test
    void aRollbackMovesTheNewerSnapshotsAsideSoACrashDoesNotUndoIt() throws Exception {
        Path requested = savepoint("savepoint-000000-000000000002", 2);
        Path chk7 = checkpoint(7);

        RestorePlan.prepare(root, 3, Optional.of(requested));

        assertThat(chk7).doesNotExist();
        assertThat(new CheckpointLocator(root).completedNewestFirst())
                .extracting(CheckpointLocator.Snapshot::path)
                .containsExactly(requested);
        try (var entries = Files.list(root)) {
            Path aside =
                    entries.filter(p -> p.getFileName().toString().startsWith("rolled-back-"))
                            .findFirst()
                            .orElseThrow();
            assertThat(aside.resolve(JOB).resolve("chk-7").resolve("_metadata")).isRegularFile();
        }
    }

    @Test
    void tornSnapshotsAreMovedAsideSoTheRestoredJobCanReuseTheirIds() throws Exception {
        // After restoring chk-4 Flink counts on from 5: a torn chk-5 left in place would make
        // that checkpoint fail ("already exists") and be skipped again at every start.
        Path chk4 = checkpoint(4);
        Path chk5 = checkpoint(5);
        Files.write(chk5.resolve("_metadata"), new byte[] {0x49, 0x60});

        RestorePlan.Plan plan = RestorePlan.prepare(root, 3, Optional.empty());

        assertThat(plan.restore())
                .hasValueSatisfying(
                        restore -> assertThat(restore.snapshot().path()).isEqualTo(chk4));
        assertThat(chk5).doesNotExist();
        try (var entries = Files.list(root)) {
            Path aside =
                    entries.filter(p -> p.getFileName().toString().startsWith("torn-"))
                            .findFirst()
                            .orElseThrow();
            assertThat(aside.resolve(JOB).resolve("chk-5").resolve("_metadata")).isRegularFile();
        }
    }

    @Test
    void aRequestedRestoreIsRepeatedUntilARunCompletesASnapshotAfterIt() throws Exception {
        Path requested = savepoint("savepoint-000000-000000000004", 4);

        RestorePlan.prepare(root, 3, Optional.of(requested));
        // The job was submitted, then the process died before its first checkpoint.
        RestorePlan.Plan again = RestorePlan.prepare(root, 3, Optional.of(requested));

        assertThat(again.restore())
                .hasValueSatisfying(
                        restore -> {
                            assertThat(restore.snapshot().path()).isEqualTo(requested);
                            assertThat(restore.explicit()).isTrue();
                        });
        assertThat(root.resolve(RestorePlan.APPLIED)).doesNotExist();
    }

    @Test
    void onceAppliedTheRequestedSnapshotMayBeGoneWhileTheSettingStays() throws Exception {
        Path requested = savepoint("savepoint-000000-000000000004", 4);
        RestorePlan.prepare(root, 3, Optional.of(requested));
        Path chk5 = checkpoint(5);
        RestorePlan.markApplied(root, requested);
        CheckpointLocator.deleteRecursively(requested);

        RestorePlan.Plan plan = RestorePlan.prepare(root, 3, Optional.of(requested));

        assertThat(plan.restore())
                .hasValueSatisfying(
                        restore -> {
                            assertThat(restore.snapshot().path()).isEqualTo(chk5);
                            assertThat(restore.explicit()).isFalse();
                        });
    }

    @Test
    void aNewerSnapshotAfterAPendingRestoreMeansItWasApplied() throws Exception {
        // The process died after its first checkpoint completed but before it wrote the marker.
        Path requested = savepoint("savepoint-000000-000000000004", 4);
        RestorePlan.prepare(root, 3, Optional.of(requested));
        Path chk5 = checkpoint(5);

        RestorePlan.Plan plan = RestorePlan.prepare(root, 3, Optional.of(requested));

        assertThat(plan.restore())
                .hasValueSatisfying(
                        restore -> assertThat(restore.snapshot().path()).isEqualTo(chk5));
        assertThat(root.resolve(RestorePlan.APPLIED)).content().contains(requested.toString());
    }

    @Test
    void aRequestedSnapshotThatIsMissingBeforeItWasAppliedStopsStartUp() {
        Path missing = root.resolve("elsewhere").resolve("savepoint-000000-000000000009");

        assertThatThrownBy(() -> RestorePlan.prepare(root, 3, Optional.of(missing)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TELEMETRY_RESTORE_FROM")
                .hasMessageContaining("does not exist");
    }

    @Test
    void aStartThatStopsLeavesTheVolumeAsItWas() throws Exception {
        Path chk3 = checkpoint(3);
        Path interrupted = Files.createDirectories(root.resolve(JOB).resolve("chk-4"));
        Path missing = root.resolve("elsewhere").resolve("savepoint-000000-000000000001");

        assertThatThrownBy(() -> RestorePlan.prepare(root, 1, Optional.of(missing)))
                .hasMessageContaining("does not exist");
        assertThat(interrupted).isDirectory();
        assertThat(chk3.resolve("_metadata")).isRegularFile();
        assertThat(root.resolve(RestorePlan.PENDING)).doesNotExist();
    }

    @Test
    void aSnapshotWhoseRestoreFailedStopsTheNextStartWithWhatToDo() throws Exception {
        checkpoint(3);
        Path chk4 = checkpoint(4);
        RestorePlan.markFailed(root, chk4, "java.io.FileNotFoundException: .../chk-4/abc");

        assertThatThrownBy(() -> RestorePlan.prepare(root, 3, Optional.empty()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("could not restore " + chk4)
                .hasMessageContaining("FileNotFoundException")
                .hasMessageContaining(root.resolve(RestorePlan.FAILED).toString())
                .hasMessageContaining("TELEMETRY_RESTORE_FROM");

        // The way out: move it aside; the previous snapshot is restored.
        Files.move(chk4, root.resolve("chk-4-moved-aside"));
        assertThat(RestorePlan.prepare(root, 3, Optional.empty()).restore())
                .hasValueSatisfying(
                        restore -> assertThat(restore.snapshot().checkpointId()).isEqualTo(3));
    }

    @Test
    void recordsAreReplacedAtomicallyWithoutLeftovers() throws Exception {
        RestorePlan.writeAtomically(root.resolve(RestorePlan.APPLIED), "first\n");
        RestorePlan.writeAtomically(root.resolve(RestorePlan.APPLIED), "second\n");

        assertThat(root.resolve(RestorePlan.APPLIED)).hasContent("second");
        try (var entries = Files.list(root)) {
            assertThat(entries).containsExactly(root.resolve(RestorePlan.APPLIED));
        }
    }

    @Test
    void restoreFailuresAreToldFromOtherJobFailures() {
        assertThat(
                        RestoreOutcome.isRestoreFailure(
                                new RuntimeException(
                                        "Could not start the JobMaster.",
                                        new IllegalStateException(
                                                "Failed to rollback to checkpoint/savepoint x."
                                                    + " Cannot map checkpoint/savepoint state"))))
                .isTrue();
        assertThat(
                        RestoreOutcome.isRestoreFailure(
                                new RuntimeException(
                                        "Failed to get metadata for topics [telemetry]")))
                .isFalse();
        assertThat(
                        RestoreOutcome.isRestoreFailure(
                                new Exception(
                                        "Exception while creating StreamOperatorStateContext.",
                                        new java.io.FileNotFoundException("chk-4/abc"))))
                .isTrue();
        // A checkpoint volume that vanished at runtime is not a failed restore.
        assertThat(
                        RestoreOutcome.isRestoreFailure(
                                new RuntimeException(
                                        "Exceeded checkpoint tolerable failure threshold.",
                                        new java.nio.file.NoSuchFileException("/data/chk-9"))))
                .isFalse();
    }

    private Path checkpoint(long id) throws IOException {
        return snapshot(root.resolve(JOB).resolve("chk-" + id), id);
    }

    private Path savepoint(String name, long id) throws IOException {
        return snapshot(root.resolve(CheckpointLocator.SAVEPOINTS).resolve(name), id);
    }

    private static Path snapshot(Path dir, long id) throws IOException {
        Files.createDirectories(dir);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(id, List.of(), List.of()), out);
        }
        Files.write(dir.resolve("_metadata"), bytes.toByteArray());
        return dir;
    }
}

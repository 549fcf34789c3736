package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The volume's "last alive" record that tells a run's own predecessor from another deployment. */
class VolumeHeartbeatTest {
    @TempDir Path volume;

    @Test
    void aNewVolumeWasNeverAlive() {
        assertThat(VolumeHeartbeat.lastAlive(volume)).isEmpty();
    }

    @Test
    void theLastRecordWins() throws Exception {
        Instant first = Instant.parse("2026-12-06T08:00:00.123Z");
        Instant second = Instant.parse("2026-12-06T08:00:01.456Z");
        VolumeHeartbeat.recordAlive(volume, first);
        VolumeHeartbeat.recordAlive(volume, second);

        assertThat(VolumeHeartbeat.lastAlive(volume)).contains(second);
        try (var files = Files.list(volume)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("last-alive");
        }
    }

    @Test
    void anUnreadableRecordCountsAsNeverAlive() throws Exception {
        Files.writeString(volume.resolve(VolumeHeartbeat.LAST_ALIVE), "2026-12-");

        assertThat(VolumeHeartbeat.lastAlive(volume)).isEmpty();
    }

    @Test
    void onlyCheckpointsUnderTheJobDirectoryAreTheVolumesOwn() {
        Path jobDir = volume.resolve(FixedJobId.JOB_ID.toHexString());

        assertThat(FixedJobId.isOwnCheckpoint(volume, jobDir.resolve("chk-7"))).isTrue();
        assertThat(FixedJobId.isOwnCheckpoint(volume, volume.resolve("savepoints/savepoint-1")))
                .as("a savepoint, possibly copied in from another deployment")
                .isFalse();
        assertThat(FixedJobId.isOwnCheckpoint(volume, Path.of("/elsewhere/chk-7"))).isFalse();
    }
}

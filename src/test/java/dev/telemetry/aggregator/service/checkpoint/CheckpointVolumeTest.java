package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up write probe of the checkpoint volume (real read-only and full volumes are in {@code
 * CheckpointVolumeIT}).
 */
class CheckpointVolumeTest {

    @Test
    void aWritableDirectoryIsCreatedAndLeftWithoutTheProbe(@TempDir Path temp) throws Exception {
        Path dir = temp.resolve("volume").resolve("checkpoints");

        CheckpointVolume.proveWritable(dir);

        assertThat(dir).isDirectory();
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aPathThatCannotBeADirectoryStopsStartUpNamingTheSetting(@TempDir Path temp)
            throws Exception {
        Path file = temp.resolve("checkpoints");
        Files.writeString(file, "not a directory");

        assertThatThrownBy(() -> CheckpointVolume.proveWritable(file))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("The checkpoint directory " + file)
                .hasMessageContaining("telemetry.checkpoint.dir")
                .hasMessageContaining("TELEMETRY_CHECKPOINT_DIR");
    }

    @Test
    void theProbeFileNameIsUniquePerProcess() {
        // Two processes on one volume (a replacement pod while the old one still stops) must
        // never delete each other's probe in the middle of a write.
        String name = CheckpointVolume.PROBE;

        assertThat(name).contains(Long.toString(ProcessHandle.current().pid()));
        assertThat(name).matches("\\.write-probe-\\d+-[0-9a-f]{8,}");
    }
}

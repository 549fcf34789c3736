package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.ResourceManagerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded cluster's configuration as the service builds it from its settings. (That a job
 * deploys and runs under it is {@code ReportingMiniClusterTest}'s and every integration test's.)
 */
class EmbeddedFlinkConfigurationTest {
    @TempDir Path scratch;

    /**
     * One task manager, up before the job is submitted: the job's slots are asked for and matched
     * as soon as it is scheduled, without Flink's batching delays (20 ms and 50 ms at every start).
     */
    @Test
    void theJobsSlotsAreAskedForAndMatchedWithoutWaiting() {
        Configuration configuration = build(Map.of());

        assertThat(configuration.get(JobManagerOptions.SLOT_REQUEST_MAX_INTERVAL))
                .isEqualTo(Duration.ZERO);
        assertThat(configuration.get(ResourceManagerOptions.REQUIREMENTS_CHECK_DELAY))
                .isEqualTo(Duration.ZERO);
    }

    @Test
    void aPassThroughSettingStillSetsTheSlotDelays() {
        Configuration configuration =
                build(
                        Map.of(
                                "slot.request.max-interval", "20ms",
                                "slotmanager.requirement-check.delay", "50ms"));

        assertThat(configuration.get(JobManagerOptions.SLOT_REQUEST_MAX_INTERVAL))
                .isEqualTo(Duration.ofMillis(20));
        assertThat(configuration.get(ResourceManagerOptions.REQUIREMENTS_CHECK_DELAY))
                .isEqualTo(Duration.ofMillis(50));
    }

    private Configuration build(Map<String, String> flink) {
        ServiceOptions options =
                ServiceOptions.from(
                        new Settings(
                                Map.of(
                                        ServiceOptions.CHECKPOINT_DIR.key(),
                                        scratch.resolve("checkpoints").toString())),
                        flink);
        return EmbeddedFlinkConfiguration.build(options, scratch, Optional.empty());
    }
}

package dev.telemetry.aggregator.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The consumer's defaults, and that a user's Kafka client properties win over them. */
class TelemetryKafkaTest {
    @Test
    void theSourceReadsCommittedInputInLargeBatchesByDefault() {
        Properties properties = TelemetryKafka.sourceProperties(options(Map.of()));

        assertThat(properties)
                .containsEntry("isolation.level", "read_committed")
                .containsEntry(
                        "max.poll.records",
                        Integer.toString(TelemetryKafka.SOURCE_MAX_POLL_RECORDS));
    }

    @Test
    void theUsersKafkaPropertiesWin() {
        Properties properties =
                TelemetryKafka.sourceProperties(
                        options(
                                Map.of(
                                        Settings.KAFKA_PROPERTIES_PREFIX + "max.poll.records",
                                        "100",
                                        Settings.KAFKA_PROPERTIES_PREFIX + "isolation.level",
                                        "read_uncommitted")));

        assertThat(properties)
                .containsEntry("isolation.level", "read_uncommitted")
                .containsEntry("max.poll.records", "100");
    }

    private static JobOptions options(Map<String, String> values) {
        Map<String, String> all = new HashMap<>(values);
        all.put(Settings.BOOTSTRAP_SERVERS.key(), "broker-1:9092");
        return JobOptions.fromSettings(new Settings(all));
    }
}

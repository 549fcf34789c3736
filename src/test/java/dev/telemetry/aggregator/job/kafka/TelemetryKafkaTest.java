package dev.telemetry.aggregator.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import javax.management.ObjectName;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The clients' defaults (no JMX; the consumer's isolation and batches; the sinks' retry backoff),
 * and that a user's Kafka client properties win over them.
 */
class TelemetryKafkaTest {
    /**
     * Kafka's clients register every metric as a JMX MBean by default, at a measurable part of the
     * start-up's CPU (bench/results/NOTES.md). The service reports the clients' metrics through
     * Flink's metric groups instead, so its clients register none.
     */
    @Test
    void theClientsRegisterNoJmxBeans() throws Exception {
        JobOptions options = options(Map.of());
        Properties producer = TelemetryKafka.clientProperties(options);
        // Nothing listens there; the clients register their metrics without connecting.
        producer.put("bootstrap.servers", "127.0.0.1:9");
        producer.put("client.id", "jmx-check-producer");
        Properties admin = TelemetryKafka.clientProperties(options);
        admin.put("bootstrap.servers", "127.0.0.1:9");
        admin.put("client.id", "jmx-check-admin");
        try (KafkaProducer<byte[], byte[]> client =
                        new KafkaProducer<>(
                                producer, new ByteArraySerializer(), new ByteArraySerializer());
                Admin adminClient = Admin.create(admin)) {
            assertThat(
                            ManagementFactory.getPlatformMBeanServer()
                                    .queryNames(new ObjectName("kafka.*:*"), null))
                    .filteredOn(name -> name.toString().contains("jmx-check-"))
                    // One bean per client that names its version, registered whatever the
                    // reporters: not a metric.
                    .filteredOn(name -> !"app-info".equals(name.getKeyProperty("type")))
                    .isEmpty();
        }
    }

    @Test
    void aUserCanTurnJmxBackOn() {
        Properties properties =
                TelemetryKafka.clientProperties(
                        options(
                                Map.of(
                                        Settings.KAFKA_PROPERTIES_PREFIX + "metric.reporters",
                                        "org.apache.kafka.common.metrics.JmxReporter")));

        assertThat(properties)
                .containsEntry("metric.reporters", "org.apache.kafka.common.metrics.JmxReporter");
    }

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
    void theSinksRetryTheirTransactionCoordinatorSoonerByDefault() {
        assertThat(TelemetryKafka.sinkProperties(options(Map.of())))
                .containsEntry(
                        "retry.backoff.ms", Long.toString(TelemetryKafka.SINK_RETRY_BACKOFF_MS));
        assertThat(
                        TelemetryKafka.sinkProperties(
                                options(
                                        Map.of(
                                                Settings.KAFKA_PROPERTIES_PREFIX
                                                        + "retry.backoff.ms",
                                                "250"))))
                .containsEntry("retry.backoff.ms", "250");
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

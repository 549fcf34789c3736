package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * {@link ForkGuard} against the real broker. The original deployment is a transactional producer
 * doing what its aggregates sink does: one transaction per checkpoint, records time-stamped with
 * their (past) event time, committed and closed, so no transaction is open when the guard looks.
 */
class ForkGuardIT extends SharedBrokerTest {
    private static final Duration SLACK = Duration.ofMillis(500);
    private static final Path SNAPSHOT = Path.of("/data/checkpoints/savepoints/savepoint-copied");

    @Test
    void aForkOfALiveOriginalIsRefusedThoughNoTransactionIsOpen() throws Exception {
        Original original = original("live");
        Instant snapshotTaken = Instant.now();
        awaitPast(snapshotTaken.plus(SLACK));
        original.commitOneCheckpoint();

        try (Admin admin = admin()) {
            assertThatThrownBy(
                            () ->
                                    new ForkGuard(admin, Duration.ofSeconds(30), SLACK)
                                            .check(
                                                    original.job(),
                                                    SNAPSHOT,
                                                    snapshotTaken,
                                                    Optional.empty()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(original.prefix() + "-aggregates-0-0 wrote to")
                    .hasMessageContaining("TELEMETRY_TRANSACTIONAL_ID_PREFIX")
                    .hasMessageContaining("TELEMETRY_SOURCE_GROUP_ID");
        }
    }

    @Test
    void theVolumesOwnRunThatDiedAfterTheSnapshotIsNotAFork() throws Exception {
        // kill -9 after the last checkpoint: the dead run wrote after the snapshot, but not after
        // it was last alive.
        Original original = original("own");
        Instant snapshotTaken = Instant.now();
        awaitPast(snapshotTaken.plus(SLACK));
        original.commitOneCheckpoint();
        Instant lastAlive = Instant.now();

        try (Admin admin = admin()) {
            assertThatCode(
                            () ->
                                    new ForkGuard(admin, Duration.ofSeconds(30), SLACK)
                                            .check(
                                                    original.job(),
                                                    SNAPSHOT,
                                                    snapshotTaken,
                                                    Optional.of(lastAlive)))
                    .doesNotThrowAnyException();
        }
    }

    @Test
    void aSuccessorOfAnOriginalThatStoppedWithTheSnapshotIsNotAFork() throws Exception {
        // Stopped with a savepoint, then restored on a new volume: the original's last write
        // came before (or with) the savepoint.
        Original original = original("moved");
        original.commitOneCheckpoint();
        awaitPast(Instant.now().plus(SLACK));
        Instant savepointTaken = Instant.now();

        try (Admin admin = admin()) {
            assertThatCode(
                            () ->
                                    new ForkGuard(admin, Duration.ofSeconds(30), SLACK)
                                            .check(
                                                    original.job(),
                                                    SNAPSHOT,
                                                    savepointTaken,
                                                    Optional.empty()))
                    .doesNotThrowAnyException();
        }
    }

    private record Original(String prefix, String output, String deadLetters) {
        JobOptions job() {
            return JobOptions.fromSettings(
                    new Settings(
                            Map.of(
                                    Settings.BOOTSTRAP_SERVERS.key(),
                                    kafka.bootstrapServers(),
                                    Settings.TRANSACTIONAL_ID_PREFIX.key(),
                                    prefix,
                                    Settings.OUTPUT_TOPIC.key(),
                                    output,
                                    Settings.DEAD_LETTER_TOPIC.key(),
                                    deadLetters)));
        }

        /** One checkpoint's output: begin, write, commit, as the sink does. */
        void commitOneCheckpoint() {
            Properties properties = new Properties();
            properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, prefix + "-aggregates-0-0");
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(
                            properties, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.initTransactions();
                producer.beginTransaction();
                // Time-stamped with an event time long past, as aggregates are.
                producer.send(
                        new ProducerRecord<>(
                                output,
                                0,
                                1_763_683_259_999L,
                                "sensor-1".getBytes(StandardCharsets.UTF_8),
                                "{}".getBytes(StandardCharsets.UTF_8)));
                producer.commitTransaction();
            }
        }
    }

    private static Original original(String name) {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(1);
        return new Original(name + "-" + topics.input(), topics.output(), topics.deadLetters());
    }

    /** Elapsed time is the condition: the guard compares wall-clock times. */
    private static void awaitPast(Instant instant) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> Instant.now().isAfter(instant));
    }

    private Admin admin() {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return Admin.create(properties);
    }
}

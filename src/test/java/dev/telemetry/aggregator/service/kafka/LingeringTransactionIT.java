package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.ServiceProcess.HttpResult;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A crashed instance's open transaction: it blocks read_committed consumers, a fork that would
 * reuse its prefix is refused, and the admin API of another deployment aborts it.
 */
class LingeringTransactionIT extends SharedBrokerTest {
    private static final String TOKEN = "it-lingering-token-8d41b2";

    @Test
    void forkReusingThePrefixIsRefusedAndTheAbortReleasesReadCommittedConsumers() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(2);
        Path base = Paths.get("target", "lingering-it", topics.input()).toAbsolutePath();
        Map<String, String> original =
                PacedInput.serviceEnvironment(
                        kafka,
                        topics.input(),
                        topics.output(),
                        topics.deadLetters(),
                        base.resolve("original-checkpoints"));
        String prefix = original.get("TELEMETRY_TRANSACTIONAL_ID_PREFIX");

        // The original deployment ran and stopped with a savepoint: a fork's starting point.
        try (ServiceProcess service = new ServiceProcess(original, base.resolve("original"))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            // A completed checkpoint means every task runs: the stop can take its savepoint.
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(
                            () ->
                                    ServiceProcess.newestCheckpointId(
                                                    base.resolve("original-checkpoints"))
                                            > 0);
            assertThat(service.stop(Duration.ofSeconds(40))).isZero();
        }
        Path savepoint = onlySavepoint(base.resolve("original-checkpoints/savepoints"));

        TopicPartition partition = new TopicPartition(topics.output(), 0);
        KafkaProducer<byte[], byte[]> crashed =
                kafka.transactionalProducer(prefix + "-aggregates-0-0");
        try (Admin admin = admin()) {
            // The crashed instance's transaction is open: read_committed readers stop before it.
            crashed.beginTransaction();
            crashed.send(
                            new ProducerRecord<>(
                                    partition.topic(),
                                    partition.partition(),
                                    "sensor-1".getBytes(StandardCharsets.UTF_8),
                                    "{}".getBytes(StandardCharsets.UTF_8)))
                    .get();
            crashed.flush();
            assertThat(lastStableOffset(partition)).isLessThan(logEndOffset(partition));
            assertThat(ongoing(admin, prefix)).containsExactly(prefix + "-aggregates-0-0");

            // A fork from the savepoint that kept the original's prefix is refused.
            Map<String, String> fork =
                    PacedInput.serviceEnvironment(
                            kafka,
                            topics.input(),
                            topics.output(),
                            topics.deadLetters(),
                            base.resolve("fork-checkpoints"));
            fork.put("TELEMETRY_RESTORE_FROM", savepoint.toString());
            try (ServiceProcess service = new ServiceProcess(fork, base.resolve("fork"))) {
                service.start();
                Awaitility.await().atMost(Duration.ofMinutes(2)).until(() -> !service.isAlive());
                assertThat(service.exitCode()).isNotZero();
                assertThat(service.lastLog())
                        .contains("TELEMETRY_TRANSACTIONAL_ID_PREFIX")
                        .contains("another deployment (the original) is using this prefix")
                        .contains(prefix + "-aggregates-0-0");
            }

            // Another deployment, with a prefix and topics of its own, aborts them.
            KafkaTestClient.TestTopics otherTopics = kafka.createTestTopics(1);
            Map<String, String> other =
                    PacedInput.serviceEnvironment(
                            kafka,
                            otherTopics.input(),
                            otherTopics.output(),
                            otherTopics.deadLetters(),
                            base.resolve("other-checkpoints"));
            other.put("TELEMETRY_ADMIN_ENABLED", "true");
            other.put("TELEMETRY_ADMIN_TOKEN", TOKEN);
            // A prefix whose sink ids overlap those of shorter and longer prefixes.
            String otherPrefix = "o-" + otherTopics.input() + "-aggregates";
            other.put("TELEMETRY_TRANSACTIONAL_ID_PREFIX", otherPrefix);
            // Its longest-open-transaction bound, which the abort rule applies:
            // max(1s, 5s) + 5s + 5s = 15s.
            other.put("TELEMETRY_CHECKPOINT_TIMEOUT", "5s");
            other.put("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES", "0");
            other.put("TELEMETRY_EXPECTED_RESTART_TIME", "5s");
            try (ServiceProcess service = new ServiceProcess(other, base.resolve("other"))) {
                service.start();
                service.awaitReady(Duration.ofMinutes(2));
                HttpResult listed =
                        service.request("GET", "/admin/transactions?prefix=" + prefix, TOKEN);
                assertThat(listed.status()).as(listed.body()).isEqualTo(200);
                assertThat(listed.body()).contains(prefix + "-aggregates-0-0");
                assertThat(
                                service.request(
                                                "POST",
                                                "/admin/transactions/abort?prefix=" + prefix,
                                                null)
                                        .status())
                        .isEqualTo(401);

                // Prefixes whose ids overlap this service's own, in either direction: "o-T"
                // names o-T-aggregates-... (ours: o-T-aggregates-aggregates-...), and
                // "o-T-aggregates-aggregates" names ids that start with our own sink prefix.
                for (String overlapping :
                        List.of("o-" + otherTopics.input(), otherPrefix + "-aggregates")) {
                    HttpResult refused =
                            service.request(
                                    "POST",
                                    "/admin/transactions/abort?prefix=" + overlapping,
                                    TOKEN);
                    assertThat(refused.status())
                            .as(overlapping + ": " + refused.body())
                            .isEqualTo(409);
                    assertThat(refused.body()).contains("this service's own");
                }

                // Younger than the bound the caller gives (the owner's own checkpoint timing):
                // it could be a live deployment's, so nothing is aborted.
                HttpResult tooYoung =
                        service.request(
                                "POST",
                                "/admin/transactions/abort?prefix=" + prefix + "&olderThan=10m",
                                TOKEN);
                assertThat(tooYoung.status()).as(tooYoung.body()).isEqualTo(409);
                assertThat(tooYoung.body()).contains(prefix + "-aggregates-0-0").contains("PT10M");
                assertThat(ongoing(admin, prefix)).containsExactly(prefix + "-aggregates-0-0");

                // Older than this deployment's bound (15s): aborted, and the answer says why.
                HttpResult aborted =
                        Awaitility.await()
                                .atMost(Duration.ofSeconds(60))
                                .pollInterval(Duration.ofSeconds(1))
                                .until(
                                        () ->
                                                service.request(
                                                        "POST",
                                                        "/admin/transactions/abort?prefix="
                                                                + prefix,
                                                        TOKEN),
                                        result -> result.status() != 409);
                assertThat(aborted.status()).as(aborted.body()).isEqualTo(200);
                assertThat(aborted.body())
                        .contains(prefix + "-aggregates-0-0")
                        .contains("\"minimumAge\":\"PT15S\"");

                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(500))
                        .untilAsserted(
                                () -> {
                                    assertThat(ongoing(admin, prefix)).isEmpty();
                                    assertThat(lastStableOffset(partition))
                                            .isEqualTo(logEndOffset(partition));
                                });
                assertThat(service.stop(Duration.ofSeconds(40))).isZero();
            }
        } finally {
            // Closing without waiting neither commits nor aborts: the crash already happened.
            crashed.close(Duration.ZERO);
        }
    }

    private static Path onlySavepoint(Path savepoints) throws Exception {
        try (Stream<Path> children = Files.list(savepoints)) {
            List<Path> found =
                    children.filter(dir -> Files.isRegularFile(dir.resolve("_metadata"))).toList();
            assertThat(found).hasSize(1);
            return found.get(0);
        }
    }

    private Admin admin() {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return Admin.create(properties);
    }

    private static List<String> ongoing(Admin admin, String prefix) throws Exception {
        return admin
                .listTransactions(
                        new ListTransactionsOptions()
                                .filterStates(List.of(TransactionState.ONGOING)))
                .all()
                .get(30, TimeUnit.SECONDS)
                .stream()
                .map(TransactionListing::transactionalId)
                .filter(id -> id.startsWith(prefix + "-"))
                .toList();
    }

    /** What a read_committed consumer can reach: the last stable offset. */
    private long lastStableOffset(TopicPartition partition) {
        return endOffset(partition, "read_committed");
    }

    private long logEndOffset(TopicPartition partition) {
        return endOffset(partition, "read_uncommitted");
    }

    private long endOffset(TopicPartition partition, String isolation) {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            return consumer.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
        }
    }
}

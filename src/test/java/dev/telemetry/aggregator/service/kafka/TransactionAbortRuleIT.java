package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The admin abort's rule against the real broker: a live deployment's transaction, pre-committed
 * (flushed at the checkpoint barrier, waiting for the checkpoint to complete) is left alone, so its
 * commit goes through and its output is not lost.
 */
class TransactionAbortRuleIT extends SharedBrokerTest {
    private static final Duration DEFAULT_BOUND =
            JobOptions.fromSettings(
                            new Settings(
                                    Map.of(Settings.BOOTSTRAP_SERVERS.key(), "localhost:9092")))
                    .minimumTransactionTimeout();

    @Test
    void aLiveDeploymentsPreCommittedTransactionIsNotAborted() throws Exception {
        String topic = KafkaTestClient.uniqueTopic("abort-rule");
        kafka.createTopic(topic, 1);
        String prefix = "live-" + topic;
        try (KafkaProducer<byte[], byte[]> live =
                        kafka.transactionalProducer(prefix + "-aggregates-0-0");
                Admin admin = admin()) {
            live.beginTransaction();
            live.send(new ProducerRecord<>(topic, 0, bytes("sensor-1"), bytes("{\"count\":1}")))
                    .get();
            live.flush();

            // The bound by the service's default checkpoint settings (7 minutes).
            TransactionAbort.AbortOutcome outcome =
                    new TransactionAbort(admin, Duration.ofSeconds(30))
                            .abort(prefix, DEFAULT_BOUND, "this-service");
            assertThat(outcome.refused()).isTrue();
            assertThat(outcome.aborted()).isEmpty();
            assertThat(outcome.kept())
                    .singleElement()
                    .satisfies(
                            kept -> {
                                assertThat(kept.transactionalId())
                                        .isEqualTo(prefix + "-aggregates-0-0");
                                assertThat(kept.reason()).contains("not longer ago than");
                            });

            // The checkpoint completes: the sink commits what it pre-committed.
            live.commitTransaction();
        }
        List<ConsumerRecord<byte[], byte[]>> committed =
                kafka.readCommittedToEnd(topic, Duration.ofSeconds(30));
        assertThat(committed).hasSize(1);
    }

    @Test
    void aPrefixWithOneRecentTransactionKeepsAllOfIt() throws Exception {
        // A live deployment with longer checkpoint settings than the bound: its pre-committed
        // transaction is older than the bound, but the transaction it opened at the next barrier
        // is young. Neither is aborted.
        String topic = KafkaTestClient.uniqueTopic("abort-rule");
        kafka.createTopic(topic, 1);
        String prefix = "slow-" + topic;
        try (KafkaProducer<byte[], byte[]> preCommitted =
                        kafka.transactionalProducer(prefix + "-aggregates-0-0");
                KafkaProducer<byte[], byte[]> next =
                        kafka.transactionalProducer(prefix + "-aggregates-0-1");
                Admin admin = admin()) {
            preCommitted.beginTransaction();
            preCommitted.send(new ProducerRecord<>(topic, 0, bytes("a"), bytes("1"))).get();
            preCommitted.flush();
            LingeringTransactions transactions =
                    new LingeringTransactions(admin, Duration.ofSeconds(30));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> oldestAge(transactions, prefix).toMillis() > 1_500);
            next.beginTransaction();
            next.send(new ProducerRecord<>(topic, 0, bytes("b"), bytes("2"))).get();
            next.flush();

            TransactionAbort.AbortOutcome outcome =
                    new TransactionAbort(admin, Duration.ofSeconds(30))
                            .abort(prefix, Duration.ofSeconds(1), "this-service");

            assertThat(outcome.aborted()).isEmpty();
            assertThat(outcome.kept())
                    .extracting(TransactionAbort.Kept::transactionalId)
                    .containsExactly(prefix + "-aggregates-0-1");
            preCommitted.commitTransaction();
            next.commitTransaction();
        }
        assertThat(kafka.readCommittedToEnd(topic, Duration.ofSeconds(30))).hasSize(2);
    }

    @Test
    void aDeadDeploymentsTransactionsOlderThanTheBoundAreAborted() throws Exception {
        String topic = KafkaTestClient.uniqueTopic("abort-rule");
        kafka.createTopic(topic, 1);
        String prefix = "dead-" + topic;
        KafkaProducer<byte[], byte[]> crashed =
                kafka.transactionalProducer(prefix + "-dead-letters-1-0");
        try (Admin admin = admin()) {
            crashed.beginTransaction();
            crashed.send(new ProducerRecord<>(topic, 0, bytes("a"), bytes("1"))).get();
            crashed.flush();
            LingeringTransactions transactions =
                    new LingeringTransactions(admin, Duration.ofSeconds(30));
            Duration bound = Duration.ofSeconds(2);

            TransactionAbort.AbortOutcome outcome =
                    Awaitility.await()
                            .atMost(Duration.ofSeconds(20))
                            .pollInterval(Duration.ofMillis(500))
                            .until(
                                    () ->
                                            new TransactionAbort(admin, Duration.ofSeconds(30))
                                                    .abort(prefix, bound, "this-service"),
                                    result -> !result.refused());

            assertThat(outcome.aborted())
                    .extracting(TransactionAbort.Aborted::transactionalId)
                    .containsExactly(prefix + "-dead-letters-1-0");
            assertThat(transactions.find(prefix)).isEmpty();
        } finally {
            // The crash already happened: neither commit nor abort on close.
            crashed.close(Duration.ZERO);
        }
    }

    private static Duration oldestAge(LingeringTransactions transactions, String prefix)
            throws Exception {
        return transactions.find(prefix).stream()
                .flatMap(t -> t.startedAt().stream())
                .map(start -> Duration.between(start, Instant.now()))
                .max(Duration::compareTo)
                .orElse(Duration.ZERO);
    }

    private Admin admin() {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return Admin.create(properties);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}

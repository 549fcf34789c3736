package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The age of the oldest open transaction (and so the timeout headroom) is measured from when the
 * broker says it started, including a transaction carried over from a previous run: the broker
 * aborts it at its own start time plus the timeout, whatever this run's checkpoints say.
 */
class OpenTransactionAgeIT extends SharedBrokerTest {

    @Test
    void aTransactionCarriedOverFromThePreviousRunCountsFromItsRealStart() throws Exception {
        String topic = KafkaTestClient.uniqueTopic("age");
        kafka.createTopic(topic, 1);
        String prefix = "age-" + topic;
        try (KafkaProducer<byte[], byte[]> previousRun =
                kafka.transactionalProducer(prefix + "-aggregates-0-0")) {
            // The previous run pre-committed this transaction, then died before committing it.
            previousRun.beginTransaction();
            previousRun
                    .send(
                            new ProducerRecord<>(
                                    topic,
                                    0,
                                    "d".getBytes(StandardCharsets.UTF_8),
                                    "{}".getBytes(StandardCharsets.UTF_8)))
                    .get();
            previousRun.flush();
            Instant begun = Instant.now();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> Instant.now().isAfter(begun.plusSeconds(3)));

            // A new run has just started: no checkpoint completed yet, so its own bookkeeping
            // knows nothing older than itself. The gauges ask the broker.
            try (Admin admin = admin()) {
                OpenTransactionAge ages =
                        new OpenTransactionAge(
                                () -> Optional.of(admin),
                                prefix,
                                Duration.ZERO,
                                Duration.ofSeconds(10));
                Instant now = Instant.now();
                OptionalDouble age = ages.ageSeconds(now);

                assertThat(age).isPresent();
                assertThat(age.getAsDouble())
                        .as("age of the carried-over transaction, open for 3 s")
                        .isGreaterThanOrEqualTo(3.0)
                        .isLessThanOrEqualTo(
                                Duration.between(begun, now).toMillis() / 1000.0 + 2.0);

                // Another deployment's transactions are not this one's.
                assertThat(
                                new OpenTransactionAge(
                                                () -> Optional.of(admin),
                                                "other-" + prefix,
                                                Duration.ZERO,
                                                Duration.ofSeconds(10))
                                        .ageSeconds(now))
                        .hasValue(0.0);

                // Committed by the restored job: nothing open once the coordinator has written
                // the commit markers (until then it is PREPARE_COMMIT, still open to readers).
                previousRun.commitTransaction();
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .pollInterval(Duration.ofMillis(100))
                        .untilAsserted(
                                () -> assertThat(ages.ageSeconds(Instant.now())).hasValue(0.0));
            }
        }
    }

    @Test
    void untilTheBrokerAnswersThereIsNoAge() {
        OpenTransactionAge ages =
                new OpenTransactionAge(
                        Optional::empty, "any", Duration.ZERO, Duration.ofSeconds(1));

        assertThat(ages.ageSeconds(Instant.now())).isEmpty();
    }

    private Admin admin() {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return Admin.create(properties);
    }
}

package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * {@code TELEMETRY_WATERMARK_IDLE_ADVANCE}: the packaged service, fed events stamped with the time
 * they are sent, killed with {@code kill -9} twice while they flow (and restarted while they keep
 * coming), commits every window exactly once, the last ones included, though no event follows them:
 * event time advanced with the wall clock once input stopped.
 */
class IdleAdvanceCrashIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final int KILLS = 2;

    @Test
    void killedTwiceWhileFreshInputFlowsTheLastWindowsCloseWhenItStops() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        String input = topics.input();
        Path dir = Paths.get("target", "idle-advance-crash-it", input);
        Path checkpoints = dir.resolve("checkpoints");
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, input, topics.output(), topics.deadLetters(), checkpoints);
        // Longer than a restart takes to read its first records, so a restart's backlog is never
        // late.
        environment.put("TELEMETRY_WATERMARK_IDLE_ADVANCE", "5s");

        List<Event> sent = new ArrayList<>();
        AtomicBoolean producing = new AtomicBoolean(true);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread producer =
                new Thread(
                        () -> {
                            try {
                                produceNow(input, sent, producing);
                            } catch (Throwable t) {
                                failure.set(t);
                            }
                        },
                        "fresh-input");
        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            producer.start();
            Random random = new Random(11);
            for (int kill = 1; kill <= KILLS; kill++) {
                PacedInput.killOnceCheckpointed(service, checkpoints, random);
                service.start();
                service.awaitReady(Duration.ofMinutes(2));
            }
            Thread.sleep(2_000);
            producing.set(false);
            producer.join(Duration.ofSeconds(30).toMillis());
            assertThat(producer.isAlive()).as("producer finished").isFalse();
            assertThat(failure.get()).as("producer failure").isNull();

            int expected;
            synchronized (sent) {
                expected = TelemetryFixtures.expectedAggregates(sent, WINDOW_MILLIS).size();
            }
            // No event after the last: only the idle advance can close the last windows.
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected);
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                TelemetryFixtures.expectedAggregates(sent, WINDOW_MILLIS));
        assertThat(kafka.readCommittedToEnd(topics.deadLetters(), Duration.ofSeconds(5)))
                .as("no event was late")
                .isEmpty();
    }

    /**
     * About 300 events/s, 10 devices x 2 metrics, each stamped with the time it is sent; values are
     * quarters, so sums are exact in any order.
     */
    private static void produceNow(String input, List<Event> sent, AtomicBoolean producing) {
        Random random = new Random(5);
        long n = 0;
        try {
            while (producing.get()) {
                List<Event> batch = new ArrayList<>();
                List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
                for (int i = 0; i < 40; i++, n++) {
                    Event event =
                            new Event(
                                    "sensor-" + n % 10,
                                    "metric-" + n / 10 % 2,
                                    random.nextInt(400) / 4.0,
                                    System.currentTimeMillis());
                    batch.add(event);
                    records.add(event.toRecord(input, PARTITIONS));
                }
                kafka.send(records);
                synchronized (sent) {
                    sent.addAll(batch);
                }
                Thread.sleep(130);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

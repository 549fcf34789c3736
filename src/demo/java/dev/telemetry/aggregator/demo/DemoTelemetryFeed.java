package dev.telemetry.aggregator.demo;

import dev.telemetry.aggregator.loadgen.TelemetryLoad;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Dev-mode demo only: creates the input topic and feeds it a steady stream of telemetry from the
 * benchmark's load generator ({@link TelemetryLoad}: 10 devices x temperature/humidity/pressure,
 * ~200 events/s, up to 2 s out of order), with a corrupt record every other second so that the
 * dead-letter path is visible too.
 *
 * <p>Runs only when {@link DemoKafkaBroker} is active, so it never writes to a real cluster.
 */
@ApplicationScoped
public class DemoTelemetryFeed {

    private static final Logger LOG = Logger.getLogger(DemoTelemetryFeed.class);

    /**
     * 10 devices x 3 metrics, up to 2 s out of order, like devices that buffer before sending;
     * tagged with a region and a service, which the demo's grouping by region uses.
     */
    private static final TelemetryLoad LOAD =
            new TelemetryLoad(
                    10,
                    List.of("temperature", "humidity", "pressure"),
                    1_000,
                    2_000,
                    0,
                    0,
                    42,
                    true);

    @Inject DemoKafkaBroker broker;

    @Inject ServiceOptions options;

    @ConfigProperty(name = "demo.feed.partitions", defaultValue = "4")
    int partitions;

    @ConfigProperty(name = "demo.feed.events-per-second", defaultValue = "200")
    int eventsPerSecond;

    private volatile boolean running;
    private Thread thread;

    // Priority 2: after the broker (1), before the service (2500), whose job fails on a missing
    // input topic.
    void onStart(@Observes @Priority(2) StartupEvent event) {
        if (!broker.isActive()) {
            return;
        }
        try {
            createInputTopics();
        } catch (Exception e) {
            LOG.error("demo feed: could not create input topics " + options.job().inputTopics(), e);
            return;
        }
        running = true;
        thread = new Thread(this::run, "demo-telemetry-feed");
        thread.setDaemon(true);
        thread.start();
    }

    // Before the broker stops (DemoKafkaBroker.SHUTDOWN_PRIORITY).
    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        running = false;
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void createInputTopics() throws Exception {
        try (Admin admin =
                Admin.create(
                        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            for (String topic : options.job().inputTopics()) {
                if (existing.contains(topic)) {
                    continue;
                }
                try {
                    admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
                            .all()
                            .get(30, TimeUnit.SECONDS);
                    LOG.infof("demo feed: created topic %s (%d partitions)", topic, partitions);
                } catch (java.util.concurrent.ExecutionException e) {
                    // Lost a race with another instance: fine.
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        }
    }

    private void run() {
        String topic = options.job().inputTopics().get(0);
        Map<String, Object> conf =
                Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        broker.bootstrap(),
                        ProducerConfig.CLIENT_ID_CONFIG,
                        "demo-telemetry-feed",
                        ProducerConfig.LINGER_MS_CONFIG,
                        20,
                        ProducerConfig.MAX_BLOCK_MS_CONFIG,
                        5000);
        long sent = 0;
        LOG.infof("demo feed: producing ~%d events/s to %s", eventsPerSecond, topic);
        KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(conf, new ByteArraySerializer(), new ByteArraySerializer());
        try {
            while (running) {
                // One second of paced events, then one corrupt record every other second.
                sent +=
                        LOAD.sendPaced(
                                producer,
                                topic,
                                partitions,
                                sent,
                                eventsPerSecond,
                                eventsPerSecond,
                                1_000,
                                () -> running,
                                null);
                if (sent / eventsPerSecond % 2 == 1) {
                    producer.send(
                            new ProducerRecord<>(
                                    topic, corrupt(sent).getBytes(StandardCharsets.UTF_8)));
                }
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("demo feed stopped", e);
        } finally {
            // Bounded, unlike close() without a timeout: shutdown must not hang on a dead broker.
            producer.close(Duration.ofSeconds(5));
        }
        LOG.infof("demo feed: stopped after %d events", sent);
    }

    /** Alternates between unparsable text and valid JSON without a deviceId. */
    private static String corrupt(long sent) {
        return (sent / 500) % 2 == 0
                ? "not json"
                : "{\"metric\":\"temperature\",\"value\":21.0,\"timestamp\":"
                        + System.currentTimeMillis()
                        + "}";
    }
}

package dev.telemetry.aggregator.demo;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Dev-mode demo only: creates the input topic and feeds it a steady stream of plausible telemetry
 * (10 devices x temperature/humidity/pressure, ~200 events/s, up to 2 s out of order), with about
 * one corrupt record per 500 so that the dead-letter path is visible too.
 *
 * <p>Runs only when {@link DemoKafkaBroker} is active, so it never writes to a real cluster.
 */
@ApplicationScoped
public class DemoTelemetryFeed {

    private static final Logger LOG = Logger.getLogger(DemoTelemetryFeed.class);
    private static final String[] METRICS = {"temperature", "humidity", "pressure"};
    private static final int DEVICES = 10;
    private static final JsonFactory JSON = new JsonFactory();

    @Inject DemoKafkaBroker broker;

    @ConfigProperty(name = "telemetry.input-topics", defaultValue = "telemetry")
    List<String> inputTopics;

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
            LOG.error("demo feed: could not create input topics " + inputTopics, e);
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
            for (String topic : inputTopics) {
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
        String topic = inputTopics.get(0);
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
        // Fixed seed: the same sequence of values on every run, only the timestamps differ.
        Random random = new Random(42);
        int perTick = Math.max(1, eventsPerSecond / 10);
        long sent = 0;
        LOG.infof("demo feed: producing ~%d events/s to %s", perTick * 10, topic);
        KafkaProducer<String, String> producer =
                new KafkaProducer<>(conf, new StringSerializer(), new StringSerializer());
        try {
            long nextTick = System.currentTimeMillis();
            while (running) {
                for (int i = 0; i < perTick; i++, sent++) {
                    String device = "sensor-" + random.nextInt(DEVICES);
                    String value =
                            sent % 500 == 499
                                    ? corrupt(sent)
                                    : event(device, random, System.currentTimeMillis());
                    producer.send(
                            new ProducerRecord<>(topic, device, value),
                            (md, e) -> {
                                if (e != null && running) {
                                    LOG.warnf("demo feed: send failed: %s", e.toString());
                                }
                            });
                }
                // Pace on a fixed schedule (10 ticks/s) rather than sleeping a fixed amount.
                nextTick += 100;
                long sleep = nextTick - System.currentTimeMillis();
                if (sleep > 0) {
                    Thread.sleep(sleep);
                } else {
                    nextTick = System.currentTimeMillis();
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

    /** A plausible reading; each device has its own baseline, with slow drift and noise. */
    static String event(String device, Random random, long now) {
        int d = device.charAt(device.length() - 1) - '0';
        String metric = METRICS[random.nextInt(METRICS.length)];
        double drift = Math.sin(now / 60_000.0 + d);
        double value =
                switch (metric) {
                    case "temperature" -> 19.0 + d * 0.5 + drift + random.nextGaussian() * 0.3;
                    case "humidity" -> 45.0 + d + 5 * drift + random.nextGaussian();
                    default -> 1013.0 + 2 * drift + random.nextGaussian() * 0.5;
                };
        // Up to 2 s late, like devices that buffer before sending.
        long timestamp = now - random.nextInt(2001);
        return json(device, metric, Math.round(value * 10) / 10.0, timestamp);
    }

    /** Alternates between unparsable text and valid JSON without a deviceId. */
    private static String corrupt(long sent) {
        return (sent / 500) % 2 == 0
                ? "not json"
                : json(null, "temperature", 21.0, System.currentTimeMillis());
    }

    private static String json(String device, String metric, double value, long timestamp) {
        StringWriter out = new StringWriter(96);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (device != null) {
                g.writeStringField("deviceId", device);
            }
            g.writeStringField("metric", metric);
            g.writeNumberField("value", value);
            g.writeNumberField("timestamp", timestamp);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }
}

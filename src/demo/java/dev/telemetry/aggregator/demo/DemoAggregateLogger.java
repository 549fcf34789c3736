package dev.telemetry.aggregator.demo;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Dev-mode demo only: shows what the service produces by logging every committed aggregate from the
 * output topic and the rollup topics (with their percentiles), and every dead-letter record with
 * its {@code dlq.reason} header.
 *
 * <p>Runs only when {@link DemoKafkaBroker} is active.
 */
@ApplicationScoped
public class DemoAggregateLogger {

    private static final Logger LOG = Logger.getLogger(DemoAggregateLogger.class);
    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

    @Inject DemoKafkaBroker broker;

    @Inject ServiceOptions options;

    private volatile boolean running;
    private volatile KafkaConsumer<String, String> consumer;
    private Thread thread;

    void onStart(@Observes @Priority(3) StartupEvent event) {
        if (!broker.isActive()) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "demo-aggregate-logger");
        thread.setDaemon(true);
        thread.start();
    }

    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        running = false;
        KafkaConsumer<String, String> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        Map<String, Object> conf = new HashMap<>();
        conf.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        conf.put(ConsumerConfig.GROUP_ID_CONFIG, "demo-aggregate-logger");
        conf.put(ConsumerConfig.CLIENT_ID_CONFIG, "demo-aggregate-logger");
        // Only what the exactly-once sink committed, as a downstream consumer would see it.
        conf.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        conf.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // The service creates the output topic; we must not auto-create it with 1 partition.
        conf.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        // A pattern subscription waits silently for topics that do not exist yet (a plain
        // subscribe() warns on every metadata refresh); refresh often so new topics show up fast.
        conf.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 2000);
        List<String> aggregateTopics = options.job().aggregateTopics();
        List<String> subscribed = new ArrayList<>(aggregateTopics);
        subscribed.add(options.job().deadLetterTopic());
        Pattern topics =
                Pattern.compile(
                        subscribed.stream().map(Pattern::quote).collect(Collectors.joining("|")));
        KafkaConsumer<String, String> c =
                new KafkaConsumer<>(conf, new StringDeserializer(), new StringDeserializer());
        consumer = c;
        try {
            c.subscribe(topics);
            LOG.infof("demo logger: waiting for records on %s", String.join(", ", subscribed));
            while (running) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    if (aggregateTopics.contains(r.topic())) {
                        LOG.info(describeAggregate(r.value()));
                    } else {
                        Header reason = r.headers().lastHeader("dlq.reason");
                        LOG.infof(
                                "dead-letter reason=%s value=%s",
                                reason == null
                                        ? "?"
                                        : new String(reason.value(), StandardCharsets.UTF_8),
                                r.value());
                    }
                }
            }
        } catch (WakeupException e) {
            // Shutdown requested.
        } catch (RuntimeException e) {
            LOG.error("demo logger stopped", e);
        } finally {
            consumer = null;
            // Bounded: shutdown must not wait the default 30 s for a broker that is gone.
            c.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    /**
     * "aggregate 10s sensor-3 temperature [12:00:00,12:00:10) count=20 avg=21.40 min=.. max=..
     * sum=.. p0.5=.. p0.99=..": the window's size first, so the levels tell apart; a grouped record
     * names its tags ("region=region-1") where a per-device one names the device.
     */
    static String describeAggregate(String value) {
        Map<String, String> f = new HashMap<>();
        StringBuilder percentiles = new StringBuilder();
        StringBuilder tags = new StringBuilder();
        try (JsonParser p = JSON.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return "aggregate (unparsable) " + value;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (p.nextToken() == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String key = p.currentName();
                        p.nextToken();
                        if (name.equals("tags")) {
                            tags.append(tags.isEmpty() ? "" : ",")
                                    .append(key)
                                    .append('=')
                                    .append(p.getText());
                        } else {
                            percentiles.append(String.format(" p%s=%s", key, p.getText()));
                        }
                    }
                } else {
                    f.put(name, p.getValueAsString());
                }
            }
            long start = Long.parseLong(f.get("windowStart"));
            long end = Long.parseLong(f.get("windowEnd"));
            return String.format(
                    "aggregate %s %s %s [%s,%s) count=%s avg=%.2f min=%s max=%s sum=%s%s",
                    RollupLevel.label(Duration.ofMillis(end - start)),
                    f.containsKey("deviceId")
                            ? f.get("deviceId") + (tags.isEmpty() ? "" : "," + tags)
                            : tags.isEmpty() ? "(all devices)" : tags,
                    f.get("metric"),
                    time(start),
                    time(end),
                    f.get("count"),
                    Double.parseDouble(f.getOrDefault("avg", "NaN")),
                    f.get("min"),
                    f.get("max"),
                    f.get("sum"),
                    percentiles);
        } catch (Exception e) {
            return "aggregate (unparsable) " + value;
        }
    }

    private static String time(long epochMillis) {
        return TIME.format(Instant.ofEpochMilli(epochMillis));
    }
}

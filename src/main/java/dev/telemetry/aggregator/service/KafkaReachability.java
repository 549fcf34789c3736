package dev.telemetry.aggregator.service;

import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Whether the Kafka cluster answers, asked at most every few seconds with one long-lived admin
 * client, so health probes never open connections of their own.
 */
@ApplicationScoped
public class KafkaReachability {
    private static final Duration MAX_AGE = Duration.ofSeconds(5);
    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    @Inject EmbeddedFlinkJob job;

    private Admin admin;
    private Instant checkedAt = Instant.EPOCH;
    private boolean reachable;

    public synchronized boolean reachable() {
        if (Duration.between(checkedAt, Instant.now()).compareTo(MAX_AGE) < 0) {
            return reachable;
        }
        reachable = ask();
        checkedAt = Instant.now();
        return reachable;
    }

    private boolean ask() {
        if (admin == null) {
            if (job.options().isEmpty()) {
                return false;
            }
            Properties properties = new Properties();
            properties.putAll(job.options().get().job().kafkaProperties());
            properties.put(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    job.options().get().job().bootstrapServers());
            properties.put(AdminClientConfig.CLIENT_ID_CONFIG, "telemetry-aggregator-health");
            properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
            properties.put(
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
            admin = Admin.create(properties);
        }
        try {
            return !admin.describeCluster()
                    .nodes()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            // Unreachable, timed out or refused: all mean "not answering" to a probe.
            return false;
        }
    }

    synchronized void close(@Observes ShutdownEvent event) {
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
    }
}

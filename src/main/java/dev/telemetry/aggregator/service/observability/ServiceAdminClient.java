package dev.telemetry.aggregator.service.observability;

import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * The one long-lived Kafka admin client the service uses while running (health, lag), created once
 * the configuration is validated, so probes and scrapes never open connections of their own.
 */
@ApplicationScoped
public class ServiceAdminClient {
    static final Duration TIMEOUT = Duration.ofSeconds(3);

    @Inject EmbeddedFlinkJob job;

    private Admin admin;

    /** The client, or empty before the job's options are known. */
    public synchronized Optional<Admin> admin() {
        if (admin == null && job.options().isPresent()) {
            Properties properties = TelemetryKafka.clientProperties(job.options().get().job());
            properties.put(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    job.options().get().job().bootstrapServers());
            properties.put(AdminClientConfig.CLIENT_ID_CONFIG, "telemetry-aggregator-monitor");
            properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
            properties.put(
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
            admin = Admin.create(properties);
        }
        return Optional.ofNullable(admin);
    }

    synchronized void close(@Observes ShutdownEvent event) {
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
    }
}

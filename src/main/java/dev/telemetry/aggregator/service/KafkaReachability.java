package dev.telemetry.aggregator.service;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/** Whether the Kafka cluster answers, asked at most every few seconds. */
@ApplicationScoped
public class KafkaReachability {
    private static final Duration MAX_AGE = Duration.ofSeconds(5);

    @Inject ServiceAdminClient adminClient;

    private Instant checkedAt = Instant.EPOCH;
    private boolean reachable;

    public synchronized boolean reachable() {
        if (Duration.between(checkedAt, Instant.now()).compareTo(MAX_AGE) < 0) {
            return reachable;
        }
        reachable = adminClient.admin().map(KafkaReachability::answers).orElse(false);
        checkedAt = Instant.now();
        return reachable;
    }

    private static boolean answers(Admin admin) {
        try {
            return !admin.describeCluster()
                    .nodes()
                    .get(ServiceAdminClient.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            // Unreachable, timed out or refused: all mean "not answering" to a probe.
            return false;
        }
    }
}

package dev.telemetry.aggregator.service.observability;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;

/**
 * Whether the Kafka cluster answers, asked at most every few seconds. The question runs in the
 * background: while the broker is away a probe gets the last answer at once instead of waiting out
 * the admin client's timeout (longer than a Kubernetes probe's default 1 s timeout).
 */
@ApplicationScoped
public class KafkaReachability {
    private static final Duration MAX_AGE = Duration.ofSeconds(5);

    @Inject ServiceAdminClient adminClient;

    private CompletableFuture<Boolean> check;
    private Instant checkedAt = Instant.EPOCH;
    private Boolean lastAnswer;

    public boolean reachable() {
        CompletableFuture<Boolean> current;
        Boolean previous;
        synchronized (this) {
            if (check == null
                    || (check.isDone()
                            && Duration.between(checkedAt, Instant.now()).compareTo(MAX_AGE)
                                    >= 0)) {
                if (check != null) {
                    lastAnswer = check.join();
                }
                check = ask();
                checkedAt = Instant.now();
            }
            current = check;
            previous = lastAnswer;
        }
        if (current.isDone()) {
            return current.join();
        }
        if (previous != null) {
            return previous;
        }
        try {
            // Only the very first question is waited for; later ones answer from the last.
            return current.get(ServiceAdminClient.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    /** Asks for the cluster's nodes; completes with false on error (never exceptionally). */
    private CompletableFuture<Boolean> ask() {
        CompletableFuture<Boolean> answer = new CompletableFuture<>();
        Admin admin = adminClient.admin().orElse(null);
        if (admin == null) {
            answer.complete(false);
            return answer;
        }
        // Unreachable, timed out or refused: all mean "not answering" to a probe. The admin
        // client's default API timeout bounds how long the question stays open.
        admin.describeCluster()
                .nodes()
                .whenComplete((nodes, error) -> answer.complete(error == null && !nodes.isEmpty()));
        return answer;
    }
}

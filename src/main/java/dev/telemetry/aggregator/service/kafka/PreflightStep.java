package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;

/**
 * What the start-up checks against the broker share: the admin client, the start-up timeout, and
 * one way to wait for an answer and to say that the broker did not give one in time.
 */
abstract class PreflightStep {
    final Admin admin;
    final Duration timeout;
    final KafkaAccess access;

    PreflightStep(Admin admin, Duration timeout, KafkaAccess access) {
        this.admin = admin;
        this.timeout = timeout;
        this.access = access;
    }

    <T> T await(org.apache.kafka.common.KafkaFuture<T> future, String action) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable(action, e.getCause());
            }
            throw new IllegalStateException(
                    "Kafka refused to " + action + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while trying to " + action, e);
        } catch (TimeoutException e) {
            throw brokerUnreachable(action, e);
        }
    }

    /**
     * The admin client's own deadline (default.api.timeout.ms, set to the same timeout) starts
     * before our {@code get} does, so an unreachable broker usually fails the future with Kafka's
     * TimeoutException first; it means the same as our own timeout.
     */
    static boolean isTimeout(ExecutionException e) {
        return e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException;
    }

    IllegalStateException brokerUnreachable(String action, Throwable cause) {
        return new IllegalStateException(
                "Kafka did not answer within "
                        + timeout
                        + " (trying to "
                        + action
                        + "). Check "
                        + Settings.BOOTSTRAP_SERVERS
                        + " ("
                        + Settings.environmentVariable(Settings.BOOTSTRAP_SERVERS)
                        + ") and the broker, or raise "
                        + ServiceOptions.KAFKA_STARTUP_TIMEOUT
                        + " ("
                        + Settings.environmentVariable(ServiceOptions.KAFKA_STARTUP_TIMEOUT)
                        + ").",
                cause);
    }
}

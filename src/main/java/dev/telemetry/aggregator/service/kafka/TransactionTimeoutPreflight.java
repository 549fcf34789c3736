package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.jboss.logging.Logger;

/**
 * The start-up check that the exactly-once sinks' transaction timeout fits the broker's {@code
 * transaction.max.timeout.ms}: the sink's default (1 h) exceeds the broker's default (15 min).
 */
final class TransactionTimeoutPreflight extends PreflightStep {
    private static final Logger LOG = Logger.getLogger(TransactionTimeoutPreflight.class);
    static final String BROKER_TRANSACTION_MAX = "transaction.max.timeout.ms";

    TransactionTimeoutPreflight(Admin admin, Duration timeout, KafkaAccess access) {
        super(admin, timeout, access);
    }

    /**
     * A transaction timeout above the broker's maximum makes every transaction fail at start; one
     * too short loses committed-on-checkpoint output after a slow restart.
     */
    void checkTransactionTimeout(JobOptions job) {
        Optional<Duration> brokerMax = brokerTransactionMaxTimeout();
        if (brokerMax.isEmpty()) {
            return;
        }
        Duration max = brokerMax.get();
        if (job.transactionTimeout().compareTo(max) > 0) {
            throw new InvalidSettingException(
                    Settings.TRANSACTION_TIMEOUT,
                    job.transactionTimeout()
                            + " is above the broker's "
                            + BROKER_TRANSACTION_MAX
                            + " ("
                            + max
                            + "), so the broker would reject every transaction. Set "
                            + Settings.environmentVariable(Settings.TRANSACTION_TIMEOUT)
                            + " between "
                            + job.minimumTransactionTimeout()
                            + " ("
                            + JobOptions.MINIMUM_TRANSACTION_TIMEOUT_RULE
                            + ")"
                            + " and "
                            + max
                            + ", or raise the broker's "
                            + BROKER_TRANSACTION_MAX
                            + ".");
        }
        LOG.infof(
                "Transaction timeout %s: above %s (%s) and within the broker's maximum %s",
                job.transactionTimeout(),
                job.minimumTransactionTimeout(),
                JobOptions.MINIMUM_TRANSACTION_TIMEOUT_RULE,
                max);
    }

    Optional<Duration> brokerTransactionMaxTimeout() {
        Node node =
                await(admin.describeCluster().nodes(), "describe the cluster").stream()
                        .findFirst()
                        .orElseThrow(() -> new IllegalStateException("The cluster has no brokers"));
        ConfigResource broker =
                new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node.id()));
        try {
            Config config =
                    admin.describeConfigs(List.of(broker))
                            .all()
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                            .get(broker);
            ConfigEntry entry = config.get(BROKER_TRANSACTION_MAX);
            if (entry == null || entry.value() == null) {
                return Optional.empty();
            }
            return Optional.of(Duration.ofMillis(Long.parseLong(entry.value())));
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable("read the broker configuration", e.getCause());
            }
            // Without DescribeConfigs permission the check cannot run; the broker will still
            // reject an oversized timeout when the first transaction starts.
            LOG.warnf(
                    "Cannot read the broker's %s (%s); the transaction timeout is not checked"
                            + " against it (grant DescribeConfigs on the cluster to check it)",
                    BROKER_TRANSACTION_MAX, e.getCause().toString());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while reading broker configuration", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("read the broker configuration", e);
        }
    }
}

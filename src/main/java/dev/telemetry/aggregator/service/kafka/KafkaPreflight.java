package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Start-up checks against the real broker, before the job runs, with one admin client: this
 * principal's ACLs ({@link AccessPreflight}), the topics exist or are created and the dead-letter
 * topic's size limit ({@link TopicPreflight}), the exactly-once transaction timeout fits the
 * broker's {@code transaction.max.timeout.ms} ({@link TransactionTimeoutPreflight}), and a fork
 * does not reuse another deployment's transactional-id prefix ({@link ForkPreflight}). Each failure
 * says which setting to change.
 */
public final class KafkaPreflight implements AutoCloseable {
    private final Admin admin;
    private final AccessPreflight accessChecks;
    private final TopicPreflight topics;
    private final TransactionTimeoutPreflight transactionTimeout;
    private final ForkPreflight fork;

    public KafkaPreflight(JobOptions job, Duration timeout) {
        Properties properties = TelemetryKafka.clientProperties(job);
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, job.bootstrapServers());
        int timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(timeoutMs, 30_000));
        properties.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, job.groupId() + "-preflight");
        this.admin = Admin.create(properties);
        KafkaAccess access = new KafkaAccess(job);
        this.accessChecks = new AccessPreflight(admin, timeout, access);
        this.topics = new TopicPreflight(admin, timeout, access);
        this.transactionTimeout = new TransactionTimeoutPreflight(admin, timeout, access);
        this.fork = new ForkPreflight(admin, timeout, access);
    }

    /**
     * Runs every check; throws {@link InvalidSettingException} or {@link IllegalStateException}.
     */
    public void check(ServiceOptions options) {
        accessChecks.checkTopicAccess(options.job());
        topics.ensureTopics(options);
        accessChecks.checkGroupAccess(options.job());
        if (options.job().deliveryGuarantee() == DeliveryGuarantee.EXACTLY_ONCE) {
            accessChecks.checkTransactionalIdAccess(options.job());
            transactionTimeout.checkTransactionTimeout(options.job());
        }
    }

    /** {@link ForkPreflight#checkNotAFork}. */
    public void checkNotAFork(
            ServiceOptions options,
            boolean volumeHasOwnSnapshots,
            Optional<CheckpointLocator.Snapshot> restored) {
        fork.checkNotAFork(options, volumeHasOwnSnapshots, restored);
    }

    /** {@link TopicPreflight#deadLetterMaxRecordBytes}. */
    public int deadLetterMaxRecordBytes(JobOptions job) {
        return topics.deadLetterMaxRecordBytes(job);
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }
}

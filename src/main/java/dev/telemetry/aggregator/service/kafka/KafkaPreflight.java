package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.ServiceOptions;
import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import dev.telemetry.aggregator.service.checkpoint.FixedJobId;
import dev.telemetry.aggregator.service.checkpoint.VolumeHeartbeat;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.FenceProducersOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.jboss.logging.Logger;

/**
 * Start-up checks against the real broker, before the job runs: the topics exist (or are created),
 * the exactly-once transaction timeout fits the broker's {@code transaction.max.timeout.ms}, and a
 * fork does not reuse another deployment's transactional-id prefix. Each failure says which setting
 * to change.
 */
public final class KafkaPreflight implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KafkaPreflight.class);
    static final String BROKER_TRANSACTION_MAX = "transaction.max.timeout.ms";
    static final String TOPIC_MAX_MESSAGE_BYTES = "max.message.bytes";

    private final Admin admin;
    private final Duration timeout;
    private final KafkaAccess access;

    public KafkaPreflight(JobOptions job, Duration timeout) {
        Properties properties = new Properties();
        properties.putAll(job.kafkaProperties());
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, job.bootstrapServers());
        int timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(timeoutMs, 30_000));
        properties.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, job.groupId() + "-preflight");
        this.admin = Admin.create(properties);
        this.timeout = timeout;
        this.access = new KafkaAccess(job);
    }

    /**
     * Runs every check; throws {@link InvalidSettingException} or {@link IllegalStateException}.
     */
    public void check(ServiceOptions options) {
        checkTopicAccess(options.job());
        ensureTopics(options);
        checkGroupAccess(options.job());
        if (options.job().deliveryGuarantee() == DeliveryGuarantee.EXACTLY_ONCE) {
            checkTransactionalIdAccess(options.job());
            checkTransactionTimeout(options.job());
        }
    }

    /**
     * Read on every input topic, Write (and with exactly-once Read) on the output and dead-letter
     * topics ({@link KafkaAccess#topicOperations}), as the broker's authorized operations for this
     * principal say (describing a topic needs only Describe, which Read and Write imply). A topic
     * that does not exist yet is left to {@link #ensureTopics}.
     */
    void checkTopicAccess(JobOptions job) {
        List<String> topics = new ArrayList<>(job.inputTopics());
        topics.add(job.outputTopic());
        topics.add(job.deadLetterTopic());
        Map<String, KafkaFuture<TopicDescription>> described =
                admin.describeTopics(
                                topics,
                                new DescribeTopicsOptions().includeAuthorizedOperations(true))
                        .topicNameValues();
        for (String topic : topics) {
            TopicDescription description;
            try {
                description = described.get(topic).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    continue;
                }
                if (e.getCause() instanceof AuthorizationException) {
                    throw access.topicDenied(topic, "Describe", e.getCause());
                }
                if (isTimeout(e)) {
                    throw brokerUnreachable("describe topic " + topic, e.getCause());
                }
                throw new IllegalStateException(
                        "Kafka refused to describe topic "
                                + topic
                                + ": "
                                + e.getCause().getMessage(),
                        e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while describing topics", e);
            } catch (TimeoutException e) {
                throw brokerUnreachable("describe topic " + topic, e);
            }
            Set<AclOperation> allowed = description.authorizedOperations();
            if (allowed == null) {
                continue;
            }
            for (String operation : access.topicOperations(topic)) {
                if (!allowed.contains(AclOperation.fromString(operation))) {
                    throw access.topicDenied(topic, operation, null);
                }
            }
        }
    }

    /** Read on the consumer group, where the job commits its offsets on each checkpoint. */
    void checkGroupAccess(JobOptions job) {
        try {
            ConsumerGroupDescription group =
                    admin.describeConsumerGroups(
                                    List.of(job.groupId()),
                                    new DescribeConsumerGroupsOptions()
                                            .includeAuthorizedOperations(true))
                            .describedGroups()
                            .get(job.groupId())
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Set<AclOperation> allowed = group.authorizedOperations();
            if (allowed != null && !allowed.contains(AclOperation.READ)) {
                throw access.groupDenied(null);
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuthorizationException) {
                throw access.groupDenied(e.getCause());
            }
            if (isTimeout(e)) {
                throw brokerUnreachable("describe group " + job.groupId(), e.getCause());
            }
            // A group that does not exist yet (the first start): describing it was allowed, so
            // the principal has at least Describe; a missing Read shows at the first commit.
            LOG.debugf("Group %s not described: %s", job.groupId(), e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while describing the group", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("describe group " + job.groupId(), e);
        }
    }

    /**
     * Write on the transactional ids, probed with an id of the service's own ({@code
     * <prefix>-preflight}, outside both sinks' ids) the way a transactional producer starts: Kafka
     * has no other way to ask, and the sinks would otherwise fail later with a bare "Transactional
     * Id authorization failed".
     */
    void checkTransactionalIdAccess(JobOptions job) {
        String probe = KafkaAccess.transactionalIdAclPrefix(job) + "preflight";
        try {
            admin.fenceProducers(
                            List.of(probe),
                            new FenceProducersOptions()
                                    .timeoutMs(
                                            (int) Math.min(Integer.MAX_VALUE, timeout.toMillis())))
                    .all()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuthorizationException) {
                throw access.transactionalIdDenied(e.getCause());
            }
            if (isTimeout(e)) {
                throw brokerUnreachable("probe transactional id " + probe, e.getCause());
            }
            throw new IllegalStateException(
                    "Kafka refused transactional id " + probe + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while probing transactional ids", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("probe transactional id " + probe, e);
        }
    }

    /**
     * Refuses a fork that reuses the original deployment's transactional-id prefix: one restored
     * with an explicit restore onto an empty volume while the prefix has open transactions, or
     * (whatever the snapshot's origin: copied into this volume, a copied volume, {@code
     * TELEMETRY_RESTORE_FROM}) one whose prefix another deployment kept writing under after the
     * snapshot was taken ({@link ForkGuard}). The two would fence each other's transactions, this
     * one could abort the original's, and both would commit offsets to one group.
     */
    public void checkNotAFork(
            ServiceOptions options,
            boolean volumeHasOwnSnapshots,
            Optional<CheckpointLocator.Snapshot> restored) {
        checkNoOpenTransactionsOnFork(options, volumeHasOwnSnapshots);
        checkOriginNotActive(options, restored);
    }

    /**
     * A volume with no snapshot of its own plus an explicit restore: if the prefix has open
     * transactions, another deployment holds them (a crashed original's, which a fork must not
     * abort by taking over the ids, or a live one's).
     */
    private void checkNoOpenTransactionsOnFork(
            ServiceOptions options, boolean volumeHasOwnSnapshots) {
        JobOptions job = options.job();
        if (volumeHasOwnSnapshots
                || options.restoreFrom().isEmpty()
                || job.deliveryGuarantee() != DeliveryGuarantee.EXACTLY_ONCE) {
            return;
        }
        List<LingeringTransactions.OpenTransaction> open;
        try {
            open = new LingeringTransactions(admin, timeout).find(job.transactionalIdPrefix());
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable("list transactions", e.getCause());
            }
            if (e.getCause() instanceof AuthorizationException
                    || e.getCause() instanceof UnsupportedVersionException) {
                // Listing transactions needs DESCRIBE on transactional ids (or a newer broker);
                // without it the guard cannot run, and refusing every start would be worse.
                LOG.warnf(
                        "Cannot list the broker's transactions (%s); not checking whether another"
                                + " deployment uses transactional-id prefix %s",
                        e.getCause().toString(), job.transactionalIdPrefix());
                return;
            }
            throw new IllegalStateException(
                    "Kafka refused to list transactions: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while listing transactions", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("list transactions", e);
        }
        if (open.isEmpty()) {
            return;
        }
        throw new IllegalStateException(
                "Refusing to start: the checkpoint directory "
                        + options.checkpointDir()
                        + " has no snapshot of this deployment and "
                        + Settings.environmentVariable(ServiceOptions.RESTORE_FROM)
                        + " is set, so this is a new deployment (a fork) started from another"
                        + " one's snapshot, but the broker has open transactions of its"
                        + " transactional-id prefix '"
                        + job.transactionalIdPrefix()
                        + "' ("
                        + String.join(
                                ", ",
                                open.stream()
                                        .map(LingeringTransactions.OpenTransaction::transactionalId)
                                        .toList())
                        + "): another deployment (the original) is using this prefix. A fork needs"
                        + " its own transactional-id prefix and consumer group id: set "
                        + Settings.environmentVariable(Settings.TRANSACTIONAL_ID_PREFIX)
                        + " and "
                        + Settings.environmentVariable(Settings.GROUP_ID)
                        + " to values of its own. If the original is gone for good, abort its"
                        + " transactions first (docs/operations.md: Recovering from a lingering"
                        + " transaction).");
    }

    /**
     * Whatever the snapshot to restore is (the volume's newest, one copied into it, or {@code
     * TELEMETRY_RESTORE_FROM}), refuses to start if another deployment kept writing under this
     * deployment's transactional ids after it was taken and after this volume's own runs were last
     * alive ({@link ForkGuard}).
     */
    void checkOriginNotActive(
            ServiceOptions options, Optional<CheckpointLocator.Snapshot> restored) {
        JobOptions job = options.job();
        if (restored.isEmpty() || job.deliveryGuarantee() != DeliveryGuarantee.EXACTLY_ONCE) {
            return;
        }
        Optional<Instant> lastAlive = VolumeHeartbeat.lastAlive(options.checkpointDir());
        if (lastAlive.isEmpty()
                && FixedJobId.isOwnCheckpoint(options.checkpointDir(), restored.get().path())) {
            // A volume that only releases before the heartbeat wrote: its last run went on past
            // its newest checkpoint (a crash), which cannot be told from a fork's live original,
            // and refusing would hold up the first start after every such upgrade for up to the
            // transaction timeout. The guard applies from this run's heartbeat on.
            LOG.infof(
                    "No run has recorded being alive on %s yet (a volume of an earlier release):"
                            + " resuming its own checkpoint %s without the fork guard",
                    options.checkpointDir(), restored.get().path());
            return;
        }
        try {
            new ForkGuard(admin, timeout, ForkGuard.DEFAULT_SLACK)
                    .check(
                            job,
                            restored.get().path(),
                            restored.get().completedAt().toInstant(),
                            lastAlive);
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable("look for another deployment's activity", e.getCause());
            }
            // Listing transactions needs DESCRIBE on transactional ids, describing producers
            // READ on the topics (or a newer broker); without them the guard cannot run, and
            // refusing every start would be worse.
            LOG.warnf(
                    "Cannot look for another deployment's activity under transactional-id prefix"
                            + " %s (%s); a fork that kept this prefix would not be detected",
                    job.transactionalIdPrefix(), e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while looking for a live original", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("look for another deployment's activity", e);
        }
    }

    void ensureTopics(ServiceOptions options) {
        JobOptions job = options.job();
        Map<String, String> required = new LinkedHashMap<>();
        job.inputTopics().forEach(topic -> required.put(topic, Settings.INPUT_TOPICS));
        required.put(job.outputTopic(), Settings.OUTPUT_TOPIC);
        required.put(job.deadLetterTopic(), Settings.DEAD_LETTER_TOPIC);

        Set<String> existing = await(admin.listTopics().names(), "list topics");
        List<NewTopic> missing = new ArrayList<>();
        for (Map.Entry<String, String> topic : required.entrySet()) {
            if (existing.contains(topic.getKey())) {
                continue;
            }
            if (!options.createTopics()) {
                throw new InvalidSettingException(
                        topic.getValue(),
                        "topic '"
                                + topic.getKey()
                                + "' does not exist on "
                                + job.bootstrapServers()
                                + " and topic creation is off. Create the topic, or set "
                                + ServiceOptions.TOPICS_CREATE
                                + "=true ("
                                + Settings.environmentVariable(ServiceOptions.TOPICS_CREATE)
                                + ").");
            }
            missing.add(
                    new NewTopic(
                            topic.getKey(),
                            options.topicPartitions(),
                            options.topicReplicationFactor()));
        }
        if (missing.isEmpty()) {
            return;
        }
        try {
            admin.createTopics(missing).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.infof("Created topics %s", missing.stream().map(NewTopic::name).toList());
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable("create topics", e.getCause());
            }
            if (e.getCause() instanceof AuthorizationException) {
                NewTopic first = missing.get(0);
                throw access.denied(
                        "Create",
                        List.of("Create"),
                        "topic",
                        first.name(),
                        "--topic '" + first.name() + "'",
                        "it does not exist, or this principal may not see it; create the topics"
                                + " beforehand, or set "
                                + Settings.environmentVariable(ServiceOptions.TOPICS_CREATE)
                                + "=false to be told which one is missing",
                        e.getCause());
            }
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException(
                        "Cannot create topics "
                                + missing.stream().map(NewTopic::name).toList()
                                + ": "
                                + e.getCause().getMessage(),
                        e.getCause());
            }
            // Another instance created it between our listing and our request: that is fine.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("create topics", e);
        }
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

    /**
     * The largest dead letter the sink may write: the configured cap, lowered to the dead-letter
     * topic's {@code max.message.bytes}. A dead letter above the topic's limit would fail the sink
     * and restart the job on the same record forever; with the limit known, it is truncated
     * instead. (If someone lowers the topic's limit while the service runs, restart the service.)
     */
    public int deadLetterMaxRecordBytes(JobOptions job) {
        ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, job.deadLetterTopic());
        int configured = job.deadLetterMaxRecordBytes();
        try {
            ConfigEntry entry =
                    admin.describeConfigs(List.of(topic))
                            .all()
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                            .get(topic)
                            .get(TOPIC_MAX_MESSAGE_BYTES);
            if (entry == null || entry.value() == null) {
                return configured;
            }
            int topicMax = Integer.parseInt(entry.value());
            if (topicMax < JobOptions.MIN_DEAD_LETTER_RECORD_BYTES) {
                throw new InvalidSettingException(
                        Settings.DEAD_LETTER_TOPIC,
                        "topic '"
                                + job.deadLetterTopic()
                                + "' has "
                                + TOPIC_MAX_MESSAGE_BYTES
                                + "="
                                + topicMax
                                + ", too small for dead letters; raise it to at least "
                                + JobOptions.MIN_DEAD_LETTER_RECORD_BYTES);
            }
            int limit = Math.min(configured, topicMax);
            LOG.infof(
                    "Dead letters larger than %d bytes are truncated (topic %s %s=%d, %s=%d)",
                    limit,
                    job.deadLetterTopic(),
                    TOPIC_MAX_MESSAGE_BYTES,
                    topicMax,
                    Settings.DEAD_LETTER_MAX_RECORD_BYTES,
                    configured);
            return limit;
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable("read the dead-letter topic's configuration", e.getCause());
            }
            // Without DescribeConfigs on the topic the configured cap stands; set it to the
            // topic's max.message.bytes by hand.
            LOG.warnf(
                    "Cannot read %s of topic %s (%s); dead letters are truncated at %s=%d",
                    TOPIC_MAX_MESSAGE_BYTES,
                    job.deadLetterTopic(),
                    e.getCause().toString(),
                    Settings.DEAD_LETTER_MAX_RECORD_BYTES,
                    configured);
            return configured;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while reading topic configuration", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("read the dead-letter topic's configuration", e);
        }
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

    private <T> T await(org.apache.kafka.common.KafkaFuture<T> future, String action) {
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
    private static boolean isTimeout(ExecutionException e) {
        return e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException;
    }

    private IllegalStateException brokerUnreachable(String action, Throwable cause) {
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

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }
}

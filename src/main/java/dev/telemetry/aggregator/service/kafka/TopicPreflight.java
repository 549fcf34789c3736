package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.Grouping;
import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

/**
 * Start-up checks of the topics: each exists, or is created if topic creation is on (in upsert mode
 * the aggregate topics compacted); and the dead-letter topic's {@code max.message.bytes} caps the
 * size of a dead letter.
 */
final class TopicPreflight extends PreflightStep {
    private static final Logger LOG = Logger.getLogger(TopicPreflight.class);
    static final String TOPIC_MAX_MESSAGE_BYTES = "max.message.bytes";
    static final String CLEANUP_POLICY = "cleanup.policy";

    /**
     * Of upsert mode's aggregate topics: compaction keeps each window's latest revision, deletion
     * by retention keeps the topic from growing by every window ever written.
     */
    static final String UPSERT_CLEANUP_POLICY = "compact,delete";

    TopicPreflight(Admin admin, Duration timeout, KafkaAccess access) {
        super(admin, timeout, access);
    }

    void ensureTopics(ServiceOptions options) {
        JobOptions job = options.job();
        Map<String, String> required = new LinkedHashMap<>();
        job.inputTopics().forEach(topic -> required.put(topic, Settings.INPUT_TOPICS.key()));
        required.put(job.outputTopic(), Settings.OUTPUT_TOPIC.key());
        job.rollups().forEach(level -> required.put(level.topic(), Settings.ROLLUPS.key()));
        for (Grouping grouping : job.extraGroupings()) {
            grouping.topics().forEach(topic -> required.put(topic, Settings.GROUPINGS.key()));
        }
        required.put(job.deadLetterTopic(), Settings.DEAD_LETTER_TOPIC.key());

        Set<String> existing = await(admin.listTopics().names(), "list topics");
        // Upsert mode's aggregate topics are compacted: created so, warned about if not.
        List<String> compacted = job.upsert() ? job.aggregateTopics() : List.of();
        warnIfNotCompacted(compacted.stream().filter(existing::contains).toList());
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
            NewTopic created =
                    new NewTopic(
                            topic.getKey(),
                            options.topicPartitions(),
                            options.topicReplicationFactor());
            if (compacted.contains(topic.getKey())) {
                created.configs(Map.of(CLEANUP_POLICY, UPSERT_CLEANUP_POLICY));
            }
            missing.add(created);
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
     * Upsert mode writes every revision of a window under one key; without compaction a consumer
     * reading the topic from the start sees them all (still correct if it keeps the latest record
     * per key, but not what the mode is for). Existing topics are the user's: warned about, not
     * changed.
     */
    private void warnIfNotCompacted(List<String> topics) {
        if (topics.isEmpty()) {
            return;
        }
        List<ConfigResource> resources =
                topics.stream()
                        .map(topic -> new ConfigResource(ConfigResource.Type.TOPIC, topic))
                        .toList();
        try {
            Map<ConfigResource, Config> configs =
                    admin.describeConfigs(resources)
                            .all()
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            for (Map.Entry<ConfigResource, Config> topic : configs.entrySet()) {
                ConfigEntry policy = topic.getValue().get(CLEANUP_POLICY);
                if (policy == null
                        || policy.value() == null
                        || !policy.value().contains("compact")) {
                    LOG.warnf(
                            "Topic %s has %s=%s, but %s=upsert writes every revision of a window"
                                    + " under the window's key: set %s=%s on it so that"
                                    + " compaction keeps the latest",
                            topic.getKey().name(),
                            CLEANUP_POLICY,
                            policy == null ? null : policy.value(),
                            Settings.environmentVariable(Settings.OUTPUT_MODE),
                            CLEANUP_POLICY,
                            UPSERT_CLEANUP_POLICY);
                }
            }
        } catch (ExecutionException e) {
            if (isTimeout(e)) {
                throw brokerUnreachable("read the aggregate topics' configuration", e.getCause());
            }
            // Without DescribeConfigs the check is skipped; the output is right either way.
            LOG.warnf(
                    "Cannot read %s of the aggregate topics (%s); in upsert mode they should be"
                            + " compacted (%s=%s)",
                    CLEANUP_POLICY, e.getCause().toString(), CLEANUP_POLICY, UPSERT_CLEANUP_POLICY);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while reading topic configuration", e);
        } catch (TimeoutException e) {
            throw brokerUnreachable("read the aggregate topics' configuration", e);
        }
    }

    /**
     * The largest dead letter the sink may write: the configured cap, lowered to the dead-letter
     * topic's {@code max.message.bytes}. A dead letter above the topic's limit would fail the sink
     * and restart the job on the same record forever; with the limit known, it is truncated
     * instead. (If someone lowers the topic's limit while the service runs, restart the service.)
     */
    int deadLetterMaxRecordBytes(JobOptions job) {
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
}

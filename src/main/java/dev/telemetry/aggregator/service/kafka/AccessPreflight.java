package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.FenceProducersOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.jboss.logging.Logger;

/**
 * Start-up checks of this principal's ACLs, before anything fails later with a bare authorization
 * error: Read and Write on the topics, Read on the consumer group, Write on the transactional ids.
 * Each refusal names the ACL to grant ({@link KafkaAccess}).
 */
final class AccessPreflight extends PreflightStep {
    private static final Logger LOG = Logger.getLogger(AccessPreflight.class);

    AccessPreflight(Admin admin, Duration timeout, KafkaAccess access) {
        super(admin, timeout, access);
    }

    /**
     * Read on every input topic, Write (and with exactly-once Read) on the output, rollup and
     * dead-letter topics ({@link KafkaAccess#topicOperations}), as the broker's authorized
     * operations for this principal say (describing a topic needs only Describe, which Read and
     * Write imply). A topic that does not exist yet is left to {@link TopicPreflight#ensureTopics}.
     */
    void checkTopicAccess(JobOptions job) {
        List<String> topics = new ArrayList<>(job.inputTopics());
        topics.addAll(job.aggregateTopics());
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
}

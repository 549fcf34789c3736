package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.AbortTransactionOptions;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeProducersOptions;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.DescribeTransactionsOptions;
import org.apache.kafka.clients.admin.FenceProducersOptions;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * Aborts the open Kafka transactions of another deployment's transactional-id prefix, by the rule
 * {@link #ABORT_RULE}: for when a crashed instance never comes back and its open transaction blocks
 * read_committed consumers. {@link LingeringTransactions} finds them.
 */
public final class TransactionAbort {
    private static final Logger LOG = Logger.getLogger(TransactionAbort.class);

    private final Admin admin;
    private final Duration timeout;
    private final LingeringTransactions transactions;

    public TransactionAbort(Admin admin, Duration timeout) {
        this.admin = admin;
        this.timeout = timeout;
        this.transactions = new LingeringTransactions(admin, timeout);
    }

    /** What the abort did for one transaction. */
    public record Aborted(
            String transactionalId,
            long producerId,
            List<String> markedPartitions,
            boolean fenced) {}

    /** An open transaction the abort left alone, and why. */
    public record Kept(String transactionalId, String reason) {}

    /**
     * What an abort request did: either every open transaction of the prefix was aborted, or (some
     * of them look like a live deployment's) none was and {@code kept} says why.
     */
    public record AbortOutcome(List<Aborted> aborted, List<Kept> kept, Duration minimumAge) {
        public boolean refused() {
            return !kept.isEmpty();
        }
    }

    /**
     * The abort rule in words, for the API's answers and the log. A live deployment commits (or its
     * restart aborts) each transaction within {@link JobOptions#minimumTransactionTimeout()} of its
     * start, and it starts new ones at every checkpoint while records flow; a deployment whose
     * transactions of a prefix are all older than that, and whose producers have not written for
     * that long, is not committing anything any more.
     */
    public static final String ABORT_RULE =
            "open transactions of a prefix are aborted only when every one of them started, and its"
                    + " producer last wrote, longer ago than minimumAge: the longest a live"
                    + " deployment keeps a transaction open before it commits it ("
                    + JobOptions.MINIMUM_TRANSACTION_TIMEOUT_RULE
                    + "), by this deployment's checkpoint settings, or the request's olderThan if"
                    + " longer (give the owning deployment's own bound, printed in its start-up"
                    + " log, when its checkpoint settings are longer). Otherwise nothing is"
                    + " aborted: the prefix may belong to a live deployment, whose pre-committed"
                    + " transaction would be lost.";

    /**
     * Aborts the ONGOING transactions of the deployment prefix if the deployment shows no sign of
     * life ({@link #ABORT_RULE}): none of them started, and none of their producers wrote, within
     * {@code minimumAge}, and none is one of {@code ownPrefix}'s. Each is then aborted with an
     * abort marker on each of its partitions (which releases read_committed consumers at once, as
     * {@code kafka-transactions.sh abort} does), and its transactional id is fenced, so the
     * coordinator completes the abort too and a zombie holding the id cannot commit later.
     *
     * <p>Ages are measured against this host's clock from the broker's transaction start times: the
     * hosts' clocks must agree to well within {@code minimumAge}.
     */
    public AbortOutcome abort(String prefix, Duration minimumAge, String ownPrefix)
            throws ExecutionException, InterruptedException, TimeoutException {
        Instant now = Instant.now();
        List<LingeringTransactions.OpenTransaction> open = transactions.find(prefix);
        List<Kept> kept = new ArrayList<>();
        Map<String, Map<TopicPartition, PartitionProducerState>> producersById = new HashMap<>();
        for (LingeringTransactions.OpenTransaction transaction : open) {
            if (LingeringTransactions.belongsTo(transaction.transactionalId(), ownPrefix)) {
                kept.add(
                        new Kept(
                                transaction.transactionalId(),
                                "one of this service's own transactional ids"));
                continue;
            }
            if (transaction.startedAt().isEmpty()) {
                kept.add(new Kept(transaction.transactionalId(), "the broker gave no start time"));
                continue;
            }
            Duration age = Duration.between(transaction.startedAt().get(), now);
            if (age.compareTo(minimumAge) <= 0) {
                kept.add(
                        new Kept(
                                transaction.transactionalId(),
                                "started "
                                        + age.withNanos(0)
                                        + " ago, not longer ago than minimumAge "
                                        + minimumAge));
                continue;
            }
            Map<TopicPartition, PartitionProducerState> producers = producers(transaction);
            producersById.put(transaction.transactionalId(), producers);
            for (PartitionProducerState partition : producers.values()) {
                for (ProducerState producer : partition.activeProducers()) {
                    if (producer.producerId() != transaction.producerId()) {
                        continue;
                    }
                    Duration idle =
                            Duration.between(Instant.ofEpochMilli(producer.lastTimestamp()), now);
                    if (idle.compareTo(minimumAge) <= 0) {
                        kept.add(
                                new Kept(
                                        transaction.transactionalId(),
                                        "its producer wrote "
                                                + idle.withNanos(0)
                                                + " ago, not longer ago than minimumAge "
                                                + minimumAge));
                    }
                }
            }
        }
        if (!kept.isEmpty()) {
            LOG.infof(
                    "Not aborting the transactions of prefix %s: %s (%s)",
                    prefix, kept, ABORT_RULE);
            return new AbortOutcome(List.of(), List.copyOf(kept), minimumAge);
        }
        List<Aborted> result = new ArrayList<>();
        for (LingeringTransactions.OpenTransaction transaction : open) {
            result.add(abort(transaction, producersById.get(transaction.transactionalId())));
        }
        return new AbortOutcome(List.copyOf(result), List.of(), minimumAge);
    }

    /** The producers of the transaction's partitions, as the partition leaders know them. */
    private Map<TopicPartition, PartitionProducerState> producers(
            LingeringTransactions.OpenTransaction transaction)
            throws ExecutionException, InterruptedException, TimeoutException {
        Set<TopicPartition> partitions =
                get(admin.describeTransactions(
                                        List.of(transaction.transactionalId()),
                                        new DescribeTransactionsOptions().timeoutMs(timeoutMs()))
                                .all())
                        .get(transaction.transactionalId())
                        .topicPartitions();
        if (partitions.isEmpty()) {
            return Map.of();
        }
        return get(
                admin.describeProducers(
                                partitions, new DescribeProducersOptions().timeoutMs(timeoutMs()))
                        .all());
    }

    private Aborted abort(
            LingeringTransactions.OpenTransaction open,
            Map<TopicPartition, PartitionProducerState> producers)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<String> marked = new ArrayList<>();
        for (Map.Entry<TopicPartition, PartitionProducerState> partition : producers.entrySet()) {
            for (ProducerState producer : partition.getValue().activeProducers()) {
                if (producer.producerId() != open.producerId()
                        || producer.currentTransactionStartOffset().isEmpty()) {
                    continue;
                }
                try {
                    get(
                            admin.abortTransaction(
                                            new AbortTransactionSpec(
                                                    partition.getKey(),
                                                    producer.producerId(),
                                                    (short) producer.producerEpoch(),
                                                    producer.coordinatorEpoch().orElse(-1)),
                                            new AbortTransactionOptions().timeoutMs(timeoutMs()))
                                    .all());
                    marked.add(partition.getKey().toString());
                } catch (ExecutionException e) {
                    // The fence below still makes the coordinator abort it; only the
                    // immediate release of this partition is lost.
                    LOG.warnf(
                            "Could not write an abort marker for %s on %s (%s); fencing"
                                    + " it instead",
                            open.transactionalId(), partition.getKey(), e.getCause().toString());
                }
            }
        }
        get(
                admin.fenceProducers(
                                List.of(open.transactionalId()),
                                new FenceProducersOptions().timeoutMs(timeoutMs()))
                        .all());
        LOG.infof(
                "Aborted transaction %s (producer id %d, epoch %d) on %s and fenced its id",
                open.transactionalId(), open.producerId(), open.producerEpoch(), marked);
        return new Aborted(open.transactionalId(), open.producerId(), List.copyOf(marked), true);
    }

    private int timeoutMs() {
        return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }

    private <T> T get(org.apache.kafka.common.KafkaFuture<T> future)
            throws ExecutionException, InterruptedException, TimeoutException {
        return future.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
    }
}

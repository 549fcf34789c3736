package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
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
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * Finds and aborts the open Kafka transactions of a deployment's transactional-id prefix, for when
 * a crashed instance never comes back and its open transaction blocks read_committed consumers.
 */
public final class LingeringTransactions {
    private static final Logger LOG = Logger.getLogger(LingeringTransactions.class);

    private final Admin admin;
    private final Duration timeout;

    public LingeringTransactions(Admin admin, Duration timeout) {
        this.admin = admin;
        this.timeout = timeout;
    }

    /** An open transaction: who holds it, on which partitions, and since when. */
    public record OpenTransaction(
            String transactionalId,
            long producerId,
            int producerEpoch,
            String state,
            List<String> partitions,
            Optional<Instant> startedAt,
            long timeoutMs) {}

    /** What the abort did for one transaction. */
    public record Aborted(
            String transactionalId,
            long producerId,
            List<String> markedPartitions,
            boolean fenced) {}

    /**
     * Whether {@code transactionalId} belongs to the deployment with this prefix. The sink names
     * are part of the match, so prefix {@code eu1} does not match deployment {@code eu10}.
     */
    public static boolean belongsTo(String transactionalId, String prefix) {
        return TelemetryKafka.SINKS.stream()
                .anyMatch(
                        sink ->
                                transactionalId.startsWith(
                                        JobOptions.transactionalIdPrefix(prefix, sink) + "-"));
    }

    /**
     * The transactions of the deployment prefix that the broker lists in one of {@code states} (any
     * state if none is given), as it describes them, by transactional id in id order. A transaction
     * may have moved on between the listing and the description.
     */
    public Map<String, TransactionDescription> describe(String prefix, TransactionState... states)
            throws ExecutionException, InterruptedException, TimeoutException {
        ListTransactionsOptions options = new ListTransactionsOptions().timeoutMs(timeoutMs());
        if (states.length > 0) {
            options.filterStates(List.of(states));
        }
        List<String> ids =
                get(admin.listTransactions(options).all()).stream()
                        .map(TransactionListing::transactionalId)
                        .filter(id -> belongsTo(id, prefix))
                        .sorted()
                        .toList();
        if (ids.isEmpty()) {
            return Map.of();
        }
        return new TreeMap<>(
                get(
                        admin.describeTransactions(
                                        ids,
                                        new DescribeTransactionsOptions().timeoutMs(timeoutMs()))
                                .all()));
    }

    /** The ONGOING transactions of the deployment prefix, oldest first. */
    public List<OpenTransaction> find(String prefix)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<String, TransactionDescription> descriptions =
                describe(prefix, TransactionState.ONGOING);
        List<OpenTransaction> open = new ArrayList<>();
        for (Map.Entry<String, TransactionDescription> entry : descriptions.entrySet()) {
            TransactionDescription description = entry.getValue();
            // Listed as ONGOING a moment ago; it may have completed since.
            if (description.state() != TransactionState.ONGOING) {
                continue;
            }
            open.add(
                    new OpenTransaction(
                            entry.getKey(),
                            description.producerId(),
                            description.producerEpoch(),
                            description.state().toString(),
                            description.topicPartitions().stream()
                                    .map(TopicPartition::toString)
                                    .sorted()
                                    .toList(),
                            description.transactionStartTimeMs().isPresent()
                                    ? Optional.of(
                                            Instant.ofEpochMilli(
                                                    description
                                                            .transactionStartTimeMs()
                                                            .getAsLong()))
                                    : Optional.empty(),
                            description.transactionTimeoutMs()));
        }
        open.sort(
                Comparator.comparing((OpenTransaction t) -> t.startedAt().orElse(Instant.MAX))
                        .thenComparing(OpenTransaction::transactionalId));
        return open;
    }

    /**
     * When the oldest open transaction of the deployment prefix began, by the broker's clock (the
     * one its {@code transaction.timeout.ms} runs on): ONGOING ones, pre-committed ones included
     * (flushed, waiting for their checkpoint), and those being completed. Empty if none is open.
     */
    public Optional<Instant> oldestOpenStart(String prefix)
            throws ExecutionException, InterruptedException, TimeoutException {
        return describe(
                        prefix,
                        TransactionState.ONGOING,
                        TransactionState.PREPARE_COMMIT,
                        TransactionState.PREPARE_ABORT)
                .values()
                .stream()
                .filter(d -> d.transactionStartTimeMs().isPresent())
                .map(d -> Instant.ofEpochMilli(d.transactionStartTimeMs().getAsLong()))
                .min(Comparator.naturalOrder());
    }

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
     * Whether two deployment prefixes can name the same transactional ids: some sink prefix of one
     * is a prefix of a sink prefix of the other (either way), e.g. {@code x} ({@code
     * x-aggregates-<subtask>-<n>}) and {@code x-aggregates} ({@code x-aggregates-aggregates-...}).
     * Such a pair cannot tell its transactions apart by prefix.
     */
    public static boolean overlap(String one, String other) {
        for (String sink : TelemetryKafka.SINKS) {
            String mine = JobOptions.transactionalIdPrefix(one, sink) + "-";
            for (String otherSink : TelemetryKafka.SINKS) {
                String theirs = JobOptions.transactionalIdPrefix(other, otherSink) + "-";
                if (mine.startsWith(theirs) || theirs.startsWith(mine)) {
                    return true;
                }
            }
        }
        return false;
    }

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
        List<OpenTransaction> open = find(prefix);
        List<Kept> kept = new ArrayList<>();
        Map<String, Map<TopicPartition, PartitionProducerState>> producersById = new HashMap<>();
        for (OpenTransaction transaction : open) {
            if (belongsTo(transaction.transactionalId(), ownPrefix)) {
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
        for (OpenTransaction transaction : open) {
            result.add(abort(transaction, producersById.get(transaction.transactionalId())));
        }
        return new AbortOutcome(List.copyOf(result), List.of(), minimumAge);
    }

    /** The producers of the transaction's partitions, as the partition leaders know them. */
    private Map<TopicPartition, PartitionProducerState> producers(OpenTransaction transaction)
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
            OpenTransaction open, Map<TopicPartition, PartitionProducerState> producers)
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

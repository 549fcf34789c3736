package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.JobOptions;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

    /** The ONGOING transactions of the deployment prefix, oldest first. */
    public List<OpenTransaction> find(String prefix)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<String> ids =
                get(
                                admin.listTransactions(
                                                new ListTransactionsOptions()
                                                        .filterStates(
                                                                List.of(TransactionState.ONGOING))
                                                        .timeoutMs(timeoutMs()))
                                        .all())
                        .stream()
                        .map(TransactionListing::transactionalId)
                        .filter(id -> belongsTo(id, prefix))
                        .sorted()
                        .toList();
        if (ids.isEmpty()) {
            return List.of();
        }
        Map<String, TransactionDescription> descriptions =
                get(
                        admin.describeTransactions(
                                        ids,
                                        new DescribeTransactionsOptions().timeoutMs(timeoutMs()))
                                .all());
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
     * Aborts every ONGOING transaction of the deployment prefix: first an abort marker on each of
     * its partitions (which releases read_committed consumers at once, as {@code
     * kafka-transactions.sh abort} does), then fences the transactional id, so the coordinator
     * completes the abort too and a zombie holding the id cannot commit later.
     */
    public List<Aborted> abort(String prefix)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<Aborted> result = new ArrayList<>();
        for (OpenTransaction open : find(prefix)) {
            List<String> marked = new ArrayList<>();
            Set<TopicPartition> partitions =
                    get(admin.describeTransactions(
                                            List.of(open.transactionalId()),
                                            new DescribeTransactionsOptions()
                                                    .timeoutMs(timeoutMs()))
                                    .all())
                            .get(open.transactionalId())
                            .topicPartitions();
            if (!partitions.isEmpty()) {
                Map<TopicPartition, PartitionProducerState> producers =
                        get(
                                admin.describeProducers(
                                                partitions,
                                                new DescribeProducersOptions()
                                                        .timeoutMs(timeoutMs()))
                                        .all());
                for (Map.Entry<TopicPartition, PartitionProducerState> partition :
                        producers.entrySet()) {
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
                                                    new AbortTransactionOptions()
                                                            .timeoutMs(timeoutMs()))
                                            .all());
                            marked.add(partition.getKey().toString());
                        } catch (ExecutionException e) {
                            // The fence below still makes the coordinator abort it; only the
                            // immediate release of this partition is lost.
                            LOG.warnf(
                                    "Could not write an abort marker for %s on %s (%s); fencing"
                                            + " it instead",
                                    open.transactionalId(),
                                    partition.getKey(),
                                    e.getCause().toString());
                        }
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
            result.add(
                    new Aborted(
                            open.transactionalId(), open.producerId(), List.copyOf(marked), true));
        }
        return result;
    }

    private int timeoutMs() {
        return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }

    private <T> T get(org.apache.kafka.common.KafkaFuture<T> future)
            throws ExecutionException, InterruptedException, TimeoutException {
        return future.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
    }
}

package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTransactionsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;

/**
 * Finds the open Kafka transactions of a deployment's transactional-id prefix, for when a crashed
 * instance never comes back and its open transaction blocks read_committed consumers ({@link
 * TransactionAbort} aborts them), and for the fork guard and the transaction age metrics.
 */
public final class LingeringTransactions {
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

    private int timeoutMs() {
        return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }

    private <T> T get(org.apache.kafka.common.KafkaFuture<T> future)
            throws ExecutionException, InterruptedException, TimeoutException {
        return future.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
    }
}

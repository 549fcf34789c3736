package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.checkpoint.VolumeHeartbeat;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeProducersOptions;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

/**
 * Detects that another deployment kept using this deployment's transactional ids after the snapshot
 * being restored was taken: the signature of a fork (a savepoint copied into this volume, a whole
 * volume copied, or {@code TELEMETRY_RESTORE_FROM} pointing at another deployment's snapshot) that
 * kept the original's transactional-id prefix and consumer group while the original runs on. Both
 * would then write the same ids (fencing each other, or one aborting the other's pre-committed
 * output) and commit offsets to the same group.
 *
 * <p>Whose activity is it? Whoever wrote under the prefix after both
 *
 * <ul>
 *   <li>the restored snapshot was taken (anyone resuming from it reprocesses from there; a
 *       deployment that stopped with that savepoint made its last commit right then), and
 *   <li>this volume's own runs were last alive ({@link VolumeHeartbeat#LAST_ALIVE}, written every
 *       second while the service runs: a crashed run of this deployment is active up to its death,
 *       not after),
 * </ul>
 *
 * plus a {@link #DEFAULT_SLACK} for clock differences and commits in flight, is some other process,
 * and this start is a fork of a live deployment. The evidence is the broker's, in wall-clock time:
 * the start time of each open transaction of the prefix, and the last write of each of its
 * producers on the output and dead-letter partitions (a commit or abort marker, which the broker
 * time-stamps; data batches carry record timestamps, which may be event times, so future ones are
 * ignored). Only activity within the transaction timeout counts: a deployment gone for longer has
 * no transaction left, and its successor may take over its ids.
 *
 * <p>Activity leaves no trace while no records flow (no transaction reaches the broker); an idle
 * original is not detected, and has nothing to lose but its next commit.
 */
public final class ForkGuard {
    /** What a fork must change, for the messages that stop one. */
    static final String OWN_IDS =
            "A fork needs its own transactional-id prefix and consumer group id: set "
                    + Settings.environmentVariable(Settings.TRANSACTIONAL_ID_PREFIX)
                    + " and "
                    + Settings.environmentVariable(Settings.GROUP_ID)
                    + " to values of its own.";

    /** Clock differences between this host and the broker, and commits in flight at a stop. */
    public static final Duration DEFAULT_SLACK = Duration.ofSeconds(5);

    private final Admin admin;
    private final Duration timeout;
    private final Duration slack;

    public ForkGuard(Admin admin, Duration timeout, Duration slack) {
        this.admin = admin;
        this.timeout = timeout;
        this.slack = slack;
    }

    /** The latest write under the prefix: when, and by which transactional id doing what. */
    public record Activity(Instant at, String transactionalId, String what) {}

    /**
     * Refuses to start if another deployment was active under the job's transactional-id prefix
     * after {@code snapshotTakenAt} and {@code lastAlive}, within the transaction timeout.
     *
     * @param snapshot the snapshot this start restores (for the message)
     * @param snapshotTakenAt when it was taken (its metadata file's modification time)
     * @param lastAlive when this volume's runs were last alive, if ever
     * @throws IllegalStateException naming the settings to change
     */
    public void check(
            JobOptions job, Path snapshot, Instant snapshotTakenAt, Optional<Instant> lastAlive)
            throws ExecutionException, InterruptedException, TimeoutException {
        Instant now = Instant.now();
        Instant after = lastAlive.filter(t -> t.isAfter(snapshotTakenAt)).orElse(snapshotTakenAt);
        Instant threshold = after.plus(slack);
        Instant recent = now.minus(job.transactionTimeout());
        Optional<Activity> latest =
                latestActivity(job.transactionalIdPrefix(), ownTopics(job), now.plus(slack));
        if (latest.isEmpty()
                || !latest.get().at().isAfter(threshold)
                || latest.get().at().isBefore(recent)) {
            return;
        }
        Activity activity = latest.get();
        throw new IllegalStateException(
                "Refusing to start: another deployment is using transactional-id prefix '"
                        + job.transactionalIdPrefix()
                        + "'. This start restores "
                        + snapshot
                        + " (taken "
                        + snapshotTakenAt
                        + "), but "
                        + activity.transactionalId()
                        + " "
                        + activity.what()
                        + " at "
                        + activity.at()
                        + ", after that snapshot was taken and after this volume's own runs were"
                        + " last alive ("
                        + lastAlive.map(Instant::toString).orElse("never, on this volume")
                        + "). So the deployment that wrote the snapshot kept running past it: this"
                        + " is a fork (a copied savepoint or volume, or "
                        + Settings.environmentVariable(ServiceOptions.RESTORE_FROM)
                        + "), and sharing the original's ids and consumer group would fence or"
                        + " abort its transactions and move its offsets. "
                        + OWN_IDS
                        + " If this is the original's successor and the"
                        + " original is stopped for good, start again after "
                        + activity.at().plus(job.transactionTimeout())
                        + " (its last activity plus the transaction timeout).");
    }

    /** The topics the job's sinks write: aggregates of every level, and dead letters. */
    static List<String> ownTopics(JobOptions job) {
        List<String> topics = new ArrayList<>(job.aggregateTopics());
        topics.add(job.deadLetterTopic());
        return topics;
    }

    /**
     * The latest activity under the prefix that the broker can date: open transactions' start
     * times, and the prefix's producers' last writes on {@code topics} (no later than {@code
     * notAfter}: record timestamps may be event times in the future).
     */
    public Optional<Activity> latestActivity(
            String prefix, Collection<String> topics, Instant notAfter)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<String, TransactionDescription> descriptions =
                new LingeringTransactions(admin, timeout).describe(prefix);
        if (descriptions.isEmpty()) {
            return Optional.empty();
        }
        Activity latest = null;
        Map<Long, String> idsByProducer = new HashMap<>();
        for (Map.Entry<String, TransactionDescription> entry : descriptions.entrySet()) {
            TransactionDescription description = entry.getValue();
            idsByProducer.put(description.producerId(), entry.getKey());
            boolean open =
                    description.state() == TransactionState.ONGOING
                            || description.state() == TransactionState.PREPARE_COMMIT
                            || description.state() == TransactionState.PREPARE_ABORT;
            if (open && description.transactionStartTimeMs().isPresent()) {
                latest =
                        later(
                                latest,
                                new Activity(
                                        Instant.ofEpochMilli(
                                                description.transactionStartTimeMs().getAsLong()),
                                        entry.getKey(),
                                        "opened a transaction"));
            }
        }
        List<TopicPartition> partitions = new ArrayList<>();
        Map<String, KafkaFuture<TopicDescription>> described =
                admin.describeTopics(topics).topicNameValues();
        for (String topic : topics) {
            for (TopicPartitionInfo partition : get(described.get(topic)).partitions()) {
                partitions.add(new TopicPartition(topic, partition.partition()));
            }
        }
        Map<TopicPartition, PartitionProducerState> producers =
                get(
                        admin.describeProducers(
                                        partitions,
                                        new DescribeProducersOptions().timeoutMs(timeoutMs()))
                                .all());
        for (Map.Entry<TopicPartition, PartitionProducerState> partition : producers.entrySet()) {
            for (ProducerState producer : partition.getValue().activeProducers()) {
                String id = idsByProducer.get(producer.producerId());
                Instant at = Instant.ofEpochMilli(producer.lastTimestamp());
                if (id == null || at.isAfter(notAfter)) {
                    continue;
                }
                latest = later(latest, new Activity(at, id, "wrote to " + partition.getKey()));
            }
        }
        return Optional.ofNullable(latest);
    }

    private static Activity later(Activity current, Activity candidate) {
        return current == null || candidate.at().isAfter(current.at()) ? candidate : current;
    }

    private int timeoutMs() {
        return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }

    private <T> T get(KafkaFuture<T> future)
            throws ExecutionException, InterruptedException, TimeoutException {
        return future.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
    }
}

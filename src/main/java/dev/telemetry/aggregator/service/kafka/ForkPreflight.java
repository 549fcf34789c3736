package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import dev.telemetry.aggregator.service.checkpoint.FixedJobId;
import dev.telemetry.aggregator.service.checkpoint.VolumeHeartbeat;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.jboss.logging.Logger;

/**
 * The start-up check that this deployment is not a fork reusing another deployment's
 * transactional-id prefix (see {@link #checkNotAFork}).
 */
final class ForkPreflight extends PreflightStep {
    private static final Logger LOG = Logger.getLogger(ForkPreflight.class);

    ForkPreflight(Admin admin, Duration timeout, KafkaAccess access) {
        super(admin, timeout, access);
    }

    /**
     * Refuses a fork that reuses the original deployment's transactional-id prefix: one restored
     * with an explicit restore onto an empty volume while the prefix has open transactions, or
     * (whatever the snapshot's origin: copied into this volume, a copied volume, {@code
     * TELEMETRY_RESTORE_FROM}) one whose prefix another deployment kept writing under after the
     * snapshot was taken ({@link ForkGuard}). The two would fence each other's transactions, this
     * one could abort the original's, and both would commit offsets to one group.
     */
    void checkNotAFork(
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
                        + "): another deployment (the original) is using this prefix. "
                        + ForkGuard.OWN_IDS
                        + " If the original is gone for good, abort its"
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
}

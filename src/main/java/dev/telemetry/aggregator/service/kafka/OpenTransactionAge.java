package dev.telemetry.aggregator.service.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.jboss.logging.Logger;

/**
 * The age of the oldest open or pre-committed transaction of this service's own transactional ids,
 * from the broker's transaction start times: the clock the broker's {@code transaction.timeout.ms}
 * runs on. Unlike the run's own checkpoint bookkeeping it covers a transaction carried over from a
 * previous run (pre-committed before a crash, committed again only when the restored job gets to
 * it). Asks the broker at most once per {@code refresh} however often it is read.
 */
public final class OpenTransactionAge {
    private static final Logger LOG = Logger.getLogger(OpenTransactionAge.class);

    private final Supplier<Optional<Admin>> admin;
    private final String prefix;
    private final Duration refresh;
    private final Duration timeout;

    private Instant checkedAt;
    private Optional<Instant> oldestStart = Optional.empty();
    private boolean known;
    private boolean warned;

    public OpenTransactionAge(
            Supplier<Optional<Admin>> admin, String prefix, Duration refresh, Duration timeout) {
        this.admin = admin;
        this.prefix = prefix;
        this.refresh = refresh;
        this.timeout = timeout;
    }

    /**
     * Seconds since the oldest open transaction began (0 when none is open), or empty while the
     * broker has never answered. If the broker stops answering, the last answer stands: a
     * transaction that was open then is as old as that, or committed.
     */
    public synchronized OptionalDouble ageSeconds(Instant now) {
        if (checkedAt == null || Duration.between(checkedAt, now).compareTo(refresh) >= 0) {
            checkedAt = now;
            Optional<Admin> client = admin.get();
            if (client.isPresent()) {
                try {
                    oldestStart =
                            new LingeringTransactions(client.get(), timeout)
                                    .oldestOpenStart(prefix);
                    known = true;
                    warned = false;
                } catch (ExecutionException | TimeoutException e) {
                    // Kept from the last answer; the checkpoint-based bound stands in until then.
                    if (!warned) {
                        LOG.warnf(
                                "Cannot read the open transactions of %s from the broker (%s);"
                                        + " the transaction age metrics use the last answer",
                                prefix, e.toString());
                        warned = true;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        if (!known) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(
                oldestStart
                        .map(start -> Math.max(0, Duration.between(start, now).toMillis() / 1000.0))
                        .orElse(0.0));
    }
}

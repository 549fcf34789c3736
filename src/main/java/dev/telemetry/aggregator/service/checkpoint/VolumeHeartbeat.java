package dev.telemetry.aggregator.service.checkpoint;

import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Writes {@link #LAST_ALIVE} on the checkpoint volume every second while the service runs, through
 * the job's stop and its last commits: the next start on this volume knows that writes under its
 * transactional ids up to then were its own predecessor's, and that later ones are another
 * deployment's (the fork guard). The job's start-up starts it once it has read the previous value.
 *
 * <p>Its one thread is a named daemon thread of its own rather than Quarkus' worker pool: it must
 * keep beating while the shutdown stops the job (the pool is not ours to keep alive that long), and
 * shuts down only after the job's stop ({@link #stop}).
 */
@ApplicationScoped
public class VolumeHeartbeat {
    private static final Logger LOG = Logger.getLogger(VolumeHeartbeat.class);

    /** The file in the checkpoint directory that says until when this volume's runs were alive. */
    public static final String LAST_ALIVE = "last-alive";

    private ScheduledExecutorService timer;
    private volatile boolean warned;

    /** Starts beating on {@code dir}, once: the job's start-up calls it after reading the last. */
    public synchronized void start(Path dir) {
        if (timer != null) {
            return;
        }
        timer =
                Executors.newSingleThreadScheduledExecutor(
                        runnable -> {
                            Thread thread = new Thread(runnable, "volume-heartbeat");
                            thread.setDaemon(true);
                            return thread;
                        });
        timer.scheduleWithFixedDelay(() -> beat(dir), 0, 1, TimeUnit.SECONDS);
    }

    /** After the job's own shutdown observer (default priority): its stop is over by then. */
    synchronized void stop(
            @Observes @Priority(Interceptor.Priority.LIBRARY_AFTER + 1000) ShutdownEvent event) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    private void beat(Path dir) {
        try {
            recordAlive(dir, Instant.now());
            warned = false;
        } catch (IOException | RuntimeException e) {
            // The volume's own readiness probe reports a volume that cannot be written; the fork
            // guard then dates this run's activity by an older heartbeat, at worst refusing the
            // next start with a message that says what happened.
            if (!warned) {
                LOG.warnf("Cannot record on %s that this run is alive: %s", dir, e.toString());
                warned = true;
            }
        }
    }

    /** When this volume's runs were last alive, if the service has ever run on it. */
    public static Optional<Instant> lastAlive(Path checkpointDir) {
        Path file = checkpointDir.resolve(LAST_ALIVE);
        try {
            return Optional.of(Instant.parse(Files.readString(file).trim()));
        } catch (IOException | DateTimeParseException e) {
            // Never written (a new volume), or torn by a crash in mid-write: as if never alive,
            // the stricter reading.
            return Optional.empty();
        }
    }

    /**
     * Records that this volume's run is alive now. Overwrites the same bytes of one small file in
     * place and syncs it: no new block is needed, so it keeps working on a full volume (where
     * checkpoints fail but the run still writes under its ids), and it survives a power cut. A torn
     * write reads as "never alive", the stricter reading.
     */
    public static void recordAlive(Path checkpointDir, Instant now) throws IOException {
        // Fixed width (an ISO instant is at most 30 characters here), so an overwrite never
        // leaves the tail of a longer earlier value behind.
        String text = String.format("%-32s", now.toString());
        try (FileChannel channel =
                FileChannel.open(
                        checkpointDir.resolve(LAST_ALIVE),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE)) {
            ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) {
                channel.write(bytes, bytes.position());
            }
            channel.force(false);
        }
    }
}

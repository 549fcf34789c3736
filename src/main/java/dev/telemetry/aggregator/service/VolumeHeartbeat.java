package dev.telemetry.aggregator.service;

import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Writes {@link ForkGuard#LAST_ALIVE} on the checkpoint volume every second while the service runs,
 * until the process ends (a daemon thread, so through the job's stop and its last commits): the
 * next start on this volume knows that writes under its transactional ids up to then were its own
 * predecessor's, and that later ones are another deployment's. Starts after the job's start-up,
 * which reads the previous value.
 */
@ApplicationScoped
public class VolumeHeartbeat {
    private static final Logger LOG = Logger.getLogger(VolumeHeartbeat.class);

    @Inject EmbeddedFlinkJob job;

    private ScheduledExecutorService timer;
    private volatile boolean warned;

    void start(@Observes @Priority(Interceptor.Priority.LIBRARY_AFTER) StartupEvent event) {
        Path dir = job.options().map(ServiceOptions::checkpointDir).orElse(null);
        if (dir == null) {
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

    private void beat(Path dir) {
        try {
            ForkGuard.recordAlive(dir, Instant.now());
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
}

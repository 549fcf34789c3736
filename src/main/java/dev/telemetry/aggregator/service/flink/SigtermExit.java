package dev.telemetry.aggregator.service.flink;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;
import org.jboss.logging.Logger;
import sun.misc.Signal;

/**
 * Makes SIGTERM an orderly stop with exit status 0: the JVM's own handling runs the same shutdown
 * but exits 143, which Kubernetes reports as terminated with reason {@code Error} and systemd as a
 * failed unit, although nothing failed.
 *
 * <p>Why not Quarkus' own lifecycle: in JVM mode Quarkus ({@code ApplicationLifecycleManager})
 * handles SIGTERM only through a JVM shutdown hook, which runs the same orderly stop ({@code
 * ShutdownEvent}, so {@link EmbeddedFlinkJob}'s stop with savepoint) but cannot choose the status:
 * the JVM exits 143. Its own signal handlers (native images only) exit with the signal number plus
 * 128 as well, and no setting changes that. Calling {@code Quarkus.asyncExit(0)} from our own
 * handler, as here, runs that same stop and exits 0. {@code sun.misc.Signal} is the JDK's
 * unsupported but long-stable API ({@code jdk.unsupported}), and what Quarkus itself uses; {@code
 * ServiceStopIT} guards the exit status 0 after SIGTERM.
 */
@ApplicationScoped
public class SigtermExit {
    private static final Logger LOG = Logger.getLogger(SigtermExit.class);

    // After EmbeddedFlinkJob has started: a SIGTERM during start-up keeps the JVM's handling.
    void onStart(@Observes @Priority(Interceptor.Priority.LIBRARY_AFTER) StartupEvent event) {
        if (LaunchMode.current() != LaunchMode.NORMAL) {
            // Dev mode and tests share the JVM with Maven or the test runner: not ours to take.
            return;
        }
        try {
            Signal.handle(new Signal("TERM"), signal -> Quarkus.asyncExit(0));
        } catch (IllegalArgumentException e) {
            // The JVM runs with -Xrs or the platform has no SIGTERM: keep the default handling.
            LOG.debugf("SIGTERM handler not installed: %s", e.getMessage());
        }
    }
}

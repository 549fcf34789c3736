package dev.telemetry.aggregator.service.flink;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.jboss.logging.Logger;

/**
 * Starting the embedded MiniCluster in the background, and the executor the job's background work
 * runs on.
 *
 * <p>That executor is the job's own, with two named daemon threads, shut down when the job stops:
 * the project has neither {@code quarkus-scheduler} nor a declared context-propagation dependency
 * (whose {@code ManagedExecutor} is Quarkus' worker pool anyway), and these tasks block for seconds
 * (the cluster's start, one-second graph queries), which is no work for the pool that serves REST
 * requests and health probes.
 */
final class ClusterStart {
    private static final Logger LOG = Logger.getLogger(ClusterStart.class);

    private ClusterStart() {}

    /**
     * Two threads: the cluster's start runs beside start-up's own work, and the two first-snapshot
     * polls run beside each other (each look may wait a second for the cluster).
     */
    static ScheduledExecutorService newExecutor() {
        AtomicInteger count = new AtomicInteger();
        return new ScheduledThreadPoolExecutor(
                2,
                runnable -> {
                    Thread thread =
                            new Thread(runnable, "embedded-flink-job-" + count.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
    }

    /**
     * Starts a cluster with one task manager of {@code parallelism} slots, reporting its metrics to
     * {@code reporter}, on {@code executor}; a cluster that fails to start is closed.
     */
    static CompletableFuture<MiniCluster> startAsync(
            Configuration configuration,
            int parallelism,
            MetricReporter reporter,
            Executor executor) {
        CompletableFuture<MiniCluster> started = new CompletableFuture<>();
        executor.execute(
                () -> {
                    MiniCluster cluster =
                            new ReportingMiniCluster(
                                    new MiniClusterConfiguration.Builder()
                                            .setConfiguration(configuration)
                                            .setNumTaskManagers(1)
                                            .setNumSlotsPerTaskManager(parallelism)
                                            .build(),
                                    reporter);
                    try {
                        cluster.start();
                        started.complete(cluster);
                    } catch (Throwable e) {
                        closeQuietly(cluster);
                        started.completeExceptionally(e);
                    }
                });
        return started;
    }

    static void closeQuietly(MiniCluster cluster) {
        try {
            cluster.close();
        } catch (Exception e) {
            LOG.debug("Closing the Flink MiniCluster after a failed start-up failed too", e);
        }
    }
}

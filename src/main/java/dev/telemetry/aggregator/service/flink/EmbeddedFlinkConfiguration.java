package dev.telemetry.aggregator.service.flink;

import static dev.telemetry.aggregator.service.checkpoint.FixedJobId.JOB_ID;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.service.checkpoint.RestorePlan;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.io.IOException;
import java.net.JarURLConnection;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.flink.client.deployment.executors.PipelineExecutorUtils;
import org.apache.flink.configuration.BlobServerOptions;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.PipelineOptionsInternal;
import org.apache.flink.configuration.ResourceManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;

/**
 * The embedded cluster's and the job's Flink configuration, built from the validated settings: the
 * checkpoint volume, the restart strategy, loopback-only addresses, this run's scratch directory,
 * the pass-through {@code telemetry.flink.*} keys, and what restore-from-the-volume needs (the
 * fixed job id, the snapshot to restore and its claim mode); and the job's stream graph under it.
 *
 * <p>Two Flink internals are used here, and only here: {@code
 * PipelineOptionsInternal.PIPELINE_FIXED_JOB_ID} (the fixed job id that keeps every run's
 * checkpoints in one directory, {@link dev.telemetry.aggregator.service.checkpoint.FixedJobId}) and
 * {@code PipelineExecutorUtils.getStreamGraph} (what Flink's own executors do to a stream graph
 * before submitting it). {@code ServiceCrashIT} and {@code ServiceStopIT} guard them against a
 * Flink upgrade: each restart must resume from the previous run's checkpoint or savepoint.
 */
final class EmbeddedFlinkConfiguration {
    private EmbeddedFlinkConfiguration() {}

    /**
     * The job's stream graph, built with the service's Kafka source and sinks under {@code
     * configuration}, ready to submit.
     */
    static StreamGraph streamGraph(Configuration configuration, JobOptions job) throws Exception {
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(configuration);
        TelemetryAggregationJob.configure(env, job);
        TelemetryAggregationJob.withKafka(job).build(env);
        StreamGraph graph = env.getStreamGraph();
        graph.setJobName(TelemetryAggregationJob.JOB_NAME);
        return PipelineExecutorUtils.getStreamGraph(graph, configuration);
    }

    static Configuration build(
            ServiceOptions options, Path scratch, Optional<RestorePlan.Restore> restore) {
        Configuration configuration = new Configuration();
        configuration.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        configuration.set(
                CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                options.checkpointDir().toUri().toString());
        configuration.set(
                CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, options.retainedCheckpoints());
        configuration.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        // The checkpoint interval and timeout are the job's (TelemetryAggregationJob.configure),
        // as on a Flink cluster: set there once.

        configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        configuration.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                options.restartInitialBackoff());
        configuration.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                options.restartMaxBackoff());
        configuration.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                options.restartAttempts());

        bindToLoopback(configuration);
        smallNetworkBuffers(configuration);
        slotsAtOnce(configuration);
        jobClassesFromTheService(configuration);
        configuration.set(TaskManagerOptions.NUM_TASK_SLOTS, options.job().parallelism());

        // Scratch files (blobs, spilling, uploads, RocksDB's native library and local state) go
        // to this run's directory under the temp dir: in a read-only container it and the
        // checkpoint volume are the only writable places.
        String tmp = scratch.toString();
        configuration.set(CoreOptions.TMP_DIRS, tmp);
        configuration.set(BlobServerOptions.STORAGE_DIRECTORY, tmp);
        configuration.set(WebOptions.TMP_DIR, tmp);

        options.flinkConfiguration().forEach(configuration::setString);

        // Not overridable: they are what makes restore-from-the-volume work.
        configuration.set(PipelineOptionsInternal.PIPELINE_FIXED_JOB_ID, JOB_ID.toHexString());
        configuration.set(PipelineOptions.CLASSPATHS, List.of(jobCodeLocation().toString()));
        configuration.set(CoreOptions.CHECK_LEAKED_CLASSLOADER, false);
        restore.ifPresent(
                chosen -> {
                    configuration.set(
                            StateRecoveryOptions.SAVEPOINT_PATH,
                            chosen.snapshot().path().toString());
                    configuration.set(
                            StateRecoveryOptions.RESTORE_MODE,
                            chosen.explicit()
                                    ? RecoveryClaimMode.NO_CLAIM
                                    : RecoveryClaimMode.CLAIM);
                    configuration.set(
                            StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE,
                            options.allowNonRestoredState());
                });
        return configuration;
    }

    /** How many network buffers the task manager has: Flink's local default (64 MB of 32 KB). */
    static final int NETWORK_BUFFERS = 2048;

    /** Their size: a quarter of Flink's default, enough for many aggregates each. */
    static final MemorySize NETWORK_BUFFER_SIZE = MemorySize.parse("8kb");

    /**
     * As many network buffers as Flink's local default, a quarter of its size each: 16 MB instead
     * of 64. Flink allocates and zeroes the whole pool when the task manager starts, on the
     * critical path of every start (0.19 s of it here for 64 MB), and it stays resident. What a job
     * needs is a number of buffers (per input channel and gate, so growing with parallelism and
     * with each grouping and rollup level), not bytes, so the count stays and jobs that run today
     * still get theirs. Records larger than a buffer span several, as they always could. {@code
     * telemetry.flink.*} settings can still set either.
     */
    static void smallNetworkBuffers(Configuration configuration) {
        MemorySize pool = new MemorySize(NETWORK_BUFFER_SIZE.getBytes() * NETWORK_BUFFERS);
        configuration.set(TaskManagerOptions.MEMORY_SEGMENT_SIZE, NETWORK_BUFFER_SIZE);
        configuration.set(TaskManagerOptions.NETWORK_MEMORY_MIN, pool);
        configuration.set(TaskManagerOptions.NETWORK_MEMORY_MAX, pool);
    }

    /**
     * The job's slots are asked for and handed out as soon as it is scheduled. Flink batches slot
     * requests (up to {@code slot.request.max-interval}, 20 ms) and checks the resource manager's
     * requirements after a delay ({@code slotmanager.requirement-check.delay}, 50 ms), so that a
     * large job on a cluster whose task managers come and go is matched once, not piecemeal. The
     * embedded cluster has one task manager, up before the job is submitted, and the job's slots
     * are asked for at once: the delays only postpone every start's deployment. {@code
     * telemetry.flink.*} settings can still set either.
     */
    static void slotsAtOnce(Configuration configuration) {
        configuration.set(JobManagerOptions.SLOT_REQUEST_MAX_INTERVAL, Duration.ZERO);
        configuration.set(ResourceManagerOptions.REQUIREMENTS_CHECK_DELAY, Duration.ZERO);
    }

    /**
     * The tasks run the job with the service's own classes, not copies. The job's code is the
     * service's jar, already on the class path, but Flink's default child-first class loader reads
     * {@code pipeline.classpaths} (set in {@link #build}) before asking its parent, so every task
     * defined a second copy of each job class from the jar: parsed and verified again, with none of
     * the AOT cache's classes, profiles or compiled code (the parser and aggregator among them), at
     * every start. Parent-first finds them where the service already has them; where the parent
     * cannot see them (Quarkus' test and dev class loaders), the jar or {@code target/classes} in
     * {@code pipeline.classpaths} still serves them. A {@code
     * telemetry.flink."classloader.resolve-order"} setting wins.
     */
    static void jobClassesFromTheService(Configuration configuration) {
        configuration.set(CoreOptions.CLASSLOADER_RESOLVE_ORDER, "parent-first");
    }

    /** The embedded cluster serves nobody outside this process. */
    static void bindToLoopback(Configuration configuration) {
        configuration.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
        configuration.set(JobManagerOptions.ADDRESS, "127.0.0.1");
        configuration.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
        configuration.set(TaskManagerOptions.HOST, "127.0.0.1");
        configuration.set(RestOptions.ADDRESS, "127.0.0.1");
        configuration.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        configuration.set(RestOptions.BIND_PORT, "0");
    }

    /**
     * Where the job's classes are (the application jar, or {@code target/classes} in dev and
     * tests). Flink loads user code from {@code pipeline.classpaths}; without it Flink falls back
     * to the system class loader, which under Quarkus' dev mode and tests cannot see the
     * application's classes.
     */
    static URL jobCodeLocation() {
        return codeLocation(TelemetryAggregationJob.class);
    }

    /**
     * The jar or directory a class is read from: its code source, or else the container of its
     * class file. A class the JVM maps from its AOT cache (the image's, JDK 25) has no code source.
     */
    static URL codeLocation(Class<?> type) {
        CodeSource source = type.getProtectionDomain().getCodeSource();
        URL location =
                source != null && source.getLocation() != null
                        ? source.getLocation()
                        : classFileContainer(type);
        try {
            // Normalise so Flink gets a plain file URL even if the class loader adds decorations.
            return Paths.get(location.toURI()).toUri().toURL();
        } catch (URISyntaxException | MalformedURLException | RuntimeException e) {
            return location;
        }
    }

    private static URL classFileContainer(Class<?> type) {
        String file = type.getName().replace('.', '/') + ".class";
        ClassLoader loader = type.getClassLoader();
        URL resource = loader == null ? null : loader.getResource(file);
        if (resource == null) {
            throw new IllegalStateException("Cannot locate the classes of " + type.getName());
        }
        try {
            if ("jar".equals(resource.getProtocol())) {
                // Parses the URL only: no I/O before connect().
                return ((JarURLConnection) resource.openConnection()).getJarFileURL();
            }
            String url = resource.toString();
            return URI.create(url.substring(0, url.length() - file.length())).toURL();
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("Cannot locate the classes of " + type.getName(), e);
        }
    }

    /** What the job reads and writes, how it checkpoints, and where it starts: for the log. */
    static String summary(ServiceOptions options, Optional<RestorePlan.Restore> restore) {
        JobOptions job = options.job();
        return String.format(
                "%s -> %s%s (dead letters: %s), %s windows%s, %s%s, checkpoints every %s in %s,"
                        + " %s",
                job.inputTopicPattern() != null
                        ? "pattern " + job.inputTopicPattern()
                        : job.inputTopics(),
                job.outputTopic(),
                job.groupings().stream()
                        .map(
                                grouping ->
                                        grouping == job.groupBy()
                                                ? " per " + grouping.id()
                                                : ", per "
                                                        + grouping.id()
                                                        + " -> "
                                                        + grouping.topic())
                        .collect(Collectors.joining()),
                job.deadLetterTopic(),
                RollupLevel.label(job.windowSize()),
                job.rollups().isEmpty()
                        ? ""
                        : job.rollups().stream()
                                .map(level -> level.label() + " -> " + level.topic())
                                .collect(Collectors.joining(", ", " rolled up to ", "")),
                job.deliveryGuarantee(),
                !job.upsert()
                        ? ""
                        : job.earlyResultsInterval() == null
                                ? ", upsert"
                                : ", upsert with early results every "
                                        + RollupLevel.label(job.earlyResultsInterval()),
                job.checkpointInterval(),
                options.checkpointDir(),
                restore.map(r -> "restored from " + r.snapshot().path())
                        .orElse("no checkpoint to restore: starting at " + job.startPosition()));
    }
}

package dev.telemetry.aggregator.bench;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.functions.WindowResultFunction;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.client.deployment.executors.PipelineExecutorUtils;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStats;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.graph.StreamGraph;

/**
 * State size and checkpoint duration of the job's window operator holding N distinct (device,
 * metric) keys in one open window, for the heap backend ({@code hashmap}) and RocksDB with
 * incremental checkpoints. The real window operator, with the combiner in front as in the job
 * ({@link TelemetryAggregationJob#aggregateWindows}; it holds no state and hands every key to the
 * window before each checkpoint barrier), and the job's own {@link
 * TelemetryAggregationJob#configure} run on an embedded cluster, fed by a generator (Kafka is not
 * what is measured here): first N events with distinct keys, then updates of the same keys at a low
 * rate. Once the generator has emitted N events, checkpoint 1 is triggered (its barrier follows all
 * N, so it holds every key), then checkpoint 2 (steady state: only updates since).
 *
 * <p>Figures: the checkpoint directory on disk, Flink's full state size and checkpointed (uploaded)
 * size from its checkpoint statistics, checkpoint end-to-end duration, and heap in use after a GC.
 * One run each; absolute figures depend on the machine.
 *
 * <p>With {@code --percentiles}, each window also keeps the sketch of its values (as with {@code
 * TELEMETRY_PERCENTILES}, 1% accuracy), and {@code --values-per-key N} gives every key N values
 * (spread over three decades, as latencies are) before checkpoint 1: the state per key and window
 * with a sketch of N values.
 *
 * <p>Run with {@code bench/state-figures.sh [--percentiles] [--values-per-key N] [keys...]}.
 */
public final class StateFiguresBenchmark {
    private static final long WINDOW_START = 1_763_683_200_000L;

    /** Events generated so far; static because the embedded cluster runs in this JVM. */
    private static final AtomicLong GENERATED = new AtomicLong();

    private StateFiguresBenchmark() {}

    public static void main(String[] args) throws Exception {
        List<Long> keyCounts = new ArrayList<>();
        boolean percentiles = false;
        int valuesPerKey = 1;
        for (int a = 0; a < args.length; a++) {
            switch (args[a]) {
                case "--percentiles" -> percentiles = true;
                case "--values-per-key" -> valuesPerKey = Integer.parseInt(args[++a]);
                default -> keyCounts.add(Long.parseLong(args[a]));
            }
        }
        if (keyCounts.isEmpty()) {
            keyCounts = List.of(100_000L, 1_000_000L);
        }
        System.out.printf(
                Locale.ROOT,
                "%-22s %9s %6s %12s %12s %12s %9s %10s%n",
                "backend",
                "keys",
                "values",
                "checkpoint",
                "on disk",
                "state size",
                "uploaded",
                "duration");
        for (long keys : keyCounts) {
            measure("hashmap", false, keys, percentiles, valuesPerKey);
            measure("rocksdb", true, keys, percentiles, valuesPerKey);
        }
    }

    private static void measure(
            String backend, boolean incremental, long keys, boolean percentiles, int valuesPerKey)
            throws Exception {
        Path dir =
                Files.createTempDirectory(
                        Files.createDirectories(Paths.get("target", "state-figures"))
                                .toAbsolutePath(),
                        backend + "-" + keys + "-");
        Configuration configuration = new Configuration();
        configuration.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        configuration.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toUri().toString());
        configuration.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 1);
        configuration.set(RestOptions.BIND_PORT, "0");
        configuration.set(RestOptions.ADDRESS, "127.0.0.1");
        configuration.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        // What the service's embedded cluster gets by default, so RocksDB has the same memory.
        configuration.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(128));

        JobOptions options =
                JobOptions.fromSettings(
                        new Settings(
                                Map.of(
                                        Settings.BOOTSTRAP_SERVERS.key(), "127.0.0.1:9",
                                        Settings.DELIVERY_GUARANTEE.key(), "none",
                                        Settings.WINDOW_SIZE.key(), "1h",
                                        // Checkpoints are triggered by hand below.
                                        Settings.CHECKPOINT_INTERVAL.key(), "1h",
                                        Settings.CHECKPOINT_TIMEOUT.key(), "10m",
                                        Settings.STATE_BACKEND.key(), backend,
                                        Settings.CHECKPOINT_INCREMENTAL.key(),
                                                Boolean.toString(incremental))));
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(configuration);
        TelemetryAggregationJob.configure(env, options);
        GENERATED.set(0);
        double accuracy = percentiles ? 0.01 : 0;
        TelemetryAggregationJob.aggregatePartials(
                        TelemetryAggregationJob.combinePerWindow(
                                env.fromSource(
                                                new DataGeneratorSource<>(
                                                        new DistinctKeysThenUpdates(
                                                                keys, valuesPerKey),
                                                        Long.MAX_VALUE,
                                                        TypeInformation.of(TelemetryEvent.class)),
                                                WatermarkStrategy
                                                        .<TelemetryEvent>forMonotonousTimestamps()
                                                        .withTimestampAssigner(
                                                                (event, ignored) ->
                                                                        event.timestamp),
                                                "generator")
                                        .uid("generator"),
                                options.windowSize(),
                                accuracy),
                        options.windowSize(),
                        options.allowedLateness(),
                        new WindowResultFunction(
                                percentiles ? new double[] {0.5, 0.9, 0.99} : new double[0],
                                false,
                                false))
                .sinkTo(new DiscardingSink<>());
        StreamGraph graph = env.getStreamGraph();
        graph.setJobName("state-figures");

        try (MiniCluster cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(configuration)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(1)
                                .build())) {
            cluster.start();
            long heapBefore = heapAfterGc();
            JobID job =
                    cluster.submitJob(PipelineExecutorUtils.getStreamGraph(graph, configuration))
                            .get(1, TimeUnit.MINUTES)
                            .getJobID();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (GENERATED.get() < keys * valuesPerKey) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "only "
                                    + GENERATED.get()
                                    + " of "
                                    + keys * valuesPerKey
                                    + " events in 10 minutes");
                }
                Thread.sleep(100);
            }
            for (int checkpoint = 1; checkpoint <= 2; checkpoint++) {
                long id = triggerCheckpoint(cluster, job);
                CompletedCheckpointStats stats =
                        cluster.getExecutionGraph(job)
                                .get(1, TimeUnit.MINUTES)
                                .getCheckpointStatsSnapshot()
                                .getHistory()
                                .getLatestCompletedCheckpoint();
                if (stats == null || stats.getCheckpointId() != id) {
                    throw new IllegalStateException("no statistics for checkpoint " + id);
                }
                long heap = heapAfterGc() - heapBefore;
                System.out.printf(
                        Locale.ROOT,
                        "%-22s %9d %6d %12s %12s %12s %9s %8d ms   heap +%s, %d B/key%n",
                        backend + (incremental ? " (incremental)" : ""),
                        keys,
                        percentiles ? valuesPerKey : 0,
                        checkpoint == 1 ? "1 (all keys)" : "2 (steady)",
                        mebibytes(directorySize(dir)),
                        mebibytes(stats.getStateSize()),
                        mebibytes(stats.getCheckpointedSize()),
                        stats.getEndToEndDuration(),
                        mebibytes(heap),
                        stats.getStateSize() / keys);
                Thread.sleep(2_000);
            }
            cluster.cancelJob(job).get(1, TimeUnit.MINUTES);
        }
    }

    /**
     * Events {@code i < keys x valuesPerKey} give every key its first {@code valuesPerKey} values
     * (key {@code i % keys}, values spread over three decades); later ones update existing keys at
     * about 10,000 events/s, all within one window (no watermark passes its end).
     */
    static final class DistinctKeysThenUpdates implements GeneratorFunction<Long, TelemetryEvent> {
        private static final long serialVersionUID = 1L;

        private final long keys;
        private final long first;

        DistinctKeysThenUpdates(long keys, int valuesPerKey) {
            this.keys = keys;
            this.first = keys * valuesPerKey;
        }

        @Override
        public TelemetryEvent map(Long index) throws Exception {
            if (index >= first && index % 10 == 0) {
                Thread.sleep(1);
            }
            long key = index % keys;
            // 0.1 to 1000 on a log scale, scattered by a multiplicative hash of the index.
            double spread = ((index * 0x9E3779B97F4A7C15L) >>> 11) / (double) (1L << 53);
            TelemetryEvent event =
                    new TelemetryEvent(
                            "device-" + key / 5,
                            "metric-" + key % 5,
                            Math.round(Math.pow(10, 4 * spread - 1) * 10) / 10.0,
                            WINDOW_START + index % 1_000_000);
            GENERATED.incrementAndGet();
            return event.withSource("generated", 0, index);
        }
    }

    /**
     * Triggers a checkpoint once every task runs: the generator can fill the network buffers with
     * all N events before the window task has started (RocksDB takes a while to open), and a
     * checkpoint triggered then is declined.
     */
    private static long triggerCheckpoint(MiniCluster cluster, JobID job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            try {
                return cluster.triggerCheckpoint(job, CheckpointType.CONFIGURED)
                        .get(10, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    /** Heap in use after a full GC; its growth while the job runs is mostly the heap state. */
    private static long heapAfterGc() {
        System.gc();
        return Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    }

    /** The bytes under {@code dir}, walked again if retention deleted a directory meanwhile. */
    private static long directorySize(Path dir) {
        for (int attempt = 1; ; attempt++) {
            try {
                return walkedSize(dir);
            } catch (UncheckedIOException e) {
                if (attempt == 3) {
                    throw e;
                }
            }
        }
    }

    private static long walkedSize(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .mapToLong(
                            file -> {
                                try {
                                    return Files.size(file);
                                } catch (IOException e) {
                                    // Retention deleted it while we walked: not part of the figure.
                                    return 0;
                                }
                            })
                    .sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String mebibytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1024.0 / 1024.0);
    }
}

package dev.telemetry.aggregator.service.observability;

import dev.telemetry.aggregator.service.checkpoint.CheckpointVolume;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Whether the checkpoint volume takes a write, asked while checkpoints fail: Flink reports a failed
 * checkpoint with a generic message ("Failure to finalize checkpoint."), the probe names the
 * operating system's reason ("No space left on device"). It runs in the background, at most every
 * few seconds, so a hung volume never hangs a health probe.
 */
@ApplicationScoped
public class CheckpointVolumeProbe {
    private static final Duration MAX_AGE = Duration.ofSeconds(5);

    /** What {@link #lastResult()} says about a volume that took the probe's write. */
    public static final String WRITABLE = "writable";

    @Inject EmbeddedFlinkJob job;

    private final ExecutorService executor =
            Executors.newSingleThreadExecutor(
                    runnable -> {
                        Thread thread = new Thread(runnable, "checkpoint-volume-probe");
                        thread.setDaemon(true);
                        return thread;
                    });
    private CompletableFuture<String> probe;
    private Instant probedAt = Instant.EPOCH;
    private String lastResult;

    /**
     * The newest finished probe's result ({@value #WRITABLE} or the reason the write failed),
     * starting a new probe if that one is older than a few seconds; empty until one has finished.
     */
    public synchronized Optional<String> lastResult() {
        if (probe != null && probe.isDone()) {
            lastResult = probe.join();
        }
        Optional<Path> dir = job.options().map(ServiceOptions::checkpointDir);
        if (dir.isPresent()
                && (probe == null || probe.isDone())
                && Duration.between(probedAt, Instant.now()).compareTo(MAX_AGE) >= 0) {
            probe =
                    CompletableFuture.supplyAsync(
                            () -> CheckpointVolume.writeProblem(dir.get()).orElse(WRITABLE),
                            executor);
            probedAt = Instant.now();
        }
        return Optional.ofNullable(lastResult);
    }

    @PreDestroy
    void close() {
        executor.shutdownNow();
    }
}

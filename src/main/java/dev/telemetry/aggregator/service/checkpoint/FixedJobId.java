package dev.telemetry.aggregator.service.checkpoint;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;
import org.apache.flink.api.common.JobID;

/**
 * The job's fixed id, and with it the job's directory on the checkpoint volume, {@code
 * <dir>/<job-id>}. A fixed id keeps every run's checkpoints in that one directory, so restarts
 * continue its checkpoint numbering instead of leaving a directory per run behind.
 */
public final class FixedJobId {
    /** Derived from the job's name, so every build and every run of the service agrees on it. */
    public static final JobID JOB_ID = fixedJobId(TelemetryAggregationJob.JOB_NAME);

    private FixedJobId() {}

    /**
     * Whether {@code snapshot} is one of the volume's own checkpoints ({@code
     * <dir>/<job-id>/chk-<n>}), as opposed to a savepoint or a snapshot elsewhere.
     */
    public static boolean isOwnCheckpoint(Path checkpointDir, Path snapshot) {
        Path jobDir = checkpointDir.toAbsolutePath().normalize().resolve(JOB_ID.toHexString());
        return snapshot.toAbsolutePath().normalize().startsWith(jobDir);
    }

    private static JobID fixedJobId(String name) {
        UUID uuid = UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
        return new JobID(uuid.getLeastSignificantBits(), uuid.getMostSignificantBits());
    }
}

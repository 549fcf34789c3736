package dev.telemetry.aggregator.service;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Optional;
import org.apache.flink.api.common.JobStatus;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/**
 * Health of the embedded job, with the job state as data: live while the job has not failed for
 * good and the cluster answers; ready while the job is RUNNING.
 */
@ApplicationScoped
public class FlinkJobHealthChecks {
    private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);

    @Inject EmbeddedFlinkJob job;

    @Liveness
    HealthCheck liveness() {
        return () -> {
            Optional<JobStatus> status = job.jobStatus(STATUS_TIMEOUT);
            boolean live = status.isPresent() && !job.hasFailedForGood();
            return withData(HealthCheckResponse.named("flink-job-live"), status)
                    .status(live)
                    .build();
        };
    }

    @Readiness
    HealthCheck readiness() {
        return () -> {
            Optional<JobStatus> status = job.jobStatus(STATUS_TIMEOUT);
            boolean ready = status.filter(JobStatus.RUNNING::equals).isPresent();
            return withData(HealthCheckResponse.named("flink-job-ready"), status)
                    .status(ready)
                    .build();
        };
    }

    private HealthCheckResponseBuilder withData(
            HealthCheckResponseBuilder builder, Optional<JobStatus> status) {
        builder.withData("jobId", EmbeddedFlinkJob.JOB_ID.toHexString())
                .withData("state", status.map(JobStatus::name).orElse("UNKNOWN"));
        job.restoredFrom()
                .ifPresent(
                        snapshot -> builder.withData("restoredFrom", snapshot.path().toString()));
        return builder;
    }
}

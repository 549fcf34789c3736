package dev.telemetry.aggregator.service.observability;

import dev.telemetry.aggregator.service.checkpoint.FixedJobId;
import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.flink.api.common.JobStatus;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;
import org.jboss.logging.Logger;

/**
 * Health of the embedded job, each check carrying what it is based on:
 *
 * <ul>
 *   <li>live: the cluster answers and the job has not failed for good (restarting is alive);
 *   <li>ready: the job and every one of its tasks are RUNNING (records flow), its last completed
 *       checkpoint is recent and its newest checkpoint did not fail (output is being committed),
 *       and Kafka answers;
 *   <li>started: the job was submitted, after restoring its checkpoint if there was one.
 * </ul>
 *
 * <p>Readiness changes are logged once each, with the reasons when it turns DOWN; the probes
 * themselves are not (SmallRye Health's line for every DOWN probe is turned off in {@code
 * application.yaml}), so a long outage does not write a line per probe.
 */
@ApplicationScoped
public class FlinkJobHealthChecks {
    private static final Logger LOG = Logger.getLogger(FlinkJobHealthChecks.class);
    private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);

    /** The last readiness reported: start-up is not ready, and is not logged as such. */
    private final AtomicBoolean lastReady = new AtomicBoolean();

    private volatile boolean wasReady;

    @Inject EmbeddedFlinkJob job;
    @Inject JobObserver observer;
    @Inject KafkaReachability kafka;
    @Inject CheckpointVolumeProbe volume;

    @Liveness
    HealthCheck liveness() {
        return () -> {
            Optional<JobStatus> status = job.jobStatus(STATUS_TIMEOUT);
            boolean live = status.isPresent() && !job.hasFailedForGood();
            return withJobData(HealthCheckResponse.named("flink-job-live"), status)
                    .status(live)
                    .build();
        };
    }

    @Readiness
    HealthCheck readiness() {
        return () -> {
            Optional<JobObserver.Observation> observation = observer.observe();
            Optional<JobStatus> status = observation.map(JobObserver.Observation::state);
            double maxLag = maxCheckpointLagSeconds();
            // Flink calls the job RUNNING once it is scheduled; its tasks may still be deploying,
            // restoring state or failing to open their Kafka clients, so they are checked too.
            boolean running =
                    status.filter(JobStatus.RUNNING::equals).isPresent()
                            && observation
                                    .map(JobObserver.Observation::allTasksRunning)
                                    .orElse(false);
            boolean fresh = observation.map(o -> o.checkpointLagSeconds() <= maxLag).orElse(false);
            boolean kafkaReachable = kafka.reachable();
            // A failing checkpoint turns readiness DOWN at once, with Flink's reason, rather than
            // only once the checkpoint lag has grown past its limit.
            boolean checkpointsFailing =
                    observation.map(JobObserver.Observation::checkpointsFailing).orElse(false);
            Optional<String> volumeFinding =
                    checkpointsFailing ? volume.lastResult() : Optional.empty();
            HealthCheckResponseBuilder builder =
                    withJobData(HealthCheckResponse.named("flink-job-ready"), status)
                            .withData("kafkaReachable", kafkaReachable)
                            .withData("maxCheckpointLagSeconds", (long) maxLag);
            observation.ifPresent(
                    o -> {
                        builder.withData("tasksRunning", o.tasksRunning() + " of " + o.tasks());
                        builder.withData("checkpointLagSeconds", (long) o.checkpointLagSeconds());
                        o.lastCheckpointId()
                                .ifPresent(id -> builder.withData("lastCompletedCheckpoint", id));
                        o.lastCheckpointFailure()
                                .ifPresent(
                                        f ->
                                                builder.withData(
                                                                "lastFailedCheckpoint",
                                                                f.checkpointId())
                                                        .withData(
                                                                "lastCheckpointFailureAt",
                                                                f.failedAt().toString())
                                                        .withData(
                                                                "lastCheckpointFailure",
                                                                f.cause()));
                        builder.withData("checkpointsFailing", o.checkpointsFailing());
                    });
            volumeFinding.ifPresent(result -> builder.withData("checkpointVolume", result));
            boolean ready = running && fresh && !checkpointsFailing && kafkaReachable;
            logChange(
                    ready,
                    () ->
                            notReadyReasons(
                                    observation,
                                    running,
                                    fresh,
                                    kafkaReachable,
                                    maxLag,
                                    volumeFinding));
            return builder.status(ready).build();
        };
    }

    /** Logs a change of readiness, once per change however many probes see it. */
    private void logChange(boolean ready, Supplier<String> notReadyReasons) {
        if (lastReady.getAndSet(ready) == ready) {
            return;
        }
        if (ready) {
            LOG.infof(
                    "Ready%s: the job and all its tasks run, checkpoints complete",
                    wasReady ? " again" : "");
            wasReady = true;
        } else {
            LOG.warnf("Not ready: %s", notReadyReasons.get());
        }
    }

    private static String notReadyReasons(
            Optional<JobObserver.Observation> observation,
            boolean running,
            boolean fresh,
            boolean kafkaReachable,
            double maxLag,
            Optional<String> volumeFinding) {
        List<String> reasons = new ArrayList<>();
        if (!running) {
            reasons.add(
                    observation
                            .map(
                                    o ->
                                            String.format(
                                                    "job %s, %d of %d tasks running",
                                                    o.state(), o.tasksRunning(), o.tasks()))
                            .orElse("job state unknown"));
        }
        if (!fresh) {
            observation.ifPresent(
                    o ->
                            reasons.add(
                                    String.format(
                                            "no checkpoint completed for %d s (limit %d s)",
                                            (long) o.checkpointLagSeconds(), (long) maxLag)));
        }
        observation
                .filter(JobObserver.Observation::checkpointsFailing)
                .flatMap(JobObserver.Observation::lastCheckpointFailure)
                .ifPresent(
                        f ->
                                reasons.add(
                                        "checkpoint "
                                                + f.checkpointId()
                                                + " failed: "
                                                + f.cause()));
        volumeFinding
                .filter(result -> !CheckpointVolumeProbe.WRITABLE.equals(result))
                .ifPresent(result -> reasons.add("checkpoint volume: " + result));
        if (!kafkaReachable) {
            reasons.add("Kafka unreachable");
        }
        return String.join("; ", reasons);
    }

    @Startup
    HealthCheck started() {
        return () ->
                withJobData(HealthCheckResponse.named("flink-job-started"), Optional.empty())
                        .status(job.submittedAt().isPresent())
                        .build();
    }

    private double maxCheckpointLagSeconds() {
        return job.options()
                .map(
                        o ->
                                o.job().checkpointInterval().toMillis()
                                        * (double) o.readinessCheckpointIntervals()
                                        / 1000.0)
                .orElse(Double.MAX_VALUE);
    }

    private HealthCheckResponseBuilder withJobData(
            HealthCheckResponseBuilder builder, Optional<JobStatus> status) {
        builder.withData("jobId", FixedJobId.JOB_ID.toHexString());
        status.ifPresent(s -> builder.withData("state", s.name()));
        builder.withData(
                "restoredFrom",
                job.restoredFrom().map(s -> s.path().toString()).orElse("(fresh start)"));
        return builder;
    }
}

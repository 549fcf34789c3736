package dev.telemetry.aggregator.service.admin;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Setting;
import dev.telemetry.aggregator.job.kafka.TelemetryKafka;
import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import dev.telemetry.aggregator.service.checkpoint.FixedJobId;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import dev.telemetry.aggregator.service.kafka.LingeringTransactions;
import dev.telemetry.aggregator.service.kafka.TransactionAbort;
import dev.telemetry.aggregator.service.observability.JobObserver;
import dev.telemetry.aggregator.service.observability.ServiceAdminClient;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.jboss.logging.Logger;

/**
 * The admin HTTP API: job state, retained snapshots, savepoints on demand, and the lingering
 * transactions of a transactional-id prefix. {@link AdminAuthentication} guards it.
 */
@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {
    private static final Logger LOG = Logger.getLogger(AdminResource.class);
    private static final Duration CLUSTER_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(30);

    @Inject EmbeddedFlinkJob job;
    @Inject JobObserver observer;
    @Inject ServiceAdminClient adminClient;

    /** The job: id, state, the snapshot this run restored from, its last completed checkpoint. */
    public record JobView(
            String id, String state, String restoredFrom, LastCheckpoint lastCheckpoint) {}

    public record LastCheckpoint(long id, String completedAt) {}

    public record SnapshotView(
            String name,
            Long checkpointId,
            boolean savepoint,
            String path,
            String completedAt,
            long sizeBytes) {}

    public record SavepointView(String path) {}

    public record Problem(String error) {}

    @GET
    @Path("job")
    public JobView job() {
        JobObserver.Observation observation = observer.observe().orElse(null);
        String state =
                observation != null
                        ? observation.state().name()
                        : job.jobStatus(CLUSTER_TIMEOUT).map(Enum::name).orElse("UNKNOWN");
        LastCheckpoint last =
                observation == null || observation.lastCheckpointId().isEmpty()
                        ? null
                        : new LastCheckpoint(
                                observation.lastCheckpointId().get(),
                                observation
                                        .lastCheckpointCompletedAt()
                                        .map(Object::toString)
                                        .orElse(null));
        return new JobView(
                FixedJobId.JOB_ID.toHexString(),
                state,
                job.restoredFrom().map(s -> s.path().toString()).orElse(null),
                last);
    }

    @GET
    @Path("snapshots")
    public List<SnapshotView> snapshots() throws IOException {
        ServiceOptions options = job.options().orElseThrow();
        List<SnapshotView> views = new ArrayList<>();
        for (CheckpointLocator.Snapshot snapshot :
                new CheckpointLocator(options.checkpointDir()).completedNewestFirst()) {
            views.add(
                    new SnapshotView(
                            snapshot.path().getFileName().toString(),
                            snapshot.checkpointId(),
                            snapshot.isSavepoint(),
                            snapshot.path().toString(),
                            snapshot.completedAt().toInstant().toString(),
                            size(snapshot.path())));
        }
        return views;
    }

    /** Sum of the sizes of the snapshot directory's files. */
    private static long size(java.nio.file.Path directory) {
        try (Stream<java.nio.file.Path> files = Files.walk(directory)) {
            return files.mapToLong(
                            file -> {
                                try {
                                    BasicFileAttributes attributes =
                                            Files.readAttributes(file, BasicFileAttributes.class);
                                    return attributes.isRegularFile() ? attributes.size() : 0;
                                } catch (IOException e) {
                                    // Deleted by Flink's retention while we walked: not counted.
                                    return 0;
                                }
                            })
                    .sum();
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }

    @POST
    @Path("savepoints")
    public Response triggerSavepoint() {
        try {
            String path = job.triggerSavepoint();
            return Response.ok(new SavepointView(path)).build();
        } catch (IllegalStateException e) {
            return problem(Response.Status.CONFLICT, e.getMessage());
        } catch (TimeoutException e) {
            return problem(
                    Response.Status.GATEWAY_TIMEOUT, "The savepoint did not complete in time");
        } catch (ExecutionException e) {
            LOG.warnf("Savepoint failed: %s", e.getCause().toString());
            return problem(
                    Response.Status.INTERNAL_SERVER_ERROR,
                    "The savepoint failed: " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return problem(Response.Status.SERVICE_UNAVAILABLE, "Interrupted");
        }
    }

    @GET
    @Path("transactions")
    public Response transactions(@QueryParam("prefix") String prefix) {
        if (prefix == null || prefix.isBlank()) {
            return problem(Response.Status.BAD_REQUEST, "Give the prefix: ?prefix=<prefix>");
        }
        return withKafka(
                admin ->
                        Response.ok(new LingeringTransactions(admin, KAFKA_TIMEOUT).find(prefix))
                                .build());
    }

    /**
     * Aborts the open transactions of another deployment's prefix, if they are all older than any
     * live deployment keeps one ({@link TransactionAbort#ABORT_RULE}); refuses (409) prefixes whose
     * ids overlap this service's own, and prefixes with a transaction that may still be committed.
     *
     * @param olderThan a longer bound than this deployment's own, for an owner with longer
     *     checkpoint settings (a duration: 15m, PT15M)
     */
    @POST
    @Path("transactions/abort")
    public Response abortTransactions(
            @QueryParam("prefix") String prefix, @QueryParam("olderThan") String olderThan) {
        if (prefix == null || prefix.isBlank()) {
            return problem(Response.Status.BAD_REQUEST, "Give the prefix: ?prefix=<prefix>");
        }
        JobOptions own = job.options().orElseThrow().job();
        if (LingeringTransactions.overlap(prefix, own.transactionalIdPrefix())) {
            // Aborting our own open transaction would fail the running job's next commit, or
            // lose a pre-committed one; the service aborts its own leftovers itself on start.
            return problem(
                    Response.Status.CONFLICT,
                    "'"
                            + prefix
                            + "' names transactional ids that overlap this service's own (prefix '"
                            + own.transactionalIdPrefix()
                            + "', ids "
                            + own.transactionalIdPrefixFor(TelemetryKafka.AGGREGATES_SINK)
                            + "-... and "
                            + own.transactionalIdPrefixFor(TelemetryKafka.DEAD_LETTER_SINK)
                            + "-...); its transactions may be in use. Abort them from a deployment"
                            + " whose prefix does not overlap, or restart this one (it aborts its"
                            + " own leftovers on start).");
        }
        Duration minimumAge = own.minimumTransactionTimeout();
        if (olderThan != null && !olderThan.isBlank()) {
            Duration requested;
            try {
                requested = Setting.parseDuration("olderThan", olderThan);
            } catch (InvalidSettingException e) {
                return problem(
                        Response.Status.BAD_REQUEST,
                        "olderThan: '" + olderThan + "' is not a duration (e.g. 15m, PT15M)");
            }
            if (requested.compareTo(minimumAge) > 0) {
                minimumAge = requested;
            }
        }
        Duration bound = minimumAge;
        return withKafka(
                admin -> {
                    TransactionAbort.AbortOutcome outcome =
                            new TransactionAbort(admin, KAFKA_TIMEOUT)
                                    .abort(prefix, bound, own.transactionalIdPrefix());
                    if (outcome.refused()) {
                        return problem(
                                Response.Status.CONFLICT,
                                "Nothing aborted: "
                                        + outcome.kept().stream()
                                                .map(k -> k.transactionalId() + " " + k.reason())
                                                .toList()
                                        + ". Rule: "
                                        + TransactionAbort.ABORT_RULE
                                        + " minimumAge here: "
                                        + bound
                                        + ". Retry once they are older, or wait for the broker to"
                                        + " abort them at their transaction.timeout.ms.");
                    }
                    LOG.infof(
                            "Admin request aborted %d transaction(s) of prefix %s (minimumAge %s)",
                            outcome.aborted().size(), prefix, bound);
                    Map<String, Object> answer = new LinkedHashMap<>();
                    answer.put("aborted", outcome.aborted());
                    answer.put("minimumAge", bound.toString());
                    answer.put("rule", TransactionAbort.ABORT_RULE);
                    return Response.ok(answer).build();
                });
    }

    private interface KafkaCall {
        Response call(Admin admin)
                throws ExecutionException, InterruptedException, TimeoutException;
    }

    private Response withKafka(KafkaCall call) {
        Admin admin = adminClient.admin().orElse(null);
        if (admin == null) {
            return problem(Response.Status.SERVICE_UNAVAILABLE, "Not started yet");
        }
        try {
            return call.call(admin);
        } catch (ExecutionException e) {
            return problem(
                    Response.Status.BAD_GATEWAY, "Kafka refused: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            return problem(Response.Status.GATEWAY_TIMEOUT, "Kafka did not answer in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return problem(Response.Status.SERVICE_UNAVAILABLE, "Interrupted");
        }
    }

    private static Response problem(Response.Status status, String message) {
        return Response.status(status).entity(new Problem(message)).build();
    }
}

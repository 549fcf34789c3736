package dev.telemetry.aggregator.service;

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
                EmbeddedFlinkJob.JOB_ID.toHexString(),
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
                            snapshot.isSavepoint() ? null : snapshot.checkpointId(),
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
        return withKafka(kafka -> Response.ok(kafka.find(prefix)).build());
    }

    @POST
    @Path("transactions/abort")
    public Response abortTransactions(@QueryParam("prefix") String prefix) {
        if (prefix == null || prefix.isBlank()) {
            return problem(Response.Status.BAD_REQUEST, "Give the prefix: ?prefix=<prefix>");
        }
        String own = job.options().orElseThrow().job().transactionalIdPrefix();
        if (prefix.equals(own)) {
            // Aborting our own open transaction would fail the running job's next commit; the
            // service aborts its own leftovers itself when it starts.
            return problem(
                    Response.Status.CONFLICT,
                    "'"
                            + prefix
                            + "' is this service's own transactional-id prefix; its transactions"
                            + " are in use. Abort them from another deployment, or restart this one"
                            + " (it aborts its own leftovers on start).");
        }
        return withKafka(
                kafka -> {
                    List<LingeringTransactions.Aborted> aborted = kafka.abort(prefix);
                    LOG.infof(
                            "Admin request aborted %d transaction(s) of prefix %s",
                            aborted.size(), prefix);
                    return Response.ok(Map.of("aborted", aborted)).build();
                });
    }

    private interface KafkaCall {
        Response call(LingeringTransactions transactions)
                throws ExecutionException, InterruptedException, TimeoutException;
    }

    private Response withKafka(KafkaCall call) {
        Admin admin = adminClient.admin().orElse(null);
        if (admin == null) {
            return problem(Response.Status.SERVICE_UNAVAILABLE, "Not started yet");
        }
        try {
            return call.call(new LingeringTransactions(admin, KAFKA_TIMEOUT));
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

package dev.telemetry.aggregator.service.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.OperatorStreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * {@code TELEMETRY_RESTORE_FROM} naming a snapshot whose restore fails (state of an operator this
 * build does not have), against the packaged service: the failed restore is not recorded as
 * applied, the next start stops with what to do instead of silently starting without it, and after
 * the operator's fix the restore is recorded only once a checkpoint completed; then the requested
 * snapshot may be deleted while the setting stays.
 */
class RestoreFailureIT extends SharedBrokerTest {

    @Test
    void aFailedRequestedRestoreIsNeverSkippedAndAnAppliedOneMayThenBeDeleted() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(1);
        Path dir = Paths.get("target", "restore-failure-it", topics.input()).toAbsolutePath();
        Path checkpoints = dir.resolve("checkpoints");
        Path requested = savepointOfARemovedOperator(dir.resolve("copied"));
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, topics.input(), topics.output(), topics.deadLetters(), checkpoints);
        environment.put("TELEMETRY_RESTORE_FROM", requested.toString());

        try (ServiceProcess service = new ServiceProcess(environment, dir)) {
            service.start();
            awaitExit(service);
            assertThat(service.lastLog()).contains("Cannot map checkpoint/savepoint state");
            assertThat(checkpoints.resolve(RestorePlan.APPLIED))
                    .as("a restore that failed is not recorded as applied")
                    .doesNotExist();

            service.start();
            awaitExit(service);
            assertThat(service.lastLog())
                    .contains("An earlier start could not restore " + requested)
                    .contains("TELEMETRY_ALLOW_NON_RESTORED_STATE")
                    .contains("TELEMETRY_RESTORE_FROM")
                    .doesNotContain("no checkpoint to restore");
        }

        // The operator's fix: drop the removed operator's state, and say so by deleting the record.
        environment.put("TELEMETRY_ALLOW_NON_RESTORED_STATE", "true");
        Files.delete(checkpoints.resolve(RestorePlan.FAILED));
        try (ServiceProcess service = new ServiceProcess(environment, dir.resolve("fixed"))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog()).contains("restored from " + requested);
            Awaitility.await("the restore is recorded once a checkpoint completed")
                    .atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.exists(checkpoints.resolve(RestorePlan.APPLIED)));
            assertThat(ServiceProcess.newestCheckpointId(checkpoints)).isGreaterThan(7);
            assertThat(service.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();

            // Applied: the snapshot may go while the deployment still names it.
            CheckpointLocator.deleteRecursively(requested);
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog()).contains("was already restored by an earlier start");
            assertThat(service.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
        }
    }

    private static void awaitExit(ServiceProcess service) {
        Awaitility.await("the service exits")
                .atMost(Duration.ofMinutes(1))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> !service.isAlive());
        assertThat(service.exitCode()).as("exit code; log:\n%s", service.lastLog()).isNotZero();
    }

    /**
     * A savepoint (checkpoint id 7) holding state of an operator the job does not have, as after
     * removing a stateful operator: Flink refuses to restore it unless non-restored state is
     * allowed.
     */
    private static Path savepointOfARemovedOperator(Path parent) throws IOException {
        Path savepoint = Files.createDirectories(parent.resolve("savepoint-000000-00000000000a"));
        OperatorState removed =
                new OperatorState("removed", "removed-uid", new OperatorID(), 1, 128);
        removed.putState(
                0,
                OperatorSubtaskState.builder()
                        .setManagedOperatorState(
                                new OperatorStreamStateHandle(
                                        Map.of(),
                                        new ByteStreamStateHandle("removed", new byte[] {1, 2, 3})))
                        .build());
        try (OutputStream file = Files.newOutputStream(savepoint.resolve("_metadata"));
                DataOutputStream out = new DataOutputStream(file)) {
            Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(7, List.of(removed), List.of()), out);
        }
        return savepoint;
    }
}

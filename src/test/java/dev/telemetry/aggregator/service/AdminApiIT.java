package dev.telemetry.aggregator.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.ServiceProcess.HttpResult;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The admin API of the packaged service: requests without the right token get 401, and a savepoint
 * taken through it exists and restores into a second deployment.
 */
class AdminApiIT extends SharedBrokerTest {
    private static final String TOKEN = "it-admin-token-5f3c9a7e21";
    private static final Pattern PATH = Pattern.compile("\"path\"\\s*:\\s*\"([^\"]+)\"");

    @Test
    void requestsNeedTheTokenAndASavepointTakenThroughTheApiRestores() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(2);
        Path base = Paths.get("target", "admin-it", topics.input()).toAbsolutePath();
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka,
                        topics.input(),
                        topics.output(),
                        topics.deadLetters(),
                        base.resolve("checkpoints"));
        environment.put("TELEMETRY_ADMIN_ENABLED", "true");
        environment.put("TELEMETRY_ADMIN_TOKEN", TOKEN);

        Path savepoint;
        try (ServiceProcess service = new ServiceProcess(environment, base.resolve("original"))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));

            assertThat(service.request("GET", "/admin/job", null).status()).isEqualTo(401);
            assertThat(service.request("GET", "/admin/job", TOKEN + "x").status()).isEqualTo(401);
            assertThat(service.request("POST", "/admin/savepoints", "wrong-token").status())
                    .isEqualTo(401);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .untilAsserted(
                            () -> {
                                HttpResult job = service.request("GET", "/admin/job", TOKEN);
                                assertThat(job.status()).isEqualTo(200);
                                assertThat(job.body())
                                        .contains("\"state\":\"RUNNING\"")
                                        .contains(EmbeddedFlinkJob.JOB_ID.toHexString());
                            });
            // A completed checkpoint means every task runs, so a savepoint can be taken now.
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .untilAsserted(
                            () ->
                                    assertThat(service.request("GET", "/admin/job", TOKEN).body())
                                            .containsPattern(
                                                    "\"lastCheckpoint\":\\{[^}]*\"id\":[1-9]"));

            HttpResult triggered = service.request("POST", "/admin/savepoints", TOKEN);
            assertThat(triggered.status()).as(triggered.body()).isEqualTo(200);
            Matcher matcher = PATH.matcher(triggered.body());
            assertThat(matcher.find()).as(triggered.body()).isTrue();
            String location = matcher.group(1);
            savepoint =
                    location.startsWith("file:")
                            ? Paths.get(URI.create(location))
                            : Paths.get(location);
            assertThat(savepoint.resolve("_metadata")).isRegularFile();
            assertThat(savepoint.getParent()).isEqualTo(base.resolve("checkpoints/savepoints"));

            HttpResult snapshots = service.request("GET", "/admin/snapshots", TOKEN);
            assertThat(snapshots.status()).isEqualTo(200);
            assertThat(snapshots.body())
                    .contains(savepoint.getFileName().toString())
                    .contains("\"savepoint\":true")
                    .containsPattern("\"sizeBytes\":[1-9]");

            assertThat(service.stop(Duration.ofSeconds(40))).isZero();
            assertThat(service.lastLog()).doesNotContain(TOKEN);
        }

        // A second deployment forked from that savepoint: its own volume, prefix and group.
        Map<String, String> fork =
                PacedInput.serviceEnvironment(
                        kafka,
                        topics.input(),
                        topics.output(),
                        topics.deadLetters(),
                        base.resolve("fork-checkpoints"));
        fork.put("TELEMETRY_RESTORE_FROM", savepoint.toString());
        fork.put("TELEMETRY_TRANSACTIONAL_ID_PREFIX", "fork-" + topics.input());
        fork.put("TELEMETRY_SOURCE_GROUP_ID", "fork-" + topics.input());
        try (ServiceProcess service = new ServiceProcess(fork, base.resolve("fork"))) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            assertThat(service.lastLog()).contains("restored from " + savepoint);
            assertThat(service.stop(Duration.ofSeconds(40))).isZero();
        }
    }

    @Test
    void startUpFailsWhenTheApiIsEnabledWithoutAGoodToken() throws Exception {
        Path base = Paths.get("target", "admin-it", "no-token").toAbsolutePath();
        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka,
                        "unused-in",
                        "unused-out",
                        "unused-dlq",
                        base.resolve("checkpoints"));
        environment.put("TELEMETRY_ADMIN_ENABLED", "true");
        assertStartFails(environment, base.resolve("missing"), "TELEMETRY_ADMIN_TOKEN");

        environment.put("TELEMETRY_ADMIN_TOKEN", "short-secret");
        String log = assertStartFails(environment, base.resolve("short"), "TELEMETRY_ADMIN_TOKEN");
        assertThat(log).contains("shorter than 16").doesNotContain("short-secret");
    }

    private static String assertStartFails(
            Map<String, String> environment, Path logDir, String expected) throws Exception {
        try (ServiceProcess service = new ServiceProcess(environment, logDir)) {
            service.start();
            Awaitility.await().atMost(Duration.ofMinutes(1)).until(() -> !service.isAlive());
            assertThat(service.exitCode()).isNotZero();
            assertThat(service.lastLog()).contains(expected);
            return service.lastLog();
        }
    }
}

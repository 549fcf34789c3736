package dev.telemetry.aggregator.service.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.service.checkpoint.FixedJobId;
import dev.telemetry.aggregator.service.kafka.ForkGuard;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.ServiceProcess.HttpResult;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.ProducerRecord;
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
                                        .contains(FixedJobId.JOB_ID.toHexString());
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
                    .containsPattern("\"sizeBytes\":[1-9]")
                    // Savepoints share the checkpoints' id sequence, which orders them.
                    .containsPattern(
                            "\\{\"checkpointId\":[1-9][0-9]*,[^}]*\"name\":\""
                                    + Pattern.quote(savepoint.getFileName().toString())
                                    + "\"");

            assertForkOfTheRunningOriginalIsRefused(topics, base, savepoint);

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

    /**
     * A fork of the running original: its savepoint copied into a fresh volume of the fork's own
     * (the natural place on Kubernetes; no TELEMETRY_RESTORE_FROM, so it counts as the volume's own
     * snapshot), keeping the original's prefix and group. The original runs on and commits output
     * after the copy, then idles: its 2 s windows are longer than the 1 s checkpoint interval, and
     * with no input no transaction is open when the fork checks.
     */
    private static void assertForkOfTheRunningOriginalIsRefused(
            KafkaTestClient.TestTopics topics, Path base, Path savepoint) throws Exception {
        Path forkVolume = base.resolve("copied-checkpoints");
        copyDirectory(savepoint, forkVolume.resolve("savepoints").resolve(savepoint.getFileName()));
        Instant copied = Instant.now();
        // The guard allows for 5 s of clock difference and in-flight commits after a snapshot:
        // the original's next output must come after that to tell it apart from its last commit
        // at the snapshot. (Elapsed time is the condition here: nothing to poll for.)
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> Instant.now().isAfter(copied.plus(ForkGuard.DEFAULT_SLACK)));
        long start = (System.currentTimeMillis() - 600_000) / 2_000 * 2_000;
        List<ProducerRecord<byte[], byte[]>> input = new ArrayList<>();
        TelemetryFixtures.events("fork-", 4, 1, 10, start, 1_000, 0, 11)
                .forEach(event -> input.add(event.toRecord(topics.input(), 2)));
        input.addAll(TelemetryFixtures.watermarkFlush(topics.input(), 2, start + 60_000));
        kafka.send(input);
        Awaitility.await("the original commits output after the copy")
                .atMost(Duration.ofMinutes(1))
                .until(
                        () ->
                                !kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(10))
                                        .isEmpty());

        Map<String, String> sameIds =
                PacedInput.serviceEnvironment(
                        kafka, topics.input(), topics.output(), topics.deadLetters(), forkVolume);
        try (ServiceProcess fork = new ServiceProcess(sameIds, base.resolve("copied-fork"))) {
            fork.start();
            Awaitility.await()
                    .atMost(Duration.ofMinutes(2))
                    .until(() -> !fork.isAlive() || fork.lastLog().contains("submitted"));
            assertThat(fork.isAlive())
                    .as("the fork is still running:%n%s", fork.lastLog())
                    .isFalse();
            assertThat(fork.exitCode()).isNotZero();
            assertThat(fork.lastLog())
                    .contains("another deployment is using transactional-id prefix")
                    .contains("TELEMETRY_TRANSACTIONAL_ID_PREFIX")
                    .contains("TELEMETRY_SOURCE_GROUP_ID");
        }
    }

    private static void copyDirectory(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path file : files.toList()) {
                Path target = to.resolve(from.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(file, target);
                }
            }
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

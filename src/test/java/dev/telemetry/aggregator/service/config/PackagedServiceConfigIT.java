package dev.telemetry.aggregator.service.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/** Runs the packaged jar as a user would: bad settings stop it clearly, good ones serve. */
class PackagedServiceConfigIT {
    private static final Path JAR =
            Paths.get("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
    private static final Path LOGS =
            Paths.get("target", "packaged-service-config-it").toAbsolutePath();
    // A refused start-up must not hang: it has to end well within what an orchestrator waits.
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration SHUTDOWN_MARGIN = Duration.ofSeconds(15);

    private static KafkaTestClient kafka;

    @TempDir Path temp;
    private String name;
    private String run;
    private Process process;

    @BeforeAll
    static void connect() {
        assertThat(JAR).as("the packaged service (run through mvn verify)").exists();
        kafka = KafkaTestClient.forSharedBroker();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @BeforeEach
    void name(TestInfo info) {
        name = info.getTestMethod().orElseThrow().getName();
        run = Long.toHexString(System.nanoTime());
    }

    @AfterEach
    void stopLeftover() throws InterruptedException {
        // A failed assertion must not leave a service running into the next test.
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void windowSizeThatIsNotADurationStopsStartUp() throws Exception {
        String output = assertStartUpFails(Map.of("TELEMETRY_WINDOW_SIZE", "abc"));
        assertThat(output).contains("TELEMETRY_WINDOW_SIZE").contains("'abc' is not a duration");
    }

    @Test
    void unknownDeliveryGuaranteeStopsStartUp() throws Exception {
        String output = assertStartUpFails(Map.of("TELEMETRY_DELIVERY_GUARANTEE", "sometimes"));
        assertThat(output)
                .contains("TELEMETRY_DELIVERY_GUARANTEE")
                .contains("'sometimes' is not one of at-least-once, exactly-once, none");
    }

    @Test
    void transactionTimeoutAboveTheBrokerMaximumStopsStartUp() throws Exception {
        String output = assertStartUpFails(Map.of("TELEMETRY_TRANSACTION_TIMEOUT", "20m"));
        // The shared test broker keeps Kafka's default transaction.max.timeout.ms of 15 minutes.
        assertThat(output)
                .contains("TELEMETRY_TRANSACTION_TIMEOUT")
                .contains("above the broker's transaction.max.timeout.ms (PT15M)");
    }

    @Test
    void transactionTimeoutBelowCheckpointAndRestartTimeStopsStartUp() throws Exception {
        String output = assertStartUpFails(Map.of("TELEMETRY_TRANSACTION_TIMEOUT", "1m"));
        assertThat(output)
                .contains("TELEMETRY_TRANSACTION_TIMEOUT")
                .contains(
                        "is not above (tolerable checkpoint failures + 1) x max(checkpoint"
                                + " interval, checkpoint timeout) + checkpoint timeout");
    }

    @Test
    void missingOutputTopicWithTopicCreationOffStopsStartUp() throws Exception {
        String input = "cfg-in-" + run;
        String deadLetters = "cfg-dlq-" + run;
        String output = "cfg-missing-out-" + run;
        kafka.createTopic(input, 1);
        kafka.createTopic(deadLetters, 1);

        String log = assertStartUpFails(Map.of("TELEMETRY_TOPICS_CREATE", "false"));
        assertThat(log)
                .contains("topic '" + output + "' does not exist")
                .contains("TELEMETRY_OUTPUT_TOPIC")
                .contains("TELEMETRY_TOPICS_CREATE");
        assertThat(kafka.topicExists(output))
                .as("creation was off, so nothing was created")
                .isFalse();
    }

    @Test
    void unreachableBrokerStopsStartUpWithinTheStartupTimeout() throws Exception {
        Map<String, String> settings = new HashMap<>();
        settings.put("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + freePort());
        settings.put("KAFKA_STARTUP_TIMEOUT", "3s");
        String output = assertStartUpFails(settings);
        assertThat(output).contains("KAFKA_BOOTSTRAP_SERVERS");
    }

    @Test
    void goodSettingsBecomeReadyAndSigtermStopsCleanly() throws Exception {
        int port = freePort();
        process = start(environment(port, Map.of()));
        HttpClient http = awaitReady(port);
        assertThat(readinessBody(http, port)).contains("RUNNING");

        long stopping = System.nanoTime();
        process.destroy();
        Duration limit = SHUTDOWN_TIMEOUT.plus(SHUTDOWN_MARGIN);
        assertThat(process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS))
                .as("stopped within %s after SIGTERM; output:\n%s", limit, output())
                .isTrue();
        assertThat(process.exitValue())
                .as("exit status after SIGTERM; output:\n%s", output())
                .isZero();
        System.out.printf(
                "%s: stopped %d ms after SIGTERM%n",
                name, (System.nanoTime() - stopping) / 1_000_000);
    }

    /**
     * Upsert mode: the aggregate topics the service creates are compacted (and deleted by
     * retention); an existing one that is not is left as it is, with a warning naming it.
     */
    @Test
    void upsertModeCreatesCompactedAggregateTopicsAndWarnsAboutOneThatIsNot() throws Exception {
        String output = "cfg-missing-out-" + run;
        String hourly = "cfg-hourly-" + run;
        kafka.createTopic("cfg-in-" + run, 1);
        kafka.createTopic(output, 1, Map.of("cleanup.policy", "delete"));
        int port = freePort();
        process =
                start(
                        environment(
                                port,
                                Map.of(
                                        "TELEMETRY_OUTPUT_MODE",
                                        "upsert",
                                        "TELEMETRY_ROLLUPS",
                                        "1h=" + hourly)));
        awaitReady(port);

        assertThat(kafka.topicConfig(hourly, "cleanup.policy")).isEqualTo("compact,delete");
        assertThat(kafka.topicConfig("cfg-dlq-" + run, "cleanup.policy")).isEqualTo("delete");
        assertThat(kafka.topicConfig(output, "cleanup.policy")).isEqualTo("delete");
        assertThat(output())
                .contains(
                        "Topic "
                                + output
                                + " has cleanup.policy=delete, but TELEMETRY_OUTPUT_MODE=upsert")
                .doesNotContain("Topic " + hourly + " has");
        process.destroy();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("exit status; output:\n%s", output()).isZero();
    }

    /** Waits until the started service reports ready; fails at once if it exits. */
    private HttpClient awaitReady(int port) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        await().atMost(READY_TIMEOUT)
                .pollInterval(Duration.ofMillis(500))
                .until(
                        () -> {
                            if (!process.isAlive()) {
                                throw new AssertionError(
                                        "the service exited with "
                                                + process.exitValue()
                                                + " before it was ready:\n"
                                                + output());
                            }
                            return readinessBody(http, port).contains("\"status\": \"UP\"");
                        });
        return http;
    }

    /** Starts the jar with the overrides and returns its output once it has exited non-zero. */
    private String assertStartUpFails(Map<String, String> overrides) throws Exception {
        process = start(environment(freePort(), overrides));
        long started = System.nanoTime();
        boolean exited = process.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(exited)
                .as("the service exits within %s; output:\n%s", EXIT_TIMEOUT, output())
                .isTrue();
        String output = output();
        assertThat(process.exitValue()).as("exit status; output:\n%s", output).isNotZero();
        System.out.printf(
                "%s: exit %d after %d ms%n",
                name, process.exitValue(), (System.nanoTime() - started) / 1_000_000);
        return output;
    }

    /** Settings that start a working service on its own topics, with {@code overrides} on top. */
    private Map<String, String> environment(int port, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
        env.put("QUARKUS_HTTP_PORT", Integer.toString(port));
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        env.put("KAFKA_STARTUP_TIMEOUT", "20s");
        env.put("TELEMETRY_CHECKPOINT_DIR", temp.resolve("checkpoints").toString());
        env.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
        env.put("TELEMETRY_INPUT_TOPICS", "cfg-in-" + run);
        env.put("TELEMETRY_OUTPUT_TOPIC", "cfg-missing-out-" + run);
        env.put("TELEMETRY_DEAD_LETTER_TOPIC", "cfg-dlq-" + run);
        env.put("TELEMETRY_SOURCE_GROUP_ID", "cfg-group-" + run);
        env.put("TELEMETRY_TRANSACTIONAL_ID_PREFIX", "cfg-tx-" + run);
        env.put("TELEMETRY_SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT.toSeconds() + "s");
        env.putAll(overrides);
        return env;
    }

    private Process start(Map<String, String> settings) throws IOException {
        Files.createDirectories(LOGS);
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx384m");
        command.add("-jar");
        command.add(JAR.toString());
        ProcessBuilder builder = new ProcessBuilder(command);
        // Only what the test sets: a TELEMETRY_* or KAFKA_* variable of the shell running the
        // build must not change what is tested.
        builder.environment()
                .keySet()
                .removeIf(
                        key ->
                                key.startsWith("TELEMETRY_")
                                        || key.startsWith("KAFKA_")
                                        || key.startsWith("QUARKUS_")
                                        || key.equals("JAVA_TOOL_OPTIONS"));
        builder.environment().putAll(settings);
        // An empty working directory: no config/application.yaml or .env next to it is picked up.
        Path workDir = Files.createDirectories(temp.resolve("work"));
        return builder.directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(LOGS.resolve(name + ".log").toFile())
                .start();
    }

    private String output() throws IOException {
        return Files.readString(LOGS.resolve(name + ".log"), StandardCharsets.UTF_8);
    }

    private static String readinessBody(HttpClient http, int port) throws InterruptedException {
        HttpRequest request =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready"))
                        .timeout(Duration.ofSeconds(3))
                        .build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            // Not listening yet: the HTTP server starts after the job is submitted.
            return "";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
